"""A fake APNs: HTTP/2 over TLS on asyncio + h2, for tests, demo and bench.

Run it as its own process::

    python -m fakes.apns [--environment sandbox] [--state-dir DIR] [--client-ca FILE]

It prints one JSON line ``{"url", "ca_file", "control_url", "environment"}``
and serves until SIGINT/SIGTERM. Tests may instead run it in a thread with
:class:`FakeApns`. What it does (details in ``docs/providers-apns.md``):

* TLS with a certificate for 127.0.0.1/localhost signed by its CA
  (``ca_file``; generated, or loaded from ``--state-dir``), ALPN ``h2``,
  ``SETTINGS_MAX_CONCURRENT_STREAMS`` 1000 like Apple;
* auth: a client certificate signed by its CA or a ``--client-ca`` (topic
  from its UID; a "Development" certificate is refused by a production fake
  with 403 BadCertificateEnvironment), or an ES256 provider token verified
  against keys registered through ``POST /tokens``; APNs' 400/403/404/405/413
  checks on path, headers and payload; failure injection by token prefix
  (:mod:`fakes.apns_faults`);
* echoes ``apns-id`` (assigns one when absent), answers errors as JSON
  ``{"reason": ...}``, and records every request;
* control API (plain HTTP/1.1, :mod:`fakes.apns_control`): ``GET /requests``,
  ``GET /stats``, ``POST /reset``, ``POST /tokens``, ``DELETE /tokens``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from fakes.apns_server import Environment, FakeApnsServer
from fakes.keys import PemPair

__all__ = ["FakeApns", "FakeApnsServer", "main"]


class FakeApns:
    """A :class:`FakeApnsServer` running in a background thread with its own loop.

    ``with FakeApns() as fake:`` (or ``async with``) starts it; ``fake.url``,
    ``fake.ca_file`` and ``fake.control_url`` say where it is, ``fake.ca``
    is its CA (sign APN client certificates with it), ``fake.requests()``
    what it received.
    """

    def __init__(
        self,
        *,
        environment: Environment = "production",
        ca: PemPair | None = None,
        state_dir: Path | None = None,
        client_ca_files: Sequence[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        control_port: int = 0,
    ) -> None:
        self.server = FakeApnsServer(
            environment=environment, ca=ca, state_dir=state_dir, client_ca_files=client_ca_files
        )
        self._address = (host, port, control_port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def control_url(self) -> str:
        return self.server.control_url

    @property
    def ca_file(self) -> str:
        return self.server.ca_file

    @property
    def ca(self) -> PemPair:
        return self.server.ca

    @property
    def connections(self) -> int:
        """Connections accepted since start (or the last :meth:`reset`)."""
        return self.server.connections

    @property
    def open_connections(self) -> int:
        return self.server.open_connections

    def requests(self) -> list[dict[str, Any]]:
        return self.server.records()

    def stats(self) -> dict[str, Any]:
        return self.server.stats()

    def reset(self) -> None:
        self.server.reset()

    def register_key(
        self, key_id: str, team_id: str, key_pem: bytes | str, topics: list[str] | None = None
    ) -> None:
        """Trust provider tokens signed with this .p8 key (or its public key)."""
        pem = key_pem.decode("ascii") if isinstance(key_pem, bytes) else key_pem
        self.server.keys.register(key_id, team_id, pem, topics)

    def start(self) -> FakeApns:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.server.start(*self._address))
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.server.close())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-apns", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = self._thread = None

    def __enter__(self) -> FakeApns:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeApns:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fakes.apns", description="A fake APNs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="TLS port (0: any free one)")
    parser.add_argument("--control-port", type=int, default=0, help="control API port")
    parser.add_argument("--environment", choices=("production", "sandbox"), default="production")
    parser.add_argument("--state-dir", type=Path, help="keep the CA here across restarts")
    parser.add_argument(
        "--client-ca", action="append", default=[], help="also trust client certs from this CA"
    )
    parser.add_argument(
        "--token-key",
        action="append",
        default=[],
        metavar="KEYID:TEAMID:FILE",
        help="trust provider tokens signed by this .p8 (or public key) file",
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace, token_keys: list[tuple[str, str, str]]) -> None:
    server = FakeApnsServer(
        environment=args.environment, state_dir=args.state_dir, client_ca_files=args.client_ca
    )
    for key_id, team_id, pem in token_keys:
        server.keys.register(key_id, team_id, pem)
    await server.start(args.host, args.port, args.control_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    line = {
        "url": server.url,
        "ca_file": server.ca_file,
        "control_url": server.control_url,
        "environment": server.environment,
    }
    print(json.dumps(line), flush=True)
    await stop.wait()
    await server.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    token_keys = []
    for spec in args.token_key:
        key_id, team_id, key_file = spec.split(":", 2)
        token_keys.append((key_id, team_id, Path(key_file).read_text("ascii")))
    asyncio.run(_serve(args, token_keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
