"""Housekeeping run by the retention Schedule: close the records of send workflows
that ended without closing them, and delete closed operations past their days."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import col, select
from temporalio import activity

from activities.messages import PurgeInput, PurgeResult, SettleInput, SettleResult
from herald.db import session_scope
from herald.models import (
    Delivery,
    DeliveryError,
    IdempotencyKey,
    Operation,
    PushNotification,
    Recipient,
)
from herald.operation_close import OPEN_STATUSES, close_operation

CHUNK = 200
#: Send workflows that closed without running finish_operation (an operator
#: terminated them, or they failed or timed out) while their record was open.
ABANDONED_QUERY = (
    "WorkflowType = 'PushNotificationOperation' "
    "AND ExecutionStatus IN ('Terminated', 'Failed', 'TimedOut') "
    "AND HeraldStatus IN ('SCHEDULED', 'PROCESSING')"
)


class RetentionActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="close_abandoned_operations")
    async def close_abandoned_operations(self, inp: SettleInput) -> SettleResult:
        """Close as CANCELED the records of send workflows on this task queue that
        ended without closing them (the API also does it when such a record is read)."""
        query = f"{ABANDONED_QUERY} AND TaskQueue = '{activity.info().task_queue}'"
        ids = [
            wf.id
            async for wf in activity.client().list_workflows(query, limit=inp.max_workflows)
        ]
        closed = 0
        for start in range(0, len(ids), CHUNK):
            closed += await asyncio.to_thread(self._close_open, ids[start : start + CHUNK])
            activity.heartbeat(closed)
        return SettleResult(operations=closed)

    def _close_open(self, operation_ids: list[str]) -> int:
        now = datetime.now(UTC)
        with session_scope(self._engine) as session:
            still_open = session.exec(
                select(Operation).where(
                    col(Operation.id).in_(operation_ids),
                    col(Operation.status).in_(OPEN_STATUSES),
                )
            ).all()
            for op in still_open:
                close_operation(session, op, True, now)
            return len(still_open)

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
