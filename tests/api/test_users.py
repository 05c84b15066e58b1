"""Users: made by DeviceRegistrations, live until DELETE, which erases their registrations."""

from __future__ import annotations

import httpx

from tests.api.resources import USER_ID, error_of, field_of, is_rfc3339, register, upload


def test_get_and_list_users(client: httpx.Client) -> None:
    upload(client, "FCM", "shop_app")
    upload(client, "APN", "game_app")
    ann = register(client, "ann-1")
    ann_game = register(client, "ann-2", app_name="game_app", provider="APN", user_id=ann["userId"])
    bob = register(client, "bob-1")
    r = client.get(f"/Users/{ann['userId']}")
    assert r.status_code == 200, r.text
    user = r.json()
    assert USER_ID.match(user["id"]) and user["id"] == ann["userId"]
    assert sorted(user["deviceRegistrations"]) == sorted(
        [ann["resourceId"], ann_game["resourceId"]]
    )
    assert is_rfc3339(user["createdAt"]) and is_rfc3339(user["updatedAt"])
    listed = client.get("/Users")
    assert listed.status_code == 200
    assert set(listed.json()) == {"users", "pagination"}
    assert {u["id"] for u in listed.json()["users"]} == {ann["userId"], bob["userId"]}


def test_delete_user_erases_its_registrations(client: httpx.Client) -> None:
    upload(client, "FCM", "shop_app")
    upload(client, "APN", "game_app")
    ann = register(client, "ann-token")
    ann_game = register(
        client, "ann-apn", app_name="game_app", provider="APN", user_id=ann["userId"]
    )
    bob = register(client, "bob-token")
    r = client.delete(f"/Users/{ann['userId']}")
    assert r.status_code == 202, r.text
    assert r.json()["resourceId"] == ann["userId"]
    assert r.headers["Location"].endswith(f"/v1/PushNotifications/Users/{ann['userId']}")
    error_of(client.get(f"/Users/{ann['userId']}"), 404)
    error_of(client.delete(f"/Users/{ann['userId']}"), 404)
    for ident in (ann["resourceId"], ann_game["resourceId"]):
        error_of(client.get(f"/DeviceRegistrations/{ident}"), 404)
    listed = client.get("/DeviceRegistrations", params={"userId": ann["userId"]}).json()
    assert listed["deviceRegistrations"] == []
    assert [u["id"] for u in client.get("/Users").json()["users"]] == [bob["userId"]]
    assert client.get(f"/DeviceRegistrations/{bob['resourceId']}").status_code == 200
    # The erased User's tokens are free for someone else; the old User cannot be used.
    carl = register(client, "ann-token")
    assert carl["userId"] != ann["userId"]
    r = client.post(
        "/DeviceRegistrations",
        json={"appName": "shop_app", "token": "x", "provider": "FCM", "userId": ann["userId"]},
    )
    assert field_of(r) == "userId"


def test_a_user_lives_on_without_registrations(client: httpx.Client) -> None:
    upload(client, "FCM", "shop_app")
    ann = register(client, "lonely")
    assert client.delete(f"/DeviceRegistrations/{ann['resourceId']}").status_code == 202
    user = client.get(f"/Users/{ann['userId']}")
    assert user.status_code == 200 and user.json()["deviceRegistrations"] == []
    assert [u["id"] for u in client.get("/Users").json()["users"]] == [ann["userId"]]


def test_malformed_and_unknown_user_ids(client: httpx.Client) -> None:
    assert field_of(client.get("/Users/comms_pushnotificationuser_")) == "userId"
    assert field_of(client.delete("/Users/someone")) == "userId"
    unknown = "comms_pushnotificationuser_01jd0000000000000000000000"
    assert error_of(client.get(f"/Users/{unknown}"), 404)["context"]["id"] == unknown
    error_of(client.delete(f"/Users/{unknown}"), 404)
