"""Helpers for the FCM tests: a sender wired to a fake FCM, credentials, dead ports."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from activities.providers.base import ProviderClient, ProviderCredential
from activities.providers.fcm import FcmClient, make_fcm_http_client
from activities.providers.google_tokens import GoogleTokenCache
from fakes.fcm import FakeFcm
from fakes.keys import fcm_content, make_service_account
from herald.settings import Settings

PROJECT = "herald-fcm-test"


def dead_url() -> str:
    """An http:// URL on a loopback port nobody listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def settings_for(fake: FakeFcm, *, timeout: float = 5.0, fcm_url: str | None = None) -> Settings:
    return Settings(
        fcm_url=fcm_url or fake.url,
        google_token_url=fake.token_url,
        fcm_ca_file=str(fake.ca_file) if fake.ca_file else None,
        fcm_timeout_seconds=timeout,
    )


def credential_for(service_account: dict[str, str]) -> ProviderCredential:
    return ProviderCredential(
        id=f"comms_credential_{uuid.uuid4().hex}",
        type="FCM",
        content=fcm_content(service_account),
        metadata={"projectId": service_account.get("project_id", "")},
    )


@dataclass
class Sender:
    """One FcmClient with its own token cache, and what it talks to."""

    client: ProviderClient  # mypy checks that FcmClient satisfies the shared protocol
    fake: FakeFcm
    service_account: dict[str, str]
    settings: Settings

    def sent_to(self, token: str) -> list[dict[str, Any]]:
        return [r for r in self.fake.requests() if r["token"] == token]


@asynccontextmanager
async def sender(
    fake: FakeFcm,
    *,
    timeout: float = 5.0,
    service_account: dict[str, str] | None = None,
    register: bool = True,
    fcm_url: str | None = None,
) -> AsyncIterator[Sender]:
    """A registered service account and a fresh client (own HTTP client, own token cache)."""
    account = service_account or make_service_account(
        PROJECT, client_email=f"sender-{uuid.uuid4().hex[:12]}@{PROJECT}.iam.gserviceaccount.com"
    )
    if register:
        fake.register_service_account(account)
    settings = settings_for(fake, timeout=timeout, fcm_url=fcm_url)
    http = make_fcm_http_client(settings)
    tokens = GoogleTokenCache(settings)
    try:
        client = FcmClient(credential_for(account), http, settings, tokens=tokens)
        yield Sender(client, fake, account, settings)
        await client.close()
    finally:
        await http.aclose()
        tokens.close()
