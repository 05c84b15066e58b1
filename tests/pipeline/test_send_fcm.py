from __future__ import annotations

import uuid
from collections import Counter

from temporalio.api.enums.v1 import EventType

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


async def test_one_recipient_send_runs_inside_the_workflow_task(
    stack: Stack, tenant: Tenant
) -> None:
    """The cheap path for small sends: local activities, no activity tasks on the
    queue, the same result and the same privacy of the history."""
    [token] = _tokens(1)
    op_id = await tenant.send(
        {
            "to": [{"token": token, "provider": "FCM", "variables": {"name": "Ada"}}],
            "content": {"title": "Hi {{ name }}", "body": "Your table is ready"},
        }
    )
    op = await tenant.wait_status(op_id, ("COMPLETED",))
    assert op["stats"]["sent"] == 1, op
    [seen] = [r for r in stack.fcm.requests() if r["body"]["message"]["token"] == token]
    assert seen["body"]["message"]["notification"]["title"] == "Hi Ada"

    history = await stack.temporal.client.get_workflow_handle(op_id).fetch_history()
    kinds = Counter(EventType.Name(e.event_type) for e in history.events)
    assert kinds["EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"] == 0, kinds
    # start_slot, deliver_batch and finish_operation, plus the version marker
    assert kinds["EVENT_TYPE_MARKER_RECORDED"] == 4, kinds
    raw = b"".join(e.SerializeToString() for e in history.events)
    assert b"deliver_batch" in raw and op_id.encode() in raw
    assert token.encode() not in raw and b"Ada" not in raw
