"""Opaque, signed keyset page tokens.

A token carries the last key of the previous page (``after``) and is signed,
so a tampered or foreign token is rejected instead of silently paging wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from herald.crypto import SecretBox
from herald.errors import invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Cursor:
    after: str | int | None


def encode(box: SecretBox, kind: str, cursor: Cursor) -> str:
    payload = json.dumps({"k": kind, "a": cursor.after}, separators=(",", ":")).encode()
    return box.sign(payload)


def decode(box: SecretBox, kind: str, token: str | None) -> Cursor:
    if not token:
        return Cursor(after=None)
    payload = box.unsign(token)
    data: Any = None
    if payload is not None:
        try:
            data = json.loads(payload)
        except ValueError:
            data = None
    if not isinstance(data, dict) or data.get("k") != kind:
        raise invalid("pageToken", "pageToken is not valid for this list")
    after = data.get("a")
    if after is not None and not isinstance(after, str | int):
        raise invalid("pageToken", "pageToken is not valid for this list")
    return Cursor(after=after)
