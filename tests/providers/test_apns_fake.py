"""The fake APNs on its own: APNs' checks, control API, CLI, fault prefixes."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h2.connection
import h2.events
import h2.settings
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from fakes.apns import FakeApns
from fakes.apns_faults import Fault, FaultPlan
from fakes.keys import make_p8_key
from tests.providers.apns_support import KEY_ID, TEAM_ID, TOPIC

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD = b'{"aps": {"alert": {"body": "hi"}}}'


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeApns]:
    with FakeApns() as server:
        yield server


@pytest.fixture(scope="module")
def p8(fake: FakeApns) -> bytes:
    key = make_p8_key()
    fake.register_key(KEY_ID, TEAM_ID, key, topics=[TOPIC])
    return key


@pytest.fixture(scope="module")
def http2(fake: FakeApns) -> Iterator[httpx.Client]:
    """A plain HTTP/2 client (no client certificate) trusting the fake's CA."""
    context = ssl.create_default_context(cafile=fake.ca_file)
    with httpx.Client(http2=True, verify=context, base_url=fake.url, timeout=10) as client:
        yield client


def _jwt(p8: bytes, *, issued_at: float | None = None, key_id: str = KEY_ID) -> str:
    claims = {"iss": TEAM_ID, "iat": int(issued_at if issued_at is not None else time.time())}
    return jwt.encode(claims, p8, algorithm="ES256", headers={"kid": key_id})


def _headers(p8: bytes, **extra: str) -> dict[str, str]:
    headers = {"authorization": f"bearer {_jwt(p8)}", "apns-topic": TOPIC}
    headers.update(extra)
    return headers


def _answer(response: httpx.Response) -> tuple[int, Any]:
    reason = response.json()["reason"] if response.content else None
    return response.status_code, reason


# --- APNs' own checks ----------------------------------------------------------


def test_valid_token_request_is_200_with_apns_id_echoed(http2: httpx.Client, p8: bytes) -> None:
    apns_id = str(uuid.uuid4()).upper()
    response = http2.post(
        "/3/device/abc", content=PAYLOAD, headers=_headers(p8, **{"apns-id": apns_id})
    )
    assert response.http_version == "HTTP/2"
    assert (response.status_code, response.headers["apns-id"]) == (200, apns_id)
    assert response.content == b""


def test_apns_id_is_assigned_when_absent(http2: httpx.Client, p8: bytes) -> None:
    response = http2.post("/3/device/abc", content=PAYLOAD, headers=_headers(p8))
    assert response.status_code == 200
    assert uuid.UUID(response.headers["apns-id"])


@pytest.mark.parametrize(
    ("method", "path", "extra", "body", "expected"),
    [
        ("GET", "/3/device/abc", {}, b"", (405, "MethodNotAllowed")),
        ("POST", "/2/device/abc", {}, PAYLOAD, (404, "BadPath")),
        ("POST", "/3/device/", {}, PAYLOAD, (400, "MissingDeviceToken")),
        ("POST", "/3/device/abc", {"apns-priority": "7"}, PAYLOAD, (400, "BadPriority")),
        ("POST", "/3/device/abc", {"apns-expiration": "soon"}, PAYLOAD, (400, "BadExpirationDate")),
        ("POST", "/3/device/abc", {"apns-push-type": "loud"}, PAYLOAD, (400, "InvalidPushType")),
        ("POST", "/3/device/abc", {"apns-id": "not-a-uuid"}, PAYLOAD, (400, "BadMessageId")),
        ("POST", "/3/device/abc", {"apns-collapse-id": "c" * 65}, PAYLOAD, (400, "BadCollapseId")),
        ("POST", "/3/device/abc", {}, b"", (400, "PayloadEmpty")),
        ("POST", "/3/device/abc", {}, b"{" + b" " * 4096 + b"}", (413, "PayloadTooLarge")),
        (
            "POST",
            "/3/device/abc",
            {"apns-topic": "com.example.other"},
            PAYLOAD,
            (400, "TopicDisallowed"),
        ),
    ],
)
def test_request_checks(
    http2: httpx.Client,
    p8: bytes,
    method: str,
    path: str,
    extra: dict[str, str],
    body: bytes,
    expected: tuple[int, str],
) -> None:
    response = http2.request(method, path, content=body, headers=_headers(p8, **extra))
    assert _answer(response) == expected


def test_duplicate_headers_are_refused(http2: httpx.Client, p8: bytes) -> None:
    headers = [*_headers(p8).items(), ("apns-priority", "10"), ("apns-priority", "5")]
    response = http2.post("/3/device/abc", content=PAYLOAD, headers=headers)
    assert _answer(response) == (400, "DuplicateHeaders")


def test_no_certificate_and_no_token_is_missing_provider_token(http2: httpx.Client) -> None:
    response = http2.post("/3/device/abc", content=PAYLOAD, headers={"apns-topic": TOPIC})
    assert _answer(response) == (403, "MissingProviderToken")


def test_token_auth_needs_a_topic(http2: httpx.Client, p8: bytes) -> None:
    headers = {"authorization": f"bearer {_jwt(p8)}"}
    response = http2.post("/3/device/abc", content=PAYLOAD, headers=headers)
    assert _answer(response) == (400, "MissingTopic")


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("basic abc", "InvalidProviderToken"),
        ("bearer not.a.jwt", "InvalidProviderToken"),
    ],
)
def test_malformed_tokens_are_invalid(http2: httpx.Client, authorization: str, reason: str) -> None:
    headers = {"authorization": authorization, "apns-topic": TOPIC}
    response = http2.post("/3/device/abc", content=PAYLOAD, headers=headers)
    assert _answer(response) == (403, reason)


def test_token_signed_by_another_key_is_invalid(fake: FakeApns, p8: bytes) -> None:
    context = ssl.create_default_context(cafile=fake.ca_file)
    forged = _jwt(make_p8_key())  # right kid and team, wrong signature
    with httpx.Client(http2=True, verify=context, base_url=fake.url) as client:
        headers = {"authorization": f"bearer {forged}", "apns-topic": TOPIC}
        response = client.post("/3/device/abc", content=PAYLOAD, headers=headers)
    assert _answer(response) == (403, "InvalidProviderToken")


def test_token_older_than_an_hour_is_expired(fake: FakeApns, p8: bytes) -> None:
    context = ssl.create_default_context(cafile=fake.ca_file)
    stale = _jwt(p8, issued_at=time.time() - 3700)
    with httpx.Client(http2=True, verify=context, base_url=fake.url) as client:
        headers = {"authorization": f"bearer {stale}", "apns-topic": TOPIC}
        response = client.post("/3/device/abc", content=PAYLOAD, headers=headers)
    assert _answer(response) == (403, "ExpiredProviderToken")


def test_a_connection_keeps_its_first_key_id(fake: FakeApns, p8: bytes) -> None:
    other = make_p8_key()
    fake.register_key("OTHER12345", TEAM_ID, other)
    context = ssl.create_default_context(cafile=fake.ca_file)
    with httpx.Client(http2=True, verify=context, base_url=fake.url) as client:
        first = client.post("/3/device/abc", content=PAYLOAD, headers=_headers(p8))
        headers = {
            "authorization": f"bearer {_jwt(other, key_id='OTHER12345')}",
            "apns-topic": TOPIC,
        }
        second = client.post("/3/device/abc", content=PAYLOAD, headers=headers)
    assert first.status_code == 200
    assert _answer(second) == (403, "UnrelatedKeyIdInToken")


def test_server_advertises_h2_and_1000_streams(fake: FakeApns) -> None:
    context = ssl.create_default_context(cafile=fake.ca_file)
    context.set_alpn_protocols(["h2"])
    host, port = fake.url.removeprefix("https://").split(":")
    with (
        socket.create_connection((host, int(port))) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
        conn = h2.connection.H2Connection()
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        events = conn.receive_data(tls.recv(65536))
    changed = next(e for e in events if isinstance(e, h2.events.RemoteSettingsChanged))
    limit = changed.changed_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS]
    assert limit.new_value == 1000


# --- recording and control API -------------------------------------------------


def test_control_api_records_stats_reset_and_registers_keys(
    fake: FakeApns, http2: httpx.Client
) -> None:
    key = make_p8_key()
    public = (
        serialization.load_pem_private_key(key, password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with httpx.Client(base_url=fake.control_url, timeout=10) as control:
        assert control.post("/reset").status_code == 200
        assert control.get("/stats").json()["requests"] == 0
        registered = control.post(
            "/tokens", json={"keyId": "CTRL123456", "teamId": TEAM_ID, "publicKey": public}
        )
        assert registered.status_code == 201
        context = ssl.create_default_context(cafile=fake.ca_file)
        with httpx.Client(http2=True, verify=context, base_url=fake.url) as client:
            token_header = f"bearer {_jwt(key, key_id='CTRL123456')}"
            response = client.post(
                "/3/device/tok-1",
                content=PAYLOAD,
                headers={"authorization": token_header, "apns-topic": TOPIC, "apns-priority": "5"},
            )
        assert response.status_code == 200
        stats = control.get("/stats").json()
        (seen,) = control.get("/requests").json()["requests"]
        assert control.get("/nowhere").status_code == 404
    assert stats["requests"] == 1 and stats["connections"] == 1
    assert seen["token"] == "tok-1"
    assert (seen["auth"], seen["keyId"], seen["teamId"]) == ("token", "CTRL123456", TEAM_ID)
    assert seen["headers"]["apns-priority"] == "5"
    assert seen["payload"] == json.loads(PAYLOAD)
    assert "authorization" not in seen["headers"]
    assert fake.requests() == [seen]


# --- fault plan ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "fault"),
    [
        ("plain", None),
        ("unregistered-x", Fault(410, "Unregistered")),
        ("badtoken-x", Fault(400, "BadDeviceToken")),
        ("toolarge-x", Fault(413, "PayloadTooLarge")),
        ("retry-after-12-x", Fault(429, "TooManyRequests", retry_after=12)),
        ("status-503-Shutdown-x", Fault(503, "Shutdown")),
        ("slow-250-x", Fault(delay_seconds=0.25)),
        ("slow-250-badtoken-x", Fault(400, "BadDeviceToken", delay_seconds=0.25)),
        ("xx-unregistered-", None),  # a prefix, not anywhere in the token
    ],
)
def test_fault_prefixes(token: str, fault: Fault | None) -> None:
    assert FaultPlan().fault_for(token) == fault


def test_fail5xx_counts_per_exact_token_until_reset() -> None:
    plan = FaultPlan()
    statuses = [getattr(plan.fault_for("fail5xx-2-a"), "status", 200) for _ in range(3)]
    other = plan.fault_for("fail5xx-2-b")
    plan.reset()
    again = plan.fault_for("fail5xx-2-a")
    assert statuses == [503, 503, 200]
    assert other is not None and other.status == 503
    assert again is not None and again.status == 503


# --- the CLI -------------------------------------------------------------------


def _start_cli(state_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "fakes.apns", "--state-dir", str(state_dir), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, json.loads(line)


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=10)


def test_cli_prints_where_it_listens_and_keeps_its_ca(tmp_path: Path) -> None:
    key_file = tmp_path / "AuthKey_CLI1234567.p8"
    key = make_p8_key()
    key_file.write_bytes(key)
    process, info = _start_cli(
        tmp_path, "--environment", "sandbox", "--token-key", f"CLI1234567:{TEAM_ID}:{key_file}"
    )
    try:
        assert info["url"].startswith("https://127.0.0.1:")
        assert info["environment"] == "sandbox"
        context = ssl.create_default_context(cafile=info["ca_file"])
        with httpx.Client(http2=True, verify=context, base_url=info["url"]) as client:
            headers = {
                "authorization": f"bearer {_jwt(key, key_id='CLI1234567')}",
                "apns-topic": TOPIC,
            }
            assert client.post("/3/device/x", content=PAYLOAD, headers=headers).status_code == 200
        stats = httpx.get(info["control_url"] + "/stats").json()
        assert (stats["requests"], stats["environment"]) == (1, "sandbox")
        first_ca = Path(info["ca_file"]).read_bytes()
    finally:
        assert _stop(process) == 0
    process, info = _start_cli(tmp_path)
    try:
        assert Path(info["ca_file"]).read_bytes() == first_ca
    finally:
        assert _stop(process) == 0
