"""FCM send throughput: ``python -m bench.fcm_bench [-n 5000] [--processes 1,2]``.

The fake FCM runs as its own process (``python -m fakes.fcm``), over HTTP/2
with TLS and over plain HTTP/1.1. For each transport and each process count,
that many client processes (each one ``make_fcm_http_client`` + ``FcmClient``,
as a worker would have) send N messages between them with bounded
concurrency, starting together after a warm-up send (token fetched,
connection open). Prints one line per run: sends/s, client processes,
connections the fake saw, CPU per send on both sides, outcomes.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing as mp
import os
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx

from activities.providers.base import ProviderCredential, PushMessage
from activities.providers.fcm import FcmClient, make_fcm_http_client
from activities.providers.google_tokens import GoogleTokenCache
from fakes.fcm import public_key_pem
from fakes.keys import fcm_content, make_service_account
from herald.settings import Settings

PROJECT = "herald-bench"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    transport: str
    processes: int
    sends: int
    seconds: float
    sends_per_s: float
    connections: int
    client_cpu_ms_per_send: float
    fake_cpu_ms_per_send: float
    outcomes: dict[str, int]


ROOT = Path(__file__).resolve().parent.parent


def start_fake(tls: bool, log: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """``python -m fakes.fcm [--tls]`` and the JSON line it prints when listening."""
    with log.open("w") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fakes.fcm", *(["--tls"] if tls else [])],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(10)
        raise RuntimeError(f"fakes.fcm did not start:\n{log.read_text()}")
    info: dict[str, Any] = json.loads(line)
    return proc, info


def _verify(info: dict[str, Any]) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=info["ca_file"]) if info["ca_file"] else True


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def _send_share(
    info: dict[str, Any], account: dict[str, str], count: int, concurrency: int, index: int,
    ready: Any, go: Event,
) -> dict[str, Any]:  # fmt: skip
    settings = Settings(
        fcm_url=info["url"], google_token_url=info["token_url"], fcm_ca_file=info["ca_file"]
    )
    http = make_fcm_http_client(settings)
    tokens = GoogleTokenCache(settings)
    credential = ProviderCredential("comms_credential_bench", "FCM", fcm_content(account), {})
    client = FcmClient(credential, http, settings, tokens=tokens)
    limit = asyncio.Semaphore(concurrency)
    data = {"orderId": "42"}

    async def one(i: int) -> str:
        async with limit:
            message = PushMessage(
                token=f"bench-{index}-{i}", title="Hi", body="Your order is ready", data=data
            )
            sent = await client.send(message)
            return sent.outcome.value

    await asyncio.gather(*(one(-k) for k in range(1, concurrency // 10 + 2)))  # warm up
    ready.put(index)
    await asyncio.to_thread(go.wait)
    cpu, started = time.process_time(), time.perf_counter()
    outcomes = await asyncio.gather(*(one(i) for i in range(count)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await http.aclose()
    tokens.close()
    return {"seconds": elapsed, "cpu": cpu, "outcomes": collections.Counter(outcomes)}


def _client_process(*args: Any) -> None:
    results: Any = args[-1]
    results.put(asyncio.run(_send_share(*args[:-1])))


def run_once(
    info: dict[str, Any], fake: subprocess.Popen[str], account: dict[str, str], transport: str,
    sends: int, processes: int, concurrency: int,
) -> Run:  # fmt: skip
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    share = sends // processes
    children = [
        ctx.Process(
            target=_client_process,
            args=(info, account, share, concurrency, index, ready, go, results),
        )
        for index in range(processes)
    ]
    for child in children:
        child.start()
    for _ in children:
        ready.get(timeout=60)
    httpx.post(info["url"] + "/_fake/reset", verify=_verify(info))
    fake_cpu = _cpu_seconds(fake.pid)
    started = time.perf_counter()
    go.set()
    reports = [results.get(timeout=600) for _ in children]
    wall = time.perf_counter() - started
    fake_cpu = _cpu_seconds(fake.pid) - fake_cpu
    for child in children:
        child.join(30)
    stats = httpx.get(info["url"] + "/_fake/stats", verify=_verify(info)).json()
    total = share * processes
    outcomes: collections.Counter[str] = collections.Counter()
    for report in reports:
        outcomes.update(report["outcomes"])
    return Run(
        transport=transport,
        processes=processes,
        sends=total,
        seconds=round(wall, 2),
        sends_per_s=round(total / wall),
        connections=int(stats["connections"]),
        client_cpu_ms_per_send=round(1000 * sum(r["cpu"] for r in reports) / total, 3),
        fake_cpu_ms_per_send=round(1000 * fake_cpu / total, 3),
        outcomes=dict(outcomes),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--sends", type=int, default=5000)
    parser.add_argument("--processes", default="1,2", help="client process counts, e.g. 1,2")
    parser.add_argument("--transports", default="h2,http1.1", help="h2 and/or http1.1")
    parser.add_argument("--concurrency", type=int, default=200, help="sends started per process")
    args = parser.parse_args(argv)

    account = make_service_account(PROJECT)
    log_dir = Path(tempfile.mkdtemp(prefix="fcm-bench-"))
    runs: list[Run] = []
    for transport in args.transports.split(","):
        fake, info = start_fake(transport == "h2", log_dir / f"fake-{transport}.log")
        try:
            registered = httpx.post(
                info["url"] + "/_fake/accounts",
                json={
                    "client_email": account["client_email"],
                    "public_key": public_key_pem(account),
                },
                verify=_verify(info),
            )
            registered.raise_for_status()
            for processes in (int(p) for p in args.processes.split(",")):
                run = run_once(
                    info, fake, account, transport, args.sends, processes, args.concurrency
                )
                runs.append(run)
                print(json.dumps(asdict(run)), flush=True)
        finally:
            fake.terminate()
            fake.wait(10)
    print()
    print(f"{'transport':<10}{'procs':>6}{'sends/s':>9}{'conns':>7}{'client ms':>11}{'fake ms':>9}")
    for run in runs:
        print(
            f"{run.transport:<10}{run.processes:>6}{run.sends_per_s:>9}{run.connections:>7}"
            f"{run.client_cpu_ms_per_send:>11}{run.fake_cpu_ms_per_send:>9}"
        )
    print("(client ms / fake ms: CPU milliseconds per send; 2 cores on this machine)")


if __name__ == "__main__":
    main()
