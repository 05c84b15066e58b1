"""Retention: delete closed operations (and everything under them) past their days."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import col, select
from temporalio import activity

from activities.messages import PurgeInput, PurgeResult
from herald.db import session_scope
from herald.models import (
    Delivery,
    DeliveryError,
    IdempotencyKey,
    Operation,
    PushNotification,
    Recipient,
)

CHUNK = 200


class RetentionActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="purge_old_records")
    async def purge_old_records(self, inp: PurgeInput) -> PurgeResult:
        cutoff = datetime.now(UTC) - timedelta(days=inp.retention_days)
        purged = 0
        while True:
            removed = await asyncio.to_thread(self._purge_chunk, cutoff)
            if not removed:
                return PurgeResult(operations=purged)
            purged += removed
            activity.heartbeat(purged)

    def _purge_chunk(self, cutoff: datetime) -> int:
        """Delete up to CHUNK closed operations older than ``cutoff``, in one transaction."""
        with session_scope(self._engine) as session:
            old = list(
                session.exec(
                    select(Operation.id)
                    .where(
                        col(Operation.created_at) < cutoff,
                        col(Operation.status).in_(("COMPLETED", "CANCELED")),
                    )
                    .limit(CHUNK)
                )
            )
            if not old:
                session.exec(
                    delete(IdempotencyKey).where(
                        col(IdempotencyKey.created_at) < datetime.now(UTC) - timedelta(days=1)
                    )
                )
                return 0
            pns = select(PushNotification.id).where(col(PushNotification.operation_id).in_(old))
            session.exec(delete(Delivery).where(col(Delivery.push_notification_id).in_(pns)))
            session.exec(delete(DeliveryError).where(col(DeliveryError.operation_id).in_(old)))
            session.exec(
                delete(PushNotification).where(col(PushNotification.operation_id).in_(old))
            )
            session.exec(delete(Recipient).where(col(Recipient.operation_id).in_(old)))
            session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.operation_id).in_(old)))
            session.exec(delete(Operation).where(col(Operation.id).in_(old)))
            return len(old)
