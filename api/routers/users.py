"""Users: created by DeviceRegistrations, live until deleted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlmodel import Session, col, delete, select

from api import lookups
from api.deps import AccountDep, BoxDep, ListDep, SessionDep, WriterDep
from api.listing import page
from api.responses import accepted
from api.schemas.common import ResourceAccepted, error_responses
from api.schemas.registrations import UserList, UserPublic
from herald import ids
from herald.models import Device, DeviceRegistration, PushUser
from herald.timefmt import iso

router = APIRouter(prefix="/Users", tags=["Users"])
UserIdPath = Annotated[
    str,
    Path(
        pattern=ids.id_pattern(ids.USER),
        examples=["comms_pushnotificationuser_01jd0000000000000000000000"],
    ),
]


def public(user: PushUser, registrations: list[str]) -> UserPublic:
    return UserPublic(
        id=user.id,
        deviceRegistrations=registrations,
        createdAt=iso(user.created_at),
        updatedAt=iso(user.updated_at),
    )


def registrations_of(session: Session, user_ids: list[str]) -> dict[str, list[str]]:
    """Each User's DeviceRegistration ids, in id order (one query for a whole page)."""
    found: dict[str, list[str]] = {u: [] for u in user_ids}
    if user_ids:
        rows = session.exec(
            select(DeviceRegistration.user_id, DeviceRegistration.id)
            .where(col(DeviceRegistration.user_id).in_(user_ids))
            .order_by(col(DeviceRegistration.id))
        )
        for user_id, registration_id in rows:
            found[user_id].append(registration_id)
    return found


@router.get("/{userId}", response_model=UserPublic, responses=error_responses(400, 404))
def get_user(userId: UserIdPath, account: AccountDep, session: SessionDep) -> UserPublic:
    user = lookups.user(session, account, userId)
    return public(user, registrations_of(session, [user.id])[user.id])


@router.get("", response_model=UserList, responses=error_responses(400))
def list_users(
    account: AccountDep, session: SessionDep, box: BoxDep, params: ListDep
) -> UserList:
    stmt = select(PushUser).where(PushUser.account_id == account.id)
    rows, pagination = page(
        session, box, "users", stmt, PushUser.id, PushUser.created_at, params  # type: ignore[arg-type]
    )
    registrations = registrations_of(session, [u.id for u in rows])
    return UserList(users=[public(u, registrations[u.id]) for u in rows], pagination=pagination)


@router.delete(
    "/{userId}",
    status_code=202,
    response_model=ResourceAccepted,
    responses=error_responses(400, 404),
)
def delete_user(
    userId: UserIdPath,
    account: WriterDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> ResourceAccepted:
    user = lookups.user(session, account, userId)
    answer = accepted(request, response, user.id, f"Users/{user.id}")
    registrations = select(DeviceRegistration.id).where(DeviceRegistration.user_id == user.id)
    session.exec(delete(Device).where(col(Device.registration_id).in_(registrations)))
    session.exec(delete(DeviceRegistration).where(col(DeviceRegistration.user_id) == user.id))
    session.delete(user)
    return answer
