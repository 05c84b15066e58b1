"""``make demo``: a whole Herald on this machine, one templated send, its Operation.

Starts the fake FCM and APNs, a Temporal dev server, the API and a worker
as separate processes (:mod:`bench.process_stack`), makes an account whose
App has an FCM and an APN credential, sends "Hi {{ name }}" to five devices,
waits for the Operation to complete and prints it, with what the fake FCM
received. Everything is stopped and deleted at the end.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.process_stack import ProcessStack, process_stack

PEOPLE = [("Ada", "FCM"), ("Grace", "APN"), ("Alan", "FCM"), ("Edsger", "APN"), ("Barbara", "FCM")]


def _show(title: str, value: Any) -> None:
    print(f"\n# {title}\n{json.dumps(value, indent=2)}", flush=True)


async def demo(stack: ProcessStack) -> None:
    http = stack.new_client("demo")
    try:
        to = [
            {
                "token": f"demo-{name.lower()}-{secrets.token_hex(4)}"
                if provider == "FCM"
                else secrets.token_hex(32),
                "provider": provider,
                "variables": {"name": name},
            }
            for name, provider in PEOPLE
        ]
        body = {
            "to": to,
            "content": {"title": "Hi {{ name }}", "body": "Your order has shipped, {{ name }}."},
            "tags": {"campaign": "demo"},
        }
        r = await http.post("/PushNotifications", json=body)
        r.raise_for_status()
        _show(f"POST /v1/PushNotifications -> {r.status_code}", r.json())
        path = f"/PushNotifications/Operations/{r.json()['operationId']}"
        deadline = time.monotonic() + 60
        while True:
            op = (await http.get(path)).json()
            if op["status"] in ("COMPLETED", "CANCELED") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        _show(f"GET /v1{path}", op)
        pns = await http.get("/PushNotifications", params={"operationId": op["id"]})
        print("\n# its PushNotifications: status, provider, rendered title")
        for pn in pns.json()["pushNotifications"]:
            provider = pn["to"].get("provider", "")
            print(f"{pn['status']:<8} {provider:<4} {pn['content'].get('title')}")
    finally:
        await http.aclose()
    async with httpx.AsyncClient(verify=stack.verify()) as fake:
        seen = (await fake.get(f"{stack.fcm_control}/_fake/requests")).json()
    print("\n# what the fake FCM received")
    for request in seen:
        print(json.dumps(request["body"]["message"].get("notification")))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="herald-demo-") as tmp:
        print("starting fake FCM, fake APNs, Temporal, API and worker ...", flush=True)
        with process_stack(Path(tmp)) as stack:
            print(f"API at {stack.api_url}", flush=True)
            asyncio.run(demo(stack))
        print("\nstopped everything.")


if __name__ == "__main__":
    main()
