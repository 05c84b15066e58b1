"""Helpers for the resource API tests: uploads, registrations, the seeds' id patterns."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any

import httpx

from fakes.keys import (
    apn_certificate_content,
    apn_token_content,
    fcm_content,
    make_apn_certificate,
    make_p8_key,
    make_service_account,
)

# The id patterns printed in the seeds (Credentials, DeviceRegistrations).
CREDENTIAL_ID = re.compile(r"^comms_credential_[a-hjkmnpqrstv-z0-9]{26,34}$")
REGISTRATION_ID = re.compile(r"^comms_device_registration_[a-hjkmnpqrstv-z0-9]{26,34}$")
USER_ID = re.compile(r"^comms_pushnotificationuser_[0-7][a-hjkmnpqrstv-z0-9]{25,34}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def basic_auth(client: httpx.Client) -> tuple[str, str]:
    """The ``(accountId, authToken)`` a test client authenticates with."""
    auth = client.auth
    assert isinstance(auth, httpx.BasicAuth)
    request = next(auth.sync_auth_flow(client.build_request("GET", "/")))
    encoded = request.headers["Authorization"].split()[1]
    account, token = base64.b64decode(encoded).decode().split(":", 1)
    return account, token


def content_for(credential_type: str, auth: str = "certificate") -> dict[str, str]:
    """A valid ``content`` for ``credential_type`` (APN types: certificate or token auth)."""
    if credential_type == "FCM":
        return fcm_content(make_service_account("herald-test"))
    if auth == "token":
        return apn_token_content(make_p8_key())
    return apn_certificate_content(make_apn_certificate("com.example.shop"))


def upload(
    client: httpx.Client,
    credential_type: str = "FCM",
    app_name: str | None = "shop_app",
    *,
    content: dict[str, str] | None = None,
    is_default: bool | None = None,
) -> str:
    """Upload a credential, assert 202, answer its id."""
    body: dict[str, Any] = {
        "credentialType": credential_type,
        "content": content if content is not None else content_for(credential_type),
    }
    if app_name is not None:
        body["appName"] = app_name
    if is_default is not None:
        body["isDefault"] = is_default
    r = client.post("/Credentials", json=body)
    assert r.status_code == 202, r.text
    ident: str = r.json()["resourceId"]
    return ident


def register(
    client: httpx.Client,
    token: str,
    *,
    app_name: str = "shop_app",
    provider: str = "FCM",
    user_id: str | None = None,
) -> dict[str, Any]:
    """Register a device, assert 202, answer the body (resourceId, userId, ...)."""
    body: dict[str, Any] = {"appName": app_name, "token": token, "provider": provider}
    if user_id is not None:
        body["userId"] = user_id
    r = client.post("/DeviceRegistrations", json=body)
    assert r.status_code == 202, r.text
    answer: dict[str, Any] = r.json()
    return answer


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert the documented error shape with ``status``; answer its one error item."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"}, body
    assert len(body["errors"]) == 1, body
    item: dict[str, Any] = body["errors"][0]
    assert set(item) == {"code", "message", "context"}, item
    assert item["code"] == 20000 + status, item
    assert isinstance(item["message"], str) and item["message"]
    assert "Traceback" not in response.text
    return item


def field_of(response: httpx.Response) -> str:
    """Assert a 400 naming a field; answer the field."""
    field: str = error_of(response, 400)["context"]["field"]
    return field


def is_rfc3339(value: str) -> bool:
    if not RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True
