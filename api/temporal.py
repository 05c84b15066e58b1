"""The API's Temporal client: connected lazily, reconnected after an outage."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from herald import errors
from herald.settings import Settings


class TemporalConnection:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        """The connected client, or a 503 error when Temporal cannot be reached."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(
                        Client.connect(
                            self._settings.temporal_address,
                            namespace=self._settings.temporal_namespace,
                        ),
                        timeout=5,
                    )
                except (OSError, RuntimeError, TimeoutError) as exc:
                    raise errors.unavailable("temporal") from exc
            return self._client

    async def healthy(self) -> bool:
        try:
            client = await self.client()
            return await asyncio.wait_for(client.service_client.check_health(), timeout=3)
        except (errors.HeraldError, RuntimeError, TimeoutError):
            return False
