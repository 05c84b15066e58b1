"""What an operator sees in Temporal: search attributes, summary, details; retention."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from activities.messages import PurgeInput, PurgeResult
from herald.models import Operation, PushNotification
from tests.pipeline.conftest import Stack
from tests.pipeline.helpers import fcm_recipients, tokens
from tests.pipeline.stack import TEMPORAL_BIN, Tenant, temporal_address
from workflows.retention import PurgeRecords


def _list(stack: Stack, query: str) -> list[dict[str, object]]:
    out = subprocess.run(
        [
            str(TEMPORAL_BIN),
            "workflow",
            "list",
            "--query",
            query,
            "--output",
            "json",
            "--address",
            temporal_address(stack.temporal),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    rows: list[dict[str, object]] = json.loads(out) if out.strip() else []
    return rows


async def test_operator_finds_sends_by_account_and_status(stack: Stack, tenant: Tenant) -> None:
    later = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    scheduled = await tenant.send(
        {"to": fcm_recipients(tokens(3)), "content": {"body": "x"}, "schedule": {"sendAt": [later]}}
    )
    done = await tenant.send({"to": fcm_recipients(tokens(2)), "content": {"body": "y"}})
    await tenant.wait_status(done, ("COMPLETED",))

    def ids(query: str) -> set[str]:
        return {str(r["execution"]["workflowId"]) for r in _list(stack, query)}  # type: ignore[index]

    account = f"HeraldAccountId='{tenant.account_id}'"
    for _ in range(50):  # visibility is eventually consistent
        if ids(account) == {scheduled, done} and ids(f"{account} AND HeraldStatus='COMPLETED'") == {
            done
        }:
            break
        await asyncio.sleep(0.2)
    assert ids(account) == {scheduled, done}
    assert ids(f"{account} AND HeraldStatus='COMPLETED'") == {done}
    assert ids(f"{account} AND HeraldStatus='SCHEDULED'") == {scheduled}

    handle = stack.temporal.client.get_workflow_handle(scheduled)
    description = await handle.describe()
    summary = await description.static_summary()
    assert summary is not None and "3 recipients (FCM)" in summary and "shop_app" in summary
    details = await description.static_details()
    assert details is None or "token" not in details
    r = await tenant.http.post(f"/PushNotifications/Operations/{scheduled}/Cancel")
    assert r.status_code == 202
    await tenant.wait_status(scheduled, ("CANCELED",))


async def test_purge_deletes_closed_operations_past_retention(stack: Stack, tenant: Tenant) -> None:
    old = await tenant.send({"to": fcm_recipients(tokens(2)), "content": {"body": "old"}})
    await tenant.wait_status(old, ("COMPLETED",))
    fresh = await tenant.send({"to": fcm_recipients(tokens(1)), "content": {"body": "new"}})
    await tenant.wait_status(fresh, ("COMPLETED",))
    with Session(stack.api.engine) as s:
        s.execute(
            update(Operation)
            .where(Operation.id == old)  # type: ignore[arg-type]
            .values(created_at=datetime.now(UTC) - timedelta(days=8))
        )
        s.commit()
    result = await stack.temporal.client.execute_workflow(
        PurgeRecords.run,
        PurgeInput(retention_days=7),
        id=f"purge-{old}",
        task_queue=stack.task_queue,
        result_type=PurgeResult,
    )
    assert result.operations >= 1
    r = await tenant.http.get(f"/PushNotifications/Operations/{old}")
    assert r.status_code == 404
    assert await tenant.push_notifications(operationId=old) == []
    assert (await tenant.operation(fresh))["status"] == "COMPLETED"
    with Session(stack.api.engine) as s:
        assert s.get(Operation, fresh) is not None
        left = s.exec(select(PushNotification).where(PushNotification.operation_id == old))
        assert left.first() is None


async def test_metrics_count_requests_and_deliveries(stack: Stack, tenant: Tenant) -> None:
    op_id = await tenant.send({"to": fcm_recipients(tokens(2)), "content": {"body": "m"}})
    await tenant.wait_status(op_id, ("COMPLETED",))
    r = await tenant.http.get(stack.api.url + "/metrics")
    assert r.status_code == 200
    text = r.text
    assert 'herald_deliveries_total{outcome="SENT",provider="FCM"}' in text
    assert 'herald_api_requests_total{endpoint="send",method="POST",status="202"}' in text
    assert "herald_provider_latency_seconds_bucket" in text
    ready = await tenant.http.get(stack.api.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True


async def test_retention_run_closes_terminated_sends(stack: Stack, tenant: Tenant) -> None:
    """An operator terminated a send in the Web UI: the hourly retention run
    closes its record as CANCELED, so lists show it, and it can age out."""
    later = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    body = {
        "to": fcm_recipients(tokens(4)),
        "content": {"body": "x"},
        "schedule": {"sendAt": [later]},
    }
    terminated = await tenant.send(body)
    running = await tenant.send(body)
    await stack.temporal.client.get_workflow_handle(terminated).terminate(reason="operator")
    query = f"WorkflowId = '{terminated}' AND ExecutionStatus = 'Terminated'"
    for _ in range(50):  # visibility is eventually consistent
        if _list(stack, query):
            break
        await asyncio.sleep(0.2)

    await stack.temporal.client.execute_workflow(
        PurgeRecords.run,
        PurgeInput(retention_days=7),
        id=f"purge-{terminated}",
        task_queue=stack.task_queue,
        result_type=PurgeResult,
    )
    with Session(stack.api.engine) as s:
        op = s.get(Operation, terminated)
        assert op is not None and op.status == "CANCELED"
        assert op.stats is not None and op.stats["canceled"] == 4
        statuses = s.exec(
            select(PushNotification.status).where(PushNotification.operation_id == terminated)
        ).all()
        assert set(statuses) == {"CANCELED"}
    r = await tenant.http.get("/PushNotifications/Operations")
    listed = {o["id"]: o["status"] for o in r.json()["operations"]}
    assert listed[terminated] == "CANCELED" and listed[running] == "SCHEDULED"
