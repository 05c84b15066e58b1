"""Shapes shared by every resource."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AppName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]
Provider = Literal["APN", "FCM"]
CredentialTypeName = Literal["APN", "APN_SANDBOX", "FCM"]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ResourceAccepted(BaseModel):
    resourceId: str
    resourceLocation: str


class Pagination(BaseModel):
    next: str | None = Field(description="token of the next page, null on the last page")
    self: str = Field(description="token of this page")


class ErrorItem(BaseModel):
    code: int = Field(examples=[20400])
    message: str = Field(examples=["pageSize must be between 1 and 1000"])
    context: dict[str, Any] = Field(default_factory=dict, examples=[{"field": "pageSize"}])


class ErrorBody(BaseModel):
    errors: list[ErrorItem]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses an endpoint can answer."""
    described = {
        400: "Invalid request: `context.field` names the field",
        401: "Missing or bad credentials (HTTP Basic accountId:authToken)",
        404: "Not found (also for another account's ids)",
        409: "Conflict or limit reached",
        413: "Request body too large",
        429: "Rate limited: see Retry-After",
        503: "Temporal or the database is unavailable; retry",
    }
    wanted = (401, 413, 429, 503, *statuses)
    return {s: {"model": ErrorBody, "description": described[s]} for s in sorted(set(wanted))}
