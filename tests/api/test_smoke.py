from __future__ import annotations

import httpx

from fakes.keys import fcm_content, make_service_account


def test_upload_then_list(client: httpx.Client) -> None:
    r = client.post(
        "/Credentials",
        json={"credentialType": "FCM", "appName": "shop_app",
              "content": fcm_content(make_service_account("proj-1"))},
    )
    assert r.status_code == 202, r.text
    cred_id = r.json()["resourceId"]
    assert r.headers["Location"].endswith(f"/v1/PushNotifications/Credentials/{cred_id}")
    apps = client.get("/Apps").json()
    assert [a["name"] for a in apps["apps"]] == ["shop_app"]
    assert apps["apps"][0]["isDefault"] is True
    got = client.get(f"/Credentials/{cred_id}").json()
    assert got["metadata"]["projectId"] == "proj-1"
    assert "content" not in got
