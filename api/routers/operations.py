"""Operations: one per send request; progress, errors and cancel."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, select
from temporalio.client import WorkflowExecutionStatus, WorkflowQueryRejectedError
from temporalio.common import QueryRejectCondition
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError

from api.deps import AccountDep, BoxDep, ListDep, SessionDep
from api.listing import page
from api.responses import accepted
from api.schemas.common import ResourceAccepted, error_responses
from api.schemas.operations import (
    ErrorCountPublic,
    OperationErrorList,
    OperationErrorPublic,
    OperationList,
    OperationPublic,
)
from api.temporal import TemporalConnection
from herald import errors, ids
from herald.models import Account, DeliveryError, Operation
from herald.operation_close import close_operation
from herald.operation_stats import compute_stats, error_summary
from herald.timefmt import iso
from workflows.inputs import CANCEL_SIGNAL, PROGRESS_QUERY, Progress

router = APIRouter(prefix="/Operations", tags=["Operations"])
OperationIdPath = Annotated[str, Path(pattern=ids.id_pattern(ids.OPERATION))]
FINAL = ("COMPLETED", "CANCELED")
#: Workflow ends that never ran ``finish_operation``: the API closes the record.
ABANDONED = (
    WorkflowExecutionStatus.TERMINATED,
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.TIMED_OUT,
)
QUERY_TIMEOUT = timedelta(seconds=3)


def _operation(session: Session, account: Account, operation_id: str) -> Operation:
    op = session.get(Operation, operation_id)
    if op is None or op.account_id != account.id:
        raise errors.not_found("Operation", operation_id)
    return op


def public(op: Operation, progress: Progress) -> OperationPublic:
    return OperationPublic(
        id=op.id,
        status=progress.status,
        stats=progress.stats,
        errorSummary=[ErrorCountPublic.model_validate(e) for e in progress.error_summary],
        schedule={"sendAt": op.send_at},
        tags=op.tags,
        appName=op.app_name,
        createdAt=iso(op.created_at),
        updatedAt=iso(op.updated_at),
    )


def stored_progress(session: Session, op: Operation) -> Progress:
    """The closed operation's record, or the live counts from the database."""
    if op.status in FINAL and op.stats is not None:
        return Progress(op.status, op.stats, list(op.error_summary or []))
    return Progress(
        op.status,
        compute_stats(session, op.id, op.recipients),
        list(error_summary(session, op.id)),
    )


async def live_progress(
    temporal: TemporalConnection, session: Session, op: Operation
) -> Progress | None:
    """Ask the running workflow; None when it is closed or cannot answer now.

    Temporal would answer a query on a closed workflow by replaying it, so the
    query is refused unless the workflow is open; when it closed without
    closing the record, the record is closed here (:func:`settle_abandoned`).
    """
    try:
        client = await temporal.client()
        handle = client.get_workflow_handle(op.id)
        answer: Progress = await asyncio.wait_for(
            handle.query(
                PROGRESS_QUERY,
                result_type=Progress,
                reject_condition=QueryRejectCondition.NOT_OPEN,
                rpc_timeout=QUERY_TIMEOUT,
            ),
            timeout=QUERY_TIMEOUT.total_seconds() + 1,
        )
        return answer
    except WorkflowQueryRejectedError as exc:
        await settle_abandoned(session, op, exc.status)
        return None
    except (errors.HeraldError, TemporalError, TimeoutError, RuntimeError):
        return None


async def settle_abandoned(
    session: Session, op: Operation, status: WorkflowExecutionStatus | None
) -> bool:
    """Close the record of an operation whose workflow ended without closing it
    (an operator terminated it, or it failed or timed out): the operation is
    CANCELED, and so is whatever was not sent. False for any other status."""
    if status not in ABANDONED:
        return False

    def close() -> None:
        close_operation(session, op, True, datetime.now(UTC))
        session.commit()  # now: the request may still end in an error (409)
        session.refresh(op)

    await run_in_threadpool(close)
    return True


@router.get("/{operationId}", response_model=OperationPublic, responses=error_responses(400, 404))
async def get_operation(
    operationId: OperationIdPath, account: AccountDep, session: SessionDep, request: Request
) -> OperationPublic:
    op = await run_in_threadpool(_operation, session, account, operationId)
    progress = None
    if op.status not in FINAL:
        progress = await live_progress(request.app.state.temporal, session, op)
    if progress is None:
        progress = await run_in_threadpool(stored_progress, session, op)
    return public(op, progress)


@router.get("", response_model=OperationList, responses=error_responses(400))
def list_operations(
    account: AccountDep, session: SessionDep, box: BoxDep, params: ListDep
) -> OperationList:
    stmt = select(Operation).where(Operation.account_id == account.id)
    rows, pagination = page(
        session, box, "operations", stmt, Operation.id, Operation.created_at, params  # type: ignore[arg-type]
    )
    return OperationList(
        operations=[public(op, stored_progress(session, op)) for op in rows],
        pagination=pagination,
    )


@router.get(
    "/{operationId}/Errors",
    response_model=OperationErrorList,
    responses=error_responses(400, 404),
)
def list_operation_errors(
    operationId: OperationIdPath,
    account: AccountDep,
    session: SessionDep,
    box: BoxDep,
    params: ListDep,
) -> OperationErrorList:
    op = _operation(session, account, operationId)
    stmt = select(DeliveryError).where(DeliveryError.operation_id == op.id)
    rows, pagination = page(
        session,
        box,
        f"operationErrors:{op.id}",
        stmt,
        DeliveryError.id,  # type: ignore[arg-type]
        DeliveryError.occurred_at,  # type: ignore[arg-type]
        params,
    )
    return OperationErrorList(
        operationErrors=[
            OperationErrorPublic(
                pushNotificationId=e.push_notification_id,
                recipient=(
                    {"token": e.token, "provider": e.provider or ""}
                    if e.token
                    else ({"userId": e.user_id} if e.user_id else {})
                )
                | ({"userId": e.user_id} if e.user_id else {}),
                code=e.code,
                provider=e.provider,
                providerStatus=e.provider_status,
                message=e.message,
                attempts=e.attempts,
                retryable=e.retryable,
                occurredAt=iso(e.occurred_at),
            )
            for e in rows
        ],
        pagination=pagination,
    )


@router.post(
    "/{operationId}/Cancel",
    status_code=202,
    response_model=ResourceAccepted,
    responses=error_responses(400, 404, 409),
)
async def cancel_operation(
    operationId: OperationIdPath,
    account: AccountDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> ResourceAccepted:
    op = await run_in_threadpool(_operation, session, account, operationId)
    if op.status in FINAL:
        raise errors.conflict(f"the operation is already {op.status}", status=op.status)
    client = await request.app.state.temporal.client()
    handle = client.get_workflow_handle(op.id)
    try:
        description = await handle.describe()
    except RPCError as exc:
        raise errors.unavailable("temporal") from exc
    if await settle_abandoned(session, op, description.status):
        raise errors.conflict(f"the operation is already {op.status}", status=op.status)
    if description.status != WorkflowExecutionStatus.RUNNING:
        raise errors.conflict("the operation has already finished", status=op.status)
    try:
        await handle.signal(CANCEL_SIGNAL)
    except RPCError as exc:
        raise errors.unavailable("temporal") from exc
    return accepted(request, response, op.id, f"Operations/{op.id}")
