"""Lists: pageSize 1-1000, opaque keyset tokens (next/self), startDate/endDate on createdAt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.api.resources import field_of, register, upload


def _page(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _users(client: httpx.Client, count: int) -> list[str]:
    """``count`` new Users (one registration each), in id order."""
    upload(client, "FCM", "shop_app")
    return sorted(register(client, f"user-token-{i}")["userId"] for i in range(count))


def _user_ids(body: dict[str, Any]) -> list[str]:
    return [u["id"] for u in body["users"]]


def test_page_size_bounds(client: httpx.Client) -> None:
    for bad in ("0", "-1", "1001", "ten", "1.5"):
        assert field_of(client.get("/Users", params={"pageSize": bad})) == "pageSize"
    for path in ("/Apps", "/Credentials"):
        assert field_of(client.get(path, params={"pageSize": "0"})) == "pageSize"
    assert _page(client, "/Users", pageSize=1)["users"] == []
    assert _page(client, "/Users", pageSize=1000)["users"] == []


def test_walks_every_page_in_id_order(client: httpx.Client) -> None:
    users = _users(client, 7)
    seen: list[str] = []
    sizes = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"pageSize": 3}
        if token:
            params["pageToken"] = token
        body = _page(client, "/Users", **params)
        assert set(body) == {"users", "pagination"}
        assert set(body["pagination"]) == {"next", "self"}
        assert isinstance(body["pagination"]["self"], str)
        sizes.append(len(body["users"]))
        seen += _user_ids(body)
        token = body["pagination"]["next"]
        if token is None:
            break
    assert sizes == [3, 3, 1]
    assert seen == users
    # The default page size (50) holds them all, with no next page.
    body = _page(client, "/Users")
    assert _user_ids(body) == users and body["pagination"]["next"] is None
    # An exact fit has no next page either.
    assert _page(client, "/Users", pageSize=7)["pagination"]["next"] is None


def test_self_token_answers_the_same_page(client: httpx.Client) -> None:
    users = _users(client, 5)
    first = _page(client, "/Users", pageSize=2)
    again = _page(client, "/Users", pageSize=2, pageToken=first["pagination"]["self"])
    assert _user_ids(again) == _user_ids(first) == users[:2]
    second = _page(client, "/Users", pageSize=2, pageToken=first["pagination"]["next"])
    assert _user_ids(second) == users[2:4]
    register(client, "late-comer")
    same = _page(client, "/Users", pageSize=2, pageToken=second["pagination"]["self"])
    assert _user_ids(same) == users[2:4]
    assert same["pagination"] == second["pagination"]


def test_tokens_are_keysets_not_offsets(client: httpx.Client) -> None:
    users = _users(client, 6)
    first = _page(client, "/Users", pageSize=3)
    assert _user_ids(first) == users[:3]
    # Deleting a User already seen must not make the next page skip one.
    assert client.delete(f"/Users/{users[0]}").status_code == 202
    second = _page(client, "/Users", pageSize=3, pageToken=first["pagination"]["next"])
    assert _user_ids(second) == users[3:]
    assert second["pagination"]["next"] is None


def test_tampered_and_foreign_tokens_are_400(client: httpx.Client) -> None:
    _users(client, 3)
    token = _page(client, "/Users", pageSize=1)["pagination"]["next"]
    assert token
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    middle = token[:5] + ("x" if token[5] != "x" else "y") + token[6:]
    apps_token = _page(client, "/Apps", pageSize=1)["pagination"]["self"]
    for bad in (flipped, middle, "not-a-token", "====", "a" * 600, apps_token):
        assert field_of(client.get("/Users", params={"pageToken": bad})) == "pageToken", bad
    for path in ("/Apps", "/Credentials"):
        assert field_of(client.get(path, params={"pageToken": token})) == "pageToken"


def test_start_and_end_date_filter_created_at(client: httpx.Client) -> None:
    upload(client, "FCM", "shop_app")
    early = register(client, "early")["userId"]
    between = datetime.now(UTC)
    late = register(client, "late")["userId"]

    def ids(**params: str) -> list[str]:
        return _user_ids(_page(client, "/Users", **params))

    stamp = between.isoformat().replace("+00:00", "Z")
    assert ids(startDate=stamp) == [late]
    assert ids(endDate=stamp) == [early]
    # The same instant written with another offset means the same.
    plus_two = between.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert ids(startDate=plus_two) == [late]
    assert ids(startDate=stamp, endDate=stamp) == []
    hour = timedelta(hours=1)
    assert sorted(ids(startDate=_z(between - hour), endDate=_z(between + hour))) == sorted(
        [early, late]
    )
    assert ids(startDate=_z(between + hour)) == []
    # Dates filter the other lists too.
    assert _page(client, "/Apps", startDate=_z(between))["apps"] == []
    assert len(_page(client, "/Apps", endDate=_z(between))["apps"]) == 1
    assert _page(client, "/Credentials", startDate=_z(between))["credentials"] == []
    regs = _page(client, "/DeviceRegistrations", userId=late, startDate=_z(between))
    assert len(regs["deviceRegistrations"]) == 1


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-01-01T10:00:00",
        "2026-01-01",
        "2026-01-01T10:00Z",
        "1700000000",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_dates_must_be_rfc3339_with_an_offset(client: httpx.Client, value: str) -> None:
    assert field_of(client.get("/Users", params={"startDate": value})) == "startDate"
    assert field_of(client.get("/Apps", params={"endDate": value})) == "endDate"


def test_extreme_and_lowercase_dates_are_fine(client: httpx.Client) -> None:
    upload(client, "FCM", "shop_app")
    assert _page(client, "/Apps", endDate="0001-01-01T00:00:00Z")["apps"] == []
    assert _page(client, "/Apps", startDate="9999-12-31T23:59:59.999999Z")["apps"] == []
    assert len(_page(client, "/Apps", startDate="2000-01-01t00:00:00.5z")["apps"]) == 1


def test_other_lists_page_too(client: httpx.Client) -> None:
    upload(client, "FCM", "app_a")
    upload(client, "FCM", "app_b")
    upload(client, "APN", "app_b")
    first = _page(client, "/Apps", pageSize=1)
    second = _page(client, "/Apps", pageSize=1, pageToken=first["pagination"]["next"])
    assert [a["name"] for a in first["apps"] + second["apps"]] == ["app_a", "app_b"]
    assert second["pagination"]["next"] is None
    creds = _page(client, "/Credentials", pageSize=2)
    rest = _page(client, "/Credentials", pageSize=2, pageToken=creds["pagination"]["next"])
    ids = [c["id"] for c in creds["credentials"] + rest["credentials"]]
    assert len(set(ids)) == 3 and ids == sorted(ids)
    user = register(client, "t1", app_name="app_a")["userId"]
    register(client, "t2", app_name="app_b", user_id=user)
    regs = _page(client, "/DeviceRegistrations", userId=user, pageSize=1)
    more = _page(
        client,
        "/DeviceRegistrations",
        userId=user,
        pageSize=1,
        pageToken=regs["pagination"]["next"],
    )
    both = regs["deviceRegistrations"] + more["deviceRegistrations"]
    assert {r["appName"] for r in both} == {"app_a", "app_b"}
    assert more["pagination"]["next"] is None


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
