"""DeviceRegistration and User shapes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import ApiModel, AppName, Pagination, Provider
from herald import ids


class RegistrationCreate(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"appName": "shop_app", "token": "dqWD7WEC83:APA91bF", "provider": "FCM"}]
        },
    )

    userId: str | None = Field(
        default=None,
        pattern=ids.id_pattern(ids.USER),
        description="the User to register the device to; a new User when omitted",
    )
    appName: AppName
    token: str = Field(
        min_length=1,
        max_length=4096,
        pattern=r"^[\x21-\x7e]+$",
        description="the provider's device token (visible ASCII: APNs hex, FCM token)",
    )
    provider: Provider


class RegistrationAccepted(BaseModel):
    resourceId: str
    resourceLocation: str
    userId: str = Field(description="the User the device is registered to")


class DevicePublic(BaseModel):
    token: str
    provider: str
    createdAt: str


class RegistrationPublic(BaseModel):
    id: str = Field(examples=["comms_device_registration_01jd0000000000000000000000"])
    appName: str
    userId: str
    devices: list[DevicePublic]
    createdAt: str
    updatedAt: str


class RegistrationList(BaseModel):
    deviceRegistrations: list[RegistrationPublic]
    pagination: Pagination


class UserPublic(BaseModel):
    id: str = Field(examples=["comms_pushnotificationuser_01jd0000000000000000000000"])
    deviceRegistrations: list[str]
    createdAt: str
    updatedAt: str


class UserList(BaseModel):
    users: list[UserPublic]
    pagination: Pagination
