"""Database tables.

Everything an account owns carries ``account_id`` so every query can be scoped
to the caller. Recipients of a send are stored with the operation (claim
check): the workflow only ever sees ids and counts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), **kw))


class Account(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    auth_token_hash: str = Field(max_length=64)
    created_at: datetime = _ts(nullable=False)


class App(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("account_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(foreign_key="account.id", index=True, max_length=40)
    name: str = Field(max_length=64)
    is_default: bool = False
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class Credential(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(foreign_key="account.id", index=True, max_length=40)
    app_id: int = Field(foreign_key="app.id", index=True)
    credential_type: str = Field(max_length=16)
    is_default: bool = False
    secret: str = Field(sa_column=Column(Text, nullable=False))  # Fernet-encrypted content
    meta: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class PushUser(SQLModel, table=True):
    __tablename__ = "push_user"
    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(foreign_key="account.id", index=True, max_length=40)
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class DeviceRegistration(SQLModel, table=True):
    __tablename__ = "device_registration"
    __table_args__ = (UniqueConstraint("app_id", "user_id"),)
    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(foreign_key="account.id", index=True, max_length=40)
    app_id: int = Field(foreign_key="app.id", index=True)
    user_id: str = Field(foreign_key="push_user.id", index=True, max_length=64)
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class Device(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("app_id", "token"),)
    id: int | None = Field(default=None, primary_key=True)
    registration_id: str = Field(foreign_key="device_registration.id", index=True, max_length=64)
    app_id: int = Field(foreign_key="app.id")
    token: str = Field(max_length=4096)
    provider: str = Field(max_length=8)
    created_at: datetime = _ts(nullable=False)


class Operation(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(foreign_key="account.id", index=True, max_length=40)
    status: str = Field(max_length=16)  # SCHEDULED, PROCESSING, COMPLETED, CANCELED
    app_name: str | None = Field(default=None, max_length=64)
    senders: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    priority: str = Field(default="HIGH", max_length=8)
    sound: str | None = Field(default=None, max_length=256)
    tags: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    send_at: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    recipients: int = 0
    stats: dict[str, int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error_summary: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    created_at: datetime = _ts(nullable=False, index=True)
    updated_at: datetime = _ts(nullable=False)


class Recipient(SQLModel, table=True):
    """One entry of a send's ``to`` list, numbered from 0 in request order."""

    __table_args__ = (UniqueConstraint("operation_id", "idx"),)
    id: int | None = Field(default=None, primary_key=True)
    operation_id: str = Field(foreign_key="operation.id", max_length=64)
    idx: int
    token: str | None = Field(default=None, max_length=4096)
    provider: str | None = Field(default=None, max_length=8)
    user_id: str | None = Field(default=None, max_length=64)
    variables: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PushNotification(SQLModel, table=True):
    """One recipient at one sendAt."""

    __tablename__ = "push_notification"
    __table_args__ = (
        Index("ix_pn_operation_slot", "operation_id", "send_index", "idx"),
        Index("ix_pn_account_id", "account_id", "id"),
    )
    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(max_length=40)
    operation_id: str = Field(foreign_key="operation.id", max_length=64)
    send_index: int
    idx: int  # the recipient's position in the request
    send_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(max_length=16)
    user_id: str | None = Field(default=None, max_length=64, index=True)
    provider: str | None = Field(default=None, max_length=8)
    attempts: int = 0
    content: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    tags: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    tag_index: str = Field(default=";", sa_column=Column(Text, nullable=False))
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class Delivery(SQLModel, table=True):
    """The outcome for one device of a PushNotification."""

    __table_args__ = (UniqueConstraint("push_notification_id", "provider", "token"),)
    id: int | None = Field(default=None, primary_key=True)
    push_notification_id: str = Field(foreign_key="push_notification.id", max_length=64)
    token: str = Field(max_length=4096)
    provider: str = Field(max_length=8)
    status: str = Field(max_length=16)  # SENT, FAILED, RETRY, CANCELED
    provider_message_id: str | None = Field(default=None, max_length=256)
    attempts: int = 0
    updated_at: datetime = _ts(nullable=False)


class DeliveryError(SQLModel, table=True):
    __tablename__ = "delivery_error"
    __table_args__ = (Index("ix_error_operation", "operation_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    operation_id: str = Field(foreign_key="operation.id", max_length=64)
    push_notification_id: str = Field(max_length=64)
    token: str | None = Field(default=None, max_length=4096)
    provider: str | None = Field(default=None, max_length=8)
    user_id: str | None = Field(default=None, max_length=64)
    code: str = Field(max_length=64)
    provider_status: int | None = None
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    attempts: int = 0
    retryable: bool = False
    occurred_at: datetime = _ts(nullable=False)


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    account_id: str = Field(primary_key=True, max_length=40)
    key: str = Field(primary_key=True, max_length=255)
    operation_id: str = Field(max_length=64)
    created_at: datetime = _ts(nullable=False)
