"""DeviceRegistrations: a User's devices in one App (at most 50)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlmodel import Session, col, delete, select

from api import lookups
from api.deps import AccountDep, BoxDep, ListDep, SessionDep, WriterDep
from api.listing import page
from api.responses import accepted
from api.schemas.common import AppName, ResourceAccepted, error_responses
from api.schemas.registrations import (
    DevicePublic,
    RegistrationAccepted,
    RegistrationCreate,
    RegistrationList,
    RegistrationPublic,
)
from herald import errors, ids
from herald.models import App, Device, DeviceRegistration, PushUser, utcnow
from herald.timefmt import iso

router = APIRouter(prefix="/DeviceRegistrations", tags=["DeviceRegistrations"])
RegistrationIdPath = Annotated[
    str,
    Path(
        pattern=ids.id_pattern(ids.DEVICE_REGISTRATION),
        examples=["comms_device_registration_01jd0000000000000000000000"],
    ),
]
MAX_DEVICES = 50


def public(session: Session, registration: DeviceRegistration, app_name: str) -> RegistrationPublic:
    devices = session.exec(
        select(Device)
        .where(Device.registration_id == registration.id)
        .order_by(col(Device.id))
    ).all()
    return RegistrationPublic(
        id=registration.id,
        appName=app_name,
        userId=registration.user_id,
        devices=[
            DevicePublic(token=d.token, provider=d.provider, createdAt=iso(d.created_at))
            for d in devices
        ],
        createdAt=iso(registration.created_at),
        updatedAt=iso(registration.updated_at),
    )


@router.post(
    "",
    status_code=202,
    response_model=RegistrationAccepted,
    responses=error_responses(400, 409),
)
def register_device(
    body: RegistrationCreate,
    account: WriterDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> RegistrationAccepted:
    app = session.exec(
        select(App).where(App.account_id == account.id, App.name == body.appName)
    ).first()
    if app is None:
        raise errors.invalid("appName", "appName does not name an App of this account")
    if body.userId is None:
        user = PushUser(id=ids.new_id(ids.USER), account_id=account.id)
        session.add(user)
    else:
        found = session.get(PushUser, body.userId)
        if found is None or found.account_id != account.id:
            raise errors.invalid("userId", "userId does not name a User of this account")
        user = found
    registration = session.exec(
        select(DeviceRegistration).where(
            DeviceRegistration.app_id == app.id, DeviceRegistration.user_id == user.id
        )
    ).first()
    if registration is None:
        registration = DeviceRegistration(
            id=ids.new_id(ids.DEVICE_REGISTRATION),
            account_id=account.id,
            app_id=app.id,  # type: ignore[arg-type]
            user_id=user.id,
        )
        session.add(registration)
        session.flush()
    existing = session.exec(
        select(Device).where(Device.app_id == app.id, Device.token == body.token)
    ).first()
    if existing is not None and existing.registration_id == registration.id:
        if existing.provider != body.provider:
            existing.provider = body.provider
            session.add(existing)
    else:
        count = len(
            session.exec(
                select(Device.id).where(Device.registration_id == registration.id)
            ).all()
        )
        if count >= MAX_DEVICES:
            raise errors.conflict(
                f"a DeviceRegistration holds at most {MAX_DEVICES} devices", field="token"
            )
        if existing is not None:
            _move_away(session, existing)
        session.add(
            Device(
                registration_id=registration.id,
                app_id=app.id,  # type: ignore[arg-type]
                token=body.token,
                provider=body.provider,
            )
        )
    registration.updated_at = utcnow()
    session.add(registration)
    answer = accepted(
        request, response, registration.id, f"DeviceRegistrations/{registration.id}"
    )
    return RegistrationAccepted(**answer.model_dump(), userId=user.id)


def _move_away(session: Session, device: Device) -> None:
    """Take a token from its old registration; an emptied registration goes."""
    old = device.registration_id
    session.delete(device)
    session.flush()
    left = session.exec(select(Device.id).where(Device.registration_id == old)).first()
    if left is None:
        session.exec(delete(DeviceRegistration).where(col(DeviceRegistration.id) == old))


@router.get(
    "/{deviceRegistrationId}",
    response_model=RegistrationPublic,
    responses=error_responses(400, 404),
)
def get_registration(
    deviceRegistrationId: RegistrationIdPath, account: AccountDep, session: SessionDep
) -> RegistrationPublic:
    registration = lookups.registration(session, account, deviceRegistrationId)
    app = session.get(App, registration.app_id)
    assert app is not None
    return public(session, registration, app.name)


@router.get("", response_model=RegistrationList, responses=error_responses(400))
def list_registrations(
    account: AccountDep,
    session: SessionDep,
    box: BoxDep,
    params: ListDep,
    userId: Annotated[
        str,
        Query(
            pattern=ids.id_pattern(ids.USER),
            examples=["comms_pushnotificationuser_01jd0000000000000000000000"],
        ),
    ],
    appName: Annotated[AppName | None, Query(examples=["shop_app"])] = None,
) -> RegistrationList:
    stmt = select(DeviceRegistration).where(
        DeviceRegistration.account_id == account.id, DeviceRegistration.user_id == userId
    )
    apps = {
        a.id: a.name for a in session.exec(select(App).where(App.account_id == account.id))
    }
    if appName is not None:
        app_ids = [i for i, n in apps.items() if n == appName]
        stmt = stmt.where(col(DeviceRegistration.app_id).in_(app_ids))
    rows, pagination = page(
        session,
        box,
        "deviceRegistrations",
        stmt,
        DeviceRegistration.id,  # type: ignore[arg-type]
        DeviceRegistration.created_at,  # type: ignore[arg-type]
        params,
    )
    return RegistrationList(
        deviceRegistrations=[public(session, r, apps[r.app_id]) for r in rows],
        pagination=pagination,
    )


@router.delete(
    "/{deviceRegistrationId}",
    status_code=202,
    response_model=ResourceAccepted,
    responses=error_responses(400, 404),
)
def delete_registration(
    deviceRegistrationId: RegistrationIdPath,
    account: WriterDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> ResourceAccepted:
    registration = lookups.registration(session, account, deviceRegistrationId)
    answer = accepted(
        request, response, registration.id, f"DeviceRegistrations/{registration.id}"
    )
    session.exec(delete(Device).where(col(Device.registration_id) == registration.id))
    session.delete(registration)
    return answer
