"""The fake FCM as its own process (``python -m fakes.fcm``) and its control API."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from activities.providers.base import Outcome, ProviderCredential, PushMessage
from activities.providers.fcm import FcmClient, make_fcm_http_client
from activities.providers.google_tokens import GoogleTokenCache
from fakes.fcm import public_key_pem
from fakes.keys import fcm_content, make_service_account
from herald.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fake_process() -> Iterator[dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakes.fcm", "--tls", "--token-ttl", "120"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        yield json.loads(line)
    finally:
        proc.terminate()
        proc.wait(10)


async def test_cli_fake_serves_tokens_sends_and_control_api(
    fake_process: dict[str, str],
) -> None:
    url, ca_file = fake_process["url"], fake_process["ca_file"]
    assert fake_process["token_url"] == url + "/token"
    account = make_service_account("cli-project", client_email="cli@cli-project.example")
    async with httpx.AsyncClient(
        base_url=url, verify=ssl.create_default_context(cafile=ca_file)
    ) as control:
        registered = await control.post(
            "/_fake/accounts",
            json={
                "client_email": account["client_email"],
                "public_key": public_key_pem(account),
                "project_id": "cli-project",
            },
        )
        assert registered.status_code == 200
        assert (
            await control.post("/_fake/accounts", json={"client_email": "x"})
        ).status_code == 400

        settings = Settings(
            fcm_url=url, google_token_url=fake_process["token_url"], fcm_ca_file=ca_file
        )
        http = make_fcm_http_client(settings)
        tokens = GoogleTokenCache(settings)
        credential = ProviderCredential("comms_credential_cli", "FCM", fcm_content(account), {})
        try:
            client = FcmClient(credential, http, settings, tokens=tokens)
            ok = await client.send(PushMessage(token="cli-device", body="hello", data={"a": "1"}))
            gone = await client.send(PushMessage(token="unregistered-cli", body="hello"))
        finally:
            await http.aclose()
            tokens.close()
        assert ok.outcome is Outcome.SENT
        assert gone.outcome is Outcome.INVALID_TOKEN

        stats = (await control.get("/_fake/stats")).json()
        assert stats["token_fetches"] == 1
        assert stats["requests"] == 2
        assert stats["connections"] >= 1
        assert stats["http_versions"]["2"] >= 2
        seen = (await control.get("/_fake/requests")).json()
        assert [r["token"] for r in seen] == ["cli-device", "unregistered-cli"]
        assert seen[0]["body"]["message"]["data"] == {"a": "1"}
        assert seen[0]["project"] == "cli-project"

        assert (await control.post("/_fake/config", json={"token_ttl": 5})).status_code == 200
        token = await control.post(
            "/token", data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}
        )
        assert token.status_code == 400  # no assertion

        assert (await control.post("/_fake/reset")).status_code == 200
        stats = (await control.get("/_fake/stats")).json()
        assert (stats["token_fetches"], stats["requests"]) == (0, 0)
        assert (await control.get("/_fake/requests")).json() == []
