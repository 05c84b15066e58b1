"""Failure injection by device-token prefix (the same names as the fake FCM's).

=====================  ==================================================
token starts with      the fake APNs answers
=====================  ==================================================
``unregistered-``      410 ``Unregistered`` (with ``timestamp``)
``badtoken-``          400 ``BadDeviceToken``
``retry-after-N-``     429 ``TooManyRequests`` with ``retry-after: N``
``fail5xx-K-``         503 ``ServiceUnavailable`` for the first K requests
                       with that exact token, then as usual
``slow-MS-``           waits MS milliseconds, then answers as the rest of
                       the token says (``slow-200-badtoken-x`` is slow *and*
                       bad)
``toolarge-``          413 ``PayloadTooLarge``
``status-SSS-Reason-`` status SSS with reason ``Reason`` (APNs fake only;
                       any documented or undocumented answer)
=====================  ==================================================
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Final

__all__ = ["Fault", "FaultPlan"]

_SLOW: Final = re.compile(r"slow-(\d{1,6})-")
_RETRY_AFTER: Final = re.compile(r"retry-after-(\d{1,6})-")
_FAIL5XX: Final = re.compile(r"fail5xx-(\d{1,6})-")
_STATUS: Final = re.compile(r"status-([1-5]\d\d)-([A-Za-z]+)-")


@dataclass(frozen=True)
class Fault:
    """How to answer one request instead of 200 (``status`` 200: delay only)."""

    status: int = 200
    reason: str | None = None
    retry_after: int | None = None
    delay_seconds: float = 0.0


class FaultPlan:
    """Parses token prefixes; remembers how often each ``fail5xx-`` token was seen."""

    def __init__(self) -> None:
        self._fail_counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._fail_counts.clear()

    def fault_for(self, token: str) -> Fault | None:
        delay = 0.0
        rest = token
        slow = _SLOW.match(rest)
        if slow:
            delay = int(slow.group(1)) / 1000
            rest = rest[slow.end() :]
        answer = self._answer(token, rest)
        if answer is None:
            return Fault(delay_seconds=delay) if delay else None
        status, reason, retry_after = answer
        return Fault(status, reason, retry_after, delay)

    def _answer(self, token: str, rest: str) -> tuple[int, str, int | None] | None:
        if rest.startswith("unregistered-"):
            return 410, "Unregistered", None
        if rest.startswith("badtoken-"):
            return 400, "BadDeviceToken", None
        if rest.startswith("toolarge-"):
            return 413, "PayloadTooLarge", None
        match = _RETRY_AFTER.match(rest)
        if match:
            return 429, "TooManyRequests", int(match.group(1))
        match = _STATUS.match(rest)
        if match:
            return int(match.group(1)), match.group(2), None
        match = _FAIL5XX.match(rest)
        if match:
            with self._lock:
                seen = self._fail_counts.get(token, 0)
                self._fail_counts[token] = seen + 1
            if seen < int(match.group(1)):
                return 503, "ServiceUnavailable", None
        return None
