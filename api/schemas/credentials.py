"""Credential shapes. Content goes in, never out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import ApiModel, AppName, CredentialTypeName, Pagination


class CredentialCreate(ApiModel):
    credentialType: CredentialTypeName
    content: dict[str, Any] = Field(
        description=(
            "FCM: {privateKey: base64 service-account JSON}. APN/APN_SANDBOX: "
            "{certificate, privateKey} (base64 PEM) or {keyId, teamId, bundleId, "
            "privateKey (base64 .p8)}"
        ),
        examples=[{"privateKey": "eyJ0eXBlIjogInNlcnZpY2VfYWNjb3VudCIsIC4uLn0="}],
    )
    appName: AppName | None = Field(
        default=None, description="created if new; the default App when omitted"
    )
    isDefault: bool = False


class CredentialUpdate(ApiModel):
    isDefault: bool = Field(
        examples=[True], description="true makes this Credential its type's default in its App"
    )


class CredentialPublic(BaseModel):
    id: str = Field(examples=["comms_credential_01jd0000000000000000000000"])
    credentialType: str
    appName: str
    isDefault: bool
    metadata: dict[str, str] = Field(
        examples=[{"topic": "com.example.shop", "auth": "certificate"}]
    )
    createdAt: str
    updatedAt: str


class CredentialList(BaseModel):
    credentials: list[CredentialPublic]
    pagination: Pagination
