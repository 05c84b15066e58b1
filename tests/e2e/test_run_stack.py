"""`herald run` started the way `make run` starts it: real processes, real sockets.

The stack gets its own working directory, database, key file and ports, so it
never collides with a running `make run` or with other tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from herald.supervisor import ChildSpec, Supervisor
from tests.servers import free_port

HERALD = Path(sys.executable).parent / "herald"
WORKER_SCRIPT = Path(__file__).resolve().parents[2] / "worker.py"
T = TypeVar("T")


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    cwd: Path
    log: Path
    api_url: str
    ui_url: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def log_events(self) -> list[dict[str, object]]:
        events = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                events.append(json.loads(line))
        return events


def children_of(pid: int) -> dict[int, str]:
    """Live child processes of ``pid`` (from /proc), pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(probe: Callable[[], T | None], timeout: float, what: str, stack: Stack) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.proc.poll() is not None:
            pytest.fail(f"supervisor exited ({stack.proc.returncode}):\n{stack.output()}")
        value = probe()
        if value is not None:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}:\n{stack.output()}")


def status_of(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


def api_child(stack: Stack) -> int | None:
    for pid, cmdline in children_of(stack.proc.pid).items():
        if cmdline.endswith(" api"):
            return pid
    return None


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    api_port, temporal_port, ui_port, metrics_port = (free_port() for _ in range(4))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env |= {
        "HERALD_DATABASE_URL": f"sqlite:///{tmp_path}/herald.db",
        "HERALD_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
        "HERALD_API_HOST": "127.0.0.1",
        "HERALD_API_PORT": str(api_port),
        "HERALD_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "HERALD_TEMPORAL_UI_PORT": str(ui_port),
        "HERALD_TEMPORAL_DB_FILE": str(tmp_path / "temporal.db"),
        "HERALD_START_TEMPORAL": "1",
        "HERALD_METRICS_PORT": str(metrics_port),
    }
    log = tmp_path / "stack.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(HERALD), "run"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, cleaned up below
        )
    try:
        yield Stack(
            proc,
            env,
            tmp_path,
            log,
            f"http://127.0.0.1:{api_port}",
            f"http://127.0.0.1:{ui_port}",
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.timeout(90)
def test_run_stack_serves_restarts_and_stops(stack: Stack) -> None:
    wait_until(lambda: status_of(stack.api_url + "/healthz") == 200 or None, 30, "/healthz", stack)
    wait_until(lambda: status_of(stack.api_url + "/readyz") == 200 or None, 20, "/readyz", stack)
    assert (stack.cwd / "secret.key").stat().st_mode & 0o777 == 0o600
    assert status_of(stack.ui_url + "/") == 200, "Temporal Web UI not on its configured port"
    assert f"Web UI    {stack.ui_url}" in stack.output()

    created = subprocess.run(
        [str(HERALD), "accounts", "create", "--name", "t"],
        cwd=stack.cwd,
        env=stack.env,
        capture_output=True,
        check=True,
        timeout=30,
    )
    account = json.loads(created.stdout)
    apps_url = stack.api_url + "/v1/PushNotifications/Apps"
    assert httpx.get(apps_url, timeout=5).status_code == 401
    listed = httpx.get(apps_url, auth=(account["accountId"], account["authToken"]), timeout=5)
    assert listed.status_code == 200, listed.text
    assert listed.json()["apps"] == []

    first = children_of(stack.proc.pid)
    assert any("server start-dev" in cmd for cmd in first.values()), first
    started = {e["child"] for e in stack.log_events() if e.get("message") == "child started"}
    assert started == {"temporal", "api"} | ({"worker"} if WORKER_SCRIPT.is_file() else set())
    old_api = api_child(stack)
    assert old_api is not None, first

    os.kill(old_api, signal.SIGKILL)

    def restarted_api() -> int | None:
        pid = api_child(stack)
        return pid if pid != old_api else None

    new_api = wait_until(restarted_api, 10, "the API to be restarted", stack)
    wait_until(lambda: status_of(stack.api_url + "/healthz") == 200 or None, 20, "/healthz", stack)
    restarts = [e for e in stack.log_events() if e.get("message") == "child restarted"]
    assert [(e["child"], e["pid"]) for e in restarts] == [("api", new_api)]

    every_child = set(first) | set(children_of(stack.proc.pid))
    stack.proc.send_signal(signal.SIGINT)
    assert stack.proc.wait(timeout=30) == 0, stack.output()
    assert [pid for pid in every_child if alive(pid)] == []
    assert status_of(stack.api_url + "/healthz") is None


def test_run_refuses_busy_ports_before_touching_anything(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        env |= {"HERALD_API_PORT": str(port), "HERALD_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
        done = subprocess.run(
            [str(HERALD), "run"], cwd=tmp_path, env=env, capture_output=True, timeout=30
        )
    assert done.returncode == 1
    assert f"127.0.0.1:{port}" in done.stderr.decode()
    assert list(tmp_path.iterdir()) == []  # no .herald/, no key, no database


async def test_a_crashing_child_is_restarted_with_doubling_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="herald.supervisor")
    supervisor = Supervisor()
    child = ChildSpec("false", ["false"])
    task = asyncio.create_task(supervisor.run_child(child, supervisor.stopping))
    await asyncio.sleep(3.6)  # exits at once; restarted after 1 s, then after 2 s more
    supervisor.stopping.set()
    async with asyncio.timeout(0.5):  # a stop during the backoff wait ends it at once
        await task

    def logged(message: str, field: str) -> list[object]:
        return [
            getattr(r, field)
            for r in caplog.records
            if r.name == "herald.supervisor" and r.getMessage() == message
        ]

    assert logged("child started", "child") == ["false"]
    assert logged("child restarted", "after_s") == [1.0, 2.0]
    assert logged("child exited", "returncode") == [1, 1, 1]
