"""The FCM HTTP v1 request body for one :class:`PushMessage`.

``{"message": {"token", "notification": {"title", "body", "image"},
"android": {"priority", "collapse_key", "ttl", "notification": {"sound"}},
"apns": {"headers": {...}, "payload": {"aps": {...}}}, "data": {...}}}``.
The ``apns`` block carries what only iOS devices reached through FCM use
(badge, sound, priority, collapse id, expiration); ``data`` values are always
strings, as FCM requires.
"""

from __future__ import annotations

import json
import time
from typing import Any

from activities.providers.base import PushMessage

ANDROID_PRIORITY = {"HIGH": "HIGH", "LOW": "NORMAL"}
APNS_PRIORITY = {"HIGH": "10", "LOW": "5"}


def _string(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def fcm_message(message: PushMessage, *, now: float | None = None) -> dict[str, Any]:
    """The JSON object to POST to ``messages:send``."""
    notification: dict[str, str] = {"body": message.body}
    if message.title is not None:
        notification["title"] = message.title
    if message.image_url:
        notification["image"] = message.image_url

    android: dict[str, Any] = {"priority": ANDROID_PRIORITY[message.priority]}
    apns_headers = {"apns-priority": APNS_PRIORITY[message.priority]}
    if message.collapse_key:
        android["collapse_key"] = message.collapse_key
        apns_headers["apns-collapse-id"] = message.collapse_key
    if message.ttl_seconds is not None:
        ttl = max(0, message.ttl_seconds)
        android["ttl"] = f"{ttl}s"
        sent_at = time.time() if now is None else now
        apns_headers["apns-expiration"] = str(int(sent_at) + ttl if ttl else 0)
    if message.sound:
        android["notification"] = {"sound": message.sound}

    aps: dict[str, Any] = {}
    if message.sound:
        aps["sound"] = message.sound
    if message.badge is not None:
        aps["badge"] = message.badge
    if message.image_url:
        aps["mutable-content"] = 1

    apns: dict[str, Any] = {"headers": apns_headers}
    if aps:
        apns["payload"] = {"aps": aps}

    body: dict[str, Any] = {
        "token": message.token,
        "notification": notification,
        "android": android,
        "apns": apns,
    }
    if message.data:
        body["data"] = {str(key): _string(value) for key, value in message.data.items()}
    return {"message": body}


def encode(message: PushMessage) -> bytes:
    """:func:`fcm_message` as compact UTF-8 JSON."""
    return json.dumps(fcm_message(message), separators=(",", ":"), ensure_ascii=False).encode()
