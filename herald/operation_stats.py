"""An operation's counts and error summary, computed from the database."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from herald.models import DeliveryError, PushNotification

STATUSES = ("SCHEDULED", "QUEUED", "SENT", "FAILED", "CANCELED")
UNADDRESSABLE = "NO_DEVICES"


def compute_stats(session: Session, operation_id: str, recipients: int) -> dict[str, int]:
    counts = dict(
        session.exec(
            select(PushNotification.status, func.count())
            .where(PushNotification.operation_id == operation_id)
            .group_by(col(PushNotification.status))
        ).all()
    )
    unaddressable = session.exec(
        select(func.count()).where(
            DeliveryError.operation_id == operation_id, DeliveryError.code == UNADDRESSABLE
        )
    ).one()
    stats = {s.lower(): int(counts.get(s, 0)) for s in STATUSES}
    return {
        "total": sum(stats.values()),
        "recipients": recipients,
        "unaddressable": int(unaddressable),
        **stats,
    }


def error_summary(session: Session, operation_id: str) -> list[dict[str, Any]]:
    rows = session.exec(
        select(DeliveryError.code, DeliveryError.provider, func.count())
        .where(DeliveryError.operation_id == operation_id)
        .group_by(col(DeliveryError.code), col(DeliveryError.provider))
        .order_by(col(DeliveryError.code))
    ).all()
    return [{"code": code, "provider": provider, "count": int(n)} for code, provider, n in rows]
