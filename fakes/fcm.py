"""A fake FCM HTTP v1 endpoint with its own OAuth token endpoint.

Run it as a process (``python -m fakes.fcm [--tls] [--port N] [--token-ttl S]``;
it prints one JSON line ``{"url", "token_url", "ca_file", "http2"}``) or in a
thread from tests (:class:`FakeFcm`). Served by hypercorn: plain HTTP/1.1, or
HTTP/2 (and HTTP/1.1) over TLS with a certificate from :mod:`fakes.keys`.

Endpoints:

- ``POST /token``: OAuth 2.0 JWT-bearer grant
  (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``). The assertion
  must be an RS256 JWT signed by a registered service account's key
  (``iss`` = its ``client_email``, ``aud`` =
  ``https://oauth2.googleapis.com/token`` as google-auth sends it, a scope
  containing ``firebase.messaging``, not expired); otherwise 400
  ``invalid_grant`` like Google. Answers a random access token with
  ``expires_in`` = the token TTL.
- ``POST /v1/projects/{project}/messages:send``: needs ``Authorization:
  Bearer <token issued here and not expired>`` (else 401 UNAUTHENTICATED),
  a project the account was registered for (else 403 PERMISSION_DENIED),
  and a valid message (token set, string data values, known
  ``android.priority``, ``ttl`` like ``"3600s"``, at most 4096 bytes; else 400
  INVALID_ARGUMENT). Answers ``{"name": "projects/{p}/messages/{id}"}``.

Failure injection by device-token prefix (prefixes chain left to right, e.g.
``slow-200-unregistered-x``):

=======================  ===================================================
``unregistered-``        404 UNREGISTERED
``badtoken-``            400 INVALID_ARGUMENT, registration token not valid
``toolarge-``            400 INVALID_ARGUMENT, message too big
``retry-after-N-``       429 QUOTA_EXCEEDED with ``Retry-After: N``
``fail5xx-K-``           503 UNAVAILABLE for the first K sends of that exact
                         token, then success
``slow-MS-``             wait MS milliseconds, then go on
``fcmerror-S-CODE-``     HTTP S with CODE as FcmError ``errorCode`` when it is
                         an FCM code, else as ``error.status``; CODE ``NONE``
                         answers a non-JSON body
=======================  ===================================================

Every messages:send request is recorded, answered or not (project, token,
body, access_token, http_version, status).

Control API (JSON): ``GET /_fake/requests``, ``GET /_fake/stats``
(``token_fetches``, ``requests``, ``connections``, ``http_versions``),
``POST /_fake/reset`` (records, counters, fail counters and config; accounts
and issued tokens stay), ``POST /_fake/accounts`` ``{"client_email",
"public_key" (PEM), "project_id"?}``, ``POST /_fake/config``
``{"token_delay_ms"?, "token_ttl"?, "token_status"?}`` (``token_status``: answer
every token request with that HTTP status), ``POST /_fake/revoke_tokens``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from hypercorn.asyncio import serve
from hypercorn.config import Config

from fakes.keys import make_ca, make_server_cert, write_ca_files

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
FCM_CODES = frozenset(
    {
        "UNSPECIFIED_ERROR",
        "INVALID_ARGUMENT",
        "UNREGISTERED",
        "SENDER_ID_MISMATCH",
        "QUOTA_EXCEEDED",
        "UNAVAILABLE",
        "INTERNAL",
        "THIRD_PARTY_AUTH_ERROR",
    }
)
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
MAX_MESSAGE_BYTES = 4096
SEND_PATH = re.compile(r"^/v1/projects/([^/]+)/messages:send$")
TTL = re.compile(r"^\d+(\.\d{1,9})?s$")
PREFIX = re.compile(
    r"^(?:(?P<simple>unregistered|badtoken|toolarge)-"
    r"|retry-after-(?P<retry>\d+)-"
    r"|fail5xx-(?P<fail>\d+)-"
    r"|slow-(?P<slow>\d+)-"
    r"|fcmerror-(?P<status>\d{3})-(?P<code>[A-Z_]+)-)"
)


@dataclass
class _Account:
    public_key: Any
    project_id: str | None


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_type: bytes = b"application/json; charset=UTF-8"


def _json_reply(
    status: int, payload: object, headers: list[tuple[bytes, bytes]] | None = None
) -> _Reply:
    return _Reply(status, json.dumps(payload).encode(), headers or [])


def fcm_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    token_violation: bool = False,
) -> dict[str, Any]:
    """An error body shaped like FCM's (Google API error + FcmError detail)."""
    details: list[dict[str, Any]] = []
    if code in FCM_CODES:
        details.append({"@type": FCM_ERROR_TYPE, "errorCode": code})
    if token_violation:
        details.append(
            {
                "@type": BAD_REQUEST_TYPE,
                "fieldViolations": [{"field": "message.token", "description": message}],
            }
        )
    google_status = GOOGLE_STATUS.get(status, "UNKNOWN")
    if code is not None and code not in FCM_CODES:
        google_status = code
    error: dict[str, Any] = {"code": status, "message": message, "status": google_status}
    if details:
        error["details"] = details
    return {"error": error}


class FakeFcmState:
    """Everything the fake knows; safe to use from the server loop and test threads."""

    def __init__(self, *, token_ttl: int = 3600) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}
        self._tokens: dict[str, tuple[str, float]] = {}
        self._default_ttl = token_ttl
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: list[dict[str, Any]] = []
            self._fail_counts: dict[str, int] = {}
            self._clients: set[tuple[str, int]] = set()
            self._versions: dict[str, int] = {}
            self.token_fetches = 0
            self.request_count = 0
            self.token_delay_ms = 0
            self.token_ttl = self._default_ttl
            self.token_status: int | None = None

    def configure(self, values: dict[str, Any]) -> None:
        with self._lock:
            if "token_delay_ms" in values:
                self.token_delay_ms = int(values["token_delay_ms"])
            if "token_ttl" in values:
                self.token_ttl = int(values["token_ttl"])
            if "token_status" in values:
                status = values["token_status"]
                self.token_status = int(status) if status is not None else None

    def register(self, client_email: str, public_key_pem: str, project_id: str | None) -> None:
        key = serialization.load_pem_public_key(public_key_pem.encode())
        with self._lock:
            self._accounts[client_email] = _Account(key, project_id)

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._requests)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "token_fetches": self.token_fetches,
                "requests": self.request_count,
                "connections": len(self._clients),
                "http_versions": dict(self._versions),
            }

    def seen(self, client: tuple[str, int] | None, http_version: str) -> None:
        with self._lock:
            if client is not None:
                self._clients.add((client[0], client[1]))
            self._versions[http_version] = self._versions.get(http_version, 0) + 1

    # -- token endpoint -------------------------------------------------------

    def count_token_fetch(self) -> None:
        with self._lock:
            self.token_fetches += 1

    def issue_token(self, form: dict[str, list[str]]) -> _Reply:
        with self._lock:
            forced = self.token_status
        if forced is not None:
            return _json_reply(forced, {"error": "server_error", "error_description": "injected"})
        if form.get("grant_type") != [GRANT_TYPE] or len(form.get("assertion", [])) != 1:
            return _json_reply(400, {"error": "unsupported_grant_type"})
        assertion = form["assertion"][0]
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            return _invalid_grant("Invalid JWT.")
        with self._lock:
            account = self._accounts.get(issuer) if isinstance(issuer, str) else None
        if account is None:
            return _invalid_grant("Invalid grant: account not found")
        try:
            claims = jwt.decode(
                assertion,
                account.public_key,
                algorithms=["RS256"],
                audience=GOOGLE_AUDIENCE,
                issuer=issuer,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError:
            return _invalid_grant("Invalid JWT Signature.")
        if FCM_SCOPE not in str(claims.get("scope", "")).split():
            return _json_reply(400, {"error": "invalid_scope"})
        access = "ya29.fake-" + secrets.token_urlsafe(24)
        with self._lock:
            ttl = self.token_ttl
            self._tokens[access] = (str(issuer), time.monotonic() + ttl)
        return _json_reply(200, {"access_token": access, "expires_in": ttl, "token_type": "Bearer"})

    # -- messages:send --------------------------------------------------------

    def account_for(self, authorization: str) -> _Account | None:
        if not authorization.startswith("Bearer "):
            return None
        with self._lock:
            entry = self._tokens.get(authorization[7:])
            if entry is None or entry[1] <= time.monotonic():
                return None
            return self._accounts.get(entry[0])

    def record(
        self, project: str, body: Any, authorization: str, http_version: str
    ) -> dict[str, Any]:
        message = body.get("message", {}) if isinstance(body, dict) else {}
        token = message.get("token") if isinstance(message, dict) else None
        entry = {
            "project": project,
            "token": token,
            "body": body,
            "access_token": authorization.removeprefix("Bearer "),
            "http_version": http_version,
            "status": None,  # the HTTP status answered, set once decided
        }
        with self._lock:
            self.request_count += 1
            self._requests.append(entry)
        return entry

    def count_failure(self, token: str) -> int:
        with self._lock:
            count = self._fail_counts.get(token, 0) + 1
            self._fail_counts[token] = count
            return count


def _invalid_grant(description: str) -> _Reply:
    return _json_reply(400, {"error": "invalid_grant", "error_description": description})


def _validation_error(message: Any, raw_size: int) -> str | None:
    """What FCM would reject in this message, or None."""
    if not isinstance(message, dict):
        return "Invalid JSON payload received. Unknown name: message"
    if not isinstance(message.get("token"), str) or not message["token"]:
        return "Recipient of the message is not set."
    data = message.get("data", {})
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return "Invalid value at 'message.data' (Map), values must be strings"
    android = message.get("android", {})
    if not isinstance(android, dict):
        return "Invalid value at 'message.android'"
    if android.get("priority", "NORMAL") not in ("NORMAL", "HIGH"):
        return "Invalid value at 'message.android.priority'"
    if "ttl" in android and not (isinstance(android["ttl"], str) and TTL.match(android["ttl"])):
        return (
            "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration)"
        )
    if raw_size > MAX_MESSAGE_BYTES:
        return "Message is too big"
    return None


async def _injected(state: FakeFcmState, token: str) -> _Reply | None:
    """The failure the token's prefixes ask for, after any delay they ask for."""
    rest = token
    while match := PREFIX.match(rest):
        rest = rest[match.end() :]
        if match["slow"]:
            await asyncio.sleep(int(match["slow"]) / 1000)
        elif match["simple"] == "unregistered":
            return _json_reply(
                404, fcm_error(404, "Requested entity was not found.", code="UNREGISTERED")
            )
        elif match["simple"] == "badtoken":
            text = "The registration token is not a valid FCM registration token"
            return _json_reply(
                400, fcm_error(400, text, code="INVALID_ARGUMENT", token_violation=True)
            )
        elif match["simple"] == "toolarge":
            return _json_reply(400, fcm_error(400, "Message is too big", code="INVALID_ARGUMENT"))
        elif match["retry"]:
            body = fcm_error(429, "Quota exceeded for sending messages", code="QUOTA_EXCEEDED")
            return _json_reply(429, body, [(b"retry-after", match["retry"].encode())])
        elif match["fail"]:
            if state.count_failure(token) <= int(match["fail"]):
                body = fcm_error(503, "The service is currently unavailable.", code="UNAVAILABLE")
                return _json_reply(503, body)
        elif match["status"]:
            status, code = int(match["status"]), match["code"]
            if code == "NONE":
                return _Reply(status, b"<html><body>Error</body></html>", [], b"text/html")
            return _json_reply(status, fcm_error(status, f"injected {code}", code=code))
    return None


class FakeFcmApp:
    """The ASGI application."""

    def __init__(self, state: FakeFcmState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        self.state.seen(scope.get("client"), scope.get("http_version", "1.1"))
        body = await _read_body(receive)
        reply = await self._route(scope, body)
        headers = [(b"content-type", reply.content_type), *reply.headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})

    async def _route(self, scope: Scope, body: bytes) -> _Reply:
        method, path = scope["method"], scope["path"]
        match = SEND_PATH.match(path)
        if method == "POST" and match:
            return await self._send(scope, match.group(1), body)
        if method == "POST" and path == "/token":
            return await self._token(body)
        if path.startswith("/_fake/"):
            return self._control(method, path, body)
        return _json_reply(404, fcm_error(404, "Not found"))

    async def _token(self, body: bytes) -> _Reply:
        self.state.count_token_fetch()  # on arrival, so slow answers are counted too
        delay = self.state.token_delay_ms
        if delay:
            await asyncio.sleep(delay / 1000)
        return self.state.issue_token(parse_qs(body.decode("utf-8", "replace")))

    async def _send(self, scope: Scope, project: str, raw: bytes) -> _Reply:
        authorization = _header(scope, b"authorization")
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        entry = self.state.record(project, body, authorization, scope.get("http_version", "1.1"))
        reply = await self._answer(project, body, authorization, len(raw))
        entry["status"] = reply.status
        return reply

    async def _answer(self, project: str, body: Any, authorization: str, size: int) -> _Reply:
        account = self.state.account_for(authorization)
        if account is None:
            text = "Request had invalid authentication credentials."
            return _json_reply(401, fcm_error(401, text))
        if account.project_id is not None and account.project_id != project:
            return _json_reply(403, fcm_error(403, "Permission denied for this project."))
        if body is None:
            return _json_reply(400, fcm_error(400, "Invalid JSON payload received."))
        message = body.get("message") if isinstance(body, dict) else None
        problem = _validation_error(message, size)
        if problem is not None:
            return _json_reply(400, fcm_error(400, problem, code="INVALID_ARGUMENT"))
        assert isinstance(message, dict)
        injected = await _injected(self.state, message["token"])
        if injected is not None:
            return injected
        name = f"projects/{project}/messages/{secrets.token_hex(8)}"
        return _json_reply(200, {"name": name})

    def _control(self, method: str, path: str, raw: bytes) -> _Reply:
        state = self.state
        if method == "GET" and path == "/_fake/requests":
            return _json_reply(200, state.requests())
        if method == "GET" and path == "/_fake/stats":
            return _json_reply(200, state.stats())
        if method != "POST":
            return _json_reply(405, {"error": "method not allowed"})
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            return _json_reply(400, {"error": "body must be JSON"})
        if path == "/_fake/reset":
            state.reset()
        elif path == "/_fake/revoke_tokens":
            state.revoke_tokens()
        elif path == "/_fake/config":
            state.configure(payload)
        elif path == "/_fake/accounts":
            try:
                state.register(
                    payload["client_email"], payload["public_key"], payload.get("project_id")
                )
            except (KeyError, TypeError, ValueError):
                return _json_reply(400, {"error": "need client_email and a PEM public_key"})
        else:
            return _json_reply(404, {"error": "unknown control endpoint"})
        return _json_reply(200, {"ok": True})


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def public_key_pem(service_account: dict[str, str]) -> str:
    """The PEM public key of a service-account JSON's private key."""
    key = serialization.load_pem_private_key(service_account["private_key"].encode(), None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass(frozen=True)
class _Tls:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls_files(directory: Path, host: str) -> _Tls:
    """A CA (``ca.pem``) and a server certificate for ``host`` in ``directory``."""
    ca = make_ca("Herald Fake FCM CA")
    ca_file = write_ca_files(directory, ca)
    server = make_server_cert(ca, hosts=[host, "localhost", "127.0.0.1"])
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(server.cert_pem)
    key_file.touch(mode=0o600)
    key_file.write_bytes(server.key_pem)
    return _Tls(ca_file, cert_file, key_file)


def _hypercorn_config(fd: int, tls: _Tls | None) -> Config:
    config = Config()
    config.bind = [f"fd://{fd}"]
    config.accesslog = None
    config.errorlog = None
    config.keep_alive_timeout = 75
    config.keep_alive_max_requests = 2**31  # hypercorn's default (1000) would GOAWAY mid-bench
    config.h2_max_concurrent_streams = 1000
    config.backlog = 1024
    config.include_date_header = False
    config.include_server_header = False
    if tls is not None:
        config.certfile = str(tls.cert_file)
        config.keyfile = str(tls.key_file)
        config.alpn_protocols = ["h2", "http/1.1"]
    return config


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


class FakeFcm:
    """The fake served from a background thread with its own event loop (for tests)."""

    def __init__(
        self, *, tls: bool = False, host: str = "127.0.0.1", port: int = 0, token_ttl: int = 3600
    ) -> None:
        self.state = FakeFcmState(token_ttl=token_ttl)
        self._tls_dir = tempfile.TemporaryDirectory(prefix="fake-fcm-") if tls else None
        self._tls = make_tls_files(Path(self._tls_dir.name), host) if self._tls_dir else None
        self._sock = _bind(host, port)
        bound_port = self._sock.getsockname()[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{host}:{bound_port}"
        self.token_url = f"{self.url}/token"
        self.ca_file: Path | None = self._tls.ca_file if self._tls else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> FakeFcm:
        self._thread = threading.Thread(target=self._run, name="fake-fcm", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake FCM did not start")
        if self._error is not None:
            raise RuntimeError("fake FCM failed to start") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        config = _hypercorn_config(self._sock.detach(), self._tls)
        server = asyncio.ensure_future(
            serve(cast(Any, FakeFcmApp(self.state)), config, shutdown_trigger=self._stop.wait)
        )
        self._ready.set()
        await server

    def _stop_quietly(self) -> None:
        # hypercorn logs dropped TLS connections while it shuts down; they are expected.
        if self._loop is not None and self._stop is not None:
            self._loop.set_exception_handler(lambda loop, context: None)
            self._stop.set()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop_quietly)
            self._thread.join(10)
        if self._tls_dir is not None:
            self._tls_dir.cleanup()

    def __enter__(self) -> FakeFcm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def register_service_account(
        self, service_account: dict[str, str], *, project_id: str | None = None
    ) -> None:
        """Let ``service_account`` fetch tokens (for ``project_id`` only, when given)."""
        self.state.register(
            service_account["client_email"], public_key_pem(service_account), project_id
        )

    def requests(self) -> list[dict[str, Any]]:
        return self.state.requests()

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    @property
    def token_fetches(self) -> int:
        return int(self.stats()["token_fetches"])

    @property
    def connections(self) -> int:
        return int(self.stats()["connections"])

    def reset(self) -> None:
        self.state.reset()

    def configure(self, **values: Any) -> None:
        """``token_delay_ms``, ``token_ttl``, ``token_status`` (see module doc)."""
        self.state.configure(values)

    def revoke_tokens(self) -> None:
        self.state.revoke_tokens()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake FCM HTTP v1 + OAuth token endpoint")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls", action="store_true", help="HTTP/2 (and 1.1) over TLS")
    parser.add_argument("--token-ttl", type=int, default=3600, help="expires_in of tokens")
    parser.add_argument("--tls-dir", type=Path, help="where to write ca.pem (default: temp dir)")
    args = parser.parse_args(argv)

    state = FakeFcmState(token_ttl=args.token_ttl)
    tls: _Tls | None = None
    if args.tls:
        directory = args.tls_dir or Path(tempfile.mkdtemp(prefix="fake-fcm-"))
        tls = make_tls_files(directory, args.host)
    sock = _bind(args.host, args.port)
    port = sock.getsockname()[1]
    url = f"{'https' if tls else 'http'}://{args.host}:{port}"
    line = {
        "url": url,
        "token_url": f"{url}/token",
        "ca_file": str(tls.ca_file) if tls else None,
        "http2": tls is not None,
    }
    print(json.dumps(line), flush=True)
    config = _hypercorn_config(sock.detach(), tls)
    try:
        asyncio.run(serve(cast(Any, FakeFcmApp(state)), config))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
