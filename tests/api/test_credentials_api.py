"""Credentials: validated on upload, encrypted at rest, never shown; defaults per type."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from sqlalchemy import text

from api.routers.credentials import MAX_CREDENTIALS_PER_APP
from fakes.keys import (
    apn_certificate_content,
    apn_token_content,
    b64,
    fcm_content,
    make_apn_certificate,
    make_p8_key,
    make_service_account,
)
from herald.crypto import SecretBox
from tests.api.resources import (
    CREDENTIAL_ID,
    content_for,
    error_of,
    field_of,
    is_rfc3339,
    register,
    upload,
)
from tests.servers import TEST_SECRET_KEY, ApiServer


def _get(client: httpx.Client, ident: str) -> dict[str, Any]:
    r = client.get(f"/Credentials/{ident}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _defaults(client: httpx.Client, credential_type: str) -> list[str]:
    r = client.get(
        "/Credentials",
        params={"appName": "shop_app", "credentialType": credential_type, "isDefault": "true"},
    )
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["credentials"]]


def _post(client: httpx.Client, credential_type: str, content: object) -> httpx.Response:
    return client.post(
        "/Credentials",
        json={"credentialType": credential_type, "appName": "shop_app", "content": content},
    )


def test_upload_answers_202_with_location_and_shows_metadata(client: httpx.Client) -> None:
    r = client.post(
        "/Credentials",
        json={
            "credentialType": "FCM",
            "appName": "shop_app",
            "content": fcm_content(make_service_account("proj-42")),
        },
    )
    assert r.status_code == 202, r.text
    ident = r.json()["resourceId"]
    assert CREDENTIAL_ID.match(ident)
    assert r.headers["Location"] == r.json()["resourceLocation"]
    assert r.headers["Location"].startswith("http://127.0.0.1:")
    assert r.headers["Location"].endswith(f"/v1/PushNotifications/Credentials/{ident}")
    got = _get(client, ident)
    assert got["id"] == ident
    assert got["credentialType"] == "FCM"
    assert got["appName"] == "shop_app"
    assert got["isDefault"] is True
    assert got["metadata"]["projectId"] == "proj-42"
    assert is_rfc3339(got["createdAt"]) and is_rfc3339(got["updatedAt"])


def test_apn_metadata_for_certificate_and_token_auth(client: httpx.Client) -> None:
    cert = upload(
        client, "APN", content=apn_certificate_content(make_apn_certificate("com.example.cert"))
    )
    token = upload(
        client,
        "APN_SANDBOX",
        content=apn_token_content(make_p8_key(), key_id="KEY1234567", bundle_id="com.ex.tok"),
    )
    cert_meta = _get(client, cert)["metadata"]
    assert cert_meta["auth"] == "certificate"
    assert cert_meta["topic"] == "com.example.cert"
    assert is_rfc3339(cert_meta["expiresAt"])
    token_meta = _get(client, token)["metadata"]
    assert token_meta == {
        "auth": "token",
        "topic": "com.ex.tok",
        "keyId": "KEY1234567",
        "teamId": "DEF123GHIJ",
    }
    assert _get(client, token)["credentialType"] == "APN_SANDBOX"


def test_first_of_a_type_is_default_and_is_default_on_upload_moves_it(
    client: httpx.Client,
) -> None:
    first = upload(client, "FCM")
    second = upload(client, "FCM")
    apn = upload(client, "APN")
    assert _get(client, first)["isDefault"] is True
    assert _get(client, second)["isDefault"] is False
    assert _get(client, apn)["isDefault"] is True  # first of its type
    third = upload(client, "FCM", is_default=True)
    assert _defaults(client, "FCM") == [third]
    assert _get(client, first)["isDefault"] is False
    assert _defaults(client, "APN") == [apn]
    # isDefault false on the first of a type still makes it the default.
    sandbox = upload(client, "APN_SANDBOX", is_default=False)
    assert _defaults(client, "APN_SANDBOX") == [sandbox]


def test_patch_is_default_moves_it_and_false_on_the_default_is_409(
    client: httpx.Client,
) -> None:
    first = upload(client, "FCM")
    second = upload(client, "FCM")
    r = client.patch(f"/Credentials/{second}", json={"isDefault": True})
    assert r.status_code == 202, r.text
    assert r.json()["resourceId"] == second
    assert r.headers["Location"].endswith(f"/Credentials/{second}")
    assert _defaults(client, "FCM") == [second]
    error = error_of(client.patch(f"/Credentials/{second}", json={"isDefault": False}), 409)
    assert error["context"]["field"] == "isDefault"
    assert client.patch(f"/Credentials/{first}", json={"isDefault": False}).status_code == 202
    assert _defaults(client, "FCM") == [second]
    assert field_of(client.patch(f"/Credentials/{first}", json={})) == "isDefault"


def test_eleventh_credential_in_an_app_is_409(client: httpx.Client) -> None:
    content = content_for("FCM")
    for _ in range(MAX_CREDENTIALS_PER_APP):
        upload(client, "FCM", content=content)
    error = error_of(_post(client, "APN", content_for("APN")), 409)
    assert error["context"]["field"] == "appName"
    listed = client.get("/Credentials", params={"appName": "shop_app"}).json()["credentials"]
    assert len(listed) == MAX_CREDENTIALS_PER_APP
    upload(client, "APN", "other_app")  # the limit is per App


def test_deleting_the_default_promotes_another_of_its_type(client: httpx.Client) -> None:
    first = upload(client, "FCM")
    second = upload(client, "FCM")
    apn = upload(client, "APN")
    r = client.delete(f"/Credentials/{first}")
    assert r.status_code == 202, r.text
    assert r.json()["resourceId"] == first
    assert r.headers["Location"].endswith(f"/Credentials/{first}")
    error_of(client.get(f"/Credentials/{first}"), 404)
    assert _defaults(client, "FCM") == [second]
    assert _defaults(client, "APN") == [apn]
    # Deleting a non-default one leaves the default alone.
    third = upload(client, "FCM")
    assert client.delete(f"/Credentials/{third}").status_code == 202
    assert _defaults(client, "FCM") == [second]
    # Deleting the last of a type leaves the App with the other types.
    assert client.delete(f"/Credentials/{apn}").status_code == 202
    assert _defaults(client, "APN") == []
    assert client.get("/Apps/shop_app").status_code == 200
    error_of(client.delete(f"/Credentials/{apn}"), 404)


def test_deleting_the_last_credential_deletes_the_app_and_its_registrations(
    client: httpx.Client,
) -> None:
    only = upload(client, "FCM", "shop_app")
    kept = upload(client, "FCM", "kept_app")
    registration = register(client, "token-in-doomed-app", app_name="shop_app")
    other = register(
        client, "token-in-kept-app", app_name="kept_app", user_id=registration["userId"]
    )
    assert client.get("/Apps/shop_app").json()["isDefault"] is True
    assert client.delete(f"/Credentials/{only}").status_code == 202
    error_of(client.get("/Apps/shop_app"), 404)
    error_of(client.get(f"/DeviceRegistrations/{registration['resourceId']}"), 404)
    # The default App moved, the other App's registration stays, and the User lives on.
    assert client.get("/Apps/kept_app").json()["isDefault"] is True
    assert client.get(f"/DeviceRegistrations/{other['resourceId']}").status_code == 200
    user = client.get(f"/Users/{registration['userId']}").json()
    assert user["deviceRegistrations"] == [other["resourceId"]]
    # The token can be registered again once the App exists again.
    upload(client, "FCM", "shop_app")
    assert client.get("/Apps/shop_app").json()["isDefault"] is False
    again = register(client, "token-in-doomed-app", app_name="shop_app")
    assert again["resourceId"] != registration["resourceId"]
    assert client.delete(f"/Credentials/{kept}").status_code == 202
    assert client.get("/Apps/shop_app").json()["isDefault"] is True


def test_upload_without_app_name_uses_the_default_app(client: httpx.Client) -> None:
    r = client.post("/Credentials", json={"credentialType": "FCM", "content": content_for("FCM")})
    assert field_of(r) == "appName"
    upload(client, "FCM", "main_app")
    upload(client, "FCM", "side_app")
    ident = upload(client, "APN", None)
    assert _get(client, ident)["appName"] == "main_app"


def test_list_filters(client: httpx.Client) -> None:
    fcm = upload(client, "FCM", "shop_app")
    fcm2 = upload(client, "FCM", "shop_app")
    apn = upload(client, "APN", "shop_app")
    other = upload(client, "APN_SANDBOX", "other_app")

    def ids(**params: str) -> set[str]:
        r = client.get("/Credentials", params=params)
        assert r.status_code == 200, r.text
        return {c["id"] for c in r.json()["credentials"]}

    assert ids() == {fcm, fcm2, apn, other}
    assert ids(appName="shop_app") == {fcm, fcm2, apn}
    assert ids(appName="other_app") == {other}
    assert ids(appName="no_such_app") == set()
    assert ids(credentialType="APN") == {apn}
    assert ids(isDefault="false") == {fcm2}
    assert ids(isDefault="true", appName="shop_app") == {fcm, apn}
    assert field_of(client.get("/Credentials", params={"credentialType": "GCM"})) == (
        "credentialType"
    )
    assert field_of(client.get("/Credentials", params={"appName": "Bad Name"})) == "appName"
    assert field_of(client.get("/Credentials", params={"isDefault": "perhaps"})) == "isDefault"


def test_responses_never_contain_the_secrets(client: httpx.Client) -> None:
    uploads = {
        "FCM": content_for("FCM"),
        "APN": content_for("APN"),
        "APN_SANDBOX": content_for("APN_SANDBOX", auth="token"),
    }
    texts: list[str] = []
    ids = []
    for credential_type, content in uploads.items():
        r = _post(client, credential_type, content)
        assert r.status_code == 202
        texts.append(r.text)
        ids.append(r.json()["resourceId"])
    for ident in ids:
        texts.append(client.get(f"/Credentials/{ident}").text)
        texts.append(client.patch(f"/Credentials/{ident}", json={"isDefault": True}).text)
    texts.append(client.get("/Credentials").text)
    texts.append(client.get("/Apps").text)
    texts.append(client.get("/Apps/shop_app").text)
    everything = "\n".join(texts)
    for content in uploads.values():
        for name, value in content.items():
            if name in ("privateKey", "certificate"):
                assert value not in everything
                assert value[20:60] not in everything
                decoded = base64.b64decode(value).decode()
                assert decoded[40:80] not in everything
    assert "PRIVATE KEY" not in everything
    assert "private_key" not in everything
    for listed in client.get("/Credentials").json()["credentials"]:
        assert "content" not in listed and "secret" not in listed


def test_the_database_holds_the_content_encrypted(client: httpx.Client, api: ApiServer) -> None:
    content = content_for("FCM")
    ident = upload(client, "FCM", content=content)
    with api.engine.connect() as conn:
        row = conn.execute(
            text("SELECT secret, meta FROM credential WHERE id = :id"), {"id": ident}
        ).one()
    secret = str(row[0])
    private_key = content["privateKey"]
    assert private_key not in secret
    assert private_key[:40] not in secret
    assert "PRIVATE KEY" not in secret and "private_key" not in secret
    assert private_key not in json.dumps(row[1])
    assert SecretBox(TEST_SECRET_KEY.encode()).decrypt(secret) == content


def test_invalid_content_is_400_naming_the_field(client: httpx.Client) -> None:
    good_fcm = content_for("FCM")
    pair = make_apn_certificate()
    cert = apn_certificate_content(pair)
    cases: list[tuple[str, object, str]] = [
        ("FCM", {"privateKey": "!!!not base64!!!"}, "content.privateKey"),
        ("FCM", {}, "content.privateKey"),
        ("FCM", {"privateKey": b64("{}")}, "content.privateKey"),
        ("FCM", {**good_fcm, "extra": "x"}, "content.extra"),
        ("FCM", "a string", "content"),
        ("APN", {"privateKey": cert["privateKey"]}, "content.certificate"),
        ("APN", {"certificate": cert["certificate"]}, "content.privateKey"),
        ("APN", {**cert, "certificate": b64("not a pem")}, "content.certificate"),
        (
            "APN",
            {**cert, "privateKey": apn_certificate_content(make_apn_certificate())["privateKey"]},
            "content.privateKey",
        ),
        (
            "APN_SANDBOX",
            apn_certificate_content(make_apn_certificate(expired=True)),
            "content.certificate",
        ),
        ("APN", {**apn_token_content(make_p8_key()), "keyId": "short"}, "content.keyId"),
        ("APN", {**apn_token_content(make_p8_key()), "teamId": "x"}, "content.teamId"),
        ("APN", {**apn_token_content(make_p8_key()), "bundleId": "nodots"}, "content.bundleId"),
        (
            "APN",
            {**apn_token_content(make_p8_key()), "privateKey": cert["privateKey"]},
            "content.privateKey",
        ),
        ("GCM", good_fcm, "credentialType"),
    ]
    for credential_type, content, field in cases:
        r = _post(client, credential_type, content)
        assert field_of(r) == field, (credential_type, field, r.text)
        if isinstance(content, dict):
            for value in content.values():
                if len(value) > 12:
                    assert value not in r.text
    assert client.get("/Credentials").json()["credentials"] == []
    assert client.get("/Apps").json()["apps"] == []
    r = client.post("/Credentials", json={"credentialType": "FCM", "appName": "shop_app"})
    assert field_of(r) == "content"
    r = client.post(
        "/Credentials", json={"credentialType": "FCM", "appName": "Shop", "content": good_fcm}
    )
    assert field_of(r) == "appName"


def test_malformed_credential_ids_are_400_and_unknown_ones_404(client: httpx.Client) -> None:
    assert field_of(client.get("/Credentials/comms_credential_xyz")) == "credentialId"
    assert field_of(client.delete("/Credentials/not-an-id")) == "credentialId"
    unknown = "comms_credential_01jd0000000000000000000000"
    assert error_of(client.get(f"/Credentials/{unknown}"), 404)["context"]["id"] == unknown
    error_of(client.patch(f"/Credentials/{unknown}", json={"isDefault": True}), 404)
    error_of(client.delete(f"/Credentials/{unknown}"), 404)
