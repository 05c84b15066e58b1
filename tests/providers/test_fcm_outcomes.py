"""Every row of the FCM classification table, over real sockets against the fake."""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.providers.base import Outcome, PushMessage
from activities.providers.fcm_outcomes import (
    FCM_FALLBACK,
    FCM_RULES,
    FcmRule,
    classify,
    markdown_table,
    parse_retry_after,
)
from fakes.fcm import FakeFcm
from fakes.keys import make_service_account
from tests.providers.fcm_support import PROJECT, sender

DOC = Path(__file__).resolve().parents[2] / "docs" / "providers-fcm.md"

# (code, about) of each rule -> a device token making the fake answer with it.
RULE_TOKENS: dict[tuple[str, str], str] = {
    ("UNREGISTERED", "any"): "unregistered-a",
    ("INVALID_ARGUMENT", "token"): "badtoken-a",
    ("INVALID_ARGUMENT", "any"): "toolarge-a",
    ("SENDER_ID_MISMATCH", "any"): "fcmerror-403-SENDER_ID_MISMATCH-a",
    ("THIRD_PARTY_AUTH_ERROR", "any"): "fcmerror-401-THIRD_PARTY_AUTH_ERROR-a",
    ("QUOTA_EXCEEDED", "any"): "retry-after-7-a",
    ("RESOURCE_EXHAUSTED", "any"): "fcmerror-429-RESOURCE_EXHAUSTED-a",
    ("UNAVAILABLE", "any"): "fail5xx-100-a",
    ("INTERNAL", "any"): "fcmerror-500-INTERNAL-a",
    ("DEADLINE_EXCEEDED", "any"): "fcmerror-504-DEADLINE_EXCEEDED-a",
    ("UNSPECIFIED_ERROR", "any"): "fcmerror-400-UNSPECIFIED_ERROR-a",
    ("UNAUTHENTICATED", "any"): "fcmerror-401-UNAUTHENTICATED-a",
    ("PERMISSION_DENIED", "any"): "fcmerror-403-PERMISSION_DENIED-a",
    ("NOT_FOUND", "any"): "fcmerror-404-NOT_FOUND-a",
}

# Status class of FCM_FALLBACK -> (token, HTTP status the fake answers).
FALLBACK_TOKENS: dict[str, tuple[str, int]] = {
    "429": ("fcmerror-429-SLOW_DOWN-a", 429),
    "5xx": ("fcmerror-502-NONE-a", 502),
    "4xx": ("fcmerror-418-TEAPOT-a", 418),
    "other": ("fcmerror-302-MOVED-a", 302),
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeFcm]:
    with FakeFcm() as server:
        yield server


def test_every_rule_has_a_wire_case() -> None:
    assert set(RULE_TOKENS) == {(r.code, r.about) for r in FCM_RULES}
    assert set(FALLBACK_TOKENS) == {status_class for status_class, _ in FCM_FALLBACK}


def test_docs_show_the_table_as_coded() -> None:
    assert markdown_table() in DOC.read_text(encoding="utf-8")


async def test_success_is_sent_with_the_message_name(fake: FakeFcm) -> None:
    async with sender(fake) as s:
        result = await s.client.send(PushMessage(token="device-ok", body="hi"))
    assert result.outcome is Outcome.SENT
    assert result.status == 200
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith(f"projects/{PROJECT}/messages/")


@pytest.mark.parametrize("rule", FCM_RULES, ids=lambda r: f"{r.code}-{r.about}")
async def test_rule_over_the_wire(fake: FakeFcm, rule: FcmRule) -> None:
    code, about = rule.code, rule.about
    token = RULE_TOKENS[(code, about)]
    async with sender(fake) as s:
        result = await s.client.send(PushMessage(token=token, body="x"))
        sent = s.sent_to(token)
    assert (result.outcome, result.code, result.status) == (rule.outcome, code, rule.status)
    assert result.message
    # Only an UNAUTHENTICATED answer makes the client refetch its token and resend once.
    assert len(sent) == (2 if code == "UNAUTHENTICATED" else 1)
    assert sent[-1]["status"] == rule.status
    if len(sent) == 2:
        assert sent[0]["access_token"] != sent[1]["access_token"]


@pytest.mark.parametrize("status_class", [c for c, _ in FCM_FALLBACK])
async def test_unknown_codes_fall_back_on_the_status(fake: FakeFcm, status_class: str) -> None:
    token, status = FALLBACK_TOKENS[status_class]
    async with sender(fake) as s:
        result = await s.client.send(PushMessage(token=token, body="x"))
    assert result.outcome is dict(FCM_FALLBACK)[status_class]
    assert result.status == status


async def test_pinned_decisions(fake: FakeFcm) -> None:
    """The decisions the rest of Herald relies on, spelled out."""
    async with sender(fake) as s:
        outcomes = {
            token: (await s.client.send(PushMessage(token=token, body="x"))).outcome
            for token in (
                "unregistered-p",
                "badtoken-p",
                "toolarge-p",
                "fcmerror-403-SENDER_ID_MISMATCH-p",
                "fcmerror-404-NOT_FOUND-p",
                "fail5xx-1-p",
                "fcmerror-500-INTERNAL-p",
            )
        }
    assert outcomes == {
        "unregistered-p": Outcome.INVALID_TOKEN,
        "badtoken-p": Outcome.INVALID_TOKEN,
        "toolarge-p": Outcome.FAILED,
        "fcmerror-403-SENDER_ID_MISMATCH-p": Outcome.FAILED,
        "fcmerror-404-NOT_FOUND-p": Outcome.FAILED,
        "fail5xx-1-p": Outcome.RETRY,
        "fcmerror-500-INTERNAL-p": Outcome.RETRY,
    }


async def test_quota_retry_after_is_honoured(fake: FakeFcm) -> None:
    async with sender(fake) as s:
        result = await s.client.send(PushMessage(token="retry-after-42-q", body="x"))
    assert result.outcome is Outcome.RETRY
    assert result.retry_after == 42.0


async def test_fail5xx_recovers_after_k_failures(fake: FakeFcm) -> None:
    async with sender(fake) as s:
        results = [
            await s.client.send(PushMessage(token="fail5xx-2-k", body="x")) for _ in range(3)
        ]
    assert [r.outcome for r in results] == [Outcome.RETRY, Outcome.RETRY, Outcome.SENT]


async def test_project_the_account_may_not_use_is_permission_denied(fake: FakeFcm) -> None:
    account = make_service_account(PROJECT, client_email=f"other@{PROJECT}.example")
    fake.register_service_account(account, project_id="some-other-project")
    async with sender(fake, service_account=account, register=False) as s:
        result = await s.client.send(PushMessage(token="device-1", body="x"))
    assert (result.outcome, result.code, result.status) == (
        Outcome.FAILED,
        "PERMISSION_DENIED",
        403,
    )


async def test_message_fcm_rejects_is_failed(fake: FakeFcm) -> None:
    async with sender(fake) as s:
        result = await s.client.send(PushMessage(token="device-big", body="x" * 5000))
    assert (result.outcome, result.code) == (Outcome.FAILED, "INVALID_ARGUMENT")
    assert result.message == "Message is too big"


def test_retry_after_http_date() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=now) == 90.0
    assert parse_retry_after("not a date", now=now) is None
    assert parse_retry_after("-5") == 0.0


def test_retry_after_only_on_retry() -> None:
    body = b'{"error": {"code": 404, "status": "NOT_FOUND", "message": "gone"}}'
    assert classify(404, body, "30").retry_after is None
    assert classify(503, b"", "30").retry_after == 30.0
