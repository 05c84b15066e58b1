"""Many one-recipient sends (the transactional case): sends/s and latency.

Starts the whole stack as processes (:mod:`bench.process_stack`), then posts
``SENDS`` one-recipient notifications, ``IN_FLIGHT`` at a time, and waits until
every operation is COMPLETED (read from the database, so polling does not load
the API). Prints sends/s and the latency from POST to COMPLETED (the stored
``updated_at - created_at``; sends posted faster than they are processed wait
in the task queue, so the loaded figure includes that wait, and a few sends made
one at a time give the unloaded latency), against a baseline measured in the same run on
the same Temporal server: workflows that run one no-op local activity
(:mod:`bench.noop_workflow`) on a worker in this process, ``IN_FLIGHT`` at a time.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.worker import Worker

from bench.noop_workflow import NoopInput, NoopWorkflow, noop
from bench.process_stack import ProcessStack, process_stack
from herald.db import get_engine
from herald.models import Operation
from worker import workflow_runner

SENDS = 300
IN_FLIGHT = 20
WARMUP = 10
TIMEOUT = 120.0


async def post_all(http: httpx.AsyncClient, count: int) -> list[str]:
    gate = asyncio.Semaphore(IN_FLIGHT)
    run = secrets.token_hex(4)

    async def one(i: int) -> str:
        body = {
            "to": [{"token": f"single-{run}-{i}", "provider": "FCM", "variables": {"n": i}}],
            "content": {"title": "Order {{ n }}", "body": "has shipped"},
        }
        async with gate:
            r = await http.post("/PushNotifications", json=body)
        if r.status_code != 202:
            raise RuntimeError(f"send answered {r.status_code}: {r.text[:300]}")
        return str(r.json()["operationId"])

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def completed(stack: ProcessStack, ids: list[str]) -> list[Operation]:
    with Session(get_engine(stack.database_url)) as session:
        rows = session.exec(
            select(Operation).where(col(Operation.id).in_(ids), Operation.status == "COMPLETED")
        ).all()
        return list(rows)


async def wait_all(stack: ProcessStack, ids: list[str]) -> list[Operation]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        done = await asyncio.to_thread(completed, stack, ids)
        if len(done) == len(ids):
            return done
        if time.monotonic() > deadline:
            left = sorted(set(ids) - {op.id for op in done})
            with Session(get_engine(stack.database_url)) as session:
                rows = [session.get(Operation, op_id) for op_id in left[:5]]
                stuck = [(op.id, op.status, op.stats) for op in rows if op is not None]
            raise RuntimeError(f"{len(left)} of {len(ids)} sends not COMPLETED: {stuck}")
        await asyncio.sleep(0.05)


def latency(op: Operation) -> float:
    return (op.updated_at - op.created_at).total_seconds()


async def run_herald(
    stack: ProcessStack,
) -> tuple[float, list[float], list[float], dict[str, float]]:
    """Seconds for ``SENDS`` sends, their latencies under that load, the latencies
    of ``WARMUP`` sends made one at a time, and each process's CPU seconds."""
    http = stack.new_client("single")
    try:
        await wait_all(stack, await post_all(http, WARMUP))
        alone: list[float] = []
        for _ in range(WARMUP):
            [op] = await wait_all(stack, await post_all(http, 1))
            alone.append(latency(op))
        cpu_before = stack.cpu_seconds()
        started = time.perf_counter()
        ops = await wait_all(stack, await post_all(http, SENDS))
        elapsed = time.perf_counter() - started
        cpu = {k: v - cpu_before[k] for k, v in stack.cpu_seconds().items()}
    finally:
        await http.aclose()
    if any((op.stats or {}).get("sent") != 1 for op in ops):
        raise RuntimeError("a one-recipient send did not end with sent = 1")
    return elapsed, [latency(op) for op in ops], alone, cpu


async def run_baseline(stack: ProcessStack) -> tuple[float, float]:
    """Seconds for ``SENDS`` no-op workflows, and the Temporal server's CPU seconds."""
    client = await Client.connect(stack.settings.temporal_address)
    queue = f"noop-{secrets.token_hex(4)}"
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(i: int) -> None:
        async with gate:
            await client.execute_workflow(
                NoopWorkflow.run, NoopInput(str(i)), id=f"{queue}-{i}", task_queue=queue
            )

    worker = Worker(
        client,
        task_queue=queue,
        workflows=[NoopWorkflow],
        activities=[noop],
        workflow_runner=workflow_runner(("bench.noop_workflow",)),  # as Herald's worker
    )
    async with worker:
        await asyncio.gather(*(one(i) for i in range(-WARMUP, 0)))
        temporal_before = stack.cpu_seconds()["temporal"]
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(SENDS)))
        elapsed = time.perf_counter() - started
        return elapsed, stack.cpu_seconds()["temporal"] - temporal_before


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


async def bench(work: Path) -> None:
    with process_stack(work, apns=False) as stack:
        elapsed, latencies, alone, cpu = await run_herald(stack)
        baseline, baseline_temporal_cpu = await run_baseline(stack)
        rate, floor = SENDS / elapsed, SENDS / baseline
        print(f"one-recipient sends: {SENDS}, {IN_FLIGHT} in flight, FCM over HTTP/2")
        print(f"herald:   {elapsed:5.2f} s, {rate:5.1f} sends/s to COMPLETED")
        print(
            f"latency POST -> COMPLETED, one send at a time: median "
            f"{statistics.median(alone) * 1000:.0f} ms, max {max(alone) * 1000:.0f} ms"
        )
        print(
            f"latency POST -> COMPLETED, {SENDS} posted {IN_FLIGHT} at a time (queueing "
            f"included): median {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {pct(latencies, 95) * 1000:.0f} ms"
        )
        print(
            f"baseline: {baseline:5.2f} s, {floor:5.1f} workflows/s "
            "(one no-op local activity each, same Temporal server)"
        )
        print(f"herald / baseline: {rate / floor:.0%} of the throughput")
        print(
            f"Temporal server CPU ms per workflow: herald {1000 * cpu['temporal'] / SENDS:.1f}, "
            f"baseline {1000 * baseline_temporal_cpu / SENDS:.1f}"
        )
        per_send = ", ".join(f"{k} {1000 * v / SENDS:.1f}" for k, v in cpu.items())
        print(f"CPU ms per send: {per_send}")
        print(
            f"processes: {len(stack.children) + 1} ({', '.join(stack.children)}, and this one "
            f"posting and running the baseline worker) on {os.cpu_count()} cores"
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="herald-single-") as tmp:
        asyncio.run(bench(Path(tmp)))


if __name__ == "__main__":
    main()
