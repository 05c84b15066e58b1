"""POST /PushNotifications: validation names the field and writes nothing;
idempotency; Temporal down is 503 with nothing half-created."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session, func, select

from herald.models import Operation, PushNotification, Recipient
from tests.pipeline.conftest import Stack
from tests.pipeline.helpers import fcm_recipients, tokens
from tests.pipeline.stack import Tenant, new_tenant
from tests.servers import ApiServer


def _count(api: ApiServer, model: Any) -> int:
    with Session(api.engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def _in(days: float = 0, seconds: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days, seconds=seconds)).isoformat()


BASE: dict[str, Any] = {"to": [{"token": "t1", "provider": "FCM"}], "content": {"body": "b"}}

BAD = [
    ({"to": []}, "to"),
    ({"to": [{"token": "x", "provider": "FCM"}] * 10_001}, "to"),
    ({"to": [{"token": "x"}]}, "to[0]"),
    ({"to": [{"token": "x", "provider": "SMS"}]}, "to[0].provider"),
    ({"to": [{"userId": "comms_pushnotificationuser_01m8900000000000000000000a"}]}, "to[0].userId"),
    ({"content": {"body": "Hi {{ name "}}, "content.body"),
    ({"content": {"title": "{% if %}", "body": "x"}}, "content.title"),
    ({"content": {"title": "x"}}, "content.body"),
    ({"priority": "URGENT"}, "priority"),
    ({"schedule": {"sendAt": []}}, "schedule.sendAt"),
    ({"schedule": {"sendAt": [_in(seconds=-3600)]}}, "schedule.sendAt[0]"),
    ({"schedule": {"sendAt": [_in(days=8)]}}, "schedule.sendAt[0]"),
    ({"schedule": {"sendAt": [_in(seconds=60 + i) for i in range(11)]}}, "schedule.sendAt"),
    ({"tags": {f"k{i}": "v" for i in range(11)}}, "tags"),
    ({"tags": {"k" * 129: "v"}}, "tags"),
    ({"tags": {"k": "v" * 257}}, "tags"),
    ({"tags": {"k": "{{ oops"}}, "tags.k"),
    ({"from": {"appName": "nope"}}, "from.appName"),
    ({"from": {"fcm": "comms_credential_01m8900000000000000000000a"}}, "from.fcm"),
    ({"unknown": 1}, "unknown"),
]


@pytest.mark.parametrize(("change", "field"), BAD, ids=[f for _, f in BAD])
async def test_bad_request_names_the_field_and_writes_nothing(
    stack: Stack, tenant: Tenant, change: dict[str, Any], field: str
) -> None:
    before = _count(stack.api, Operation), _count(stack.api, Recipient)
    r = await tenant.http.post("/PushNotifications", json=BASE | change)
    assert r.status_code == 400, r.text
    [error] = r.json()["errors"]
    assert error["code"] == 20400
    assert error["context"]["field"] == field, error
    assert (_count(stack.api, Operation), _count(stack.api, Recipient)) == before


async def test_apn_recipient_without_apn_credential_is_400(stack: Stack) -> None:
    t = new_tenant(stack.api)
    from fakes.keys import fcm_content, make_service_account

    r = await t.http.post(
        "/PushNotifications/Credentials",
        json={
            "credentialType": "FCM",
            "appName": "only_fcm",
            "content": fcm_content(make_service_account()),
        },
    )
    assert r.status_code == 202
    r = await t.http.post(
        "/PushNotifications",
        json={
            "to": [{"token": "a", "provider": "FCM"}, {"token": "b", "provider": "APN"}],
            "content": {"body": "x"},
        },
    )
    assert r.status_code == 400 and r.json()["errors"][0]["context"]["field"] == "to[1].provider"
    await t.http.aclose()


async def test_idempotency_key_returns_the_first_operation(stack: Stack, tenant: Tenant) -> None:
    body = {"to": fcm_recipients(tokens(2)), "content": {"body": "once"}}
    first = await tenant.send(body, **{"Idempotency-Key": "order-42"})
    second = await tenant.send(body, **{"Idempotency-Key": "order-42"})
    assert first == second
    other = await tenant.send(body, **{"Idempotency-Key": "order-43"})
    assert other != first
    await tenant.wait_status(first, ("COMPLETED",))
    assert len(await tenant.push_notifications(operationId=first)) == 2


async def test_operations_are_listed_and_fetched(stack: Stack, tenant: Tenant) -> None:
    op_id = await tenant.send({"to": fcm_recipients(tokens(1)), "content": {"body": "x"}})
    op = await tenant.wait_status(op_id, ("COMPLETED",))
    assert op["schedule"]["sendAt"] and op["appName"] == "shop_app"
    r = await tenant.http.get("/PushNotifications/Operations")
    assert [o["id"] for o in r.json()["operations"]] == [op_id]
    assert r.json()["operations"][0]["stats"]["sent"] == 1
    r = await tenant.http.get(
        "/PushNotifications/Operations/comms_operation_01m8900000000000000000000a"
    )
    assert r.status_code == 404


async def test_temporal_down_is_503_and_nothing_stays(stack: Stack) -> None:
    # test_settings points Temporal at a closed port
    from tests.servers import test_settings

    settings = test_settings(stack.api.settings.database_url)
    with ApiServer(settings) as api:
        t = new_tenant(api)
        from fakes.keys import fcm_content, make_service_account

        r = await t.http.post(
            "/PushNotifications/Credentials",
            json={
                "credentialType": "FCM",
                "appName": "a1",
                "content": fcm_content(make_service_account()),
            },
        )
        assert r.status_code == 202
        before = _count(api, Operation), _count(api, PushNotification), _count(api, Recipient)
        r = await t.http.post("/PushNotifications", json=BASE)
        assert r.status_code == 503, r.text
        assert r.json()["errors"][0]["code"] == 20503
        assert "Retry-After" in r.headers
        after = _count(api, Operation), _count(api, PushNotification), _count(api, Recipient)
        assert after == before
        r2 = await t.http.get("/PushNotifications/Operations")
        assert r2.json()["operations"] == []
        ready = httpx.get(api.url + "/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["temporal"] == "unavailable"
        await t.http.aclose()
