"""PurgeRecords: run by a Temporal Schedule; closes abandoned operations' records,
then deletes records past retention."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.messages import PurgeInput, PurgeResult, SettleInput
    from activities.retention import RetentionActivities

PURGE_WORKFLOW = "PurgeRecords"
PURGE_SCHEDULE_ID = "herald-retention"
SETTLE_PATCH = "close-abandoned-operations"


@workflow.defn(name=PURGE_WORKFLOW)
class PurgeRecords:
    @workflow.run
    async def run(self, inp: PurgeInput) -> PurgeResult:
        if workflow.patched(SETTLE_PATCH):
            # first, so that terminated sends' records are closed and can age out
            await workflow.execute_activity_method(
                RetentionActivities.close_abandoned_operations,
                SettleInput(),
                start_to_close_timeout=timedelta(minutes=30),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
        return await workflow.execute_activity_method(
            RetentionActivities.purge_old_records,
            inp,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=5),
        )
