"""The one place where Herald adapts aioapns (4.x) to its needs.

aioapns keeps a pool of HTTP/2 connections and multiplexes sends over them.
It hard-codes Apple's hosts: the pool connects to
``pool.protocol_class.APNS_SERVER:APNS_PORT`` (also sent as the ``host``
header). The seam is that attribute: :class:`CertificatePool` and
:class:`TokenPool` subclass aioapns' two pools and, after aioapns' own
``__init__``, set ``protocol_class`` to a subclass of
:class:`HeraldApnsProtocol` bound to the configured host and port
(``HERALD_APNS_URL`` / ``HERALD_APNS_SANDBOX_URL``). Everything else about
connecting (TLS context, JWT provider, stream accounting) stays aioapns'.

:class:`HeraldApnsProtocol` also replaces aioapns' handling of *answers*
(``on_response_received`` / ``on_data_received`` / ``on_stream_ended``),
because aioapns 4.0:

* never acknowledges received DATA, so after 64 KiB of error bodies on one
  connection APNs can no longer send it anything (h2 flow control);
* resolves futures that a timed-out caller already cancelled, which raises
  ``InvalidStateError`` inside the protocol and kills the connection;
* keeps every stream id -> request id entry of successful sends forever;
* drops the ``retry-after`` header and assumes a body arrives in one frame.

Two smaller adjustments: the pool raises :class:`ApnsUnreachable` at once when
it cannot connect (aioapns would sleep a second per attempt and then raise
``MaxAttemptsExceeded``), and ``apns-expiration: 0`` ("deliver now or never")
is expressible through :data:`EXPIRE_IMMEDIATELY`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from aioapns.common import NotificationResult
from aioapns.connection import (
    APNsBaseConnectionPool,
    APNsCertConnectionPool,
    APNsKeyConnectionPool,
    APNsTLSClientProtocol,
)
from aioapns.exceptions import ConnectionError as AioapnsConnectionError

__all__ = [
    "EXPIRE_IMMEDIATELY",
    "IDLE_CLOSE_SECONDS",
    "ApnsAnswer",
    "ApnsEndpoint",
    "ApnsUnreachable",
    "CertificatePool",
    "HeraldApnsProtocol",
    "TokenPool",
    "tls_context",
]

IDLE_CLOSE_SECONDS: Final = 300
"""A connection with no traffic for this long is closed (aioapns' default is 10 s);
the next send opens a new one. Apple asks providers to keep connections open."""


class _ExpireImmediately(int):
    """An ``int`` 0 whose sum with aioapns' ``int(time.time())`` is 0.

    aioapns writes ``apns-expiration: int(time.time()) + time_to_live``;
    Python gives the right operand's ``__radd__`` precedence when its type is
    a subclass of the left one's, so this makes the header exactly ``0``.
    """

    def __radd__(self, other: int) -> int:
        return 0


EXPIRE_IMMEDIATELY: Final[int] = _ExpireImmediately(0)
"""``time_to_live`` for ``apns-expiration: 0`` (APNs tries once, stores nothing)."""


class ApnsUnreachable(Exception):
    """No connection to APNs could be opened (refused, unresolvable, TLS failed)."""


@dataclass(frozen=True)
class ApnsEndpoint:
    """Where a pool connects: ``https://host:port`` split up."""

    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> ApnsEndpoint:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("an APNs URL must look like https://host[:port]")
        return cls(host=parts.hostname, port=parts.port or 443)


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifying client context: system roots plus ``ca_file``, ALPN ``h2``."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    context.set_alpn_protocols(["h2"])
    return context


class ApnsAnswer(NotificationResult):
    """aioapns' result plus the ``retry-after`` header, in seconds."""

    __slots__ = ("retry_after",)

    def __init__(
        self,
        notification_id: str,
        status: str,
        description: str | None = None,
        timestamp: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(notification_id, status, description, timestamp)
        self.retry_after = retry_after


def _seconds(value: bytes | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def _reason_and_timestamp(body: bytes | None) -> tuple[str | None, int | None]:
    if not body:
        return None, None
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None, None
    if not isinstance(document, dict):
        return None, None
    reason = document.get("reason")
    timestamp = document.get("timestamp")
    return (
        reason if isinstance(reason, str) else None,
        timestamp if isinstance(timestamp, int) else None,
    )


class HeraldApnsProtocol(APNsTLSClientProtocol):
    """aioapns' HTTP/2 protocol with the answer handling described above.

    A request is answered when its stream ends: status and ``retry-after``
    come from the response headers (matched on the echoed ``apns-id``, as
    aioapns does), the reason from the whole body.
    """

    INACTIVITY_TIME = IDLE_CLOSE_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heads: dict[str, tuple[str, float | None]] = {}
        self._bodies: dict[str, bytearray] = {}

    def on_response_received(self, headers: dict[bytes, bytes]) -> None:
        notification_id = headers.get(b"apns-id", b"").decode("ascii", "replace")
        status = headers.get(b":status", b"").decode("ascii", "replace")
        self._heads[notification_id] = (status, _seconds(headers.get(b"retry-after")))

    def on_data_received(self, data: bytes, stream_id: int) -> None:
        self.conn.acknowledge_received_data(len(data), stream_id)
        notification_id = self.request_streams.get(stream_id)
        if notification_id is not None:
            self._bodies.setdefault(notification_id, bytearray()).extend(data)

    def on_stream_ended(self, stream_id: int) -> None:
        super().on_stream_ended(stream_id)  # frees the stream slot
        notification_id = self.request_streams.pop(stream_id, None)
        if notification_id is None:
            return
        status, retry_after = self._heads.pop(notification_id, ("", None))
        body = self._bodies.pop(notification_id, None)
        future = self.requests.pop(notification_id, None)
        if future is None or future.done():  # the caller gave up (timeout)
            return
        reason, timestamp = _reason_and_timestamp(bytes(body) if body else None)
        future.set_result(ApnsAnswer(notification_id, status, reason, timestamp, retry_after))

    def connection_lost(self, exc: Exception | None) -> None:
        for notification_id, future in list(self.requests.items()):
            if future.done():
                del self.requests[notification_id]
        super().connection_lost(exc)


def _protocol_for(endpoint: ApnsEndpoint) -> type[HeraldApnsProtocol]:
    return type(
        f"HeraldApnsProtocol[{endpoint.host}:{endpoint.port}]",
        (HeraldApnsProtocol,),
        {"APNS_SERVER": endpoint.host, "APNS_PORT": endpoint.port},
    )


class _EndpointPool(APNsBaseConnectionPool):
    """Connects to ``endpoint`` instead of Apple; fails fast when it cannot.

    A burst of sends that finds no connection yet waits for the first one
    to open all together; in aioapns they queue on the pool's lock and are
    let through one per event-loop iteration.
    """

    connections_opened: int
    last_connect_error: str
    _opening: asyncio.Future[None] | None

    def _bind(self, endpoint: ApnsEndpoint) -> None:
        self.protocol_class = _protocol_for(endpoint)
        self.connections_opened = 0
        self.last_connect_error = "could not connect"
        self._opening = None

    async def create_connection(self) -> Any:
        try:
            connection = await super().create_connection()
        except Exception as exc:
            self.last_connect_error = _describe(exc)
            raise
        self.connections_opened += 1
        return connection

    async def acquire(self) -> Any:
        if not self.connections:
            if self._opening is None:
                self._opening = asyncio.get_running_loop().create_future()
                try:
                    return await self._acquire()
                finally:
                    opening, self._opening = self._opening, None
                    opening.set_result(None)
            await asyncio.shield(self._opening)
        return await self._acquire()

    async def _acquire(self) -> Any:
        try:
            return await super().acquire()
        except AioapnsConnectionError:
            raise ApnsUnreachable(self.last_connect_error) from None


def _describe(exc: BaseException) -> str:
    """A connection error's class and OS/TLS reason, never any key material."""
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or type(exc).__name__}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


@contextlib.contextmanager
def _private_file(content: bytes) -> Iterator[str]:
    """A 0600 temporary file holding ``content``, deleted on exit.

    ``ssl`` can only load a certificate chain from a file; the file lives
    for the duration of one ``load_cert_chain`` call, in memory-backed
    ``/dev/shm`` where there is one.
    """
    directory = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # noqa: S108
    fd, path = tempfile.mkstemp(prefix="herald-apns-", suffix=".pem", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        yield path
    finally:
        os.unlink(path)


class CertificatePool(_EndpointPool, APNsCertConnectionPool):
    """Certificate auth: the push certificate is the TLS client certificate."""

    def __init__(
        self,
        endpoint: ApnsEndpoint,
        *,
        certificate_pem: bytes,
        key_pem: bytes,
        topic: str,
        ssl_context: ssl.SSLContext,
        max_connections: int,
        max_connection_attempts: int,
    ) -> None:
        with _private_file(certificate_pem.rstrip() + b"\n" + key_pem) as chain_file:
            APNsCertConnectionPool.__init__(
                self,
                cert_file=chain_file,
                topic=topic,
                max_connections=max_connections,
                max_connection_attempts=max_connection_attempts,
                ssl_context=ssl_context,
            )
        self._bind(endpoint)


class TokenPool(_EndpointPool, APNsKeyConnectionPool):
    """Token auth: an ES256 JWT from the .p8 key in every request."""

    def __init__(
        self,
        endpoint: ApnsEndpoint,
        *,
        key_pem: str,
        key_id: str,
        team_id: str,
        topic: str,
        ssl_context: ssl.SSLContext,
        max_connections: int,
        max_connection_attempts: int,
    ) -> None:
        APNsKeyConnectionPool.__init__(
            self,
            key=key_pem,
            key_id=key_id,
            team_id=team_id,
            topic=topic,
            max_connections=max_connections,
            max_connection_attempts=max_connection_attempts,
            ssl_context=ssl_context,
        )
        self._bind(endpoint)
