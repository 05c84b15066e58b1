"""Start an operation's workflow (id = operationId) with its search attributes."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

from api.send import PlannedOperation
from api.temporal import TemporalConnection
from herald import errors
from herald.settings import Settings
from workflows.inputs import WORKFLOW_NAME, OperationInput

ACCOUNT_ATTRIBUTE = SearchAttributeKey.for_keyword("HeraldAccountId")
STATUS_ATTRIBUTE = SearchAttributeKey.for_keyword("HeraldStatus")


def _summary(planned: PlannedOperation) -> str:
    op = planned.operation
    when = op.send_at[0]
    if len(op.send_at) > 1:
        when = f"{len(op.send_at)} times from {when}"
    return (
        f"{op.recipients} recipients ({', '.join(planned.providers)}) "
        f"via app {op.app_name}, sendAt {when}"
    )


async def start_operation(
    temporal: TemporalConnection, settings: Settings, account_id: str, planned: PlannedOperation
) -> None:
    """Raises a 503 HeraldError when Temporal cannot take the workflow."""
    client = await temporal.client()
    op = planned.operation
    try:
        await client.start_workflow(
            WORKFLOW_NAME,
            OperationInput(operation_id=op.id, send_at=op.send_at, recipients=op.recipients),
            id=op.id,
            task_queue=settings.task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(ACCOUNT_ATTRIBUTE, account_id),
                    SearchAttributePair(STATUS_ATTRIBUTE, "SCHEDULED"),
                ]
            ),
            static_summary=_summary(planned),
            rpc_timeout=timedelta(seconds=10),
        )
    except (RPCError, RuntimeError, OSError) as exc:
        raise errors.unavailable("temporal") from exc
