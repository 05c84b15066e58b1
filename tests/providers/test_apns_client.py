"""ApnsClient against fake APNs servers over real TLS + HTTP/2 sockets."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from activities.providers.apns import IMAGE_URL_KEY, ApnsClient
from activities.providers.apns_outcomes import APNS_RESPONSES, ApnsResponse
from activities.providers.base import Outcome, ProviderCredential
from fakes.apns import FakeApns
from fakes.keys import PemPair, make_apn_certificate, make_ca, make_p8_key
from tests.providers.apns_support import (
    KEY_ID,
    TEAM_ID,
    TOPIC,
    certificate_credential,
    message,
    records_for,
    refused_url,
    settings_for,
    token_credential,
)


def _unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def ca() -> PemPair:
    return make_ca("APNs test CA")


@pytest.fixture(scope="module")
def production(ca: PemPair) -> Iterator[FakeApns]:
    with FakeApns(environment="production", ca=ca) as fake:
        yield fake


@pytest.fixture(scope="module")
def sandbox(ca: PemPair) -> Iterator[FakeApns]:
    with FakeApns(environment="sandbox", ca=ca) as fake:
        yield fake


@pytest.fixture(scope="module")
def p8(production: FakeApns, sandbox: FakeApns) -> bytes:
    key = make_p8_key()
    production.register_key(KEY_ID, TEAM_ID, key)
    sandbox.register_key(KEY_ID, TEAM_ID, key)
    return key


@pytest.fixture(scope="module")
async def cert_client(
    production: FakeApns, sandbox: FakeApns, ca: PemPair
) -> AsyncIterator[ApnsClient]:
    client = ApnsClient(certificate_credential(ca), settings_for(production, sandbox))
    yield client
    await client.close()


# --- the classification table, row by row, through the fake ----------------


def _token_for(row: ApnsResponse) -> str:
    if row.status == 200:
        return _unique("ok-")
    return _unique(f"status-{row.status}-{row.reason}-")


@pytest.mark.parametrize("row", APNS_RESPONSES, ids=lambda r: f"{r.status}-{r.reason or 'OK'}")
async def test_every_documented_answer_is_classified(
    cert_client: ApnsClient, production: FakeApns, row: ApnsResponse
) -> None:
    token = _token_for(row)
    result = await cert_client.send(message(token))

    assert result.outcome is row.outcome
    assert result.status == row.status
    assert result.code == (row.reason or None)
    (seen,) = records_for(production, token)
    assert seen["status"] == row.status
    assert result.provider_message_id == seen["apnsId"]
    if row.status != 200:
        assert result.message is not None and str(row.status) in result.message


@pytest.mark.parametrize(
    ("status", "reason", "outcome"),
    [
        (500, "SomethingNew", Outcome.RETRY),
        (502, "BadGateway", Outcome.RETRY),
        (400, "SomethingNew", Outcome.FAILED),
        (403, "SomethingNew", Outcome.FAILED),
        (410, "SomethingNew", Outcome.INVALID_TOKEN),
        (429, "SomethingNew", Outcome.RETRY),
    ],
)
async def test_unknown_reasons_fall_back_on_the_status(
    cert_client: ApnsClient, status: int, reason: str, outcome: Outcome
) -> None:
    result = await cert_client.send(message(_unique(f"status-{status}-{reason}-")))
    assert (result.outcome, result.status, result.code) == (outcome, status, reason)


async def test_retry_after_header_becomes_retry_after_seconds(cert_client: ApnsClient) -> None:
    result = await cert_client.send(message(_unique("retry-after-7-")))
    assert result.outcome is Outcome.RETRY
    assert (result.status, result.code, result.retry_after) == (429, "TooManyRequests", 7.0)


async def test_fail5xx_token_fails_k_times_then_is_sent(cert_client: ApnsClient) -> None:
    token = _unique("fail5xx-2-")
    outcomes = [(await cert_client.send(message(token))).outcome for _ in range(3)]
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.SENT]


# --- answers the fake produces for real (not by token prefix) ---------------


async def test_payload_over_4k_is_413_failed(cert_client: ApnsClient) -> None:
    result = await cert_client.send(message(_unique(), body="x" * 5000))
    assert (result.outcome, result.status, result.code) == (
        Outcome.FAILED,
        413,
        "PayloadTooLarge",
    )


async def test_collapse_id_over_64_bytes_is_bad_collapse_id(cert_client: ApnsClient) -> None:
    result = await cert_client.send(message(_unique(), collapse_key="c" * 65))
    assert (result.outcome, result.code) == (Outcome.FAILED, "BadCollapseId")


async def test_development_certificate_on_production_is_bad_environment(
    production: FakeApns, ca: PemPair
) -> None:
    credential = certificate_credential(ca, sandbox=True, name="dev")
    client = ApnsClient(credential, settings_for(production))
    try:
        result = await client.send(message(_unique()))
    finally:
        await client.close()
    assert (result.outcome, result.status, result.code) == (
        Outcome.FAILED,
        403,
        "BadCertificateEnvironment",
    )


async def test_topic_not_in_certificate_is_bad_topic(production: FakeApns, ca: PemPair) -> None:
    credential = certificate_credential(ca, metadata_topic="com.example.other", name="topic")
    client = ApnsClient(credential, settings_for(production))
    try:
        result = await client.send(message(_unique()))
    finally:
        await client.close()
    assert (result.outcome, result.status, result.code) == (Outcome.FAILED, 400, "BadTopic")


async def test_token_signed_by_an_unknown_key_is_invalid_provider_token(
    production: FakeApns,
) -> None:
    credential = token_credential(make_p8_key(), key_id="ZZZ999ZZZZ", name="stranger")
    client = ApnsClient(credential, settings_for(production))
    try:
        result = await client.send(message(_unique()))
    finally:
        await client.close()
    assert (result.outcome, result.status, result.code) == (
        Outcome.FAILED,
        403,
        "InvalidProviderToken",
    )


async def test_certificate_from_an_untrusted_ca_is_retried_not_sent(
    production: FakeApns,
) -> None:
    """The TLS handshake (not an HTTP answer) rejects it: a transport failure."""
    stranger = certificate_credential(make_ca("Somebody else"), name="untrusted")
    client = ApnsClient(stranger, settings_for(production, timeout=3))
    try:
        result = await client.send(message(_unique()))
    finally:
        await client.close()
    assert result.outcome is Outcome.RETRY
    assert result.status is None


# --- auth and routing, proven by what the fakes saw --------------------------


async def test_certificate_auth_is_seen_by_the_fake(
    cert_client: ApnsClient, production: FakeApns
) -> None:
    token = _unique()
    result = await cert_client.send(message(token))
    assert result.outcome is Outcome.SENT
    (seen,) = records_for(production, token)
    assert seen["auth"] == "certificate"
    assert seen["certificateTopic"] == TOPIC
    assert seen["headers"]["apns-topic"] == TOPIC  # type: ignore[index]
    assert seen["environment"] == "production"


async def test_token_auth_jwt_is_verified_by_the_fake(production: FakeApns, p8: bytes) -> None:
    client = ApnsClient(token_credential(p8), settings_for(production))
    token = _unique()
    try:
        result = await client.send(message(token))
    finally:
        await client.close()
    assert result.outcome is Outcome.SENT
    (seen,) = records_for(production, token)
    assert (seen["auth"], seen["keyId"], seen["teamId"]) == ("token", KEY_ID, TEAM_ID)
    assert seen["headers"]["apns-topic"] == TOPIC  # type: ignore[index]


@pytest.mark.parametrize("auth", ["certificate", "token"])
async def test_apn_sandbox_credentials_go_to_the_sandbox_url(
    production: FakeApns, sandbox: FakeApns, ca: PemPair, p8: bytes, auth: str
) -> None:
    credential = (
        certificate_credential(ca, credential_type="APN_SANDBOX", sandbox=True, name="sbx")
        if auth == "certificate"
        else token_credential(p8, credential_type="APN_SANDBOX", name="sbx")
    )
    client = ApnsClient(credential, settings_for(production, sandbox))
    token = _unique()
    try:
        result = await client.send(message(token))
    finally:
        await client.close()
    assert result.outcome is Outcome.SENT
    assert [r["environment"] for r in records_for(sandbox, token)] == ["sandbox"]
    assert records_for(production, token) == []


async def test_apn_credentials_go_to_the_production_url(
    production: FakeApns, sandbox: FakeApns, p8: bytes
) -> None:
    client = ApnsClient(token_credential(p8, name="prod"), settings_for(production, sandbox))
    token = _unique()
    try:
        assert (await client.send(message(token))).outcome is Outcome.SENT
    finally:
        await client.close()
    assert len(records_for(production, token)) == 1
    assert records_for(sandbox, token) == []


# --- payload and headers -----------------------------------------------------


async def test_high_priority_full_message(cert_client: ApnsClient, production: FakeApns) -> None:
    token = _unique()
    before = int(time.time())
    result = await cert_client.send(
        message(
            token,
            title="Hi Ann",
            body="Order 42 is ready",
            image_url="https://img.example.com/42.png",
            data={"orderId": "42", "aps": "ignored"},
            badge=3,
            sound="ring",
            priority="HIGH",
            collapse_key="order-42",
            ttl_seconds=3600,
        )
    )
    after = int(time.time())
    assert result.outcome is Outcome.SENT
    (seen,) = records_for(production, token)
    headers = seen["headers"]
    assert isinstance(headers, dict)
    assert headers["apns-priority"] == "10"
    assert headers["apns-collapse-id"] == "order-42"
    assert headers["apns-push-type"] == "alert"
    assert before + 3600 <= int(headers["apns-expiration"]) <= after + 3600
    assert seen["payload"] == {
        "orderId": "42",
        IMAGE_URL_KEY: "https://img.example.com/42.png",
        "aps": {
            "alert": {"title": "Hi Ann", "body": "Order 42 is ready"},
            "sound": "ring",
            "badge": 3,
            "mutable-content": 1,
        },
    }


async def test_low_priority_minimal_message(cert_client: ApnsClient, production: FakeApns) -> None:
    token = _unique()
    result = await cert_client.send(message(token, body="plain", priority="LOW"))
    assert result.outcome is Outcome.SENT
    (seen,) = records_for(production, token)
    headers = seen["headers"]
    assert isinstance(headers, dict)
    assert headers["apns-priority"] == "5"
    assert "apns-collapse-id" not in headers
    assert "apns-expiration" not in headers
    assert seen["payload"] == {"aps": {"alert": {"body": "plain"}}}


async def test_ttl_zero_is_expiration_zero(cert_client: ApnsClient, production: FakeApns) -> None:
    token = _unique()
    assert (await cert_client.send(message(token, ttl_seconds=0))).outcome is Outcome.SENT
    (seen,) = records_for(production, token)
    assert seen["headers"]["apns-expiration"] == "0"  # type: ignore[index]


async def test_badge_zero_is_sent(cert_client: ApnsClient, production: FakeApns) -> None:
    token = _unique()
    assert (await cert_client.send(message(token, badge=0))).outcome is Outcome.SENT
    (seen,) = records_for(production, token)
    assert seen["payload"]["aps"]["badge"] == 0  # type: ignore[index]


# --- connections -------------------------------------------------------------


async def test_a_thousand_sends_share_one_connection(production: FakeApns, p8: bytes) -> None:
    client = ApnsClient(token_credential(p8, name="thousand"), settings_for(production))
    connections_before = production.connections
    prefix = _unique("bulk-")
    limit = asyncio.Semaphore(200)

    async def send(i: int) -> Outcome:
        async with limit:
            return (await client.send(message(f"{prefix}-{i}"))).outcome

    try:
        outcomes = await asyncio.gather(*(send(i) for i in range(1000)))
    finally:
        await client.close()
    assert outcomes == [Outcome.SENT] * 1000
    assert client.connections_opened == 1
    assert production.connections - connections_before == 1
    seen = [r for r in production.requests() if str(r["token"]).startswith(prefix)]
    assert len(seen) == 1000
    assert len({r["connection"] for r in seen}) == 1


async def test_error_answers_beyond_the_h2_window_keep_flowing(
    production: FakeApns, ca: PemPair
) -> None:
    """600 error bodies of ~270 bytes (160 KB) exceed the 64 KiB HTTP/2 receive
    window: the client must hand window back, or the connection stalls."""
    client = ApnsClient(certificate_credential(ca, name="window"), settings_for(production))
    reason = "Long" * 64
    limit = asyncio.Semaphore(100)

    async def send(i: int) -> tuple[Outcome, str | None]:
        async with limit:
            result = await client.send(message(_unique(f"status-400-{reason}-{i}-")))
            return result.outcome, result.code

    try:
        answers = await asyncio.gather(*(send(i) for i in range(600)))
    finally:
        await client.close()
    assert answers == [(Outcome.FAILED, reason)] * 600
    assert client.connections_opened == 1


# --- transport failures --------------------------------------------------------


async def test_connection_refused_is_retry_quickly(ca: PemPair) -> None:
    client = ApnsClient(certificate_credential(ca, name="refused"), settings_for(refused_url()))
    started = time.monotonic()
    try:
        result = await client.send(message(_unique()))
    finally:
        await client.close()
    assert time.monotonic() - started < 1.0
    assert result.outcome is Outcome.RETRY
    assert result.code == "ConnectionError"
    assert result.status is None


async def test_slow_answer_beyond_timeout_is_retry_and_connection_survives(
    production: FakeApns, ca: PemPair
) -> None:
    client = ApnsClient(
        certificate_credential(ca, name="slow"), settings_for(production, timeout=0.3)
    )
    try:
        started = time.monotonic()
        result = await client.send(message(_unique("slow-800-")))
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.7)  # the late answer arrives for a cancelled request
        after = await client.send(message(_unique()))
    finally:
        await client.close()
    assert (result.outcome, result.code) == (Outcome.RETRY, "Timeout")
    assert 0.25 < elapsed < 0.8
    assert after.outcome is Outcome.SENT
    assert client.connections_opened == 1


async def test_slow_answer_within_timeout_is_sent(cert_client: ApnsClient) -> None:
    result = await cert_client.send(message(_unique("slow-100-")))
    assert result.outcome is Outcome.SENT


async def test_server_without_our_ca_is_retry(ca: PemPair, production: FakeApns) -> None:
    """System roots alone do not trust the fake: TLS fails, which is transient."""
    settings = settings_for(production).model_copy(update={"apns_ca_file": None})
    client = ApnsClient(certificate_credential(ca, name="noca"), settings)
    try:
        result = await client.send(message(_unique()))
    finally:
        await client.close()
    assert (result.outcome, result.code) == (Outcome.RETRY, "ConnectionError")
    assert result.message is not None and "TLS" in result.message


# --- credentials ---------------------------------------------------------------


def test_certificate_with_someone_elses_key_is_rejected(ca: PemPair) -> None:
    mine = make_apn_certificate(TOPIC, ca=ca)
    theirs = make_apn_certificate(TOPIC, ca=ca)
    credential = ProviderCredential(
        id="comms_credential_mixed",
        type="APN",
        content={
            "certificate": base64.b64encode(mine.cert_pem).decode(),
            "privateKey": base64.b64encode(theirs.key_pem).decode(),
        },
        metadata={},
    )
    with pytest.raises(ValueError, match="does not match") as raised:
        ApnsClient(credential, settings_for(refused_url()))
    assert "PRIVATE" not in str(raised.value)


def test_topic_defaults_to_the_certificate_uid(ca: PemPair) -> None:
    credential = certificate_credential(ca, topic="com.example.uid", name="uid")
    bare = ProviderCredential(credential.id, "APN", credential.content, metadata={})
    assert ApnsClient(bare, settings_for(refused_url())).topic == "com.example.uid"


def test_fcm_credentials_are_not_for_apns() -> None:
    credential = ProviderCredential("comms_credential_fcm", "FCM", {"privateKey": "e30="}, {})
    with pytest.raises(ValueError, match="APN"):
        ApnsClient(credential, settings_for(refused_url()))


def test_token_credential_needs_an_ec_p256_key() -> None:
    credential = token_credential(make_apn_certificate(TOPIC).key_pem, name="rsa")
    with pytest.raises(ValueError, match="P-256"):
        ApnsClient(credential, settings_for(refused_url()))
