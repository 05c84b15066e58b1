"""Closing an operation's record: its final status, counts and error summary.

Written by the worker's last activity, or by the API for a workflow that closed
without running it (terminated by an operator, failed, timed out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from herald.models import Delivery, Operation, PushNotification
from herald.operation_stats import compute_stats, error_summary

OPEN_STATUSES = ("SCHEDULED", "PROCESSING")  # of an Operation whose record is not closed


@dataclass
class ClosedOperation:
    status: str  # COMPLETED or CANCELED
    stats: dict[str, int]
    error_summary: list[dict[str, Any]]


def close_operation(
    session: Session, op: Operation, canceled: bool, at: datetime
) -> ClosedOperation:
    """Mark ``op`` COMPLETED or CANCELED; a cancelled one's unsent rows become CANCELED."""
    if canceled:  # otherwise the last retry round left nothing pending
        cancel_pending(session, op.id, at)
    closed = ClosedOperation(
        "CANCELED" if canceled else "COMPLETED",
        compute_stats(session, op.id, op.recipients),
        error_summary(session, op.id),
    )
    session.execute(
        update(Operation)
        .where(col(Operation.id) == op.id)
        .values(
            status=closed.status,
            stats=closed.stats,
            error_summary=closed.error_summary,
            updated_at=at,
        )
    )
    return closed


def cancel_pending(session: Session, operation_id: str, at: datetime) -> None:
    pending = select(PushNotification.id).where(
        col(PushNotification.operation_id) == operation_id,
        col(PushNotification.status).in_(("SCHEDULED", "QUEUED")),
    )
    session.execute(
        update(Delivery)
        .where(col(Delivery.push_notification_id).in_(pending), col(Delivery.status) == "RETRY")
        .values(status="CANCELED", updated_at=at),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(PushNotification)
        .where(
            col(PushNotification.operation_id) == operation_id,
            col(PushNotification.status).in_(("SCHEDULED", "QUEUED")),
        )
        .values(status="CANCELED", updated_at=at),
        execution_options={"synchronize_session": False},
    )
