"""PushNotification send request and response shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import ApiModel, AppName, Pagination, Provider
from herald import ids

MAX_RECIPIENTS = 10_000
MAX_SEND_AT = 10
MAX_TAGS = 10


class Sender(ApiModel):
    fcm: str | None = Field(default=None, pattern=ids.id_pattern(ids.CREDENTIAL))
    apn: str | None = Field(
        default=None,
        pattern=ids.id_pattern(ids.CREDENTIAL),
        description="an APN or APN_SANDBOX credential",
    )
    appName: AppName | None = None


class Recipient(ApiModel):
    token: str | None = Field(default=None, min_length=1, max_length=4096)
    provider: Provider | None = None
    userId: str | None = Field(default=None, pattern=ids.id_pattern(ids.USER))
    variables: dict[str, Any] = Field(default_factory=dict)


class Content(ApiModel):
    title: str | None = Field(default=None, max_length=1024)
    body: str = Field(min_length=1, max_length=4096)
    imageUrl: str | None = Field(default=None, max_length=2048)
    data: dict[str, str] | None = None
    badge: int | None = Field(default=None, ge=0, le=1_000_000)
    collapseKey: str | None = Field(default=None, max_length=64)
    ttlSeconds: int | None = Field(default=None, ge=0, le=2_419_200)


class Schedule(ApiModel):
    sendAt: list[datetime] = Field(min_length=1, max_length=MAX_SEND_AT)


class SendRequest(ApiModel):
    from_: Sender | None = Field(default=None, alias="from")
    to: list[Recipient] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    content: Content
    priority: Literal["HIGH", "LOW"] = "HIGH"
    sound: str | None = Field(default=None, max_length=256)
    schedule: Schedule | None = None
    tags: dict[str, str] | None = Field(default=None, max_length=MAX_TAGS)

    @field_validator("tags")
    @classmethod
    def _tag_sizes(cls, tags: dict[str, str] | None) -> dict[str, str] | None:
        for key, value in (tags or {}).items():
            if not 1 <= len(key) <= 128:
                raise ValueError("tag keys are 1 to 128 characters")
            if len(value) > 256:
                raise ValueError("tag values are at most 256 characters")
        return tags


class SendAccepted(BaseModel):
    operationId: str = Field(examples=["comms_operation_01jd0000000000000000000000"])
    operationLocation: str


class DeliveryPublic(BaseModel):
    provider: str
    status: str
    providerMessageId: str | None = None
    token: str


class PushNotificationPublic(BaseModel):
    id: str
    operationId: str
    status: Literal["SCHEDULED", "QUEUED", "SENT", "FAILED", "CANCELED"]
    to: dict[str, str]
    sendAt: str
    priority: str
    sound: str | None
    content: dict[str, Any]
    tags: dict[str, str]
    deliveries: list[DeliveryPublic]
    createdAt: str
    updatedAt: str


class PushNotificationList(BaseModel):
    pushNotifications: list[PushNotificationPublic]
    pagination: Pagination
