"""The Temporal server restarts while a send waits for its sendAt.

A dev server of its own (``--db-filename`` in tmp, so its state survives the
restart), stopped with SIGTERM and started again on the same port before the
sendAt: the timer survives, the worker (``python worker.py``) and the API
reconnect by themselves, and every recipient gets the notification once,
after the sendAt.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.processes import Child, free_port, herald_env, start_temporal, start_worker
from fakes.fcm import FakeFcm
from fakes.keys import fcm_content, make_service_account
from tests.pipeline.helpers import fcm_recipients, tokens
from tests.pipeline.stack import Tenant, new_tenant, unique_queue
from tests.servers import ApiServer, fresh_database
from tests.servers import test_settings as settings_for

SEND_AHEAD = timedelta(seconds=7)


@dataclass
class RestartStack:
    temporal: Child
    port: int
    db_file: Path
    logs: Path
    api: ApiServer
    tenant: Tenant

    def restart_temporal(self) -> None:
        code = self.temporal.stop()
        assert code is not None
        self.temporal = start_temporal(self.port, self.logs, db_file=self.db_file)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
async def restart_stack(
    sqlite_url: str, fake_fcm: FakeFcm, tmp_path: Path
) -> AsyncIterator[RestartStack]:
    port, logs, db_file = free_port(), tmp_path / "logs", tmp_path / "temporal.db"
    temporal = start_temporal(port, logs, db_file=db_file)
    settings = settings_for(
        sqlite_url,
        temporal_address=f"127.0.0.1:{port}",
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
    stack: RestartStack | None = None
    worker = start_worker(env, logs)
    try:
        with ApiServer(settings) as api:
            tenant = new_tenant(api)
            account = make_service_account("herald-restart")
            fake_fcm.register_service_account(account)
            r = await tenant.http.post(
                "/PushNotifications/Credentials",
                json={"credentialType": "FCM", "appName": "app", "content": fcm_content(account)},
            )
            assert r.status_code == 202, r.text
            stack = RestartStack(temporal, port, db_file, logs, api, tenant)
            yield stack
            await tenant.http.aclose()
    finally:
        worker.stop()
        (stack.temporal if stack else temporal).stop()


def _sends(fake: FakeFcm, wanted: set[str]) -> Counter[str]:
    return Counter(r["token"] for r in fake.requests() if r["token"] in wanted)


async def test_send_at_survives_a_temporal_restart(
    restart_stack: RestartStack, fake_fcm: FakeFcm
) -> None:
    toks = tokens(25)
    wanted = set(toks)
    send_at = datetime.now(UTC) + SEND_AHEAD
    op_id = await restart_stack.tenant.send(
        {
            "to": fcm_recipients(toks),
            "content": {"body": "after the restart"},
            "schedule": {"sendAt": [send_at.isoformat()]},
        }
    )
    await asyncio.sleep(0.5)  # the workflow has started its timer
    started = time.monotonic()
    await asyncio.to_thread(restart_stack.restart_temporal)
    restarted_at = datetime.now(UTC)
    assert restarted_at < send_at - timedelta(seconds=1), (
        f"the restart took {time.monotonic() - started:.1f} s: too late to test the timer"
    )

    while datetime.now(UTC) < send_at - timedelta(milliseconds=300):
        assert _sends(fake_fcm, wanted) == Counter(), "sent before sendAt"
        await asyncio.sleep(0.1)
    op = await restart_stack.tenant.wait_status(op_id, ("COMPLETED",), timeout=90)
    await asyncio.sleep(1)  # a late duplicate would show up here
    assert _sends(fake_fcm, wanted) == Counter(dict.fromkeys(toks, 1))
    assert op["stats"]["sent"] == len(toks), op["stats"]
    pns = await restart_stack.tenant.push_notifications(operationId=op_id)
    assert {p["status"] for p in pns} == {"SENT"} and len(pns) == len(toks)
    sent_at = min(datetime.fromisoformat(p["updatedAt"]) for p in pns)
    assert sent_at >= send_at.replace(microsecond=0), (sent_at, send_at)

    # The API's Temporal client reconnected too: a new send starts its workflow.
    more = tokens(5)
    op_id = await restart_stack.tenant.send({"to": fcm_recipients(more), "content": {"body": "x"}})
    op = await restart_stack.tenant.wait_status(op_id, ("COMPLETED",), timeout=60)
    assert _sends(fake_fcm, set(more)) == Counter(dict.fromkeys(more, 1))
