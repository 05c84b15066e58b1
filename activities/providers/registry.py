"""One long-lived provider client per credential per worker process."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from activities.providers.apns import ApnsClient
from activities.providers.base import ProviderClient, ProviderCredential
from activities.providers.fcm import FcmClient, make_fcm_http_client
from herald.crypto import SecretBox
from herald.models import Credential
from herald.settings import Settings


class ProviderClients:
    def __init__(self, settings: Settings, engine: Engine, box: SecretBox) -> None:
        self._settings = settings
        self._engine = engine
        self._box = box
        self._clients: dict[str, ProviderClient] = {}
        self._lock = asyncio.Lock()
        self._http: httpx.AsyncClient | None = None

    def _load(self, credential_id: str) -> ProviderCredential | None:
        with Session(self._engine) as session:
            row = session.get(Credential, credential_id)
            if row is None:
                return None
            return ProviderCredential(
                id=row.id,
                type=row.credential_type,  # type: ignore[arg-type]
                content=self._box.decrypt(row.secret),
                metadata=dict(row.meta),
            )

    async def get(self, credential_id: str) -> ProviderClient | None:
        """The client for a credential, or None when the credential is gone."""
        client = self._clients.get(credential_id)
        if client is not None:
            return client
        async with self._lock:
            client = self._clients.get(credential_id)
            if client is None:
                credential = await asyncio.to_thread(self._load, credential_id)
                if credential is None:
                    return None
                client = self._build(credential)
                self._clients[credential_id] = client
            return client

    def _build(self, credential: ProviderCredential) -> ProviderClient:
        if credential.type == "FCM":
            if self._http is None:
                self._http = make_fcm_http_client(self._settings)
            return FcmClient(credential, self._http, self._settings)
        return ApnsClient(credential, self._settings)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
