"""Apps: listed, fetched and made default. Created by a Credential upload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlmodel import Session, col, select

from api import lookups
from api.deps import AccountDep, BoxDep, ListDep, SessionDep, WriterDep
from api.listing import page
from api.responses import accepted
from api.schemas.apps import AppList, AppPublic, AppUpdate, DefaultCredential
from api.schemas.common import ResourceAccepted, error_responses
from herald import errors
from herald.models import Account, App, Credential, utcnow
from herald.timefmt import iso

router = APIRouter(prefix="/Apps", tags=["Apps"])
AppNamePath = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$", examples=["shop_app"])]


def app_public(session: Session, app: App) -> AppPublic:
    defaults = session.exec(
        select(Credential)
        .where(Credential.app_id == app.id, col(Credential.is_default).is_(True))
        .order_by(col(Credential.credential_type))
    ).all()
    return AppPublic(
        name=app.name,
        isDefault=app.is_default,
        defaultCredentials=[
            DefaultCredential(credentialType=c.credential_type, credentialId=c.id)
            for c in defaults
        ],
        createdAt=iso(app.created_at),
        updatedAt=iso(app.updated_at),
    )


def make_default(session: Session, account: Account, app: App) -> None:
    for other in session.exec(
        select(App).where(App.account_id == account.id, col(App.is_default).is_(True))
    ):
        if other.id != app.id:
            other.is_default = False
            other.updated_at = utcnow()
            session.add(other)
    if not app.is_default:
        app.is_default = True
        app.updated_at = utcnow()
        session.add(app)


@router.get("", response_model=AppList, responses=error_responses(400))
def list_apps(
    account: AccountDep,
    session: SessionDep,
    box: BoxDep,
    params: ListDep,
    isDefault: Annotated[bool | None, Query()] = None,
) -> AppList:
    stmt = select(App).where(App.account_id == account.id)
    if isDefault is not None:
        stmt = stmt.where(col(App.is_default).is_(isDefault))
    rows, pagination = page(session, box, "apps", stmt, App.id, App.created_at, params)  # type: ignore[arg-type]
    return AppList(apps=[app_public(session, a) for a in rows], pagination=pagination)


@router.get("/{appName}", response_model=AppPublic, responses=error_responses(400, 404))
def get_app(appName: AppNamePath, account: AccountDep, session: SessionDep) -> AppPublic:
    return app_public(session, lookups.app_by_name(session, account, appName))


@router.patch(
    "/{appName}",
    status_code=202,
    response_model=ResourceAccepted,
    responses=error_responses(400, 404, 409),
)
def update_app(
    appName: AppNamePath,
    body: AppUpdate,
    account: WriterDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> ResourceAccepted:
    app = lookups.app_by_name(session, account, appName)
    if body.isDefault:
        make_default(session, account, app)
    elif app.is_default:
        raise errors.conflict(
            "an account always has one default App: make another App the default instead",
            field="isDefault",
        )
    return accepted(request, response, app.name, f"Apps/{app.name}")
