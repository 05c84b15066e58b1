"""PushNotifications: send (one Temporal workflow per request), fetch, list."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, col, select

from api.deps import AccountDep, BoxDep, ListDep, SessionDep, SettingsDep
from api.listing import page
from api.responses import location
from api.schemas.common import Provider, error_responses
from api.schemas.push_notifications import (
    DeliveryPublic,
    PushNotificationList,
    PushNotificationPublic,
    SendAccepted,
    SendRequest,
)
from api.send import find_idempotent, store_operation
from api.workflow_start import start_operation
from herald import errors, ids
from herald.models import Delivery, Operation, PushNotification, Recipient
from herald.tags import like_pattern, parse_filter
from herald.timefmt import iso

router = APIRouter(prefix="", tags=["PushNotifications"])
PnStatus = Literal["SCHEDULED", "QUEUED", "SENT", "FAILED", "CANCELED"]


@router.post(
    "",
    status_code=202,
    response_model=SendAccepted,
    responses=error_responses(400),
    summary="Send a push notification to up to 10,000 recipients",
)
async def send(
    body: SendRequest,
    account: AccountDep,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> SendAccepted:
    if idempotency_key:
        existing = await run_in_threadpool(find_idempotent, session, account, idempotency_key)
        if existing is not None:
            return _accepted(request, response, existing)
    planned = await run_in_threadpool(store_operation, session, account, body, idempotency_key)
    # The rows are written but not committed: if Temporal refuses the workflow the
    # session rolls back and nothing of the operation stays behind.
    await start_operation(request.app.state.temporal, settings, account.id, planned)
    await run_in_threadpool(session.commit)
    return _accepted(request, response, planned.operation.id)


def _accepted(request: Request, response: Response, operation_id: str) -> SendAccepted:
    url = location(request, f"Operations/{operation_id}")
    response.headers["Location"] = url
    return SendAccepted(operationId=operation_id, operationLocation=url)


def public(
    session: Session, pn: PushNotification, op: Operation, recipient: Recipient | None
) -> PushNotificationPublic:
    to: dict[str, str] = {}
    if recipient is not None and recipient.user_id:
        to = {"userId": recipient.user_id}
    elif recipient is not None and recipient.token and recipient.provider:
        to = {"token": recipient.token, "provider": recipient.provider}
    deliveries = session.exec(
        select(Delivery)
        .where(Delivery.push_notification_id == pn.id)
        .order_by(col(Delivery.id))
    ).all()
    return PushNotificationPublic(
        id=pn.id,
        operationId=pn.operation_id,
        status=pn.status,
        to=to,
        sendAt=iso(pn.send_at),
        priority=op.priority,
        sound=op.sound,
        content=pn.content if pn.content is not None else op.content,
        tags=pn.tags if pn.tags is not None else op.tags,
        deliveries=[
            DeliveryPublic(
                provider=d.provider,
                status=d.status,
                providerMessageId=d.provider_message_id,
                token=d.token,
            )
            for d in deliveries
        ],
        createdAt=iso(pn.created_at),
        updatedAt=iso(pn.updated_at),
    )


def _public_many(session: Session, rows: list[PushNotification]) -> list[PushNotificationPublic]:
    ops: dict[str, Operation] = {}
    out = []
    for pn in rows:
        if pn.operation_id not in ops:
            found = session.get(Operation, pn.operation_id)
            assert found is not None
            ops[pn.operation_id] = found
        recipient = session.exec(
            select(Recipient).where(
                Recipient.operation_id == pn.operation_id, Recipient.idx == pn.idx
            )
        ).first()
        out.append(public(session, pn, ops[pn.operation_id], recipient))
    return out


@router.get(
    "/{pushNotificationId}",
    response_model=PushNotificationPublic,
    responses=error_responses(400, 404),
)
def get_push_notification(
    pushNotificationId: Annotated[str, Path(pattern=ids.id_pattern(ids.PUSH_NOTIFICATION))],
    account: AccountDep,
    session: SessionDep,
) -> PushNotificationPublic:
    pn = session.get(PushNotification, pushNotificationId)
    if pn is None or pn.account_id != account.id:
        raise errors.not_found("PushNotification", pushNotificationId)
    return _public_many(session, [pn])[0]


@router.get("", response_model=PushNotificationList, responses=error_responses(400))
def list_push_notifications(
    account: AccountDep,
    session: SessionDep,
    box: BoxDep,
    params: ListDep,
    operationId: Annotated[str | None, Query(pattern=ids.id_pattern(ids.OPERATION))] = None,
    status: Annotated[PnStatus | None, Query()] = None,
    tags: Annotated[
        str | None, Query(max_length=4000, description="k:v;k:v; (all must match)")
    ] = None,
    user: Annotated[str | None, Query(pattern=ids.id_pattern(ids.USER))] = None,
    provider: Annotated[Provider | None, Query()] = None,
) -> PushNotificationList:
    stmt = select(PushNotification).where(PushNotification.account_id == account.id)
    if operationId is not None:
        stmt = stmt.where(PushNotification.operation_id == operationId)
    if status is not None:
        stmt = stmt.where(PushNotification.status == status)
    if user is not None:
        stmt = stmt.where(PushNotification.user_id == user)
    if provider is not None:
        by_device = select(Delivery.push_notification_id).where(Delivery.provider == provider)
        stmt = stmt.where(
            (col(PushNotification.provider) == provider) | col(PushNotification.id).in_(by_device)
        )
    if tags is not None:
        try:
            needles = parse_filter(tags)
        except ValueError as exc:
            raise errors.invalid("tags", str(exc)) from None
        for needle in needles:
            stmt = stmt.where(col(PushNotification.tag_index).like(like_pattern(needle), "\\"))
    rows, pagination = page(
        session,
        box,
        "pushNotifications",
        stmt,
        PushNotification.id,  # type: ignore[arg-type]
        PushNotification.created_at,  # type: ignore[arg-type]
        params,
    )
    return PushNotificationList(
        pushNotifications=_public_many(session, rows), pagination=pagination
    )


