"""10,000 recipients through the whole stack, against the bare provider clients.

Starts Herald as separate processes (:mod:`bench.process_stack`: fake FCM
over HTTP/2 + TLS, fake APNs, Temporal dev server with a database file, API,
one worker), warms it up with a small send, then sends one templated
notification to 10,000 recipients (half FCM, half APNs) and prints:

- the time to the 202 (validation + storing the operation + starting the workflow),
- the time to COMPLETED (polling ``GET /Operations/{id}``) and deliveries/s,
- the baseline: the same provider clients sending the same 10,000 messages
  straight to the same fakes from this process, with the pipeline's bound on
  sends in flight, and no Temporal or database; and the pipeline/baseline ratio,
- the processes used and the CPU seconds each spent during the send.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
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
from workflows.inputs import OperationInput

RECIPIENTS = 10_000
WARMUP_RECIPIENTS = 20
COMPLETION_TIMEOUT = 150.0
#: Sends the pipeline keeps in flight at most, in one worker process.
PIPELINE_IN_FLIGHT = OperationInput.max_concurrent_batches * min(
    OperationInput.batch_size, SEND_CONCURRENCY
)
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


async def run_baseline(stack: ProcessStack, people: list[Recipient]) -> float:
    """Seconds the bare clients take to send ``people`` their messages."""
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
        messages = [(clients[p.provider], message_for(p)) for p in people]
        gate = asyncio.Semaphore(PIPELINE_IN_FLIGHT)

        async def one(client: ProviderClient, message: PushMessage) -> Outcome:
            async with gate:
                return (await client.send(message)).outcome

        started = time.perf_counter()
        outcomes = await asyncio.gather(*(one(c, m) for c, m in messages))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients.values():
            await client.close()
        await http.aclose()
    failed = sum(o is not Outcome.SENT for o in outcomes)
    if failed:
        raise RuntimeError(f"baseline: {failed} of {len(outcomes)} sends not SENT")
    return elapsed


def report(stack: ProcessStack, people: list[Recipient], run: PipelineRun, baseline: float) -> None:
    n = len(people)
    by_provider = {prov: sum(p.provider == prov for p in people) for prov in ("FCM", "APN")}
    stats = run.operation["stats"]
    pipeline_rate = n / run.completed
    baseline_rate = n / baseline
    print(f"recipients: {n} ({by_provider['FCM']} FCM over HTTP/2, {by_provider['APN']} APNs)")
    print(f"operation: {run.operation['status']}, sent {stats['sent']}, failed {stats['failed']}")
    print(f"time to 202:        {run.accepted:6.2f} s")
    print(f"time to COMPLETED:  {run.completed:6.2f} s  ({pipeline_rate:,.0f} deliveries/s)")
    print(
        f"baseline (bare clients, same fakes, {PIPELINE_IN_FLIGHT} in flight, no Temporal/DB): "
        f"{baseline:.2f} s ({baseline_rate:,.0f} sends/s)"
    )
    print(f"pipeline / baseline: {run.completed / baseline:.1f}x the time, "
          f"{pipeline_rate / baseline_rate:.0%} of the throughput")  # fmt: skip
    names = ", ".join(stack.children)
    print(
        f"processes: {len(stack.children) + 1} ({names}, and this one for the client and "
        f"baseline) on {os.cpu_count()} cores"
    )
    cpu = ", ".join(f"{name} {sec:.1f}" for name, sec in run.cpu.items())
    print(f"CPU seconds during the send: {cpu}")


def check(stack: ProcessStack, people: list[Recipient], run: PipelineRun, sent: dict[str, int]) -> None:
    stats = run.operation["stats"]
    if run.operation["status"] != "COMPLETED" or stats["sent"] != len(people):
        raise RuntimeError(f"the send did not deliver everything: {run.operation}")
    fcm = sum(p.provider == "FCM" for p in people)
    apns = len(people) - fcm
    if sent["FCM"] < fcm or sent["APN"] < apns:
        raise RuntimeError(f"fakes saw fewer sends than expected: {sent}")


async def bench(work: Path) -> None:
    with process_stack(work) as stack:
        people = recipients(RECIPIENTS, stack.apns_control is not None)
        fcm_before, apns_before = stack.fcm_requests(), stack.apns_requests()
        run = await run_pipeline(stack, people)
        sent = {
            "FCM": stack.fcm_requests() - fcm_before - WARMUP_RECIPIENTS // 2,
            "APN": stack.apns_requests() - apns_before - WARMUP_RECIPIENTS // 2,
        }
        check(stack, people, run, sent)
        baseline = await run_baseline(stack, people)
        report(stack, people, run, baseline)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="herald-bench-") as tmp:
        asyncio.run(bench(Path(tmp)))


if __name__ == "__main__":
    main()
