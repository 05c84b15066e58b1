"""The activities of a send: queue a sendAt slot, deliver a batch, finish.

Every activity takes ids and answers counts: recipients, tokens and variables
are read from the database here and never travel through Temporal.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.batch_store import (
    BatchOutcome,
    BatchPlan,
    PnUpdate,
    Target,
    Work,
    load_batch,
    mark_queued,
    record_batch,
)
from activities.messages import (
    BatchInput,
    BatchResult,
    ErrorCount,
    FinishInput,
    OperationSummary,
    SlotInput,
    SlotStarted,
)
from activities.providers.base import Outcome, SendResult
from activities.providers.registry import ProviderClients
from activities.rendering import Rendered, push_message, render_for
from herald.db import session_scope
from herald.metrics import BATCHES, DELIVERIES, PROVIDER_LATENCY
from herald.models import Operation
from herald.operation_close import close_operation
from herald.operation_stats import UNADDRESSABLE
from herald.tags import tag_index
from herald.templating import TemplateError

#: Sends in flight per provider in one worker process, shared by all its batches.
#: HTTP/2 clients slow down past about 100 concurrent streams: 1,000 in flight ran at
#: a quarter of the throughput of 100 (httpx to fake FCM, aioapns to fake APNs).
SEND_CONCURRENCY = 100
HEARTBEAT_EVERY_SECONDS = 2.0  # the workflow's heartbeat timeout is 10 s


@dataclass
class _Attempt:
    work: Work
    target: Target
    result: SendResult


class DeliveryActivities:
    def __init__(self, engine: Engine, clients: ProviderClients) -> None:
        self._engine = engine
        self._clients = clients
        self._gates: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(SEND_CONCURRENCY)
        )

    @activity.defn(name="start_slot")
    async def start_slot(self, inp: SlotInput) -> SlotStarted:
        def run() -> int:
            with session_scope(self._engine) as session:
                if session.get(Operation, inp.operation_id) is None:
                    raise ApplicationError("operation not stored yet", type="NotVisible")
                return mark_queued(session, inp.operation_id, inp.send_index, datetime.now(UTC))

        return SlotStarted(queued=await asyncio.to_thread(run))

    @activity.defn(name="deliver_batch")
    async def deliver_batch(self, inp: BatchInput) -> BatchResult:
        """Heartbeats while it works, so a crashed worker's batch is retried within
        the heartbeat timeout. A cancel lets the batch finish and record what it
        sent (a delivery that reached the provider must end up SENT), then ends
        the activity as cancelled."""
        BATCHES.inc()
        stop = asyncio.Event()  # set on cancel: no new send starts
        work = asyncio.ensure_future(self._deliver(inp, stop))
        # A local activity (small sends) lives inside a workflow task: nothing to beat.
        beating = None if activity.info().is_local else asyncio.ensure_future(_heartbeat())
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            stop.set()
            await work
            raise
        finally:
            if beating is not None:
                beating.cancel()

    async def _deliver(self, inp: BatchInput, stop: asyncio.Event) -> BatchResult:
        plan = await asyncio.to_thread(self._load, inp)
        if plan is None:
            return BatchResult()
        attempts, rendered, template_errors = await self._send_all(plan, stop)
        outcome, result = _judge(plan, inp, attempts, rendered, template_errors)
        await asyncio.to_thread(self._record, plan.app_id, outcome)
        return result

    def _load(self, inp: BatchInput) -> BatchPlan | None:
        with Session(self._engine) as session:
            return load_batch(session, inp)

    def _record(self, app_id: int | None, outcome: BatchOutcome) -> None:
        with session_scope(self._engine) as session:
            record_batch(session, app_id, outcome)

    async def _send_all(
        self, plan: BatchPlan, stop: asyncio.Event
    ) -> tuple[list[_Attempt], dict[str, Rendered], dict[str, str]]:
        op = plan.operation
        rendered: dict[str, Rendered] = {}
        template_errors: dict[str, str] = {}
        for work in plan.work:
            try:
                rendered[work.pn_id] = render_for(op.content, op.tags, work.variables)
            except TemplateError as exc:
                template_errors[work.pn_id] = str(exc)

        async def one(work: Work, target: Target) -> _Attempt | None:
            credential_id = op.senders.get(target.provider.lower())
            client = await self._clients.get(credential_id) if credential_id else None
            if client is None:
                result = SendResult(
                    Outcome.FAILED,
                    code="NO_CREDENTIAL",
                    message=f"no {target.provider} credential for this operation's App",
                )
                return _Attempt(work, target, result)
            message = push_message(target.token, rendered[work.pn_id], op.priority, op.sound)
            async with self._gates[target.provider]:
                if stop.is_set():
                    return None  # cancelled before it was sent: stays QUEUED, then CANCELED
                started = time.perf_counter()
                result = await client.send(message)
                PROVIDER_LATENCY.labels(target.provider).observe(time.perf_counter() - started)
            DELIVERIES.labels(target.provider, result.outcome.value).inc()
            return _Attempt(work, target, result)

        jobs = [
            one(work, target)
            for work in plan.work
            if work.pn_id in rendered
            for target in work.targets
        ]
        done = [a for a in await asyncio.gather(*jobs) if a is not None]
        tried = Counter(a.work.pn_id for a in done)
        for work in plan.work:
            work.skipped = work.pn_id in rendered and tried[work.pn_id] < len(work.targets)
        return done, rendered, template_errors

    @activity.defn(name="finish_operation")
    async def finish_operation(self, inp: FinishInput) -> OperationSummary:
        def run() -> OperationSummary:
            with session_scope(self._engine) as session:
                op = session.get(Operation, inp.operation_id)
                if op is None:
                    return OperationSummary("COMPLETED", {}, [])
                closed = close_operation(session, op, inp.canceled, datetime.now(UTC))
            summary = closed.error_summary
            errors = [ErrorCount(e["code"], e["provider"], e["count"]) for e in summary]
            return OperationSummary(closed.status, closed.stats, errors)

        return await asyncio.to_thread(run)


async def _heartbeat() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY_SECONDS)


def _error_row(
    plan: BatchPlan, work: Work, target: Target | None, code: str, **extra: Any
) -> dict[str, Any]:
    return {
        "operation_id": plan.operation.id,
        "push_notification_id": work.pn_id,
        "token": target.token if target else None,
        "provider": target.provider if target else None,
        "user_id": work.user_id,
        "code": code,
        "provider_status": extra.get("status"),
        "message": extra.get("message") or "",
        "attempts": extra.get("attempts", 0),
        "retryable": extra.get("retryable", False),
    }


def _judge(
    plan: BatchPlan,
    inp: BatchInput,
    attempts: list[_Attempt],
    rendered: dict[str, Rendered],
    template_errors: dict[str, str],
) -> tuple[BatchOutcome, BatchResult]:
    """Turn provider answers into status changes, Errors and the counts the workflow keeps."""
    out = BatchOutcome()
    result = BatchResult()
    errors: Counter[tuple[str, str | None]] = Counter()
    by_pn: dict[str, list[_Attempt]] = {}
    for a in attempts:
        by_pn.setdefault(a.work.pn_id, []).append(a)

    for work in plan.work:
        if work.pn_id in template_errors:
            direct = work.targets[0] if work.user_id is None and work.targets else None
            provider = direct.provider if direct else None
            message = template_errors[work.pn_id]
            out.errors.append(_error_row(plan, work, direct, "TEMPLATE_ERROR", message=message))
            out.pn_updates.append(PnUpdate(work.pn_id, "FAILED", None, None, None))
            errors[("TEMPLATE_ERROR", provider)] += 1
            result.failed += 1
            continue
        final_statuses = [d.status for d in work.done]
        pending = False
        for a in by_pn.get(work.pn_id, []):
            r, t = a.result, a.target
            tries = t.attempts + 1
            status = "SENT"
            if r.outcome is Outcome.RETRY and not inp.final_round:
                status, pending = "RETRY", True
                result.retry_after = max(result.retry_after, r.retry_after or 0.0)
            elif r.outcome is not Outcome.SENT:
                status = "FAILED"
                code = r.code or r.outcome.value
                out.errors.append(
                    _error_row(
                        plan, work, t, code, status=r.status, message=r.message,
                        attempts=tries, retryable=r.outcome is Outcome.RETRY,
                    )
                )
                errors[(code, t.provider)] += 1
                if r.outcome is Outcome.INVALID_TOKEN:
                    out.invalid_tokens.append((t.provider, t.token))
            final_statuses.append(status)
            row = {
                "push_notification_id": work.pn_id,
                "token": t.token,
                "provider": t.provider,
                "status": status,
                "provider_message_id": r.provider_message_id,
                "attempts": tries,
            }
            if t.delivery_id is None:
                out.new_deliveries.append(row)
            else:
                out.changed_deliveries.append(
                    {
                        "pn": work.pn_id,
                        "delivery_id": t.delivery_id,
                        "new_status": status,
                        "new_attempts": tries,
                        "message_id": r.provider_message_id,
                    }
                )
        r_content = rendered[work.pn_id]
        if pending or work.skipped:
            result.pending += 1
            out.pn_updates.append(PnUpdate(work.pn_id, "QUEUED", None, None, None))
            continue
        if not final_statuses:
            out.errors.append(
                _error_row(plan, work, None, UNADDRESSABLE,
                           message="the User has no device registered in this App")
            )
            errors[(UNADDRESSABLE, None)] += 1
            result.unaddressable += 1
        sent = "SENT" in final_statuses
        result.sent += int(sent)
        result.failed += int(not sent)
        out.pn_updates.append(
            PnUpdate(
                work.pn_id,
                "SENT" if sent else "FAILED",
                r_content.content,
                r_content.tags,
                tag_index(r_content.tags),
            )
        )
    result.errors = [
        ErrorCount(code, prov, n)
        for (code, prov), n in sorted(errors.items(), key=lambda e: (e[0][0], e[0][1] or ""))
    ]
    return out, result
