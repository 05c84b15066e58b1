"""POST /PushNotifications: validate, store the operation (claim check), start it.

The request's recipients, variables and tokens are written to the database
in one transaction; the workflow receives only the operation id and counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from api import lookups
from api.schemas.push_notifications import SendRequest
from herald import errors, ids
from herald.models import (
    Account,
    App,
    Credential,
    IdempotencyKey,
    Operation,
    PushNotification,
    PushUser,
    Recipient,
)
from herald.tags import tag_index
from herald.templating import TemplateError, compile_template

MAX_SCHEDULE_AHEAD = timedelta(days=7)
CLOCK_SKEW = timedelta(seconds=5)
IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class PlannedOperation:
    operation: Operation
    providers: list[str]


def find_idempotent(session: Session, account: Account, key: str) -> str | None:
    row = session.get(IdempotencyKey, (account.id, key))
    if row is None:
        return None
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    if datetime.now(UTC) - created > IDEMPOTENCY_WINDOW:
        session.delete(row)
        session.flush()
        return None
    return row.operation_id


def _check_templates(request: SendRequest) -> None:
    fields: list[tuple[str, str | None]] = [
        ("content.title", request.content.title),
        ("content.body", request.content.body),
        ("content.imageUrl", request.content.imageUrl),
    ]
    fields += [(f"content.data.{k}", v) for k, v in (request.content.data or {}).items()]
    fields += [(f"tags.{k}", v) for k, v in (request.tags or {}).items()]
    for field, source in fields:
        if source is None:
            continue
        try:
            compile_template(source)
        except TemplateError as exc:
            raise errors.invalid(field, f"{field} is not a valid Liquid template: {exc}") from None


def _send_times(request: SendRequest, now: datetime) -> list[datetime]:
    if request.schedule is None:
        return [now]
    times: list[datetime] = []
    for i, at in enumerate(request.schedule.sendAt):
        field = f"schedule.sendAt[{i}]"
        if at.tzinfo is None:
            raise errors.invalid(field, f"{field} must be RFC 3339 with a time zone offset")
        at = at.astimezone(UTC)
        if at < now - CLOCK_SKEW:
            raise errors.invalid(field, f"{field} is in the past")
        if at > now + MAX_SCHEDULE_AHEAD:
            raise errors.invalid(field, f"{field} is more than 7 days ahead")
        times.append(max(at, now))
    if len(set(times)) != len(times):
        raise errors.invalid("schedule.sendAt", "schedule.sendAt has the same time twice")
    return sorted(times)


def _credential(session: Session, account: Account, ident: str, field: str) -> Credential:
    try:
        return lookups.credential(session, account, ident)
    except errors.HeraldError:
        raise errors.invalid(field, f"{field} does not name a Credential of this account") from None


def _defaults(session: Session, app: App) -> dict[str, Credential]:
    rows = session.exec(
        select(Credential).where(Credential.app_id == app.id, col(Credential.is_default).is_(True))
    ).all()
    by_type = {c.credential_type: c for c in rows}
    chosen: dict[str, Credential] = {}
    if "FCM" in by_type:
        chosen["fcm"] = by_type["FCM"]
    apn = by_type.get("APN") or by_type.get("APN_SANDBOX")
    if apn is not None:
        chosen["apn"] = apn
    return chosen


def resolve_senders(
    session: Session, account: Account, request: SendRequest
) -> tuple[App, dict[str, Credential]]:
    sender = request.from_
    if sender is not None and (sender.fcm or sender.apn):
        if sender.appName:
            raise errors.invalid("from", "from takes credential ids or appName, not both")
        chosen: dict[str, Credential] = {}
        if sender.fcm:
            chosen["fcm"] = _credential(session, account, sender.fcm, "from.fcm")
            if chosen["fcm"].credential_type != "FCM":
                raise errors.invalid("from.fcm", "from.fcm must name an FCM credential")
        if sender.apn:
            chosen["apn"] = _credential(session, account, sender.apn, "from.apn")
            if chosen["apn"].credential_type not in ("APN", "APN_SANDBOX"):
                raise errors.invalid("from.apn", "from.apn must name an APN credential")
        if len({c.app_id for c in chosen.values()}) > 1:
            raise errors.invalid("from", "from.fcm and from.apn must belong to the same App")
        app = session.get(App, next(iter(chosen.values())).app_id)
        assert app is not None
        return app, chosen
    if sender is not None and sender.appName:
        found = session.exec(
            select(App).where(App.account_id == account.id, App.name == sender.appName)
        ).first()
        if found is None:
            raise errors.invalid("from.appName", "from.appName does not name an App")
        return found, _defaults(session, found)
    default = lookups.default_app(session, account)
    if default is None:
        raise errors.invalid("from", "the account has no App: upload a Credential first")
    return default, _defaults(session, default)


def _check_recipients(
    session: Session, account: Account, request: SendRequest, senders: dict[str, Credential]
) -> None:
    user_ids: set[str] = set()
    for i, r in enumerate(request.to):
        field = f"to[{i}]"
        if r.userId is not None:
            if r.token is not None or r.provider is not None:
                raise errors.invalid(field, f"{field} takes either userId or token and provider")
            user_ids.add(r.userId)
            continue
        if r.token is None or r.provider is None:
            raise errors.invalid(field, f"{field} needs token and provider, or userId")
        if r.provider.lower() not in senders:
            raise errors.invalid(
                f"{field}.provider", f"no {r.provider} credential to send to {field} with"
            )
    if user_ids:
        known: set[str] = set()
        wanted = list(user_ids)
        for start in range(0, len(wanted), 500):
            known.update(
                session.exec(
                    select(PushUser.id).where(
                        PushUser.account_id == account.id,
                        col(PushUser.id).in_(wanted[start : start + 500]),
                    )
                ).all()
            )
        for i, r in enumerate(request.to):
            if r.userId is not None and r.userId not in known:
                raise errors.invalid(
                    f"to[{i}].userId", f"to[{i}].userId does not name a User of this account"
                )


def store_operation(
    session: Session, account: Account, request: SendRequest, idempotency_key: str | None
) -> PlannedOperation:
    """Validate the whole request, then write it in bulk; nothing is written on error."""
    now = datetime.now(UTC)
    _check_templates(request)
    times = _send_times(request, now)
    app, senders = resolve_senders(session, account, request)
    _check_recipients(session, account, request, senders)

    content = request.content.model_dump(exclude_none=True)
    operation = Operation(
        id=ids.new_id(ids.OPERATION),
        account_id=account.id,
        status="SCHEDULED",
        app_name=app.name,
        senders={k: c.id for k, c in senders.items()} | {"app_id": app.id},
        content=content,
        priority=request.priority,
        sound=request.sound,
        tags=request.tags or {},
        send_at=[t.isoformat().replace("+00:00", "Z") for t in times],
        recipients=len(request.to),
        created_at=now,
        updated_at=now,
    )
    session.add(operation)
    session.flush()
    session.execute(
        insert(Recipient),
        [
            {
                "operation_id": operation.id,
                "idx": i,
                "token": r.token,
                "provider": r.provider,
                "user_id": r.userId,
                "variables": r.variables,
            }
            for i, r in enumerate(request.to)
        ],
    )
    index = tag_index(operation.tags)
    rows: list[dict[str, Any]] = []
    for slot, at in enumerate(times):
        for i, r in enumerate(request.to):
            rows.append(
                {
                    "id": ids.new_id(ids.PUSH_NOTIFICATION),
                    "account_id": account.id,
                    "operation_id": operation.id,
                    "send_index": slot,
                    "idx": i,
                    "send_at": at,
                    "status": "SCHEDULED",
                    "user_id": r.userId,
                    "provider": r.provider,
                    "attempts": 0,
                    "tag_index": index,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    for start in range(0, len(rows), 5000):
        session.execute(insert(PushNotification), rows[start : start + 5000])
    if idempotency_key:
        session.add(
            IdempotencyKey(
                account_id=account.id, key=idempotency_key, operation_id=operation.id
            )
        )
    providers = sorted({r.provider for r in request.to if r.provider} | (
        {"users"} if any(r.userId for r in request.to) else set()
    ))
    return PlannedOperation(operation, providers)
