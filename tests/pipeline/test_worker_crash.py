"""A worker killed with SIGKILL in the middle of a send, or while it waits for a
sendAt: a new worker finishes the operation, every recipient is reached, and
the only duplicates are the batches that were in flight when it died.

The worker runs as its own process (``python worker.py``); Temporal (the
session's dev server), the API and the fake FCM run in this process.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from bench.processes import Child, herald_env, start_worker
from fakes.fcm import FakeFcm
from fakes.keys import fcm_content, make_service_account
from tests.pipeline.helpers import eventually, fcm_recipients, tokens
from tests.pipeline.stack import Tenant, new_tenant, temporal_address, unique_queue
from tests.servers import ApiServer, fresh_database
from tests.servers import test_settings as settings_for
from workflows.inputs import OperationInput

#: At most this many deliveries are in flight when a worker dies, so at most this
#: many can reach the provider twice (sent, but not yet recorded as SENT).
IN_FLIGHT_BOUND = OperationInput.batch_size * OperationInput.max_concurrent_batches


@dataclass
class CrashStack:
    api: ApiServer
    fcm: FakeFcm
    env: dict[str, str]
    logs: Path
    tenant: Tenant

    def worker(self) -> Child:
        return start_worker(self.env, self.logs)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
async def crash_stack(
    sqlite_url: str, temporal: WorkflowEnvironment, fake_fcm: FakeFcm, tmp_path: Path
) -> AsyncIterator[CrashStack]:
    settings = settings_for(
        sqlite_url,
        temporal_address=temporal_address(temporal),
        task_queue=unique_queue(),
        fcm_url=fake_fcm.url,
        google_token_url=fake_fcm.token_url,
    )
    env = herald_env(
        database_url=sqlite_url,
        secret_key=settings.secret_key,
        temporal_address=settings.temporal_address,
        task_queue=settings.task_queue,
        fcm_url=settings.fcm_url,
        google_token_url=settings.google_token_url,
        metrics_port=0,
    )
    with ApiServer(settings) as api:
        tenant = new_tenant(api)
        account = make_service_account("herald-crash")
        fake_fcm.register_service_account(account)
        r = await tenant.http.post(
            "/PushNotifications/Credentials",
            json={"credentialType": "FCM", "appName": "crash_app", "content": fcm_content(account)},
        )
        assert r.status_code == 202, r.text
        yield CrashStack(api, fake_fcm, env, tmp_path / "logs", tenant)
        await tenant.http.aclose()


def _sends(fake: FakeFcm, wanted: set[str]) -> Counter[str]:
    return Counter(r["token"] for r in fake.requests() if r["token"] in wanted)


async def _send_then_kill(stack: CrashStack, toks: list[str], killed_after: int) -> str:
    """Start a worker, send to ``toks``, SIGKILL the worker once the fake has seen
    ``killed_after`` of them; the operation's id."""
    wanted = set(toks)
    worker = stack.worker()
    try:
        op_id = await stack.tenant.send({"to": fcm_recipients(toks), "content": {"body": "crash"}})
        await eventually(
            lambda: len(_sends(stack.fcm, wanted)) >= killed_after, timeout=60, what="sends"
        )
    finally:
        worker.kill()
    return op_id


async def _finish_with_a_new_worker(stack: CrashStack, op_id: str) -> dict[str, Any]:
    worker = stack.worker()
    try:
        return await stack.tenant.wait_status(op_id, ("COMPLETED",), timeout=120)
    finally:
        worker.stop()


async def test_worker_killed_mid_send_delivers_everything(crash_stack: CrashStack) -> None:
    toks = tokens(2000, prefix="slow-20-")
    wanted = set(toks)
    op_id = await _send_then_kill(crash_stack, toks, killed_after=300)
    at_kill = len(_sends(crash_stack.fcm, wanted))
    assert at_kill < len(toks), "the send finished before the worker was killed"

    op = await _finish_with_a_new_worker(crash_stack, op_id)
    sends = _sends(crash_stack.fcm, wanted)
    duplicates = sum(sends.values()) - len(sends)
    print(
        f"\nworker killed after {at_kill} of {len(toks)} sends; "
        f"duplicate sends after restart: {duplicates} (bound {IN_FLIGHT_BOUND})"
    )
    assert set(sends) == wanted, f"{len(wanted - set(sends))} recipients never reached"
    assert duplicates <= IN_FLIGHT_BOUND
    assert op["stats"]["sent"] == len(toks) and op["stats"]["failed"] == 0, op["stats"]
    pns = await crash_stack.tenant.push_notifications(operationId=op_id)
    assert len(pns) == len(toks)
    assert Counter(p["status"] for p in pns) == {"SENT": len(toks)}


async def test_worker_killed_while_waiting_for_send_at(crash_stack: CrashStack) -> None:
    toks = tokens(30)
    wanted = set(toks)
    worker = crash_stack.worker()
    send_at = datetime.now(UTC) + timedelta(seconds=5)
    try:
        op_id = await crash_stack.tenant.send(
            {
                "to": fcm_recipients(toks),
                "content": {"body": "later"},
                "schedule": {"sendAt": [send_at.isoformat()]},
            }
        )
        op = await crash_stack.tenant.operation(op_id)
        assert op["status"] == "SCHEDULED"
        await asyncio.sleep(1)  # the workflow is in its timer now
    finally:
        worker.kill()
    assert datetime.now(UTC) < send_at - timedelta(seconds=2)
    assert _sends(crash_stack.fcm, wanted) == Counter()

    starting = asyncio.ensure_future(asyncio.to_thread(crash_stack.worker))
    while datetime.now(UTC) < send_at - timedelta(milliseconds=300):
        assert _sends(crash_stack.fcm, wanted) == Counter(), "sent before sendAt"
        await asyncio.sleep(0.1)
    worker = await starting
    try:
        op = await crash_stack.tenant.wait_status(op_id, ("COMPLETED",), timeout=60)
        await asyncio.sleep(1)  # a late duplicate would show up here
    finally:
        worker.stop()
    assert _sends(crash_stack.fcm, wanted) == Counter(dict.fromkeys(toks, 1))
    assert op["stats"]["sent"] == len(toks), op["stats"]
    pns = await crash_stack.tenant.push_notifications(operationId=op_id)
    assert {p["status"] for p in pns} == {"SENT"} and len(pns) == len(toks)
    sent_at = min(datetime.fromisoformat(p["updatedAt"]) for p in pns)  # whole seconds
    assert sent_at >= send_at.replace(microsecond=0), (sent_at, send_at)


async def test_worker_killed_during_a_small_send(crash_stack: CrashStack) -> None:
    """A small send runs its activities locally, inside the workflow task. Killed
    there, the task times out, the next worker replays it and finishes the send:
    each recipient is reached, at most once more than the sends in flight."""
    toks = tokens(3, prefix="slow-4000-")
    wanted = set(toks)
    op_id = await _send_then_kill(crash_stack, toks, killed_after=len(toks))
    assert (await crash_stack.tenant.operation(op_id))["status"] != "COMPLETED"

    op = await _finish_with_a_new_worker(crash_stack, op_id)
    sends = _sends(crash_stack.fcm, wanted)
    assert set(sends) == wanted
    assert max(sends.values()) <= 2, sends  # the send in flight at the kill, and its retry
    assert op["stats"]["sent"] == len(toks) and op["stats"]["failed"] == 0, op["stats"]
