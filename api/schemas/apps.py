"""App shapes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import ApiModel, Pagination


class DefaultCredential(BaseModel):
    credentialType: str
    credentialId: str


class AppPublic(BaseModel):
    name: str = Field(examples=["shop_app"])
    isDefault: bool
    defaultCredentials: list[DefaultCredential]
    createdAt: str = Field(examples=["2026-11-23T10:00:00Z"])
    updatedAt: str = Field(examples=["2026-11-23T10:00:00Z"])


class AppUpdate(ApiModel):
    isDefault: bool = Field(
        examples=[True], description="true makes this App the account's default"
    )


class AppList(BaseModel):
    apps: list[AppPublic]
    pagination: Pagination
