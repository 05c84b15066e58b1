"""The FCM client's requests as the fake saw them, HTTP versions and transport errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from activities.providers.base import Outcome, PushMessage
from fakes.fcm import FakeFcm
from fakes.keys import make_service_account
from tests.providers.fcm_support import PROJECT, dead_url, sender


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeFcm]:
    with FakeFcm() as server:
        yield server


@pytest.fixture(scope="module")
def fake_tls() -> Iterator[FakeFcm]:
    with FakeFcm(tls=True) as server:
        yield server


async def _seen(fake: FakeFcm, message: PushMessage) -> tuple[dict[str, Any], dict[str, Any]]:
    async with sender(fake) as s:
        result = await s.client.send(message)
        [record] = s.sent_to(message.token)
    assert result.outcome is Outcome.SENT
    return record, record["body"]["message"]


async def test_high_priority_message_with_every_field(fake: FakeFcm) -> None:
    message = PushMessage(
        token="device-high",
        title="Hi Ann",
        body="Your order 42 is ready",
        image_url="https://cdn.example.com/42.png",
        data={"orderId": "42", "kind": "ready"},
        badge=3,
        sound="ring",
        priority="HIGH",
        collapse_key="order-42",
        ttl_seconds=3600,
    )
    before = int(time.time())
    record, sent = await _seen(fake, message)
    assert record["project"] == PROJECT
    assert sent["token"] == "device-high"
    assert sent["notification"] == {
        "title": "Hi Ann",
        "body": "Your order 42 is ready",
        "image": "https://cdn.example.com/42.png",
    }
    assert sent["android"] == {
        "priority": "HIGH",
        "collapse_key": "order-42",
        "ttl": "3600s",
        "notification": {"sound": "ring"},
    }
    assert sent["data"] == {"orderId": "42", "kind": "ready"}
    apns = sent["apns"]
    assert apns["headers"]["apns-priority"] == "10"
    assert apns["headers"]["apns-collapse-id"] == "order-42"
    assert before + 3600 <= int(apns["headers"]["apns-expiration"]) <= int(time.time()) + 3600
    assert apns["payload"]["aps"] == {"sound": "ring", "badge": 3, "mutable-content": 1}


async def test_low_priority_minimal_message(fake: FakeFcm) -> None:
    _, sent = await _seen(fake, PushMessage(token="device-low", body="quiet", priority="LOW"))
    assert sent["notification"] == {"body": "quiet"}
    assert sent["android"] == {"priority": "NORMAL"}
    assert sent["apns"] == {"headers": {"apns-priority": "5"}}
    assert "data" not in sent


async def test_zero_ttl_means_now_or_never(fake: FakeFcm) -> None:
    _, sent = await _seen(fake, PushMessage(token="device-ttl0", body="x", ttl_seconds=0))
    assert sent["android"]["ttl"] == "0s"
    assert sent["apns"]["headers"]["apns-expiration"] == "0"


async def test_plain_http_fake_is_http_1_1(fake: FakeFcm) -> None:
    record, _ = await _seen(fake, PushMessage(token="device-h1", body="x"))
    assert record["http_version"] == "1.1"


async def test_tls_fake_is_http2_on_one_connection(fake_tls: FakeFcm) -> None:
    fake_tls.reset()
    async with sender(fake_tls) as s:
        results = await asyncio.gather(
            *(s.client.send(PushMessage(token=f"device-{i}", body="x")) for i in range(200))
        )
    assert {r.outcome for r in results} == {Outcome.SENT}
    records = fake_tls.requests()
    assert len(records) == 200
    assert {r["http_version"] for r in records} == {"2"}
    # one HTTP/2 connection for the 200 sends, plus the token exchange's own.
    assert fake_tls.connections <= 2


async def test_unreachable_fcm_is_retry(fake: FakeFcm) -> None:
    async with sender(fake, fcm_url=dead_url()) as s:
        result = await s.client.send(PushMessage(token="device-x", body="x"))
    assert (result.outcome, result.code, result.status) == (Outcome.RETRY, "CONNECTION", None)


async def test_slow_fcm_times_out_as_retry(fake: FakeFcm) -> None:
    async with sender(fake, timeout=0.3) as s:
        await s.client.send(PushMessage(token="warm-up", body="x"))  # token fetched
        started = time.monotonic()
        result = await s.client.send(PushMessage(token="slow-3000-device", body="x"))
    assert (result.outcome, result.code) == (Outcome.RETRY, "TIMEOUT")
    assert time.monotonic() - started < 1.5


async def test_slow_prefix_chains_with_a_failure(fake: FakeFcm) -> None:
    async with sender(fake) as s:
        started = time.monotonic()
        result = await s.client.send(PushMessage(token="slow-200-unregistered-z", body="x"))
    assert result.outcome is Outcome.INVALID_TOKEN
    assert time.monotonic() - started >= 0.2


async def test_project_id_cannot_reach_another_path(fake: FakeFcm) -> None:
    account = make_service_account("evil/../../other", client_email="evil@herald.example")
    async with sender(fake, service_account=account) as s:
        result = await s.client.send(PushMessage(token="device-evil", body="x"))
    assert result.outcome is Outcome.FAILED
    assert s.sent_to("device-evil") == []


async def test_service_account_without_project_is_failed_auth(fake: FakeFcm) -> None:
    account = make_service_account(PROJECT, client_email="noproject@herald.example")
    del account["project_id"]
    async with sender(fake, service_account=account) as s:
        result = await s.client.send(PushMessage(token="device-np", body="x"))
    assert (result.outcome, result.code) == (Outcome.FAILED, "AUTH")
