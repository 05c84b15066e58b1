"""Secrets at rest: Fernet for credential content, SHA-256 for auth tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from herald.settings import Settings


def load_secret_key(settings: Settings, *, create: bool = False) -> bytes:
    """The Fernet key: ``HERALD_SECRET_KEY`` or the key file (made once if ``create``)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.secret_key_file)
    if not path.exists():
        if not create:
            raise RuntimeError(
                f"no HERALD_SECRET_KEY and no key file at {path}; run `herald secret init`"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
    return path.read_bytes().strip()


class SecretBox:
    """Encrypts JSON objects; also derives a signing key for page tokens."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._mac_key = hashlib.sha256(b"herald-page-token:" + key).digest()

    def encrypt(self, value: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise RuntimeError("credential cannot be decrypted with this secret key") from exc
        return data

    def sign(self, payload: bytes) -> str:
        mac = hmac.new(self._mac_key, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")

    def unsign(self, token: str) -> bytes | None:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            return None
        payload, mac = raw[:-12], raw[-12:]
        expected = hmac.new(self._mac_key, payload, hashlib.sha256).digest()[:12]
        return payload if hmac.compare_digest(mac, expected) else None


@lru_cache(maxsize=4)
def secret_box(key: bytes) -> SecretBox:
    return SecretBox(key)


def new_auth_token() -> str:
    return secrets.token_hex(32)


def hash_token(token: str) -> str:
    """Auth tokens are 256-bit random values, so a plain SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()
