"""Helpers for the APNs tests: settings pointing at fakes, credentials, messages."""

from __future__ import annotations

import socket

from activities.providers.base import CredentialType, ProviderCredential, PushMessage
from fakes.apns import FakeApns
from fakes.keys import PemPair, apn_certificate_content, apn_token_content, make_apn_certificate
from herald.settings import Settings

KEY_ID = "ABC123DEFG"
TEAM_ID = "DEF123GHIJ"
TOPIC = "com.example.shop"


def settings_for(
    production: FakeApns | str,
    sandbox: FakeApns | str | None = None,
    *,
    ca_file: str | None = None,
    timeout: float = 5.0,
) -> Settings:
    def url(target: FakeApns | str) -> str:
        return target if isinstance(target, str) else target.url

    if ca_file is None and isinstance(production, FakeApns):
        ca_file = production.ca_file
    return Settings(
        apns_url=url(production),
        apns_sandbox_url=url(sandbox if sandbox is not None else production),
        apns_ca_file=ca_file,
        apns_timeout_seconds=timeout,
    )


def certificate_credential(
    ca: PemPair,
    *,
    credential_type: CredentialType = "APN",
    topic: str = TOPIC,
    sandbox: bool = False,
    metadata_topic: str | None = None,
    name: str = "cert",
) -> ProviderCredential:
    pair = make_apn_certificate(topic, ca=ca, sandbox=sandbox)
    metadata = {"auth": "certificate", "topic": metadata_topic or topic}
    return ProviderCredential(
        id=f"comms_credential_{name}",
        type=credential_type,
        content=apn_certificate_content(pair),
        metadata=metadata,
    )


def token_credential(
    p8: bytes,
    *,
    credential_type: CredentialType = "APN",
    key_id: str = KEY_ID,
    name: str = "token",
) -> ProviderCredential:
    return ProviderCredential(
        id=f"comms_credential_{name}",
        type=credential_type,
        content=apn_token_content(p8, key_id=key_id, team_id=TEAM_ID, bundle_id=TOPIC),
        metadata={"auth": "token", "topic": TOPIC, "keyId": key_id, "teamId": TEAM_ID},
    )


def message(token: str, **fields: object) -> PushMessage:
    return PushMessage(token=token, body=str(fields.pop("body", "Your order is ready")), **fields)  # type: ignore[arg-type]


def refused_url() -> str:
    """An https URL on a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"https://127.0.0.1:{port}"


def records_for(fake: FakeApns, token: str) -> list[dict[str, object]]:
    return [r for r in fake.requests() if r["token"] == token]
