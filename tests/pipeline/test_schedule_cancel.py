"""sendAt waits durably; cancel works the same from the API and the temporal CLI."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.pipeline.conftest import Stack
from tests.pipeline.helpers import eventually, fcm_recipients, fcm_seen, tokens
from tests.pipeline.stack import TEMPORAL_BIN, Tenant, temporal_address


def _at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_nothing_is_sent_before_send_at(stack: Stack, tenant: Tenant) -> None:
    toks = tokens(20)
    send_at = datetime.now(UTC) + timedelta(seconds=3)
    op_id = await tenant.send(
        {
            "to": fcm_recipients(toks),
            "content": {"body": "later"},
            "schedule": {"sendAt": [send_at.isoformat(), _at(4)]},
        }
    )
    op = await tenant.operation(op_id)
    assert op["status"] == "SCHEDULED"
    assert op["stats"]["scheduled"] == 40 and op["stats"]["total"] == 40
    pns = await tenant.push_notifications(operationId=op_id)
    assert {p["status"] for p in pns} == {"SCHEDULED"} and len(pns) == 40

    while datetime.now(UTC) < send_at - timedelta(seconds=0.5):
        assert fcm_seen(stack.fcm, set(toks)) == []
        await asyncio.sleep(0.1)
    op = await tenant.wait_status(op_id, ("COMPLETED",))
    assert op["stats"]["sent"] == 40
    assert sorted(fcm_seen(stack.fcm, set(toks))) == sorted(toks * 2)
    pns = await tenant.push_notifications(operationId=op_id, status="SENT")
    assert len(pns) == 40


def _cancel_cli(stack: Stack, op_id: str, how: str) -> None:
    address = temporal_address(stack.temporal)
    args = [str(TEMPORAL_BIN), "workflow"]
    if how == "signal":
        args += ["signal", "--workflow-id", op_id, "--name", "cancel"]
    else:
        args += ["cancel", "--workflow-id", op_id]
    subprocess.run([*args, "--address", address], check=True, capture_output=True, timeout=30)


async def _cancel(stack: Stack, tenant: Tenant, op_id: str, how: str) -> None:
    if how == "api":
        r = await tenant.http.post(f"/PushNotifications/Operations/{op_id}/Cancel")
        assert r.status_code == 202, r.text
    else:
        await asyncio.to_thread(_cancel_cli, stack, op_id, how)


WAYS = ["api", "signal", "cancel"]


@pytest.mark.parametrize("how", WAYS)
async def test_cancel_before_send_at(stack: Stack, tenant: Tenant, how: str) -> None:
    toks = tokens(10)
    op_id = await tenant.send(
        {"to": fcm_recipients(toks), "content": {"body": "x"}, "schedule": {"sendAt": [_at(60)]}}
    )
    await _cancel(stack, tenant, op_id, how)
    op = await tenant.wait_status(op_id, ("CANCELED",), timeout=30)
    assert op["stats"]["canceled"] == 10 and op["stats"]["sent"] == 0
    pns = await tenant.push_notifications(operationId=op_id)
    assert {p["status"] for p in pns} == {"CANCELED"}
    assert fcm_seen(stack.fcm, set(toks)) == []
    r = await tenant.http.post(f"/PushNotifications/Operations/{op_id}/Cancel")
    assert r.status_code == 409
    assert r.json()["errors"][0]["code"] == 20409


@pytest.mark.parametrize("how", WAYS)
async def test_cancel_in_the_middle_of_a_large_send(
    stack: Stack, tenant: Tenant, how: str
) -> None:
    toks = tokens(2000, prefix="slow-20-")
    op_id = await tenant.send({"to": fcm_recipients(toks), "content": {"body": "big"}})
    wanted = set(toks)
    await eventually(lambda: len(fcm_seen(stack.fcm, wanted)) > 0, what="first sends")
    await _cancel(stack, tenant, op_id, how)
    op = await tenant.wait_status(op_id, ("CANCELED",), timeout=60)
    stats = op["stats"]
    assert stats["canceled"] > 0, stats
    assert stats["sent"] + stats["canceled"] == 2000, stats
    pns = await tenant.push_notifications(operationId=op_id)
    sent = {p["to"]["token"] for p in pns if p["status"] == "SENT"}
    assert len(sent) == stats["sent"]
    assert {p["status"] for p in pns} == {"SENT", "CANCELED"}
    # nothing was sent after the cancel took effect: the fake saw exactly the SENT ones
    await asyncio.sleep(1)
    assert set(fcm_seen(stack.fcm, wanted)) == sent


async def test_terminated_workflow_leaves_the_operation_canceled(
    stack: Stack, tenant: Tenant
) -> None:
    """`temporal workflow terminate` (or Terminate in the Web UI) runs no workflow
    code; the API closes the record when it next looks: CANCELED, nothing sent."""
    toks = tokens(5)
    op_id = await tenant.send(
        {"to": fcm_recipients(toks), "content": {"body": "x"}, "schedule": {"sendAt": [_at(60)]}}
    )
    args = [str(TEMPORAL_BIN), "workflow", "terminate", "--workflow-id", op_id]
    args += ["--reason", "operator", "--address", temporal_address(stack.temporal)]
    await asyncio.to_thread(subprocess.run, args, check=True, capture_output=True, timeout=30)

    op = await tenant.operation(op_id)
    assert op["status"] == "CANCELED", op
    assert op["stats"]["canceled"] == 5 and op["stats"]["scheduled"] == 0, op["stats"]
    pns = await tenant.push_notifications(operationId=op_id)
    assert {p["status"] for p in pns} == {"CANCELED"}
    listed = await tenant.http.get("/PushNotifications/Operations")
    assert {o["id"]: o["status"] for o in listed.json()["operations"]}[op_id] == "CANCELED"
    r = await tenant.http.post(f"/PushNotifications/Operations/{op_id}/Cancel")
    assert r.status_code == 409 and r.json()["errors"][0]["code"] == 20409
    assert fcm_seen(stack.fcm, set(toks)) == []


@pytest.mark.parametrize("how", WAYS)
async def test_cancel_while_a_small_send_is_at_the_provider(
    stack: Stack, tenant: Tenant, how: str
) -> None:
    """A small send runs as local activities; a cancel that arrives while its
    sends wait on the provider lets them finish and be recorded SENT, once."""
    toks = tokens(3, prefix="slow-2000-")
    op_id = await tenant.send({"to": fcm_recipients(toks), "content": {"body": "small"}})
    wanted = set(toks)
    await eventually(lambda: len(fcm_seen(stack.fcm, wanted)) == 3, what="sends at the provider")
    await _cancel(stack, tenant, op_id, how)
    op = await tenant.wait_status(op_id, ("CANCELED",), timeout=30)
    assert op["stats"]["sent"] == 3 and op["stats"]["canceled"] == 0, op["stats"]
    assert sorted(fcm_seen(stack.fcm, wanted)) == sorted(toks)  # once each
    pns = await tenant.push_notifications(operationId=op_id)
    assert {p["status"] for p in pns} == {"SENT"}
