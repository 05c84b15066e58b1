"""10,000 recipients through the whole stack, against the bare provider clients.

Starts Herald as separate processes (:mod:`bench.process_stack`: fake FCM
over HTTP/2 + TLS, fake APNs, Temporal dev server with a database file, API,
one worker), warms it up with a small send, then sends one templated
notification to 10,000 recipients (half FCM, half APNs) and prints:

- the time to the 202 (validation + storing the operation + starting the workflow),
- the time to COMPLETED (polling ``GET /Operations/{id}``) and deliveries/s,
- the baseline: the same provider clients sending the same 10,000 messages
  straight to the same fakes from this process, with the worker's bound on
  sends in flight (``SEND_CONCURRENCY`` per provider), and no Temporal or
  database; and the pipeline/baseline ratio,
- the processes used and the CPU each spent: on a shared 2-core machine the
  wall-clock figures move with the load, CPU milliseconds per delivery less.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from activities.delivery import SEND_CONCURRENCY
from activities.providers.apns import ApnsClient
from activities.providers.base import Outcome, ProviderClient, ProviderCredential, PushMessage
from activities.providers.fcm import FcmClient, make_fcm_http_client
from bench.process_stack import (
    APNS_KEY_ID,
    APNS_TEAM_ID,
    APNS_TOPIC,
    ProcessStack,
    process_stack,
)
from fakes.keys import apn_token_content, fcm_content

RECIPIENTS = 10_000
WARMUP_RECIPIENTS = 20
COMPLETION_TIMEOUT = 150.0
TITLE = "Hi {{ name }}"
BODY = "Your order {{ order }} has shipped"


@dataclass
class Recipient:
    token: str
    provider: str  # "FCM" or "APN"
    name: str
    order: str


def recipients(count: int, with_apns: bool) -> list[Recipient]:
    run = secrets.token_hex(4)
    out = []
    for i in range(count):
        apns = with_apns and i % 2 == 1
        token = secrets.token_hex(32) if apns else f"bench-{run}-{i}"
        out.append(Recipient(token, "APN" if apns else "FCM", f"N{i}", f"#{100000 + i}"))
    return out


def send_body(people: list[Recipient]) -> dict[str, Any]:
    return {
        "to": [
            {"token": p.token, "provider": p.provider,
             "variables": {"name": p.name, "order": p.order}}
            for p in people
        ],
        "content": {"title": TITLE, "body": BODY},
        "tags": {"campaign": "bench"},
    }  # fmt: skip


async def wait_completed(http: httpx.AsyncClient, operation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + COMPLETION_TIMEOUT
    while True:
        r = await http.get(f"/PushNotifications/Operations/{operation_id}")
        r.raise_for_status()
        op: dict[str, Any] = r.json()
        if op["status"] in ("COMPLETED", "CANCELED"):
            return op
        if time.monotonic() > deadline:
            raise RuntimeError(f"operation not done after {COMPLETION_TIMEOUT:.0f} s: {op}")
        await asyncio.sleep(0.1)


@dataclass
class PipelineRun:
    accepted: float
    completed: float
    operation: dict[str, Any]
    cpu: dict[str, float]


async def run_pipeline(stack: ProcessStack, people: list[Recipient]) -> PipelineRun:
    http = stack.new_client("bench")
    try:
        warmup = recipients(WARMUP_RECIPIENTS, stack.apns_control is not None)
        r = await http.post("/PushNotifications", json=send_body(warmup))
        r.raise_for_status()
        await wait_completed(http, r.json()["operationId"])

        body = send_body(people)
        cpu_before = stack.cpu_seconds()
        started = time.perf_counter()
        r = await http.post("/PushNotifications", json=body)
        accepted = time.perf_counter() - started
        if r.status_code != 202:
            raise RuntimeError(f"send answered {r.status_code}: {r.text[:500]}")
        op = await wait_completed(http, r.json()["operationId"])
        completed = time.perf_counter() - started
        cpu_after = stack.cpu_seconds()
    finally:
        await http.aclose()
    cpu = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
    return PipelineRun(accepted, completed, op, cpu)


def message_for(p: Recipient) -> PushMessage:
    return PushMessage(
        token=p.token,
        title=f"Hi {p.name}",
        body=f"Your order {p.order} has shipped",
        data={"campaign": "bench"},
    )


@dataclass
class BaselineRun:
    seconds: float
    cpu: dict[str, float]  # this process ("client") and the fakes


async def run_baseline(stack: ProcessStack, people: list[Recipient]) -> BaselineRun:
    """The bare clients sending ``people`` their messages from this process."""
    settings = stack.settings
    http = make_fcm_http_client(settings)
    clients: dict[str, ProviderClient] = {
        "FCM": FcmClient(
            ProviderCredential("bench-fcm", "FCM", fcm_content(stack.service_account), {}),
            http,
            settings,
        )
    }
    if stack.apns_control is not None:
        content = apn_token_content(
            stack.p8_key, key_id=APNS_KEY_ID, team_id=APNS_TEAM_ID, bundle_id=APNS_TOPIC
        )
        clients["APN"] = ApnsClient(ProviderCredential("bench-apn", "APN", content, {}), settings)
    try:
        for p in recipients(WARMUP_RECIPIENTS, "APN" in clients):
            await clients[p.provider].send(message_for(p))
        messages = [(p.provider, message_for(p)) for p in people]
        gates = {name: asyncio.Semaphore(SEND_CONCURRENCY) for name in clients}

        async def one(provider: str, message: PushMessage) -> Outcome:
            async with gates[provider]:
                return (await clients[provider].send(message)).outcome

        fakes_before, cpu_before = stack.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(one(p, m) for p, m in messages))
        elapsed = time.perf_counter() - started
        cpu = {"client": time.process_time() - cpu_before}
        cpu |= {
            name: sec - fakes_before[name]
            for name, sec in stack.cpu_seconds().items()
            if name.startswith("fake")
        }
    finally:
        for client in clients.values():
            await client.close()
        await http.aclose()
    failed = sum(o is not Outcome.SENT for o in outcomes)
    if failed:
        raise RuntimeError(f"baseline: {failed} of {len(outcomes)} sends not SENT")
    return BaselineRun(elapsed, cpu)


def _ms_per(cpu: dict[str, float], n: int, names: tuple[str, ...] | None = None) -> str:
    parts = [f"{k} {1000 * v / n:.2f}" for k, v in cpu.items() if names is None or k in names]
    return ", ".join(parts)


def report(
    stack: ProcessStack, people: list[Recipient], run: PipelineRun, baseline: BaselineRun
) -> None:
    n = len(people)
    by_provider = Counter(p.provider for p in people)
    stats = run.operation["stats"]
    pipeline_rate, baseline_rate = n / run.completed, n / baseline.seconds
    herald_cpu = sum(v for k, v in run.cpu.items() if not k.startswith("fake"))
    print(f"recipients: {n} ({by_provider['FCM']} FCM over HTTP/2, {by_provider['APN']} APNs)")
    print(f"operation: {run.operation['status']}, sent {stats['sent']}, failed {stats['failed']}")
    print(f"time to 202:        {run.accepted:6.2f} s")
    print(f"time to COMPLETED:  {run.completed:6.2f} s  ({pipeline_rate:,.0f} deliveries/s)")
    print(
        f"baseline, bare clients to the same fakes ({SEND_CONCURRENCY} in flight per provider, "
        f"no Temporal/DB): {baseline.seconds:.2f} s ({baseline_rate:,.0f} sends/s)"
    )
    print(
        f"pipeline / baseline: {run.completed / baseline.seconds:.1f}x the time, "
        f"{pipeline_rate / baseline_rate:.0%} of the throughput"
    )
    print(
        f"CPU ms per delivery, pipeline: {_ms_per(run.cpu, n)} "
        f"(Herald's processes {1000 * herald_cpu / n:.2f})"
    )
    print(f"CPU ms per send, baseline: {_ms_per(baseline.cpu, n)}")
    print(
        f"processes: {len(stack.children) + 1} ({', '.join(stack.children)}, and this one "
        f"for the client and the baseline) on {os.cpu_count()} cores; "
        f"load average at the end {os.getloadavg()[0]:.1f}"
    )


def check(people: list[Recipient], run: PipelineRun, seen: int) -> None:
    stats = run.operation["stats"]
    if run.operation["status"] != "COMPLETED" or stats["sent"] != len(people):
        raise RuntimeError(f"the send did not deliver everything: {run.operation}")
    if seen < len(people):
        raise RuntimeError(f"the fakes saw {seen} sends, not {len(people)}")


async def bench(work: Path) -> None:
    with process_stack(work) as stack:
        people = recipients(RECIPIENTS, stack.apns_control is not None)
        fcm_before, apns_before = stack.fcm_requests(), stack.apns_requests()
        run = await run_pipeline(stack, people)
        seen = stack.fcm_requests() - fcm_before + stack.apns_requests() - apns_before
        check(people, run, seen - WARMUP_RECIPIENTS)
        baseline = await run_baseline(stack, people)
        report(stack, people, run, baseline)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="herald-bench-") as tmp:
        asyncio.run(bench(Path(tmp)))


if __name__ == "__main__":
    main()
