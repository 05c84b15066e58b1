"""OAuth access tokens for FCM, from google-auth service-account credentials.

google-auth signs the JWT assertion and runs the token exchange; it is
synchronous, so each exchange runs in a worker thread through
:class:`HttpxTransport` (google-auth's transport interface over a sync
``httpx.Client``, which trusts ``HERALD_FCM_CA_FILE`` like the FCM client).

- The ``token_uri`` inside an uploaded service-account JSON is never used:
  every exchange goes to ``settings.google_token_url``.
- A token is cached until shortly before it expires; concurrent callers share
  one in-flight exchange (single flight), so a burst of sends fetches once.
- Every wait for an exchange is bounded by ``settings.fcm_timeout_seconds``:
  a slow endpoint gives :class:`TokenUnavailable` (retry later), a 4xx
  answer (bad key, ``invalid_grant``) gives :class:`TokenRejected`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import json
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import certifi
import httpx
from google.auth import exceptions as google_exceptions
from google.auth import transport as google_transport
from google.oauth2 import service_account

from herald.settings import Settings

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"

#: Refresh this long before expiry at most (a tenth of the lifetime for short tokens).
REFRESH_MARGIN_SECONDS = 60.0
#: A refused credential is not presented again for this long (a batch of sends
#: with a bad key makes one token request, not one per send).
REJECTION_CACHE_SECONDS = 30.0


class TokenError(Exception):
    """No access token could be had. Messages never carry key material."""


class TokenUnavailable(TokenError):
    """Transient: timeout, connection error, 5xx or 429 from the token endpoint."""


class TokenRejected(TokenError):
    """Permanent: the credential is malformed or the token endpoint refused it."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """System roots plus certifi's, plus ``ca_file`` when given."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class _Response(google_transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxTransport(google_transport.Request):
    """google-auth's ``Request`` interface over a synchronous ``httpx.Client``.

    Records the status of the last answer so a refresh error can be told apart
    into "refused" (4xx) and "try later" (5xx, 408, 429).
    """

    def __init__(self, client: httpx.Client, timeout: float) -> None:
        self._client = client
        self._timeout = timeout
        self.last_status: int | None = None

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        try:
            response = self._client.request(
                method,
                url,
                content=body,
                headers=dict(headers or {}),
                timeout=min(timeout or self._timeout, self._timeout),
            )
        except httpx.HTTPError as exc:
            raise google_exceptions.TransportError(type(exc).__name__) from None  # type: ignore[no-untyped-call]
        self.last_status = response.status_code
        return _Response(response)


def _decode_service_account(content: Mapping[str, str]) -> dict[str, Any]:
    try:
        raw = base64.b64decode(content["privateKey"], validate=True)
        info = json.loads(raw)
    except (KeyError, binascii.Error, ValueError):
        raise TokenRejected("FCM credential is not base64 service-account JSON") from None
    if not isinstance(info, dict):
        raise TokenRejected("FCM credential is not a service-account JSON object")
    return info


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # time.monotonic()


class GoogleAccessTokens:
    """Access tokens for one service account, cached and fetched single-flight."""

    def __init__(
        self,
        service_account_info: Mapping[str, Any],
        *,
        token_url: str,
        http: httpx.Client,
        timeout: float,
    ) -> None:
        info = dict(service_account_info)
        info["token_uri"] = token_url  # never the uploaded one
        try:
            from_info = service_account.Credentials.from_service_account_info
            self._credentials = from_info(info, scopes=[FCM_SCOPE])  # type: ignore[no-untyped-call]
        except (ValueError, KeyError, TypeError):
            raise TokenRejected(
                "FCM service account JSON is incomplete or its key is bad"
            ) from None
        self.project_id: str | None = info.get("project_id")
        self._http = http
        self._timeout = timeout
        self._token: _Token | None = None
        self._rejected: tuple[TokenRejected, float] | None = None
        self._inflight: asyncio.Task[_Token] | None = None
        self._thread_lock = threading.Lock()  # the Credentials object is not thread-safe
        self.fetches = 0

    async def get(self) -> str:
        """A valid access token, fetching one if none is cached or it is about to expire."""
        token = self._token
        if token is not None and time.monotonic() < token.refresh_at:
            return token.value
        if self._rejected is not None and time.monotonic() < self._rejected[1]:
            raise self._rejected[0]
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.create_task(self._fetch())
            self._inflight.add_done_callback(_consume_exception)
        try:
            result = await asyncio.wait_for(asyncio.shield(self._inflight), self._timeout)
        except TimeoutError:
            raise TokenUnavailable("token endpoint timed out") from None
        return result.value

    def invalidate(self, value: str) -> None:
        """Forget ``value`` if it is the cached token (FCM answered 401 with it)."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def _fetch(self) -> _Token:
        try:
            token = await asyncio.to_thread(self._refresh_blocking)
        except TokenRejected as exc:
            self._rejected = (exc, time.monotonic() + REJECTION_CACHE_SECONDS)
            raise
        self._token, self._rejected = token, None
        return token

    def _refresh_blocking(self) -> _Token:
        transport = HttpxTransport(self._http, self._timeout)
        with self._thread_lock:
            self.fetches += 1
            try:
                self._credentials.refresh(transport)
            except google_exceptions.RefreshError as exc:
                status = transport.last_status
                if status is not None and 400 <= status < 500 and status not in (408, 429):
                    raise TokenRejected("token endpoint refused the credential", status) from None
                raise TokenUnavailable(_refresh_reason(exc, status)) from None
            except google_exceptions.TransportError as exc:
                raise TokenUnavailable(f"token endpoint unreachable ({exc})") from None
            except (ValueError, KeyError, TypeError):
                raise TokenUnavailable("token endpoint gave an unreadable answer") from None
            value = self._credentials.token
            expiry = self._credentials.expiry
        if not isinstance(value, str) or not value:
            raise TokenUnavailable("token endpoint gave no access token")
        lifetime = _seconds_until(expiry) if isinstance(expiry, dt.datetime) else 3600.0
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 10)
        return _Token(value=value, refresh_at=time.monotonic() + lifetime - margin)


def _refresh_reason(exc: google_exceptions.RefreshError, status: int | None) -> str:
    if status is None:
        return "token endpoint unavailable"
    return f"token endpoint answered HTTP {status}"


def _seconds_until(expiry: dt.datetime) -> float:
    # google-auth keeps expiry as a naive UTC datetime.
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    aware = expiry.replace(tzinfo=None) if expiry.tzinfo else expiry
    return max(0.0, (aware - now).total_seconds())


def _consume_exception(task: asyncio.Task[_Token]) -> None:
    if not task.cancelled():
        task.exception()


class GoogleTokenCache:
    """The token sources of one worker process, one per credential content."""

    def __init__(self, settings: Settings) -> None:
        self._token_url = settings.google_token_url
        self._timeout = settings.fcm_timeout_seconds
        self._http = httpx.Client(
            verify=ssl_context(settings.fcm_ca_file),
            timeout=httpx.Timeout(self._timeout),
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
        )
        self._sources: dict[str, GoogleAccessTokens] = {}

    def source_for(self, credential_id: str, content: Mapping[str, str]) -> GoogleAccessTokens:
        """The cached source for this credential; a changed content gets a new one."""
        digest = hashlib.sha256(content.get("privateKey", "").encode("utf-8")).hexdigest()
        key = f"{credential_id}:{digest}"
        source = self._sources.get(key)
        if source is None:
            source = GoogleAccessTokens(
                _decode_service_account(content),
                token_url=self._token_url,
                http=self._http,
                timeout=self._timeout,
            )
            self._sources = {
                k: v for k, v in self._sources.items() if not k.startswith(f"{credential_id}:")
            }
            self._sources[key] = source
        return source

    def close(self) -> None:
        self._http.close()


_caches: dict[tuple[str, str | None, float], GoogleTokenCache] = {}


def shared_token_cache(settings: Settings) -> GoogleTokenCache:
    """The process-wide cache for these settings (one per worker process)."""
    key = (settings.google_token_url, settings.fcm_ca_file, settings.fcm_timeout_seconds)
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = GoogleTokenCache(settings)
    return cache
