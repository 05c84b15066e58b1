"""Apps: created by Credential uploads, one default, at most 10 per account."""

from __future__ import annotations

import httpx

from api.routers.credentials import MAX_APPS
from tests.api.resources import content_for, error_of, field_of, is_rfc3339, upload


def _apps(client: httpx.Client, **params: str) -> dict[str, bool]:
    r = client.get("/Apps", params=params)
    assert r.status_code == 200, r.text
    return {a["name"]: a["isDefault"] for a in r.json()["apps"]}


def test_first_app_is_default_and_has_the_documented_shape(client: httpx.Client) -> None:
    assert _apps(client) == {}
    cred = upload(client, "FCM", "shop_app")
    upload(client, "FCM", "other_app")
    assert _apps(client) == {"shop_app": True, "other_app": False}
    r = client.get("/Apps/shop_app")
    assert r.status_code == 200
    app = r.json()
    assert app["name"] == "shop_app" and app["isDefault"] is True
    assert app["defaultCredentials"] == [{"credentialType": "FCM", "credentialId": cred}]
    assert is_rfc3339(app["createdAt"]) and is_rfc3339(app["updatedAt"])


def test_default_credentials_list_one_per_type(client: httpx.Client) -> None:
    fcm = upload(client, "FCM")
    upload(client, "FCM")
    apn = upload(client, "APN")
    sandbox = upload(client, "APN_SANDBOX")
    defaults = client.get("/Apps/shop_app").json()["defaultCredentials"]
    assert sorted((d["credentialType"], d["credentialId"]) for d in defaults) == [
        ("APN", apn),
        ("APN_SANDBOX", sandbox),
        ("FCM", fcm),
    ]


def test_patch_is_default_moves_the_default(client: httpx.Client) -> None:
    upload(client, "FCM", "first_app")
    upload(client, "FCM", "second_app")
    r = client.patch("/Apps/second_app", json={"isDefault": True})
    assert r.status_code == 202, r.text
    assert r.json()["resourceId"] == "second_app"
    assert r.json()["resourceLocation"] == r.headers["Location"]
    assert r.headers["Location"].endswith("/v1/PushNotifications/Apps/second_app")
    assert _apps(client) == {"first_app": False, "second_app": True}
    assert list(_apps(client, isDefault="true")) == ["second_app"]
    assert list(_apps(client, isDefault="false")) == ["first_app"]
    # Making the default App the default again changes nothing.
    assert client.patch("/Apps/second_app", json={"isDefault": True}).status_code == 202
    assert _apps(client) == {"first_app": False, "second_app": True}


def test_patch_false_on_the_default_app_is_409(client: httpx.Client) -> None:
    upload(client, "FCM", "first_app")
    upload(client, "FCM", "second_app")
    error = error_of(client.patch("/Apps/first_app", json={"isDefault": False}), 409)
    assert error["context"]["field"] == "isDefault"
    # isDefault false on a non-default App is accepted and changes nothing.
    assert client.patch("/Apps/second_app", json={"isDefault": False}).status_code == 202
    assert _apps(client) == {"first_app": True, "second_app": False}


def test_patch_validates_its_body(client: httpx.Client) -> None:
    upload(client, "FCM")
    assert field_of(client.patch("/Apps/shop_app", json={})) == "isDefault"
    assert field_of(client.patch("/Apps/shop_app", json={"isDefault": "maybe"})) == "isDefault"
    r = client.patch("/Apps/shop_app", json={"isDefault": True, "name": "x"})
    assert field_of(r) == "name"
    error_of(client.patch("/Apps/nope_app", json={"isDefault": True}), 404)


def test_eleventh_app_is_409(client: httpx.Client) -> None:
    for i in range(MAX_APPS):
        upload(client, "FCM", f"app_{i}")
    r = client.post(
        "/Credentials",
        json={"credentialType": "FCM", "appName": "app_extra", "content": content_for("FCM")},
    )
    assert error_of(r, 409)["context"]["field"] == "appName"
    apps = _apps(client, pageSize="1000")
    assert len(apps) == MAX_APPS and "app_extra" not in apps
    assert list(apps.values()).count(True) == 1
    # An existing App still takes credentials.
    upload(client, "FCM", "app_3")


def test_unknown_and_malformed_app_names(client: httpx.Client) -> None:
    error = error_of(client.get("/Apps/missing_app"), 404)
    assert error["context"]["id"] == "missing_app"
    assert field_of(client.get("/Apps/Bad-Name")) == "appName"
    assert field_of(client.get("/Apps/" + "a" * 65)) == "appName"


def test_preview_alias_answers_the_same(client: httpx.Client) -> None:
    upload(client, "FCM", "shop_app")
    preview = str(client.base_url).rstrip("/").replace("/v1/", "/preview/")
    v1 = client.get("/Apps").json()
    pv = client.get(preview + "/Apps").json()
    assert v1["apps"] == pv["apps"]
    upload(client, "FCM", "next_app")
    r = client.patch(preview + "/Apps/next_app", json={"isDefault": True})
    assert r.status_code == 202
    assert r.headers["Location"].endswith("/preview/PushNotifications/Apps/next_app")
    assert client.get("/Apps/next_app").json()["isDefault"] is True
