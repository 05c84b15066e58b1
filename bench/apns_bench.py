"""APNs send throughput: ``python -m bench.apns_bench [-n 5000] [--processes 1,2]``.

The fake APNs runs as its own process (``python -m fakes.apns``). For each
auth mode and process count, that many client processes (each one
:class:`~activities.providers.apns.ApnsClient`, as a worker holds per
credential) send N messages between them with bounded concurrency, starting
together after a warm-up send (connection open, JWT signed). Prints one JSON
line per run: sends/s, client processes, connections the fake saw, CPU per
send on both sides, the fake's capacity (sends per CPU-second it spent),
outcomes.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing as mp
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx

from activities.providers.apns import ApnsClient
from activities.providers.base import ProviderCredential, PushMessage
from bench.processes import Child, start_fake
from fakes.keys import (
    PemPair,
    apn_certificate_content,
    apn_token_content,
    make_apn_certificate,
    make_p8_key,
)
from herald.settings import Settings

TICKS = os.sysconf("SC_CLK_TCK")
KEY_ID, TEAM_ID, TOPIC = "BENCH12345", "TEAM123456", "com.example.bench"


@dataclass
class Run:
    auth: str
    processes: int
    concurrency: int
    sends: int
    seconds: float
    sends_per_s: int
    connections: int  # opened by the clients, warm-up included
    connections_opened_during_run: int  # as the fake counted them
    client_cpu_ms_per_send: float
    fake_cpu_ms_per_send: float
    fake_capacity_per_s: int
    outcomes: dict[str, int]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _credential(auth: str, state_dir: Path) -> ProviderCredential:
    if auth == "certificate":
        ca = PemPair((state_dir / "ca.pem").read_bytes(), (state_dir / "ca.key").read_bytes())
        content = apn_certificate_content(make_apn_certificate(TOPIC, ca=ca))
    else:
        content = apn_token_content(
            (state_dir / "bench.p8").read_bytes(), key_id=KEY_ID, team_id=TEAM_ID, bundle_id=TOPIC
        )
    return ProviderCredential("comms_credential_bench", "APN", content, {"topic": TOPIC})


async def _send_share(
    info: dict[str, Any], credential: ProviderCredential, count: int, concurrency: int,
    index: int, ready: Any, go: Event,
) -> dict[str, Any]:  # fmt: skip
    settings = Settings(apns_url=info["url"], apns_ca_file=info["ca_file"])
    client = ApnsClient(credential, settings)
    limit = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str:
        async with limit:
            message = PushMessage(
                token=f"{index:02d}{i:062x}",
                title="Hi Ann",
                body="Your order 42 is ready",
                data={"orderId": "42"},
                collapse_key="order-42",
            )
            return (await client.send(message)).outcome.value

    await one(-1)  # warm up: connection open, JWT signed
    ready.put(index)
    await asyncio.to_thread(go.wait)
    cpu, started = time.process_time(), time.perf_counter()
    outcomes = await asyncio.gather(*(one(i) for i in range(count)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    connections = client.connections_opened
    await client.close()
    return {
        "seconds": elapsed,
        "cpu": cpu,
        "outcomes": collections.Counter(outcomes),
        "connections": connections,
    }


def _client_process(*args: Any) -> None:
    results: Any = args[-1]
    results.put(asyncio.run(_send_share(*args[:-1])))


def run_once(
    info: dict[str, Any], fake: Child, credential: ProviderCredential, auth: str,
    sends: int, processes: int, concurrency: int,
) -> Run:  # fmt: skip
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    share = sends // processes
    children = [
        ctx.Process(
            target=_client_process,
            args=(info, credential, share, concurrency, index, ready, go, results),
        )
        for index in range(processes)
    ]
    for child in children:
        child.start()
    for _ in children:
        ready.get(timeout=60)
    httpx.post(info["control_url"] + "/reset").raise_for_status()
    fake_cpu = _cpu_seconds(fake.pid)
    started = time.perf_counter()
    go.set()
    reports = [results.get(timeout=600) for _ in children]
    wall = time.perf_counter() - started
    fake_cpu = _cpu_seconds(fake.pid) - fake_cpu
    for child in children:
        child.join(30)
    stats = httpx.get(info["control_url"] + "/stats").json()
    total = share * processes
    outcomes: collections.Counter[str] = collections.Counter()
    for report in reports:
        outcomes.update(report["outcomes"])
    return Run(
        auth=auth,
        processes=processes,
        concurrency=concurrency,
        sends=total,
        seconds=round(wall, 2),
        sends_per_s=round(total / wall),
        connections=sum(r["connections"] for r in reports),
        connections_opened_during_run=int(stats["connections"]),
        client_cpu_ms_per_send=round(1000 * sum(r["cpu"] for r in reports) / total, 3),
        fake_cpu_ms_per_send=round(1000 * fake_cpu / total, 3),
        fake_capacity_per_s=round(total / fake_cpu) if fake_cpu else 0,
        outcomes=dict(outcomes),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--sends", type=int, default=5000)
    parser.add_argument("--processes", default="1,2", help="client process counts, e.g. 1,2")
    parser.add_argument("--auth", default="token,certificate", help="token and/or certificate")
    parser.add_argument("--concurrency", type=int, default=500, help="sends in flight per process")
    args = parser.parse_args(argv)

    state_dir = Path(tempfile.mkdtemp(prefix="apns-bench-"))
    p8 = make_p8_key()
    (state_dir / "bench.p8").write_bytes(p8)
    token_key = f"{KEY_ID}:{TEAM_ID}:{state_dir / 'bench.p8'}"
    fake, info = start_fake(
        "fake-apns",
        "fakes.apns",
        ["--state-dir", str(state_dir), "--token-key", token_key],
        state_dir / "logs",
    )
    try:
        for auth in args.auth.split(","):
            credential = _credential(auth, state_dir)
            for processes in (int(p) for p in args.processes.split(",")):
                run = run_once(
                    info, fake, credential, auth, args.sends, processes, args.concurrency
                )
                print(json.dumps(asdict(run)), flush=True)
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
