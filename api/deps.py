"""Request dependencies: settings, database session, authentication, paging."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

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


def current_account(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)],
) -> Account:
    if credentials is None:
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
            {"retryAfterSeconds": wait},
            {"Retry-After": retry_after_header(wait)},
        )
    request.state.account_id = account.id
    return account


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


def list_params(
    pageSize: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    pageToken: Annotated[str | None, Query(max_length=512)] = None,
    startDate: Annotated[
        datetime | None, Query(description="RFC 3339; only resources created at or after")
    ] = None,
    endDate: Annotated[
        datetime | None, Query(description="RFC 3339; only resources created before")
    ] = None,
) -> ListParams:
    for name, value in (("startDate", startDate), ("endDate", endDate)):
        if value is not None and value.tzinfo is None:
            raise errors.invalid(name, f"{name} must be RFC 3339 with a time zone offset")
    return ListParams(
        pageSize,
        pageToken,
        as_utc(startDate) if startDate else None,
        as_utc(endDate) if endDate else None,
    )


AccountDep = Annotated[Account, Depends(current_account)]
SessionDep = Annotated[Session, Depends(get_session)]
BoxDep = Annotated[SecretBox, Depends(get_box)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ListDep = Annotated[ListParams, Depends(list_params)]
