"""Request dependencies: settings, database session, authentication, paging."""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import WithJsonSchema
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, update

from api.ratelimit import RateLimiter, retry_after_header
from herald import errors
from herald.crypto import SecretBox, hash_token
from herald.models import Account
from herald.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from herald.settings import Settings
from herald.timefmt import as_utc


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.box
    return box


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent.

    Used with ``scope="function"`` (see :data:`SessionDep`): with FastAPI's
    default request scope the commit would run after the answer left, so a
    202 could precede a failed commit and a client's next request could miss
    what it just wrote.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise errors.unavailable("database") from exc
        except BaseException:
            session.rollback()
            raise


basic = HTTPBasic(auto_error=False, description="accountId:authToken")


# Every user of the session must name the same scope, or FastAPI makes two sessions.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def current_account(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)],
) -> Account:
    if credentials is None or not _plausible_account_id(credentials.username):
        raise _unauthorized()
    account = session.get(Account, credentials.username)
    if account is None or not hmac.compare_digest(
        account.auth_token_hash, hash_token(credentials.password)
    ):
        raise _unauthorized()
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.acquire(account.id)
    if wait > 0:
        raise errors.HeraldError(
            errors.RATE_LIMITED,
            "too many requests for this account",
            {"retryAfterSeconds": round(wait, 3)},
            {"Retry-After": retry_after_header(wait)},
        )
    request.state.account_id = account.id
    return account


def lock_account(session: Session, account: Account) -> None:
    """Hold the account until this request's transaction ends.

    Limits (10 Apps, 10 Credentials per App, 50 devices), "exactly one
    default" and "a token lives in one registration" are checked by reading
    then writing; two requests of one account doing that at once would both
    pass. A no-op UPDATE of the account row makes each account's writers take
    turns: a row lock on PostgreSQL, the database write lock on SQLite (which
    begins a transaction only at the first write). Take it before the reads
    the write depends on, after any slow work that needs no lock.
    """
    session.exec(update(Account).where(col(Account.id) == account.id).values(name=Account.name))


def writing_account(
    account: Annotated[Account, Depends(current_account)], session: SessionDep
) -> Account:
    """The caller's account, locked (:func:`lock_account`) for a write."""
    lock_account(session, account)
    return account


def _plausible_account_id(value: str) -> bool:
    """Worth a lookup: PostgreSQL refuses some strings (NUL) outright."""
    return 0 < len(value) <= 40 and value.isascii() and value.isprintable()


def _unauthorized() -> errors.HeraldError:
    return errors.HeraldError(
        errors.UNAUTHORIZED,
        "authenticate with HTTP Basic accountId:authToken",
        {},
        {"WWW-Authenticate": 'Basic realm="herald"'},
    )


@dataclass(frozen=True)
class ListParams:
    page_size: int
    page_token: str | None
    start: datetime | None
    end: datetime | None


_RFC3339 = re.compile(
    r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:\d\d)"
)
_DATE_DOC = "RFC 3339 date-time with an offset, e.g. 2026-11-23T10:00:00Z"


def rfc3339(name: str, value: str | None) -> datetime | None:
    """Parse a query date strictly (no bare dates, no epoch numbers) to UTC."""
    if value is None:
        return None
    problem = f"{name} must be an {_DATE_DOC}"
    if not _RFC3339.fullmatch(value):
        raise errors.invalid(name, problem)
    try:
        return as_utc(datetime.fromisoformat(value.upper().replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        raise errors.invalid(name, problem) from None


DateQuery = Annotated[
    str, WithJsonSchema({"type": "string", "format": "date-time", "maxLength": 40})
]


def _date_query(description: str) -> Any:
    return Query(description=f"{_DATE_DOC}; only resources {description}", max_length=40)


def list_params(
    pageSize: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    pageToken: Annotated[str | None, Query(max_length=512)] = None,
    startDate: Annotated[DateQuery | None, _date_query("created at or after")] = None,
    endDate: Annotated[DateQuery | None, _date_query("created before")] = None,
) -> ListParams:
    return ListParams(
        pageSize,
        pageToken,
        rfc3339("startDate", startDate),
        rfc3339("endDate", endDate),
    )


AccountDep = Annotated[Account, Depends(current_account)]
WriterDep = Annotated[Account, Depends(writing_account)]
BoxDep = Annotated[SecretBox, Depends(get_box)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ListDep = Annotated[ListParams, Depends(list_params)]
