"""Parallel writes keep the invariants: one default App, limits, one device per token."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.api.resources import content_for, register, upload


def test_parallel_first_uploads_make_exactly_one_default_app(client: httpx.Client) -> None:
    content = content_for("FCM")

    def post(i: int) -> int:
        body = {"credentialType": "FCM", "appName": f"app_{i}", "content": content}
        return client.post("/Credentials", json=body).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post, range(8)))
    assert statuses == [202] * 8
    apps = client.get("/Apps").json()["apps"]
    assert len(apps) == 8
    assert [a["isDefault"] for a in apps].count(True) == 1


def test_parallel_uploads_respect_the_app_limit(client: httpx.Client) -> None:
    content = content_for("FCM")
    for i in range(8):
        upload(client, "FCM", f"app_{i}", content=content)

    def post(i: int) -> int:
        body = {"credentialType": "FCM", "appName": f"late_{i}", "content": content}
        return client.post("/Credentials", json=body).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(post, range(6)))
    assert sorted(statuses) == [202, 202, 409, 409, 409, 409]
    assert len(client.get("/Apps").json()["apps"]) == 10


def test_parallel_registrations_of_one_token_leave_one_device(client: httpx.Client) -> None:
    upload(client, "FCM", "shop_app")

    def post(_: int) -> httpx.Response:
        body = {"appName": "shop_app", "token": "contested", "provider": "FCM"}
        return client.post("/DeviceRegistrations", json=body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert all(r.status_code == 202 for r in answers), [r.text for r in answers]
    holders = []
    for r in answers:
        got = client.get(f"/DeviceRegistrations/{r.json()['resourceId']}")
        if got.status_code == 200:
            holders.append([d["token"] for d in got.json()["devices"]])
    assert holders == [["contested"]]
    assert register(client, "contested")["userId"] not in {r.json()["userId"] for r in answers}
