"""FCM HTTP v1 client: ``POST {FCM_URL}/v1/projects/{project_id}/messages:send``.

One ``httpx.AsyncClient`` per worker process (:func:`make_fcm_http_client`,
HTTP/2 when ``FCM_URL`` is https) is shared by every :class:`FcmClient`; each
client only adds its credential's project and access tokens (from
:mod:`activities.providers.google_tokens`). Answers are classified by
:mod:`activities.providers.fcm_outcomes`; nothing here raises for a provider
answer, a token problem or a transport error.
"""

from __future__ import annotations

import asyncio
import weakref
from urllib.parse import quote

import httpx

from activities.providers.base import Outcome, ProviderCredential, PushMessage, SendResult
from activities.providers.fcm_outcomes import REFETCH_ON_CODE, classify
from activities.providers.fcm_payload import encode
from activities.providers.google_tokens import (
    GoogleAccessTokens,
    GoogleTokenCache,
    TokenRejected,
    TokenUnavailable,
    shared_token_cache,
    ssl_context,
)
from herald.settings import Settings

#: Connections the shared client may open (HTTP/2 multiplexes on one).
MAX_CONNECTIONS = 10
KEEPALIVE_SECONDS = 60.0
#: Sends in flight per shared client: HTTP/2 streams, or one per HTTP/1.1 connection.
#: Sends beyond it wait here, outside httpcore's pool: its bookkeeping costs
#: O(waiting requests) per event and its pool timeout would fail queued sends.
MAX_IN_FLIGHT_HTTP2 = 100
MAX_IN_FLIGHT_HTTP1 = MAX_CONNECTIONS

_in_flight: weakref.WeakKeyDictionary[httpx.AsyncClient, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _limiter(http: httpx.AsyncClient, https: bool) -> asyncio.Semaphore:
    limiter = _in_flight.get(http)
    if limiter is None:
        limiter = asyncio.Semaphore(MAX_IN_FLIGHT_HTTP2 if https else MAX_IN_FLIGHT_HTTP1)
        _in_flight[http] = limiter
    return limiter


def make_fcm_http_client(settings: Settings) -> httpx.AsyncClient:
    """The worker process's one FCM client: HTTP/2 for https, HTTP/1.1 for http fakes."""
    https = settings.fcm_url.startswith("https://")
    timeout = settings.fcm_timeout_seconds
    return httpx.AsyncClient(
        http2=https,
        verify=ssl_context(settings.fcm_ca_file) if https else True,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_SECONDS,
        ),
        headers={"Content-Type": "application/json; charset=UTF-8"},
        follow_redirects=False,
    )


def _auth_failure(exc: TokenRejected) -> SendResult:
    return SendResult(outcome=Outcome.FAILED, code="AUTH", status=exc.status, message=str(exc))


class FcmClient:
    """Sends through FCM with one FCM credential (``{"privateKey": base64 JSON}``)."""

    def __init__(
        self,
        credential: ProviderCredential,
        http: httpx.AsyncClient,
        settings: Settings,
        *,
        tokens: GoogleTokenCache | None = None,
    ) -> None:
        self._http = http
        self._limiter = _limiter(http, settings.fcm_url.startswith("https://"))
        self._base = settings.fcm_url.rstrip("/")
        self._source: GoogleAccessTokens | None = None
        self._broken: TokenRejected | None = None
        self._url = httpx.URL(self._base)
        cache = tokens or shared_token_cache(settings)
        try:
            self._source = cache.source_for(credential.id, credential.content)
        except TokenRejected as exc:
            self._broken = exc
            return
        if not self._source.project_id:
            self._broken = TokenRejected("FCM service account JSON has no project_id")
            return
        # Quoted: the project id comes from the tenant's upload. Parsed once:
        # httpx would parse a str URL on every send.
        project = quote(self._source.project_id, safe="")
        self._url = httpx.URL(f"{self._base}/v1/projects/{project}/messages:send")

    async def send(self, message: PushMessage) -> SendResult:
        if self._broken is not None or self._source is None:
            return _auth_failure(self._broken or TokenRejected("no FCM credential"))
        body = encode(message)
        result = await self._send_once(self._source, body)
        if result.code == REFETCH_ON_CODE and result.status == 401:
            # The cached token was refused (revoked or expired early): refetch once.
            result = await self._send_once(self._source, body)
        return result

    async def _send_once(self, source: GoogleAccessTokens, body: bytes) -> SendResult:
        try:
            token = await source.get()
        except TokenRejected as exc:
            return _auth_failure(exc)
        except TokenUnavailable as exc:
            return SendResult(outcome=Outcome.RETRY, code="AUTH_UNAVAILABLE", message=str(exc))
        try:
            async with self._limiter:
                response = await self._http.post(
                    self._url, content=body, headers={"Authorization": f"Bearer {token}"}
                )
        except httpx.TimeoutException as exc:
            return SendResult(outcome=Outcome.RETRY, code="TIMEOUT", message=type(exc).__name__)
        except httpx.HTTPError as exc:
            return SendResult(outcome=Outcome.RETRY, code="CONNECTION", message=type(exc).__name__)
        result = classify(
            response.status_code, response.content, response.headers.get("retry-after")
        )
        if result.code == REFETCH_ON_CODE and result.status == 401:
            source.invalidate(token)
        return result

    async def close(self) -> None:
        """Nothing to close: the HTTP client and token cache are the process's."""
