"""DeviceRegistrations: one per (User, App), at most 50 devices, tokens move between Users."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.routers.registrations import MAX_DEVICES
from tests.api.resources import (
    REGISTRATION_ID,
    USER_ID,
    error_of,
    field_of,
    is_rfc3339,
    register,
    upload,
)


@pytest.fixture
def shop(client: httpx.Client) -> httpx.Client:
    """The client, with an App ``shop_app`` (FCM) and an App ``game_app`` (APN)."""
    upload(client, "FCM", "shop_app")
    upload(client, "APN", "game_app")
    return client


def _registration(client: httpx.Client, ident: str) -> dict[str, Any]:
    r = client.get(f"/DeviceRegistrations/{ident}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _tokens(client: httpx.Client, ident: str) -> list[str]:
    return [d["token"] for d in _registration(client, ident)["devices"]]


def test_register_without_user_creates_one(shop: httpx.Client) -> None:
    r = shop.post(
        "/DeviceRegistrations",
        json={"appName": "shop_app", "token": "fcm-token-1", "provider": "FCM"},
    )
    assert r.status_code == 202, r.text
    answer = r.json()
    ident, user_id = answer["resourceId"], answer["userId"]
    assert REGISTRATION_ID.match(ident) and USER_ID.match(user_id)
    assert r.headers["Location"] == answer["resourceLocation"]
    assert r.headers["Location"].endswith(f"/v1/PushNotifications/DeviceRegistrations/{ident}")
    got = _registration(shop, ident)
    assert got["id"] == ident
    assert got["appName"] == "shop_app"
    assert got["userId"] == user_id
    assert [(d["token"], d["provider"]) for d in got["devices"]] == [("fcm-token-1", "FCM")]
    assert is_rfc3339(got["devices"][0]["createdAt"])
    assert is_rfc3339(got["createdAt"]) and is_rfc3339(got["updatedAt"])
    user = shop.get(f"/Users/{user_id}")
    assert user.status_code == 200
    assert user.json()["deviceRegistrations"] == [ident]


def test_one_registration_per_user_and_app(shop: httpx.Client) -> None:
    first = register(shop, "tok-a")
    user = first["userId"]
    second = register(shop, "tok-b", user_id=user)
    assert second["resourceId"] == first["resourceId"]
    assert second["userId"] == user
    assert _tokens(shop, first["resourceId"]) == ["tok-a", "tok-b"]
    apn = register(shop, "apn-tok", app_name="game_app", provider="APN", user_id=user)
    assert apn["resourceId"] != first["resourceId"]
    assert _registration(shop, apn["resourceId"])["appName"] == "game_app"
    assert sorted(shop.get(f"/Users/{user}").json()["deviceRegistrations"]) == sorted(
        [first["resourceId"], apn["resourceId"]]
    )


def test_fifty_devices_then_the_fifty_first_is_409(shop: httpx.Client) -> None:
    user = register(shop, "device-0")["userId"]
    for i in range(1, MAX_DEVICES):
        register(shop, f"device-{i}", user_id=user)
    r = shop.post(
        "/DeviceRegistrations",
        json={"appName": "shop_app", "token": "device-50", "provider": "FCM", "userId": user},
    )
    assert error_of(r, 409)["context"]["field"] == "token"
    ident = shop.get("/DeviceRegistrations", params={"userId": user}).json()["deviceRegistrations"][
        0
    ]["id"]
    tokens = _tokens(shop, ident)
    assert len(tokens) == MAX_DEVICES and "device-50" not in tokens
    # Re-registering a token it already holds is still fine at the limit.
    assert register(shop, "device-7", user_id=user)["resourceId"] == ident
    assert len(_tokens(shop, ident)) == MAX_DEVICES


def test_re_registering_a_token_is_idempotent(shop: httpx.Client) -> None:
    first = register(shop, "same-token")
    again = register(shop, "same-token", user_id=first["userId"])
    assert again == first
    assert _tokens(shop, first["resourceId"]) == ["same-token"]
    # A new provider for the same token replaces the old one, still one device.
    register(shop, "same-token", user_id=first["userId"], provider="APN")
    devices = _registration(shop, first["resourceId"])["devices"]
    assert [(d["token"], d["provider"]) for d in devices] == [("same-token", "APN")]


def test_a_token_moves_to_the_new_user(shop: httpx.Client) -> None:
    ann = register(shop, "shared-token")
    register(shop, "ann-only", user_id=ann["userId"])
    bob = register(shop, "shared-token")
    assert bob["userId"] != ann["userId"]
    assert bob["resourceId"] != ann["resourceId"]
    assert _tokens(shop, bob["resourceId"]) == ["shared-token"]
    assert _tokens(shop, ann["resourceId"]) == ["ann-only"]
    # Moving its last token away deletes the emptied registration; the User stays.
    carl = register(shop, "ann-only")
    assert _tokens(shop, carl["resourceId"]) == ["ann-only"]
    error_of(shop.get(f"/DeviceRegistrations/{ann['resourceId']}"), 404)
    user = shop.get(f"/Users/{ann['userId']}")
    assert user.status_code == 200 and user.json()["deviceRegistrations"] == []


def test_the_same_token_in_two_apps_is_two_devices(shop: httpx.Client) -> None:
    upload(shop, "FCM", "third_app")
    one = register(shop, "cross-app-token")
    two = register(shop, "cross-app-token", app_name="third_app")
    assert one["resourceId"] != two["resourceId"]
    assert _tokens(shop, one["resourceId"]) == ["cross-app-token"]
    assert _tokens(shop, two["resourceId"]) == ["cross-app-token"]


def test_register_validates_its_body(shop: httpx.Client, other_client: httpx.Client) -> None:
    def post(**body: object) -> httpx.Response:
        return shop.post("/DeviceRegistrations", json=body)

    assert field_of(post(appName="no_such_app", token="t", provider="FCM")) == "appName"
    assert field_of(post(appName="Bad-Name", token="t", provider="FCM")) == "appName"
    assert field_of(post(token="t", provider="FCM")) == "appName"
    assert field_of(post(appName="shop_app", token="", provider="FCM")) == "token"
    assert field_of(post(appName="shop_app", provider="FCM")) == "token"
    for bad_token in ("a\x00b", "with space", "line\n", "x" * 4097):
        assert field_of(post(appName="shop_app", token=bad_token, provider="FCM")) == "token"
    assert field_of(post(appName="shop_app", token="t", provider="GCM")) == "provider"
    assert field_of(post(appName="shop_app", token="t", provider="FCM", userId="u1")) == "userId"
    assert field_of(post(appName="shop_app", token="t", provider="FCM", extra=1)) == "extra"
    unknown = "comms_pushnotificationuser_01jd0000000000000000000000"
    assert field_of(post(appName="shop_app", token="t", provider="FCM", userId=unknown)) == (
        "userId"
    )
    # Another account's App and User are not this account's.
    upload(other_client, "FCM", "theirs_app")
    theirs = register(other_client, "their-token", app_name="theirs_app")
    assert field_of(post(appName="theirs_app", token="t", provider="FCM")) == "appName"
    r = post(appName="shop_app", token="t", provider="FCM", userId=theirs["userId"])
    assert field_of(r) == "userId"
    assert shop.get("/Users").json()["users"] == []


def test_list_requires_user_id_and_filters_by_app(shop: httpx.Client) -> None:
    assert field_of(shop.get("/DeviceRegistrations")) == "userId"
    assert field_of(shop.get("/DeviceRegistrations", params={"userId": "nope"})) == "userId"
    ann = register(shop, "ann-fcm")
    ann_apn = register(shop, "ann-apn", app_name="game_app", provider="APN", user_id=ann["userId"])
    bob = register(shop, "bob-fcm")

    def listed(**params: str) -> list[str]:
        r = shop.get("/DeviceRegistrations", params=params)
        assert r.status_code == 200, r.text
        assert set(r.json()) == {"deviceRegistrations", "pagination"}
        return [item["id"] for item in r.json()["deviceRegistrations"]]

    assert sorted(listed(userId=ann["userId"])) == sorted(
        [ann["resourceId"], ann_apn["resourceId"]]
    )
    assert listed(userId=ann["userId"], appName="game_app") == [ann_apn["resourceId"]]
    assert listed(userId=ann["userId"], appName="other_app") == []
    assert listed(userId=bob["userId"]) == [bob["resourceId"]]
    assert listed(userId="comms_pushnotificationuser_01jd0000000000000000000000") == []
    assert (
        field_of(
            shop.get("/DeviceRegistrations", params={"userId": ann["userId"], "appName": "A B"})
        )
        == "appName"
    )


def test_delete_removes_the_registration_and_its_devices(shop: httpx.Client) -> None:
    first = register(shop, "gone-1")
    register(shop, "gone-2", user_id=first["userId"])
    r = shop.delete(f"/DeviceRegistrations/{first['resourceId']}")
    assert r.status_code == 202, r.text
    assert r.json()["resourceId"] == first["resourceId"]
    assert r.headers["Location"].endswith(f"/DeviceRegistrations/{first['resourceId']}")
    error_of(shop.get(f"/DeviceRegistrations/{first['resourceId']}"), 404)
    error_of(shop.delete(f"/DeviceRegistrations/{first['resourceId']}"), 404)
    listed = shop.get("/DeviceRegistrations", params={"userId": first["userId"]}).json()
    assert listed["deviceRegistrations"] == []
    # The User lives on, and its tokens are free: registering one starts afresh.
    assert shop.get(f"/Users/{first['userId']}").status_code == 200
    again = register(shop, "gone-1", user_id=first["userId"])
    assert again["resourceId"] != first["resourceId"]
    assert _tokens(shop, again["resourceId"]) == ["gone-1"]


def test_malformed_registration_ids_are_400(shop: httpx.Client) -> None:
    field = field_of(shop.get("/DeviceRegistrations/comms_device_registration_short"))
    assert field == "deviceRegistrationId"
    assert field_of(shop.delete("/DeviceRegistrations/x")) == "deviceRegistrationId"
    error_of(
        shop.get("/DeviceRegistrations/comms_device_registration_01jd0000000000000000000000"), 404
    )


def test_preview_alias_registers_identically(shop: httpx.Client) -> None:
    preview = str(shop.base_url).rstrip("/").replace("/v1/", "/preview/")
    r = shop.post(
        preview + "/DeviceRegistrations",
        json={"appName": "shop_app", "token": "preview-token", "provider": "FCM"},
    )
    assert r.status_code == 202, r.text
    ident = r.json()["resourceId"]
    assert r.headers["Location"].endswith(f"/preview/PushNotifications/DeviceRegistrations/{ident}")
    assert shop.get(preview + f"/DeviceRegistrations/{ident}").json() == _registration(shop, ident)
