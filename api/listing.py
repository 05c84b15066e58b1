"""Keyset pagination of a SELECT, with the shared date filters."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from api.deps import ListParams
from api.schemas.common import Pagination
from herald import pagination
from herald.crypto import SecretBox

T = TypeVar("T")


def page(
    session: Session,
    box: SecretBox,
    kind: str,
    stmt: SelectOfScalar[T],
    key: InstrumentedAttribute[Any],
    created: InstrumentedAttribute[Any],
    params: ListParams,
) -> tuple[list[T], Pagination]:
    cursor = pagination.decode(box, kind, params.page_token)
    if params.start is not None:
        stmt = stmt.where(col(created) >= params.start)
    if params.end is not None:
        stmt = stmt.where(col(created) < params.end)
    if cursor.after is not None:
        stmt = stmt.where(col(key) > cursor.after)
    rows = list(session.exec(stmt.order_by(col(key)).limit(params.page_size + 1)))
    more = len(rows) > params.page_size
    rows = rows[: params.page_size]
    this = pagination.encode(box, kind, cursor)
    following = None
    if more:
        following = pagination.encode(box, kind, pagination.Cursor(getattr(rows[-1], key.key)))
    return rows, Pagination(next=following, self=this)
