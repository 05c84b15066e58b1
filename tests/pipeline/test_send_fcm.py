from __future__ import annotations

import uuid

from tests.pipeline.conftest import Stack
from tests.pipeline.stack import Tenant


def _tokens(n: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"tok-{run}-{i}" for i in range(n)]


async def test_templated_send_reaches_fcm_once_each(stack: Stack, tenant: Tenant) -> None:
    tokens = _tokens(300)
    op_id = await tenant.send(
        {
            "to": [
                {"token": t, "provider": "FCM", "variables": {"name": f"N{i}"}}
                for i, t in enumerate(tokens)
            ],
            "content": {"title": "Hi {{ name }}", "body": "Order for {{ name }} is ready"},
            "tags": {"campaign": "spring"},
        }
    )
    op = await tenant.wait_status(op_id, ("COMPLETED",))
    assert op["stats"]["sent"] == 300, op
    assert op["stats"]["failed"] == 0
    seen = [
        r for r in stack.fcm.requests() if r["body"]["message"]["token"] in set(tokens)
    ]
    assert len(seen) == 300
    by_token = {r["body"]["message"]["token"]: r["body"]["message"] for r in seen}
    for i, t in enumerate(tokens):
        assert by_token[t]["notification"]["title"] == f"Hi N{i}"
        assert by_token[t]["notification"]["body"] == f"Order for N{i} is ready"
    pns = await tenant.push_notifications(operationId=op_id)
    assert len(pns) == 300
    assert {p["status"] for p in pns} == {"SENT"}
