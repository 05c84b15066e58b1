"""The Herald worker: runs send workflows and their provider activities.

    python worker.py

Registers the workflows and activities on ``HERALD_TASK_QUEUE``, creates the
search attributes and the retention Schedule if missing, serves Prometheus
metrics on ``HERALD_METRICS_PORT`` (0: off) and stops gracefully on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

from prometheus_client import start_http_server
from sqlalchemy import Engine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.delivery import DeliveryActivities
from activities.messages import PurgeInput
from activities.providers.registry import ProviderClients
from activities.retention import RetentionActivities
from herald.crypto import load_secret_key, secret_box
from herald.db import get_engine
from herald.logs import configure_logging
from herald.settings import Settings, get_settings
from workflows.push_operation import PushNotificationOperation
from workflows.retention import PURGE_SCHEDULE_ID, PURGE_WORKFLOW, PurgeRecords

log = logging.getLogger("herald.worker")
SEARCH_ATTRIBUTES = ("HeraldAccountId", "HeraldStatus")


async def connect(settings: Settings, stop: asyncio.Event) -> Client | None:
    """Connect, waiting out a Temporal outage instead of crash-looping."""
    delay = 1.0
    while not stop.is_set():
        try:
            return await Client.connect(
                settings.temporal_address, namespace=settings.temporal_namespace
            )
        except RuntimeError as exc:
            log.warning("temporal unavailable, retrying", extra={"error": str(exc)[:200]})
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                delay = min(delay * 2, 30)
    return None


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={
                    name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                    for name in SEARCH_ATTRIBUTES
                },
            )
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.ALREADY_EXISTS:
            raise


async def ensure_retention_schedule(client: Client, settings: Settings) -> None:
    with contextlib.suppress(ScheduleAlreadyRunningError):  # made by an earlier start
        await client.create_schedule(
            PURGE_SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    PURGE_WORKFLOW,
                    PurgeInput(retention_days=settings.retention_days),
                    id=PURGE_SCHEDULE_ID,
                    task_queue=settings.task_queue,
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
            ),
        )


def workflow_runner(packages: tuple[str, ...] = ("workflows",)) -> SandboxedWorkflowRunner:
    """The sandbox, with Herald's own ``workflows`` package passed through: those
    modules hold only constants and classes, so re-importing them for every run
    (most of a one-recipient send's worker CPU) isolates nothing. The sandbox's
    runtime restrictions (clocks, randomness, I/O) still apply to the code."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*packages)
    return SandboxedWorkflowRunner(restrictions=restrictions)


def build_worker(
    client: Client,
    settings: Settings,
    engine: Engine,
    clients: ProviderClients,
    graceful_shutdown: timedelta = timedelta(seconds=20),
) -> Worker:
    """The worker for ``HERALD_TASK_QUEUE``: the send and retention workflows and activities."""
    delivery = DeliveryActivities(engine, clients)
    retention = RetentionActivities(engine)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[PushNotificationOperation, PurgeRecords],
        activities=[
            delivery.start_slot,
            delivery.deliver_batch,
            delivery.finish_operation,
            retention.close_abandoned_operations,
            retention.purge_old_records,
        ],
        workflow_runner=workflow_runner(),
        max_concurrent_activities=16,
        graceful_shutdown_timeout=graceful_shutdown,
    )


async def run(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr="127.0.0.1")
    client = await connect(settings, stop)
    if client is None:
        return
    await ensure_search_attributes(client, settings.temporal_namespace)
    await ensure_retention_schedule(client, settings)
    engine = get_engine(settings.database_url)
    clients = ProviderClients(settings, engine, secret_box(load_secret_key(settings)))
    worker = build_worker(client, settings, engine, clients)
    log.info("worker started", extra={"taskQueue": settings.task_queue})
    async with worker:
        await stop.wait()
        log.info("worker stopping")
    await clients.close()


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
