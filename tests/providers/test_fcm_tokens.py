"""OAuth access tokens for FCM: fetched once, refreshed on expiry, bounded in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from activities.providers.base import Outcome, ProviderCredential, PushMessage
from activities.providers.fcm import FcmClient, make_fcm_http_client
from activities.providers.google_tokens import GoogleTokenCache
from fakes.fcm import FakeFcm
from fakes.keys import fcm_content, make_service_account
from tests.providers.fcm_support import PROJECT, dead_url, sender, settings_for


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeFcm]:
    with FakeFcm() as server:
        yield server


@pytest.fixture(autouse=True)
def clean(fake: FakeFcm) -> None:
    fake.reset()


async def test_a_thousand_concurrent_sends_fetch_one_token(fake: FakeFcm) -> None:
    async with sender(fake) as s:
        results = await asyncio.gather(
            *(s.client.send(PushMessage(token=f"device-{i}", body="x")) for i in range(1000))
        )
    assert {r.outcome for r in results} == {Outcome.SENT}
    assert fake.token_fetches == 1
    seen = fake.requests()
    assert len(seen) == 1000
    assert len({r["access_token"] for r in seen}) == 1


async def test_token_is_cached_then_refreshed_after_expiry(fake: FakeFcm) -> None:
    fake.configure(token_ttl=2)
    async with sender(fake) as s:
        first = await s.client.send(PushMessage(token="device-a", body="x"))
        second = await s.client.send(PushMessage(token="device-b", body="x"))
        assert fake.token_fetches == 1
        await asyncio.sleep(2.1)
        third = await s.client.send(PushMessage(token="device-c", body="x"))
    assert [r.outcome for r in (first, second, third)] == [Outcome.SENT] * 3
    assert fake.token_fetches == 2
    used = [r["access_token"] for r in fake.requests()]
    assert used[0] == used[1] != used[2]


async def test_slow_token_endpoint_is_retry_not_a_hang(fake: FakeFcm) -> None:
    fake.configure(token_delay_ms=5000)
    async with sender(fake, timeout=0.5) as s:
        started = time.monotonic()
        results = await asyncio.gather(
            *(s.client.send(PushMessage(token=f"device-{i}", body="x")) for i in range(20))
        )
        elapsed = time.monotonic() - started
        assert {(r.outcome, r.code) for r in results} == {(Outcome.RETRY, "AUTH_UNAVAILABLE")}
        assert elapsed < 2.0
        assert fake.token_fetches == 1  # the 20 waited on one exchange
        assert fake.requests() == []
        fake.configure(token_delay_ms=0)
        await asyncio.sleep(0.6)  # the timed-out exchange gives up on its own timeout
        later = await s.client.send(PushMessage(token="device-later", body="x"))
    assert later.outcome is Outcome.SENT


async def test_uploaded_token_uri_is_never_used(fake: FakeFcm) -> None:
    account = make_service_account(PROJECT, client_email=f"uri@{PROJECT}.example")
    account["token_uri"] = dead_url() + "/token"
    async with sender(fake, service_account=account) as s:
        result = await s.client.send(PushMessage(token="device-1", body="x"))
    assert result.outcome is Outcome.SENT
    assert fake.token_fetches == 1


async def test_revoked_token_is_refetched_once_and_the_send_succeeds(fake: FakeFcm) -> None:
    async with sender(fake) as s:
        assert (await s.client.send(PushMessage(token="device-1", body="x"))).outcome is (
            Outcome.SENT
        )
        fake.revoke_tokens()
        result = await s.client.send(PushMessage(token="device-2", body="x"))
        attempts = s.sent_to("device-2")
    assert result.outcome is Outcome.SENT
    assert fake.token_fetches == 2
    assert [a["status"] for a in attempts] == [401, 200]
    assert attempts[0]["access_token"] != attempts[1]["access_token"]


async def test_key_the_token_endpoint_refuses_is_failed_auth_and_asked_once(
    fake: FakeFcm,
) -> None:
    account = make_service_account(PROJECT, client_email=f"rotated@{PROJECT}.example")
    fake.register_service_account(
        make_service_account(PROJECT, client_email=account["client_email"])
    )
    async with sender(fake, service_account=account, register=False) as s:
        results = [await s.client.send(PushMessage(token=f"d-{i}", body="x")) for i in range(5)]
    assert {(r.outcome, r.code, r.status) for r in results} == {(Outcome.FAILED, "AUTH", 400)}
    assert fake.token_fetches == 1
    assert fake.requests() == []
    assert all(account["private_key"] not in (r.message or "") for r in results)


async def test_unknown_service_account_is_failed_auth(fake: FakeFcm) -> None:
    async with sender(fake, register=False) as s:
        result = await s.client.send(PushMessage(token="d", body="x"))
    assert (result.outcome, result.code) == (Outcome.FAILED, "AUTH")


async def test_token_endpoint_5xx_is_retry(fake: FakeFcm) -> None:
    fake.configure(token_status=503)
    async with sender(fake, timeout=0.5) as s:
        started = time.monotonic()
        result = await s.client.send(PushMessage(token="d", body="x"))
    assert (result.outcome, result.code) == (Outcome.RETRY, "AUTH_UNAVAILABLE")
    assert time.monotonic() - started < 2.0


async def test_unreachable_token_endpoint_is_retry(fake: FakeFcm) -> None:
    account = make_service_account(PROJECT, client_email=f"down@{PROJECT}.example")
    settings = settings_for(fake).model_copy(update={"google_token_url": dead_url() + "/token"})
    http = make_fcm_http_client(settings)
    tokens = GoogleTokenCache(settings)
    try:
        credential = ProviderCredential("comms_credential_down", "FCM", fcm_content(account), {})
        result = await FcmClient(credential, http, settings, tokens=tokens).send(
            PushMessage(token="d", body="x")
        )
    finally:
        await http.aclose()
        tokens.close()
    assert (result.outcome, result.code) == (Outcome.RETRY, "AUTH_UNAVAILABLE")


@pytest.mark.parametrize(
    "content",
    [
        {"privateKey": "not base64!"},
        {"privateKey": "eyJub3QiOiAiYW4gYWNjb3VudCJ9"},  # {"not": "an account"}
        {},
    ],
)
async def test_malformed_credential_is_failed_auth_without_network(
    fake: FakeFcm, content: dict[str, str]
) -> None:
    settings = settings_for(fake)
    http = make_fcm_http_client(settings)
    tokens = GoogleTokenCache(settings)
    try:
        credential = ProviderCredential("comms_credential_bad", "FCM", content, {})
        result = await FcmClient(credential, http, settings, tokens=tokens).send(
            PushMessage(token="d", body="x")
        )
    finally:
        await http.aclose()
        tokens.close()
    assert (result.outcome, result.code) == (Outcome.FAILED, "AUTH")
    assert fake.token_fetches == 0
    assert fake.requests() == []
