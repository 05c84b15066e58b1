"""Provider failures: dead tokens are forgotten, Retry-After is honoured,
a missing variable fails only its recipient, and /Errors tells it all."""

from __future__ import annotations

import time

from tests.pipeline.conftest import Stack
from tests.pipeline.helpers import eventually, fcm_recipients, fcm_seen, tokens
from tests.pipeline.stack import Tenant


async def _register(tenant: Tenant, token: str, user_id: str | None = None) -> dict[str, str]:
    body = {"appName": "shop_app", "token": token, "provider": "FCM"}
    if user_id:
        body["userId"] = user_id
    r = await tenant.http.post("/PushNotifications/DeviceRegistrations", json=body)
    assert r.status_code == 202, r.text
    answer: dict[str, str] = r.json()
    return answer


async def test_user_recipient_fans_out_and_dead_token_is_forgotten(
    stack: Stack, tenant: Tenant
) -> None:
    good, dead = tokens(1)[0], tokens(1, prefix="unregistered-")[0]
    first = await _register(tenant, good)
    user_id = first["userId"]
    await _register(tenant, dead, user_id)
    op_id = await tenant.send(
        {
            "to": [{"userId": user_id, "variables": {"name": "Ann"}}],
            "content": {"title": "Hi {{ name }}", "body": "Your order is ready"},
        }
    )
    op = await tenant.wait_status(op_id, ("COMPLETED",))
    assert op["stats"]["sent"] == 1 and op["stats"]["failed"] == 0
    assert op["errorSummary"] == [{"code": "UNREGISTERED", "provider": "FCM", "count": 1}]

    [pn] = await tenant.push_notifications(operationId=op_id)
    assert pn["status"] == "SENT" and pn["to"] == {"userId": user_id}
    assert pn["content"]["title"] == "Hi Ann"  # rendered once sent
    statuses = {d["token"]: d["status"] for d in pn["deliveries"]}
    assert statuses == {good: "SENT", dead: "FAILED"}
    assert sorted(fcm_seen(stack.fcm, {good, dead})) == sorted([good, dead])

    r = await tenant.http.get(f"/PushNotifications/DeviceRegistrations/{first['resourceId']}")
    assert [d["token"] for d in r.json()["devices"]] == [good]

    r = await tenant.http.get(f"/PushNotifications/Operations/{op_id}/Errors")
    [error] = r.json()["operationErrors"]
    assert error["code"] == "UNREGISTERED" and error["providerStatus"] == 404
    assert error["recipient"]["token"] == dead and error["retryable"] is False
    assert error["pushNotificationId"] == pn["id"]


async def test_user_without_devices_is_unaddressable(stack: Stack, tenant: Tenant) -> None:
    reg = await _register(tenant, tokens(1)[0])
    r = await tenant.http.delete(f"/PushNotifications/DeviceRegistrations/{reg['resourceId']}")
    assert r.status_code == 202
    op_id = await tenant.send({"to": [{"userId": reg["userId"]}], "content": {"body": "x"}})
    op = await tenant.wait_status(op_id, ("COMPLETED",))
    assert op["stats"]["failed"] == 1 and op["stats"]["unaddressable"] == 1


async def test_missing_variable_fails_only_its_recipient(stack: Stack, tenant: Tenant) -> None:
    toks = tokens(3)
    to = fcm_recipients(toks)
    to[0]["variables"] = {"name": "A"}
    to[2]["variables"] = {"name": "C"}
    op_id = await tenant.send({"to": to, "content": {"body": "Hello {{ name }}"}})
    op = await tenant.wait_status(op_id, ("COMPLETED",))
    assert op["stats"]["sent"] == 2 and op["stats"]["failed"] == 1
    assert sorted(fcm_seen(stack.fcm, set(toks))) == sorted([toks[0], toks[2]])
    r = await tenant.http.get(f"/PushNotifications/Operations/{op_id}/Errors")
    [error] = r.json()["operationErrors"]
    assert error["code"] == "TEMPLATE_ERROR" and "name" in error["message"]
    assert error["recipient"]["token"] == toks[1]
    failed = await tenant.push_notifications(operationId=op_id, status="FAILED")
    assert [p["to"]["token"] for p in failed] == [toks[1]]


async def test_transient_failure_is_retried_until_sent(stack: Stack, tenant: Tenant) -> None:
    [tok] = tokens(1, prefix="fail5xx-2-")
    op_id = await tenant.send({"to": fcm_recipients([tok]), "content": {"body": "x"}})
    op = await tenant.wait_status(op_id, ("COMPLETED",))
    assert op["stats"]["sent"] == 1
    assert fcm_seen(stack.fcm, {tok}) == [tok] * 3
    [pn] = await tenant.push_notifications(operationId=op_id)
    assert pn["status"] == "SENT"


async def test_retry_after_is_honoured(stack: Stack, tenant: Tenant) -> None:
    [tok] = tokens(1, prefix="retry-after-3-")
    op_id = await tenant.send({"to": fcm_recipients([tok]), "content": {"body": "x"}})
    await eventually(lambda: len(fcm_seen(stack.fcm, {tok})) >= 1, what="first try")
    first = time.monotonic()
    await eventually(lambda: len(fcm_seen(stack.fcm, {tok})) >= 2, timeout=20, what="retry")
    assert time.monotonic() - first >= 2.8  # Retry-After: 3 beats the 1 s first backoff
    op = await tenant.operation(op_id)
    assert op["status"] == "PROCESSING" and op["stats"]["queued"] == 1
    r = await tenant.http.post(f"/PushNotifications/Operations/{op_id}/Cancel")
    assert r.status_code == 202
    op = await tenant.wait_status(op_id, ("CANCELED",))
    assert op["stats"]["canceled"] == 1
