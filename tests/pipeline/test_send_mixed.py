"""A 1,000-recipient templated send across APNs and FCM, and what Temporal keeps."""

from __future__ import annotations

from typing import Any

from tests.pipeline.conftest import Stack
from tests.pipeline.helpers import fcm_seen, tokens
from tests.pipeline.stack import Tenant


def _recipients(n: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    to: list[dict[str, Any]] = []
    expected: dict[str, str] = {}
    for i, token in enumerate(tokens(n, prefix="mix-")):
        provider = "APN" if i % 2 else "FCM"
        name = f"Customer{i:04d}"
        to.append({"token": token, "provider": provider, "variables": {"name": name, "n": i}})
        expected[token] = f"Hi {name}, order {i} is ready"
    return to, expected


async def test_mixed_1000_recipients_rendered_once_each(stack: Stack, tenant: Tenant) -> None:
    to, expected = _recipients(1000)
    op_id = await tenant.send(
        {
            "to": to,
            "content": {"title": "For {{ name }}", "body": "Hi {{ name }}, order {{ n }} is ready"},
            "priority": "LOW",
            "sound": "ring",
            "tags": {"campaign": "spring", "who": "{{ name }}"},
        }
    )
    op = await tenant.wait_status(op_id, ("COMPLETED",), timeout=120)
    assert op["stats"] == {
        "total": 1000, "recipients": 1000, "unaddressable": 0, "scheduled": 0,
        "queued": 0, "sent": 1000, "failed": 0, "canceled": 0,
    }
    fcm = [r for r in stack.fcm.requests() if r["token"] in expected]
    apns = [r for r in stack.apns.requests() if r["token"] in expected]
    assert len(fcm) == 500 and len(apns) == 500  # once each
    for r in fcm:
        message = r["body"]["message"]
        assert message["notification"]["body"] == expected[r["token"]]
        assert message["android"]["priority"] == "NORMAL"
    for r in apns:
        assert r["payload"]["aps"]["alert"]["body"] == expected[r["token"]]
        assert r["payload"]["aps"]["sound"] == "ring"
        assert r["headers"]["apns-priority"] == "5"
        assert r["headers"]["apns-topic"] == "com.example.shop"

    # tags are rendered per recipient and searchable
    [pn] = await tenant.push_notifications(operationId=op_id, tags="who:Customer0007;")
    assert pn["to"]["token"] == to[7]["token"] and pn["tags"]["who"] == "Customer0007"
    apn_pns = await tenant.push_notifications(operationId=op_id, provider="APN")
    assert len(apn_pns) == 500
    campaign = await tenant.push_notifications(operationId=op_id, tags="campaign:spring;")
    assert len(campaign) == 1000

    # the workflow's history holds ids and counts only
    handle = stack.temporal.client.get_workflow_handle(op_id)
    history = await handle.fetch_history()
    # payload data is raw JSON bytes inside the serialized events
    raw = b"".join(e.SerializeToString() for e in history.events)
    assert op_id.encode() in raw and b"deliver_batch" in raw  # the check can see payloads
    for r in to:
        assert r["token"].encode() not in raw
        assert r["variables"]["name"].encode() not in raw
    assert b"BEGIN" not in raw and b"privateKey" not in raw
    assert fcm_seen(stack.fcm, {to[0]["token"]}) == [to[0]["token"]]
