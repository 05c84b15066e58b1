"""PurgeRecords: run by a Temporal Schedule, deletes records past retention."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.messages import PurgeInput, PurgeResult
    from activities.retention import RetentionActivities

PURGE_WORKFLOW = "PurgeRecords"
PURGE_SCHEDULE_ID = "herald-retention"


@workflow.defn(name=PURGE_WORKFLOW)
class PurgeRecords:
    @workflow.run
    async def run(self, inp: PurgeInput) -> PurgeResult:
        return await workflow.execute_activity_method(
            RetentionActivities.purge_old_records,
            inp,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=5),
        )
