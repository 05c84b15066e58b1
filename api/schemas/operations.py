"""Operation and operation Error shapes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import Pagination


class ErrorCountPublic(BaseModel):
    code: str
    provider: str | None
    count: int


class OperationPublic(BaseModel):
    id: str = Field(examples=["comms_operation_01jd0000000000000000000000"])
    status: str = Field(examples=["PROCESSING"])
    stats: dict[str, int] = Field(
        examples=[{"total": 2, "recipients": 2, "unaddressable": 0, "scheduled": 0,
                   "queued": 0, "sent": 2, "failed": 0, "canceled": 0}]
    )
    errorSummary: list[ErrorCountPublic]
    schedule: dict[str, list[str]]
    tags: dict[str, str]
    appName: str | None
    createdAt: str
    updatedAt: str


class OperationList(BaseModel):
    operations: list[OperationPublic]
    pagination: Pagination


class OperationErrorPublic(BaseModel):
    pushNotificationId: str
    recipient: dict[str, str]
    code: str
    provider: str | None
    providerStatus: int | None
    message: str
    attempts: int
    retryable: bool
    occurredAt: str


class OperationErrorList(BaseModel):
    operationErrors: list[OperationErrorPublic]
    pagination: Pagination


