"""PushNotificationOperation: wait for each sendAt, deliver in batches, retry, finish."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.workflow import ActivityCancellationType

from workflows.inputs import (
    CANCEL_SIGNAL,
    PROGRESS_QUERY,
    WORKFLOW_NAME,
    OperationInput,
    Progress,
)

with workflow.unsafe.imports_passed_through():
    from activities.delivery import DeliveryActivities
    from activities.messages import (
        BatchInput,
        BatchResult,
        FinishInput,
        OperationSummary,
        SlotInput,
    )

HERALD_STATUS = SearchAttributeKey.for_keyword("HeraldStatus")
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=20,
)
# A batch on a worker that died is retried this soon, not after start_to_close.
BATCH_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
# Sends this small (recipients x sendAt times) run their activities as local
# activities, inside the workflow task: no activity task round trips through the
# server, which on 2 cores is most of the cost of a one-recipient send.
LOCAL_DELIVERIES = 10
LOCAL_PATCH = "local-activities-for-small-sends"  # workflows started before keep their path

In = TypeVar("In")
Out = TypeVar("Out")


def _by_code(item: tuple[tuple[str, str | None], int]) -> tuple[str, str]:
    (code, provider), _ = item
    return code, provider or ""


def retry_delay(round_: int, retry_after: float) -> timedelta:
    """Backoff before retry round ``round_`` (1, 2, 4, 8 s ...), at least Retry-After."""
    return timedelta(seconds=max(2.0 ** (round_ - 1), retry_after))


@workflow.defn(name=WORKFLOW_NAME)
class PushNotificationOperation:
    def __init__(self) -> None:
        self._cancel = False
        self._status = "SCHEDULED"
        self._stats: Counter[str] = Counter()
        self._errors: Counter[tuple[str, str | None]] = Counter()
        self._retry_after: dict[tuple[int, int], float] = {}
        self._in_flight = 0
        self._shown_status = ""
        self._local = False

    @workflow.signal(name=CANCEL_SIGNAL)
    def cancel(self) -> None:
        self._cancel = True

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> Progress:
        return Progress(
            status=self._status,
            stats=dict(self._stats),
            error_summary=[
                {"code": c, "provider": p, "count": n}
                for (c, p), n in sorted(self._errors.items(), key=_by_code)
            ],
        )

    @workflow.run
    async def run(self, inp: OperationInput) -> OperationSummary:
        slots = len(inp.send_at)
        total = inp.recipients * slots
        self._local = total <= LOCAL_DELIVERIES and workflow.patched(LOCAL_PATCH)
        self._stats.update(
            total=total, recipients=inp.recipients, scheduled=total, unaddressable=0,
            queued=0, sent=0, failed=0, canceled=0,
        )
        self._show()
        try:
            for index, at in enumerate(inp.send_at):
                await self._wait_until(datetime.fromisoformat(at), f"wait until sendAt {at}")
                if self._cancel:
                    break
                await self._deliver_slot(inp, index)
                if self._cancel:
                    break
        except asyncio.CancelledError:
            # `temporal workflow cancel`: let in-flight batches record what they sent,
            # then record CANCELED and finish cleanly.
            self._cancel = True
            await workflow.wait_condition(lambda: self._in_flight == 0)
        summary = await self._activity(
            DeliveryActivities.finish_operation,
            FinishInput(inp.operation_id, canceled=self._cancel),
            timedelta(minutes=2),
        )
        self._status = summary.status
        self._stats = Counter(summary.stats)
        self._errors = Counter({(e.code, e.provider): e.count for e in summary.error_summary})
        self._show()
        return summary

    async def _wait_until(self, when: datetime, summary: str) -> None:
        delay = (when - workflow.now()).total_seconds()
        if delay <= 0 or self._cancel:
            return
        with contextlib.suppress(TimeoutError):  # the time has come
            await workflow.wait_condition(
                lambda: self._cancel, timeout=timedelta(seconds=delay), timeout_summary=summary
            )

    async def _deliver_slot(self, inp: OperationInput, index: int) -> None:
        started = await self._activity(
            DeliveryActivities.start_slot, SlotInput(inp.operation_id, index), timedelta(minutes=2)
        )
        self._status = "PROCESSING"
        self._stats["scheduled"] -= started.queued
        self._stats["queued"] += started.queued
        self._show()
        batches = [
            (start, min(start + inp.batch_size, inp.recipients))
            for start in range(0, inp.recipients, inp.batch_size)
        ]
        for round_ in range(inp.max_rounds):
            if round_:
                retry_after = max(self._retry_after.get(b, 0.0) for b in batches)
                await self._wait_until(
                    workflow.now() + retry_delay(round_, retry_after),
                    f"retry round {round_} of sendAt #{index + 1}",
                )
            if self._cancel:
                return
            final = round_ == inp.max_rounds - 1
            results = await self._run_batches(inp, index, batches, round_, final)
            batches = [b for b, r in results.items() if r.pending]
            if not batches or self._cancel:
                return

    async def _run_batches(
        self,
        inp: OperationInput,
        index: int,
        batches: list[tuple[int, int]],
        round_: int,
        final: bool,
    ) -> dict[tuple[int, int], BatchResult]:
        gate = asyncio.Semaphore(inp.max_concurrent_batches)
        results: dict[tuple[int, int], BatchResult] = {}
        self._retry_after = {}

        async def one(batch: tuple[int, int]) -> None:
            async with gate:
                if self._cancel:
                    return
                self._in_flight += 1
                try:
                    result = await self._batch(inp, index, batch, round_, final)
                finally:
                    self._in_flight -= 1
            results[batch] = result
            self._retry_after[batch] = result.retry_after
            self._count(result)

        await asyncio.gather(*(one(b) for b in batches))
        return results

    async def _batch(
        self, inp: OperationInput, index: int, batch: tuple[int, int], round_: int, final: bool
    ) -> BatchResult:
        return await self._activity(
            DeliveryActivities.deliver_batch,
            BatchInput(inp.operation_id, index, batch[0], batch[1], round_, final),
            timedelta(minutes=5),
            heartbeat=True,
            summary=f"sendAt #{index + 1} recipients {batch[0]}-{batch[1] - 1} round {round_}",
        )

    async def _activity(
        self,
        method: Callable[[Any, In], Awaitable[Out]],
        arg: In,
        start_to_close: timedelta,
        *,
        heartbeat: bool = False,
        summary: str | None = None,
    ) -> Out:
        """Run an activity: local for a small send, else through the task queue."""
        if self._local:
            return await workflow.execute_local_activity_method(
                method,
                arg,
                start_to_close_timeout=start_to_close,
                retry_policy=ACTIVITY_RETRY,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                summary=summary,
            )
        return await workflow.execute_activity_method(
            method,
            arg,
            start_to_close_timeout=start_to_close,
            heartbeat_timeout=BATCH_HEARTBEAT_TIMEOUT if heartbeat else None,
            retry_policy=ACTIVITY_RETRY,
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary=summary,
        )

    def _count(self, result: BatchResult) -> None:
        done = result.sent + result.failed
        self._stats["queued"] -= done
        self._stats["sent"] += result.sent
        self._stats["failed"] += result.failed
        self._stats["unaddressable"] += result.unaddressable
        for e in result.errors:
            self._errors[(e.code, e.provider)] += e.count
        self._show()

    def _show(self) -> None:
        s = self._stats
        workflow.set_current_details(
            f"{self._status}: sent {s['sent']}, failed {s['failed']}, queued {s['queued']}, "
            f"scheduled {s['scheduled']}, canceled {s['canceled']} of {s['total']}"
        )
        if self._status != self._shown_status:
            self._shown_status = self._status
            workflow.upsert_search_attributes([HERALD_STATUS.value_set(self._status)])
