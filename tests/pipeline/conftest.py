"""The send pipeline's fixtures: one Temporal dev server and fakes per session,
one API + worker per database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from temporalio.testing import WorkflowEnvironment

from fakes.apns import FakeApns
from fakes.fcm import FakeFcm
from fakes.keys import (
    apn_certificate_content,
    fcm_content,
    make_apn_certificate,
    make_service_account,
)
from tests.pipeline.stack import (
    Tenant,
    new_tenant,
    running_worker,
    start_temporal,
    temporal_address,
    unique_queue,
)
from tests.servers import ApiServer, test_settings


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_temporal()
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def fake_fcm() -> Iterator[FakeFcm]:
    with FakeFcm() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_apns() -> Iterator[FakeApns]:
    with FakeApns() as fake:
        yield fake


@dataclass
class Stack:
    api: ApiServer
    temporal: WorkflowEnvironment
    fcm: FakeFcm
    apns: FakeApns
    task_queue: str


@pytest.fixture(scope="session")
async def stack(
    database_url: str, temporal: WorkflowEnvironment, fake_fcm: FakeFcm, fake_apns: FakeApns
) -> AsyncIterator[Stack]:
    settings = test_settings(
        database_url,
        temporal_address=temporal_address(temporal),
        task_queue=unique_queue(),
        fcm_url=fake_fcm.url,
        google_token_url=fake_fcm.token_url,
        apns_url=fake_apns.url,
        apns_ca_file=fake_apns.ca_file,
    )
    with ApiServer(settings) as api:
        async with running_worker(temporal.client, settings, api):
            yield Stack(api, temporal, fake_fcm, fake_apns, settings.task_queue)


@pytest.fixture
async def tenant(stack: Stack) -> AsyncIterator[Tenant]:
    """A new account whose default App has FCM and APN credentials the fakes accept."""
    t = new_tenant(stack.api)
    account = make_service_account("herald-test")
    stack.fcm.register_service_account(account)
    r = await t.http.post(
        "/PushNotifications/Credentials",
        json={"credentialType": "FCM", "appName": "shop_app", "content": fcm_content(account)},
    )
    assert r.status_code == 202, r.text
    apn = make_apn_certificate("com.example.shop", ca=stack.apns.ca)
    r = await t.http.post(
        "/PushNotifications/Credentials",
        json={
            "credentialType": "APN",
            "appName": "shop_app",
            "content": apn_certificate_content(apn),
        },
    )
    assert r.status_code == 202, r.text
    yield t
    await t.http.aclose()
