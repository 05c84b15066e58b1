"""The APNs classification table: its rules, and the docs showing it verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.providers.apns_outcomes import (
    APNS_RESPONSES,
    classify,
    describe,
    markdown_table,
)
from activities.providers.base import Outcome

DOC = Path(__file__).resolve().parents[2] / "docs" / "providers-apns.md"


def test_docs_show_the_table_exactly() -> None:
    assert markdown_table() in DOC.read_text("utf-8"), (
        "docs/providers-apns.md is out of date: paste "
        "`python -m activities.providers.apns_outcomes` into it"
    )


def test_each_answer_is_listed_once() -> None:
    keys = [(row.status, row.reason) for row in APNS_RESPONSES]
    assert len(keys) == len(set(keys))


def test_table_follows_the_design_rules() -> None:
    by_key = {(row.status, row.reason): row.outcome for row in APNS_RESPONSES}
    assert by_key[(200, "")] is Outcome.SENT
    invalid = {key for key, outcome in by_key.items() if outcome is Outcome.INVALID_TOKEN}
    assert invalid == {
        (400, "BadDeviceToken"),
        (400, "DeviceTokenNotForTopic"),
        (410, "ExpiredToken"),
        (410, "Unregistered"),
    }
    assert all(o is Outcome.FAILED for (status, _), o in by_key.items() if status == 403)
    assert all(o is Outcome.RETRY for (status, _), o in by_key.items() if status >= 429)
    assert by_key[(400, "IdleTimeout")] is Outcome.RETRY
    assert by_key[(413, "PayloadTooLarge")] is Outcome.FAILED


@pytest.mark.parametrize(
    ("status", "reason", "outcome"),
    [
        (200, None, Outcome.SENT),
        (400, "BadDeviceToken", Outcome.INVALID_TOKEN),
        (410, None, Outcome.INVALID_TOKEN),
        (429, "Whatever", Outcome.RETRY),
        (500, None, Outcome.RETRY),
        (504, "GatewayTimeout", Outcome.RETRY),
        (401, "Unknown", Outcome.FAILED),
        (404, None, Outcome.FAILED),
        (403, "BadDeviceToken", Outcome.FAILED),  # the reason only counts with its status
    ],
)
def test_classify(status: int, reason: str | None, outcome: Outcome) -> None:
    assert classify(status, reason) is outcome


def test_describe_uses_the_meaning_or_the_raw_answer() -> None:
    assert (
        describe(410, "Unregistered") == "APNs 410: Device token is no longer active for the topic"
    )
    assert describe(418, "Teapot") == "APNs 418: Teapot"
    assert describe(502, None) == "APNs 502"
