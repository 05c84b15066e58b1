"""The OpenAPI document as the API behaves: validation errors are 400, never 422.

FastAPI adds a ``422 Validation Error`` response to every operation that takes
parameters; Herald answers those as 400 with the error body (DESIGN §3), which
each operation already documents, so the 422 entries and their schemas go.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def without_422(document: dict[str, Any]) -> dict[str, Any]:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    return document


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = without_422(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
