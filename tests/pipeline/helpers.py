"""Small helpers for pipeline tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from fakes.fcm import FakeFcm


def tokens(n: int, prefix: str = "") -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"{prefix}tok-{run}-{i}" for i in range(n)]


def fcm_seen(fake: FakeFcm, wanted: set[str]) -> list[str]:
    """Tokens of ``wanted`` the fake received, once per request."""
    return [r["token"] for r in fake.requests() if r["token"] in wanted]


async def eventually(check: Callable[[], bool], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


def fcm_recipients(toks: list[str]) -> list[dict[str, object]]:
    return [{"token": t, "provider": "FCM"} for t in toks]
