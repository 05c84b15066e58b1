"""Errors: one shape, 400 (never 422) naming the field, 401, 404 across accounts, 413, 429."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from tests import servers
from tests.api.resources import basic_auth, error_of, field_of, register, upload
from tests.conftest import client_for
from tests.servers import ApiServer


def test_bad_json_and_wrong_types_are_400_not_422(client: httpx.Client) -> None:
    r = client.post(
        "/Credentials", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert field_of(r) == "body"
    assert field_of(client.post("/Credentials", json=["a", "list"])) == "body"
    r = client.post("/Credentials", json={"credentialType": 7, "content": {}})
    assert r.status_code == 400 and field_of(r) == "credentialType"
    error = error_of(client.get("/Apps", params={"pageSize": "many"}), 400)
    assert error["context"] == {"field": "pageSize"}
    assert "pageSize" in error["message"]


def test_missing_and_bad_authentication_is_401(api: ApiServer, client: httpx.Client) -> None:
    base = api.url + "/v1/PushNotifications"
    for auth in (None, ("ACnobody", "secret"), (basic_auth(client)[0], "wrong-token")):
        r = httpx.get(base + "/Apps", auth=auth)
        error_of(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Basic")
    for username in ("AC\x00nul", "x" * 5000, "caf\u00e9"):
        encoded = base64.b64encode(f"{username}:token".encode()).decode()
        error_of(httpx.get(base + "/Apps", headers={"Authorization": f"Basic {encoded}"}), 401)
    r = httpx.get(base + "/Apps", headers={"Authorization": "Bearer abc"})
    error_of(r, 401)
    r = httpx.get(base + "/Apps", headers={"Authorization": "Basic !!!"})
    error_of(r, 401)
    # Authentication comes before validation: nothing leaks about the request.
    error_of(httpx.post(base + "/Credentials", json={}), 401)
    error_of(httpx.get(base + "/Credentials/bad"), 401)


def test_unknown_paths_and_methods_keep_the_error_shape(
    api: ApiServer, client: httpx.Client
) -> None:
    error_of(client.get(api.url + "/v1/NoSuchResource"), 404)
    error_of(client.get("/Apps/shop_app/extra"), 404)
    r = client.put("/Apps")
    assert r.status_code == 405
    assert r.json()["errors"][0]["code"] in (20400, 20405)


def test_another_accounts_ids_are_404(client: httpx.Client, other_client: httpx.Client) -> None:
    upload(other_client, "FCM", "theirs_app")
    cred = upload(other_client, "APN", "theirs_app")
    reg = register(other_client, "their-token", app_name="theirs_app")
    upload(client, "FCM", "mine_app")
    calls = [
        client.get("/Apps/theirs_app"),
        client.patch("/Apps/theirs_app", json={"isDefault": True}),
        client.get(f"/Credentials/{cred}"),
        client.patch(f"/Credentials/{cred}", json={"isDefault": True}),
        client.delete(f"/Credentials/{cred}"),
        client.get(f"/DeviceRegistrations/{reg['resourceId']}"),
        client.delete(f"/DeviceRegistrations/{reg['resourceId']}"),
        client.get(f"/Users/{reg['userId']}"),
        client.delete(f"/Users/{reg['userId']}"),
    ]
    for r in calls:
        error_of(r, 404)
    # Nothing of theirs shows in this account's lists, and nothing of theirs changed.
    assert [a["name"] for a in client.get("/Apps").json()["apps"]] == ["mine_app"]
    assert {c["appName"] for c in client.get("/Credentials").json()["credentials"]} == {"mine_app"}
    assert client.get("/Users").json()["users"] == []
    listed = client.get("/DeviceRegistrations", params={"userId": reg["userId"]}).json()
    assert listed["deviceRegistrations"] == []
    assert other_client.get(f"/Credentials/{cred}").status_code == 200
    assert other_client.get(f"/DeviceRegistrations/{reg['resourceId']}").status_code == 200
    assert other_client.get(f"/Users/{reg['userId']}").status_code == 200
    # An App name is per account: both may use the same one.
    upload(client, "FCM", "theirs_app")
    assert other_client.get("/Apps/theirs_app").json()["isDefault"] is True


@pytest.fixture(scope="module")
def strict_api(database_url: str) -> Iterator[ApiServer]:
    """A server allowing 2 requests per second per account and 64 KiB bodies."""
    settings = servers.test_settings(
        database_url, rate_limit_per_second=2.0, max_body_bytes=64 * 1024
    )
    with ApiServer(settings) as server:
        yield server


def test_body_too_large_is_413(strict_api: ApiServer) -> None:
    with client_for(strict_api) as c:
        big = {"credentialType": "FCM", "appName": "shop_app", "content": {"x": "a" * 70_000}}
        r = c.post("/Credentials", json=big)
        assert error_of(r, 413)["message"]
        assert "a" * 100 not in r.text

        def chunks() -> Iterator[bytes]:
            yield b'{"credentialType": "FCM", "content": {"privateKey": "'
            for _ in range(20):
                yield b"A" * 4096
            yield b'"}}'

        r = c.post("/Credentials", content=chunks(), headers={"Content-Type": "application/json"})
        error_of(r, 413)


def test_rate_limit_is_429_with_retry_after(strict_api: ApiServer) -> None:
    with client_for(strict_api, "busy") as busy, client_for(strict_api, "calm") as calm:
        statuses = [busy.get("/Apps").status_code for _ in range(6)]
        assert statuses[0] == 200
        assert 429 in statuses
        r = busy.get("/Apps")
        error = error_of(r, 429)
        assert int(r.headers["Retry-After"]) >= 1
        assert error["context"]["retryAfterSeconds"] > 0
        # The limit is per account: another account is not slowed down.
        assert calm.get("/Apps").status_code == 200


def test_errors_carry_no_internals(client: httpx.Client) -> None:
    responses = [
        client.get("/Credentials", params={"pageToken": "' OR 1=1 --"}),
        client.get("/Apps/" + "x" * 300),
        client.post("/DeviceRegistrations", json={"appName": "a", "token": "t" * 5000}),
        client.get("/DeviceRegistrations", params={"userId": "'; DROP TABLE app; --"}),
    ]
    for r in responses:
        assert r.status_code == 400, r.text
        lowered = r.text.lower()
        for leak in ("traceback", "select ", "sqlalchemy", "psycopg", "sqlite", 'file "'):
            assert leak not in lowered, r.text


def test_database_outage_is_503_with_retry_after() -> None:
    """Nothing listens on port 1: every authenticated call meets a dead database."""
    settings = servers.test_settings("postgresql+psycopg://herald@127.0.0.1:1/none")
    with ApiServer(settings) as down:
        r = httpx.get(down.url + "/v1/PushNotifications/Apps", auth=("ACdeadbeef", "token"))
        error = error_of(r, 503)
        assert error["context"] == {"dependency": "database"}
        assert r.headers["Retry-After"] == "1"
        for leak in ("psycopg", "127.0.0.1:1", "connection", "Traceback"):
            assert leak not in r.text
