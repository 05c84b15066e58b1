"""The OpenAPI document: every resource endpoint with its error responses; /docs served."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.servers import ApiServer

RESOURCES = ("Apps", "Credentials", "DeviceRegistrations", "Users")
ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture
def document(api: ApiServer) -> dict[str, Any]:
    r = httpx.get(api.url + "/openapi.json")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def _operations(document: dict[str, Any], prefix: str) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path, operations in document["paths"].items():
        if not any(path.startswith(f"{prefix}/{name}") for name in RESOURCES):
            continue
        for method, operation in operations.items():
            found[(method.upper(), path)] = operation
    return found


def test_every_resource_endpoint_is_documented(document: dict[str, Any]) -> None:
    ops = _operations(document, "/v1/PushNotifications")
    expected = {
        ("GET", "/v1/PushNotifications/Apps"),
        ("GET", "/v1/PushNotifications/Apps/{appName}"),
        ("PATCH", "/v1/PushNotifications/Apps/{appName}"),
        ("POST", "/v1/PushNotifications/Credentials"),
        ("GET", "/v1/PushNotifications/Credentials"),
        ("GET", "/v1/PushNotifications/Credentials/{credentialId}"),
        ("PATCH", "/v1/PushNotifications/Credentials/{credentialId}"),
        ("DELETE", "/v1/PushNotifications/Credentials/{credentialId}"),
        ("POST", "/v1/PushNotifications/DeviceRegistrations"),
        ("GET", "/v1/PushNotifications/DeviceRegistrations"),
        ("GET", "/v1/PushNotifications/DeviceRegistrations/{deviceRegistrationId}"),
        ("DELETE", "/v1/PushNotifications/DeviceRegistrations/{deviceRegistrationId}"),
        ("GET", "/v1/PushNotifications/Users"),
        ("GET", "/v1/PushNotifications/Users/{userId}"),
        ("DELETE", "/v1/PushNotifications/Users/{userId}"),
    }
    assert set(ops) == expected
    preview = _operations(document, "/preview/PushNotifications")
    assert {(m, p.replace("/preview/", "/v1/", 1)) for m, p in preview} == expected


def test_each_operation_lists_its_error_responses(document: dict[str, Any]) -> None:
    for (method, path), operation in _operations(document, "/v1/PushNotifications").items():
        responses = operation["responses"]
        wanted = {"400", "401", "429", "503"}
        if "{" in path:
            wanted.add("404")
        if method in ("POST", "PATCH"):
            wanted.add("413")
        if method == "PATCH" or (
            path.endswith(("/Credentials", "/DeviceRegistrations")) and (method == "POST")
        ):
            wanted.add("409")
        assert wanted <= set(responses), (method, path, sorted(responses))
        assert "422" not in responses, (method, path)
        for status in wanted:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_REF}, (method, path, status)
            assert responses[status]["description"]
        success = "202" if method in ("POST", "PATCH", "DELETE") else "200"
        assert success in responses, (method, path)
        assert operation.get("tags"), (method, path)


def test_error_body_and_accepted_shapes(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    error_body = schemas["ErrorBody"]
    assert error_body["required"] == ["errors"]
    item = schemas["ErrorItem"]
    assert set(item["properties"]) == {"code", "message", "context"}
    accepted = schemas["ResourceAccepted"]
    assert set(accepted["required"]) == {"resourceId", "resourceLocation"}


def test_list_parameters_are_documented(document: dict[str, Any]) -> None:
    ops = _operations(document, "/v1/PushNotifications")
    for path in ("Apps", "Credentials", "DeviceRegistrations", "Users"):
        operation = ops[("GET", f"/v1/PushNotifications/{path}")]
        params = {p["name"]: p for p in operation["parameters"]}
        assert {"pageSize", "pageToken", "startDate", "endDate"} <= set(params), path
        size = params["pageSize"]["schema"]
        assert (size["minimum"], size["maximum"], size["default"]) == (1, 1000, 50)
        for name in ("startDate", "endDate"):
            date = params[name]["schema"]["anyOf"][0]
            assert (date["type"], date["format"]) == ("string", "date-time"), path
    registrations = ops[("GET", "/v1/PushNotifications/DeviceRegistrations")]
    user = next(p for p in registrations["parameters"] if p["name"] == "userId")
    assert user["required"] is True
    security = document["components"]["securitySchemes"]
    assert any(s.get("scheme") == "basic" for s in security.values())


def test_docs_are_served(api: ApiServer) -> None:
    r = httpx.get(api.url + "/docs")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert "/openapi.json" in r.text


def test_no_api_operation_promises_422(document: dict[str, Any]) -> None:
    """Every operation of the API (sends and operations too) documents the shared errors."""
    api_paths = [p for p in document["paths"] if p.startswith(("/v1/", "/preview/"))]
    assert len(api_paths) >= 2 * 10
    for path in api_paths:
        for method, operation in document["paths"][path].items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            assert {"400", "401", "429", "503"} <= set(responses), (method, path)
