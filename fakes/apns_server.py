"""The fake APNs server itself: TLS + HTTP/2 (h2) on asyncio, APNs' checks,
recording, and the control API's routes. :mod:`fakes.apns` runs it (CLI, or
:class:`fakes.apns.FakeApns` in a thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import ssl
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from cryptography import x509
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import H2Error
from h2.settings import SettingCodes, Settings

from fakes.apns_auth import AuthError, ClientCertificate, KeyRing
from fakes.apns_control import start_control_server
from fakes.apns_faults import FaultPlan
from fakes.keys import PemPair, make_ca, make_server_cert, write_ca_files

__all__ = [
    "MAX_CONCURRENT_STREAMS",
    "MAX_PAYLOAD_BYTES",
    "Environment",
    "FakeApnsServer",
]

Environment = Literal["production", "sandbox"]

MAX_CONCURRENT_STREAMS: Final = 1000
MAX_PAYLOAD_BYTES: Final = 4096
_MAX_COLLAPSE_ID_BYTES: Final = 64
_PRIORITIES: Final = frozenset({b"1", b"5", b"10"})
_PUSH_TYPES: Final = frozenset(
    {
        b"alert",
        b"background",
        b"voip",
        b"complication",
        b"fileprovider",
        b"mdm",
        b"liveactivity",
        b"location",
        b"pushtotalk",
        b"widgets",
        b"controls",
    }
)
_APNS_ID: Final = re.compile(rb"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
_RECORDED_HEADERS: Final = (
    "apns-topic",
    "apns-priority",
    "apns-collapse-id",
    "apns-expiration",
    "apns-push-type",
    "apns-id",
)
_PATH_PREFIX: Final = b"/3/device/"

_H2_CONFIG: Final = H2Configuration(
    client_side=False,
    header_encoding=None,
    validate_inbound_headers=False,
    normalize_inbound_headers=False,
    validate_outbound_headers=False,
    normalize_outbound_headers=False,
)


@dataclass
class _Answer:
    status: int
    apns_id: str
    reason: str | None = None
    retry_after: int | None = None
    timestamp: int | None = None

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [(b":status", str(self.status).encode()), (b"apns-id", self.apns_id.encode())]
        if self.reason is not None:
            headers.append((b"content-type", b"application/json"))
        if self.retry_after is not None:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        return headers

    def body(self) -> bytes:
        if self.reason is None:
            return b""
        document: dict[str, Any] = {"reason": self.reason}
        if self.timestamp is not None:
            document["timestamp"] = self.timestamp
        return json.dumps(document).encode()


@dataclass
class _Stream:
    headers: list[tuple[bytes, bytes]]
    body: bytearray = field(default_factory=bytearray)


@dataclass(frozen=True)
class _Recorded:
    connection: int
    headers: dict[bytes, bytes]
    token: str
    body: bytes
    auth: dict[str, Any]
    answer: _Answer
    received_at: float


def _materialize(record: _Recorded, environment: str) -> dict[str, Any]:
    """One recorded request as ``GET /requests`` shows it (never its authorization)."""
    headers = record.headers
    try:
        payload: Any = json.loads(record.body) if record.body else None
    except ValueError:
        payload = None
    return {
        "environment": environment,
        "connection": record.connection,
        "method": headers.get(b":method", b"").decode("latin-1"),
        "path": headers.get(b":path", b"").decode("utf-8", "replace"),
        "token": record.token,
        "headers": {
            name: headers[name.encode()].decode("utf-8", "replace")
            for name in _RECORDED_HEADERS
            if name.encode() in headers
        },
        "payload": payload,
        "auth": record.auth.get("auth"),
        **{k: v for k, v in record.auth.items() if k != "auth"},
        "status": record.answer.status,
        "reason": record.answer.reason,
        "apnsId": record.answer.apns_id,
        "receivedAt": record.received_at,
    }


class _RequestError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _ServerH2Connection(H2Connection):
    """h2's connection with a cheaper open-stream count for a server.

    h2 counts open streams (and forgets closed ones) by walking every stream
    it holds, on each new stream: O(streams in flight) per request, a tenth
    of the fake's time at 500 in flight. The number of streams held is an
    upper bound of the open ones (a server opens none itself), so while it
    is under ``MAX_CONCURRENT_STREAMS`` it answers the limit check exactly as
    well; past it, h2's own walk runs and also forgets the closed streams.
    """

    def _open_streams(self, remainder: int) -> int:
        held = len(self.streams)
        if held < self.local_settings.max_concurrent_streams:
            return held
        return super()._open_streams(remainder)


class FakeApnsServer:
    """The fake's state and servers, living in one asyncio loop."""

    def __init__(
        self,
        *,
        environment: Environment = "production",
        ca: PemPair | None = None,
        state_dir: Path | None = None,
        client_ca_files: Sequence[str] = (),
        max_records: int = 200_000,
    ) -> None:
        self.environment: Environment = environment
        self.keys = KeyRing()
        self.faults = FaultPlan()
        self._records: deque[_Recorded] = deque(maxlen=max_records)
        self._lock = threading.Lock()
        self.connections = 0
        self.open_connections = 0
        self.requests_seen = 0
        self.reads = self.writes = 0  # data_received calls, transport writes
        self._connection_ids = 0
        self._client_ca_files = list(client_ca_files)
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="fake-apns-")
            state_dir = Path(self._tempdir.name)
        self.state_dir = state_dir
        self.ca = ca or _load_or_make_ca(state_dir)
        self.ca_file = str(write_ca_files(state_dir, self.ca))
        self._servers: list[asyncio.Server] = []
        self._live: set[_Http2Connection] = set()
        self.url = ""
        self.control_url = ""

    # --- lifecycle -------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0, control_port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        tls = await loop.create_server(
            lambda: _Http2Connection(self), host, port, ssl=self._tls_context(), backlog=1024
        )
        control = await start_control_server(self.control, host, control_port)
        self._servers = [tls, control]
        self.url = f"https://{host}:{tls.sockets[0].getsockname()[1]}"
        self.control_url = f"http://{host}:{control.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for connection in list(self._live):
            connection.abort()
        for server in self._servers:
            await server.wait_closed()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def _tls_context(self) -> ssl.SSLContext:
        leaf = make_server_cert(self.ca)
        cert_file = self.state_dir / "server.pem"
        key_file = self.state_dir / "server.key"
        cert_file.write_bytes(leaf.cert_pem)
        key_file.touch(mode=0o600, exist_ok=True)
        key_file.write_bytes(leaf.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(cadata=self.ca.cert_pem.decode("ascii"))
        for ca_file in self._client_ca_files:
            context.load_verify_locations(cafile=ca_file)
        context.set_alpn_protocols(["h2"])
        return context

    # --- bookkeeping -----------------------------------------------------

    def connection_opened(self, connection: _Http2Connection) -> int:
        self._live.add(connection)
        with self._lock:
            self.connections += 1
            self.open_connections += 1
            self._connection_ids += 1
            return self._connection_ids

    def connection_closed(self, connection: _Http2Connection) -> None:
        self._live.discard(connection)
        with self._lock:
            self.open_connections -= 1

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            recorded = list(self._records)
        return [_materialize(record, self.environment) for record in recorded]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "connections": self.connections,
                "openConnections": self.open_connections,
                "requests": self.requests_seen,
                "reads": self.reads,
                "writes": self.writes,
                "cpuSeconds": round(time.process_time(), 3),
                "environment": self.environment,
            }

    def reset(self) -> None:
        """Forget requests, counters and ``fail5xx-`` history (keys stay registered)."""
        with self._lock:
            self._records.clear()
            self.connections = 0
            self.requests_seen = 0
            self.reads = self.writes = 0
        self.faults.reset()

    # --- APNs semantics --------------------------------------------------

    def answer(
        self,
        connection: _Http2Connection,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> tuple[_Answer, float]:
        """Decide the answer to one request, record it; returns it and its delay."""
        single: dict[bytes, bytes] = {}
        duplicated = False
        for name, value in headers:
            if name in single:
                duplicated = True
            single[name] = value
        given_id = single.get(b"apns-id")
        apns_id = (
            given_id.decode("ascii")
            if given_id and _APNS_ID.fullmatch(given_id)
            else str(uuid.uuid4()).upper()
        )
        path = single.get(b":path", b"")
        token = path[len(_PATH_PREFIX) :].decode("utf-8", "replace")
        auth: dict[str, Any] = {}
        delay = 0.0
        answer = _Answer(200, apns_id)
        try:
            self._check_request(single, path, body, duplicated, given_id)
            auth = self._check_auth(connection, single)
            fault = self.faults.fault_for(token)
            if fault is not None:
                delay = fault.delay_seconds
                if fault.status != 200:
                    answer = _Answer(fault.status, apns_id, fault.reason, fault.retry_after)
        except AuthError as exc:
            answer = _Answer(403, apns_id, exc.reason)
        except _RequestError as exc:
            answer = _Answer(exc.status, apns_id, exc.reason)
        if answer.status == 410:
            answer.timestamp = int(time.time() * 1000)
        self._record(connection, single, token, body, auth, answer)
        return answer, delay

    @staticmethod
    def _check_request(
        headers: dict[bytes, bytes],
        path: bytes,
        body: bytes,
        duplicated: bool,
        given_id: bytes | None,
    ) -> None:
        if headers.get(b":method") != b"POST":
            raise _RequestError(405, "MethodNotAllowed")
        if not path.startswith(_PATH_PREFIX):
            raise _RequestError(404, "BadPath")
        if len(path) == len(_PATH_PREFIX):
            raise _RequestError(400, "MissingDeviceToken")
        if duplicated:
            raise _RequestError(400, "DuplicateHeaders")
        if given_id is not None and not _APNS_ID.fullmatch(given_id):
            raise _RequestError(400, "BadMessageId")
        priority = headers.get(b"apns-priority")
        if priority is not None and priority not in _PRIORITIES:
            raise _RequestError(400, "BadPriority")
        expiration = headers.get(b"apns-expiration")
        if expiration is not None and not expiration.isdigit():
            raise _RequestError(400, "BadExpirationDate")
        push_type = headers.get(b"apns-push-type")
        if push_type is not None and push_type not in _PUSH_TYPES:
            raise _RequestError(400, "InvalidPushType")
        collapse_id = headers.get(b"apns-collapse-id")
        if collapse_id is not None and len(collapse_id) > _MAX_COLLAPSE_ID_BYTES:
            raise _RequestError(400, "BadCollapseId")
        if not body:
            raise _RequestError(400, "PayloadEmpty")
        if len(body) > MAX_PAYLOAD_BYTES:
            raise _RequestError(413, "PayloadTooLarge")

    def _check_auth(
        self, connection: _Http2Connection, headers: dict[bytes, bytes]
    ) -> dict[str, Any]:
        topic = headers.get(b"apns-topic")
        certificate = connection.client_certificate
        if certificate is not None:
            if certificate.sandbox_only and self.environment == "production":
                raise AuthError("BadCertificateEnvironment")
            if topic is not None and topic.decode("utf-8", "replace") != certificate.topic:
                raise _RequestError(400, "BadTopic")
            return {"auth": "certificate", "certificateTopic": certificate.topic}
        verified = self.keys.verify(headers.get(b"authorization"))
        if connection.first_key_id is None:
            connection.first_key_id = verified.key_id
        elif connection.first_key_id != verified.key_id:
            raise AuthError("UnrelatedKeyIdInToken")
        if topic is None:
            raise _RequestError(400, "MissingTopic")
        if verified.topics and topic.decode("utf-8", "replace") not in verified.topics:
            raise _RequestError(400, "TopicDisallowed")
        return {"auth": "token", "keyId": verified.key_id, "teamId": verified.team_id}

    def _record(
        self,
        connection: _Http2Connection,
        headers: dict[bytes, bytes],
        token: str,
        body: bytes,
        auth: dict[str, Any],
        answer: _Answer,
    ) -> None:
        """Keep the raw request; :func:`_materialize` turns it into JSON on read."""
        record = _Recorded(connection.id, headers, token, body, auth, answer, time.time())
        with self._lock:
            self.requests_seen += 1
            self._records.append(record)

    # --- control API -----------------------------------------------------

    def control(self, method: str, path: str, body: bytes) -> tuple[int, object]:
        route = (method, path.split("?", 1)[0].rstrip("/") or "/")
        if route == ("GET", "/requests"):
            return 200, {"requests": self.records()}
        if route == ("GET", "/stats"):
            return 200, self.stats()
        if route == ("POST", "/reset"):
            self.reset()
            return 200, self.stats()
        if route == ("POST", "/tokens"):
            document = json.loads(body or b"{}")
            if not isinstance(document, dict):
                raise ValueError("expected a JSON object")
            topics = document.get("topics")
            self.keys.register(
                str(document["keyId"]),
                str(document["teamId"]),
                str(document["publicKey"]),
                [str(t) for t in topics] if isinstance(topics, list) else None,
            )
            return 201, {"keyId": document["keyId"]}
        if route == ("DELETE", "/tokens"):
            self.keys.clear()
            return 200, {}
        return 404, {"error": "no such route"}


def _load_or_make_ca(state_dir: Path) -> PemPair:
    cert_path, key_path = state_dir / "ca.pem", state_dir / "ca.key"
    if cert_path.exists() and key_path.exists():
        return PemPair(cert_pem=cert_path.read_bytes(), key_pem=key_path.read_bytes())
    return make_ca("Herald Fake APNs CA")


class _Http2Connection(asyncio.Protocol):
    """One client connection: h2 state, pending streams, delayed answers."""

    def __init__(self, server: FakeApnsServer) -> None:
        self.server = server
        self.id = 0
        self.client_certificate: ClientCertificate | None = None
        self.first_key_id: str | None = None
        self.transport: asyncio.Transport | None = None
        self.conn = _ServerH2Connection(config=_H2_CONFIG)
        self.streams: dict[int, _Stream] = {}
        self.blocked: deque[tuple[int, bytes]] = deque()
        self.write_scheduled = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.id = self.server.connection_opened(self)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if der:
            with contextlib.suppress(ValueError, x509.DuplicateExtension):
                self.client_certificate = ClientCertificate.from_der(der)
        self.conn.local_settings = Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS,
                SettingCodes.MAX_HEADER_LIST_SIZE: 65536,
                SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20,
            },
        )
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(1 << 24)
        transport.write(self.conn.data_to_send())

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connection_closed(self)
        self.transport = None

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self.server.reads += 1
        try:
            events = self.conn.receive_data(data)
        except H2Error:
            self._write()
            if self.transport is not None:
                self.transport.close()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                self.streams[event.stream_id] = _Stream(list(event.headers))
            elif isinstance(event, DataReceived):
                stream = self.streams.get(event.stream_id)
                if stream is not None:
                    stream.body.extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                self._request_complete(event.stream_id)
            elif isinstance(event, StreamReset):
                self.streams.pop(event.stream_id, None)
            elif isinstance(event, WindowUpdated):
                self._send_blocked()
            elif isinstance(event, ConnectionTerminated) and self.transport is not None:
                self.transport.close()
        self._schedule_write()

    def _request_complete(self, stream_id: int) -> None:
        stream = self.streams.pop(stream_id, None)
        if stream is None:
            return
        answer, delay = self.server.answer(self, stream.headers, bytes(stream.body))
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._respond_later, stream_id, answer)
        else:
            self._respond(stream_id, answer)

    def _respond_later(self, stream_id: int, answer: _Answer) -> None:
        self._respond(stream_id, answer)
        self._schedule_write()

    def _respond(self, stream_id: int, answer: _Answer) -> None:
        if self.transport is None:
            return
        body = answer.body()
        try:
            self.conn.send_headers(stream_id, answer.headers(), end_stream=not body)
        except H2Error:  # the client reset or closed the stream meanwhile
            return
        if body:
            self.blocked.append((stream_id, body))
            self._send_blocked()

    def _send_blocked(self) -> None:
        """Send queued bodies in order while flow control allows."""
        while self.blocked:
            stream_id, body = self.blocked[0]
            try:
                if self.conn.local_flow_control_window(stream_id) < len(body):
                    return
                self.conn.send_data(stream_id, body, end_stream=True)
            except H2Error:
                pass
            self.blocked.popleft()

    def _schedule_write(self) -> None:
        """Write once per loop iteration: a client sending one TLS record per
        request makes many small reads, and one write (TLS record + syscall)
        per read would cost more than answering the requests."""
        if not self.write_scheduled:
            self.write_scheduled = True
            asyncio.get_running_loop().call_soon(self._write)

    def _write(self) -> None:
        self.write_scheduled = False
        data = self.conn.data_to_send()
        if data and self.transport is not None:
            self.server.writes += 1
            self.transport.write(data)
