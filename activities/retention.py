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
        return PurgeResult(operations=await asyncio.to_thread(self._purge, inp.retention_days))

    def _purge(self, days: int) -> int:
        cutoff = datetime.now(UTC) - timedelta(days=days)
        purged = 0
        while True:
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
                    return purged
                pns = select(PushNotification.id).where(col(PushNotification.operation_id).in_(old))
                session.exec(delete(Delivery).where(col(Delivery.push_notification_id).in_(pns)))
                session.exec(delete(DeliveryError).where(col(DeliveryError.operation_id).in_(old)))
                session.exec(
                    delete(PushNotification).where(col(PushNotification.operation_id).in_(old))
                )
                session.exec(delete(Recipient).where(col(Recipient.operation_id).in_(old)))
                session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.operation_id).in_(old)))
                session.exec(delete(Operation).where(col(Operation.id).in_(old)))
                purged += len(old)
            activity.heartbeat(purged)
