"""Database side of one delivery batch: what to send, and recording what happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, update
from sqlmodel import Session, SQLModel, col, select

from activities.messages import BatchInput
from herald.models import (
    Delivery,
    DeliveryError,
    Device,
    DeviceRegistration,
    Operation,
    PushNotification,
    Recipient,
    utcnow,
)


@dataclass
class Target:
    """One device of one PushNotification."""

    token: str
    provider: str
    attempts: int = 0
    delivery_id: int | None = None


@dataclass
class Work:
    """One PushNotification of the batch, with the devices still to try."""

    pn_id: str
    user_id: str | None
    variables: dict[str, Any]
    targets: list[Target]
    done: list[Delivery] = field(default_factory=list)  # final deliveries of earlier tries
    skipped: bool = False  # some device was not tried: the batch was cancelled


@dataclass
class BatchPlan:
    operation: Operation
    app_id: int | None
    work: list[Work]


def load_batch(session: Session, inp: BatchInput) -> BatchPlan | None:
    operation = session.get(Operation, inp.operation_id)
    if operation is None:
        return None
    rows = session.exec(
        select(PushNotification, Recipient)
        .join(
            Recipient,
            (col(Recipient.operation_id) == PushNotification.operation_id)
            & (col(Recipient.idx) == PushNotification.idx),
        )
        .where(
            PushNotification.operation_id == inp.operation_id,
            PushNotification.send_index == inp.send_index,
            col(PushNotification.idx) >= inp.start,
            col(PushNotification.idx) < inp.end,
            PushNotification.status == "QUEUED",
        )
        .order_by(col(PushNotification.idx))
    ).all()
    app_id = operation.senders.get("app_id")
    pn_ids = [pn.id for pn, _ in rows]
    earlier: dict[str, list[Delivery]] = {}
    if pn_ids:
        for d in session.exec(
            select(Delivery).where(col(Delivery.push_notification_id).in_(pn_ids))
        ):
            earlier.setdefault(d.push_notification_id, []).append(d)
    devices = _devices_of(session, app_id, {r.user_id for _, r in rows if r.user_id})
    work: list[Work] = []
    for pn, recipient in rows:
        if recipient.user_id is not None:
            wanted = devices.get(recipient.user_id, [])
        else:
            assert recipient.token is not None and recipient.provider is not None
            wanted = [(recipient.token, recipient.provider)]
        previous = {(d.provider, d.token): d for d in earlier.get(pn.id, [])}
        item = Work(pn.id, recipient.user_id, dict(recipient.variables), [])
        for token, provider in wanted:
            before = previous.pop((provider, token), None)
            if before is None:
                item.targets.append(Target(token, provider))
            elif before.status == "RETRY":
                item.targets.append(Target(token, provider, before.attempts, before.id))
            else:
                item.done.append(before)
        # devices removed since an earlier try still count with their outcome
        item.done.extend(d for d in previous.values() if d.status != "RETRY")
        work.append(item)
    return BatchPlan(operation, app_id, work)


def _devices_of(
    session: Session, app_id: int | None, user_ids: set[str]
) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    if app_id is None or not user_ids:
        return found
    wanted = sorted(user_ids)
    for start in range(0, len(wanted), 500):
        for user_id, token, provider in session.exec(
            select(DeviceRegistration.user_id, Device.token, Device.provider)
            .join(Device, col(Device.registration_id) == DeviceRegistration.id)
            .where(
                DeviceRegistration.app_id == app_id,
                col(DeviceRegistration.user_id).in_(wanted[start : start + 500]),
            )
            .order_by(col(Device.id))
        ):
            found.setdefault(user_id, []).append((token, provider))
    return found


@dataclass
class PnUpdate:
    pn_id: str
    status: str  # QUEUED (retry pending), SENT or FAILED
    content: dict[str, Any] | None
    tags: dict[str, str] | None
    tag_index: str | None


@dataclass
class BatchOutcome:
    pn_updates: list[PnUpdate] = field(default_factory=list)
    new_deliveries: list[dict[str, Any]] = field(default_factory=list)
    changed_deliveries: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    invalid_tokens: list[tuple[str, str]] = field(default_factory=list)  # (provider, token)


def record_batch(session: Session, app_id: int | None, outcome: BatchOutcome) -> set[str]:
    """Write a batch's outcomes in one transaction; answers the pn ids it updated.

    A PushNotification is only updated while it is still QUEUED, so a cancel
    that won the race keeps its CANCELED.
    """
    now = utcnow()
    updated = _update_queued(session, outcome.pn_updates, now)
    new = [d | {"updated_at": now} for d in outcome.new_deliveries
           if d["push_notification_id"] in updated]
    if new:
        session.execute(insert(Delivery), new)
    changed = [d | {"now": now} for d in outcome.changed_deliveries if d["pn"] in updated]
    if changed:
        table = SQLModel.metadata.tables["delivery"]  # Core executemany with our bind names
        session.execute(
            update(table)
            .where(table.c.id == bindparam("delivery_id"))
            .values(
                status=bindparam("new_status"),
                attempts=bindparam("new_attempts"),
                provider_message_id=bindparam("message_id"),
                updated_at=bindparam("now"),
            ),
            changed,
        )
    errors = [e | {"occurred_at": now} for e in outcome.errors
              if e["push_notification_id"] in updated]
    if errors:
        session.execute(insert(DeliveryError), errors)
    if app_id is not None:
        for provider, token in outcome.invalid_tokens:
            forget_device(session, app_id, provider, token)
    return updated


def _update_queued(session: Session, updates: list[PnUpdate], now: datetime) -> set[str]:
    """Apply ``updates`` to the PushNotifications still QUEUED, in two executemany
    statements (with and without rendered content); answers the ids updated,
    found by the ``updated_at`` this call wrote."""
    table = SQLModel.metadata.tables["push_notification"]
    queued = (table.c.id == bindparam("pn_id")) & (table.c.status == "QUEUED")
    final = [
        {"pn_id": u.pn_id, "new_status": u.status, "now": now, "new_content": u.content,
         "new_tags": u.tags, "new_tag_index": u.tag_index}
        for u in updates
        if u.content is not None
    ]  # fmt: skip
    pending = [
        {"pn_id": u.pn_id, "new_status": u.status, "now": now}
        for u in updates
        if u.content is None
    ]
    if final:
        session.execute(
            update(table)
            .where(queued)
            .values(
                status=bindparam("new_status"),
                updated_at=bindparam("now"),
                content=bindparam("new_content"),
                tags=bindparam("new_tags"),
                tag_index=bindparam("new_tag_index"),
            ),
            final,
        )
    if pending:
        session.execute(
            update(table)
            .where(queued)
            .values(status=bindparam("new_status"), updated_at=bindparam("now")),
            pending,
        )
    ids = [u.pn_id for u in updates]
    return set(
        session.exec(
            select(PushNotification.id).where(
                col(PushNotification.id).in_(ids), col(PushNotification.updated_at) == now
            )
        ).all()
    )


def forget_device(session: Session, app_id: int, provider: str, token: str) -> None:
    """The provider said the token is dead: drop it (and an emptied registration)."""
    device = session.exec(
        select(Device).where(
            Device.app_id == app_id, Device.token == token, Device.provider == provider
        )
    ).first()
    if device is None:
        return
    registration_id = device.registration_id
    session.delete(device)
    session.flush()
    if session.exec(select(Device.id).where(Device.registration_id == registration_id)).first():
        return
    session.exec(delete(DeviceRegistration).where(col(DeviceRegistration.id) == registration_id))


def mark_queued(session: Session, operation_id: str, send_index: int, at: datetime) -> int:
    result = session.execute(
        update(PushNotification)
        .where(
            col(PushNotification.operation_id) == operation_id,
            col(PushNotification.send_index) == send_index,
            col(PushNotification.status) == "SCHEDULED",
        )
        .values(status="QUEUED", updated_at=at)
    )
    session.execute(
        update(Operation)
        .where(col(Operation.id) == operation_id, col(Operation.status) == "SCHEDULED")
        .values(status="PROCESSING", updated_at=at)
    )
    return int(getattr(result, "rowcount", 0))
