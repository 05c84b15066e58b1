"""A whole Herald as separate processes: fake FCM (HTTP/2 over TLS), fake APNs,
Temporal dev server (``--db-filename``, as ``make run``), API and one worker,
plus an account whose default App has an FCM and an APN (token auth)
credential that the fakes accept. Used by the benchmark and the demo.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from bench.processes import (
    Child,
    free_port,
    herald_env,
    start_api,
    start_fake,
    start_temporal,
    start_worker,
)
from fakes.fcm import public_key_pem
from fakes.keys import apn_token_content, fcm_content, make_p8_key, make_service_account
from herald.accounts import create_account
from herald.db import make_engine
from herald.migrate import upgrade
from herald.settings import Settings

APNS_KEY_ID = "ABC123DEFG"
APNS_TEAM_ID = "DEF123GHIJ"
APNS_TOPIC = "com.example.shop"
APP_NAME = "shop_app"


@dataclass
class ProcessStack:
    api_url: str
    database_url: str
    settings: Settings  # what the worker runs with (fake URLs, CA files)
    fcm_control: str  # the fake FCM's base URL (control API under /_fake/)
    apns_control: str | None  # the fake APNs' control URL, None when not started
    service_account: dict[str, str]
    p8_key: bytes
    children: dict[str, Child] = field(default_factory=dict)

    def verify(self) -> str | bool:
        """What httpx should trust to reach the fake FCM."""
        return self.settings.fcm_ca_file or True

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each child has used so far."""
        return {name: _cpu_seconds(child.pid) for name, child in self.children.items()}

    def fcm_requests(self) -> int:
        r = httpx.get(f"{self.fcm_control}/_fake/stats", verify=self.verify(), timeout=10)
        return int(r.json()["requests"])

    def apns_requests(self) -> int:
        if self.apns_control is None:
            return 0
        return int(httpx.get(f"{self.apns_control}/stats", timeout=10).json()["requests"])

    def new_client(self, name: str) -> httpx.AsyncClient:
        """An API client for a new account, whose App has both credentials uploaded."""
        created = create_account(make_engine(self.database_url), name)
        auth = (created.account_id, created.auth_token)
        with httpx.Client(base_url=self.api_url + "/v1", auth=auth, timeout=60) as http:
            uploads: list[tuple[str, dict[str, str]]] = [
                ("FCM", fcm_content(self.service_account))
            ]
            if self.apns_control is not None:
                uploads.append(
                    ("APN", apn_token_content(
                        self.p8_key, key_id=APNS_KEY_ID, team_id=APNS_TEAM_ID,
                        bundle_id=APNS_TOPIC,
                    ))
                )  # fmt: skip
            for kind, content in uploads:
                r = http.post(
                    "/PushNotifications/Credentials",
                    json={"credentialType": kind, "appName": APP_NAME, "content": content},
                )
                r.raise_for_status()
        return httpx.AsyncClient(base_url=self.api_url + "/v1", auth=auth, timeout=120)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def process_stack(work: Path, *, apns: bool = True) -> Iterator[ProcessStack]:
    """Start everything under ``work`` (logs in ``work/logs``); stop it all on exit."""
    logs = work / "logs"
    with ExitStack() as stack:
        children: dict[str, Child] = {}

        def keep(child: Child) -> Child:
            children[child.name] = child
            stack.callback(child.stop)
            return child

        tls_dir = str(work / "fcm")
        fcm, fcm_info = start_fake("fake-fcm", "fakes.fcm", ["--tls", "--tls-dir", tls_dir], logs)
        keep(fcm)
        account = make_service_account("herald-bench")
        httpx.post(
            f"{fcm_info['url']}/_fake/accounts",
            json={
                "client_email": account["client_email"],
                "public_key": public_key_pem(account),
                "project_id": account["project_id"],
            },
            verify=fcm_info["ca_file"],
            timeout=10,
        ).raise_for_status()

        p8 = make_p8_key()
        apns_info: dict[str, Any] | None = None
        if apns:
            key_file = work / "apns-key.p8"
            key_file.write_bytes(p8)
            token_key = f"{APNS_KEY_ID}:{APNS_TEAM_ID}:{key_file}"
            args = ["--token-key", token_key]
            child, apns_info = start_fake("fake-apns", "fakes.apns", args, logs)
            keep(child)

        temporal_port = free_port()
        keep(start_temporal(temporal_port, logs, db_file=work / "temporal.db"))
        database_url = f"sqlite:///{work / 'herald.db'}"
        upgrade(database_url)
        values: dict[str, object] = {
            "database_url": database_url,
            "secret_key": Fernet.generate_key().decode(),
            "temporal_address": f"127.0.0.1:{temporal_port}",
            "task_queue": f"herald-bench-{secrets.token_hex(4)}",
            "fcm_url": fcm_info["url"],
            "fcm_ca_file": fcm_info["ca_file"],
            "google_token_url": fcm_info["token_url"],
            "metrics_port": 0,
            "rate_limit_per_second": 1000,
            "log_level": "INFO",
        }
        if apns_info is not None:
            values |= {"apns_url": apns_info["url"], "apns_ca_file": apns_info["ca_file"]}
        env = herald_env(**values)
        keep(start_worker(env, logs))
        api_port = free_port()
        keep(start_api(env, api_port, logs))
        yield ProcessStack(
            api_url=f"http://127.0.0.1:{api_port}",
            database_url=database_url,
            settings=Settings(**values),  # type: ignore[arg-type]
            fcm_control=fcm_info["url"],
            apns_control=apns_info["control_url"] if apns_info else None,
            service_account=account,
            p8_key=p8,
            children=children,
        )
