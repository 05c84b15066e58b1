"""Credentials: validated on upload, encrypted at rest, never shown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlmodel import Session, col, delete, func, select

from api import lookups
from api.deps import AccountDep, BoxDep, ListDep, SessionDep, WriterDep, lock_account
from api.listing import page
from api.responses import accepted
from api.routers.apps import make_default
from api.schemas.common import AppName, CredentialTypeName, ResourceAccepted, error_responses
from api.schemas.credentials import (
    CredentialCreate,
    CredentialList,
    CredentialPublic,
    CredentialUpdate,
)
from herald import errors, ids
from herald.credentials import CredentialError, validate_credential
from herald.models import (
    Account,
    App,
    Credential,
    Device,
    DeviceRegistration,
    utcnow,
)
from herald.timefmt import iso

router = APIRouter(prefix="/Credentials", tags=["Credentials"])
CredentialIdPath = Annotated[
    str,
    Path(
        pattern=ids.id_pattern(ids.CREDENTIAL),
        examples=["comms_credential_01jd0000000000000000000000"],
    ),
]
MAX_APPS = 10
MAX_CREDENTIALS_PER_APP = 10


def public(credential: Credential, app_name: str) -> CredentialPublic:
    return CredentialPublic(
        id=credential.id,
        credentialType=credential.credential_type,
        appName=app_name,
        isDefault=credential.is_default,
        metadata=credential.meta,
        createdAt=iso(credential.created_at),
        updatedAt=iso(credential.updated_at),
    )


def _app_for_upload(session: Session, account: Account, name: str | None) -> App:
    if name is None:
        app = lookups.default_app(session, account)
        if app is None:
            raise errors.invalid("appName", "appName is required while the account has no App")
        return app
    app = session.exec(select(App).where(App.account_id == account.id, App.name == name)).first()
    if app is not None:
        return app
    count = session.exec(select(func.count()).where(App.account_id == account.id)).one()
    if count >= MAX_APPS:
        raise errors.conflict(f"an account has at most {MAX_APPS} Apps", field="appName")
    app = App(account_id=account.id, name=name, is_default=count == 0)
    session.add(app)
    session.flush()
    return app


def _set_default(session: Session, credential: Credential) -> None:
    for other in session.exec(
        select(Credential).where(
            Credential.app_id == credential.app_id,
            Credential.credential_type == credential.credential_type,
            col(Credential.is_default).is_(True),
            Credential.id != credential.id,
        )
    ):
        other.is_default = False
        other.updated_at = utcnow()
        session.add(other)
    credential.is_default = True
    credential.updated_at = utcnow()
    session.add(credential)


@router.post(
    "", status_code=202, response_model=ResourceAccepted, responses=error_responses(400, 409)
)
def create_credential(
    body: CredentialCreate,
    account: AccountDep,
    session: SessionDep,
    box: BoxDep,
    request: Request,
    response: Response,
) -> ResourceAccepted:
    try:
        validated = validate_credential(body.credentialType, body.content)
    except CredentialError as exc:
        raise errors.invalid(exc.field, exc.message) from None
    lock_account(session, account)
    app = _app_for_upload(session, account, body.appName)
    siblings = session.exec(select(Credential).where(Credential.app_id == app.id)).all()
    if len(siblings) >= MAX_CREDENTIALS_PER_APP:
        raise errors.conflict(
            f"an App has at most {MAX_CREDENTIALS_PER_APP} Credentials", field="appName"
        )
    credential = Credential(
        id=ids.new_id(ids.CREDENTIAL),
        account_id=account.id,
        app_id=app.id,  # type: ignore[arg-type]
        credential_type=body.credentialType,
        secret=box.encrypt(validated.content),
        meta=validated.metadata,
    )
    session.add(credential)
    first_of_type = not any(s.credential_type == body.credentialType for s in siblings)
    if first_of_type or body.isDefault:
        _set_default(session, credential)
    return accepted(request, response, credential.id, f"Credentials/{credential.id}")


@router.get("", response_model=CredentialList, responses=error_responses(400))
def list_credentials(
    account: AccountDep,
    session: SessionDep,
    box: BoxDep,
    params: ListDep,
    appName: Annotated[AppName | None, Query(examples=["shop_app"])] = None,
    credentialType: Annotated[CredentialTypeName | None, Query()] = None,
    isDefault: Annotated[bool | None, Query()] = None,
) -> CredentialList:
    stmt = select(Credential).where(Credential.account_id == account.id)
    if appName is not None:
        stmt = stmt.join(App, col(App.id) == Credential.app_id).where(App.name == appName)
    if credentialType is not None:
        stmt = stmt.where(Credential.credential_type == credentialType)
    if isDefault is not None:
        stmt = stmt.where(col(Credential.is_default).is_(isDefault))
    rows, pagination = page(
        session, box, "credentials", stmt, Credential.id, Credential.created_at, params  # type: ignore[arg-type]
    )
    names = _app_names(session, account)
    return CredentialList(
        credentials=[public(c, names[c.app_id]) for c in rows], pagination=pagination
    )


def _app_names(session: Session, account: Account) -> dict[int, str]:
    apps = session.exec(select(App).where(App.account_id == account.id)).all()
    return {a.id: a.name for a in apps if a.id is not None}


@router.get(
    "/{credentialId}", response_model=CredentialPublic, responses=error_responses(400, 404)
)
def get_credential(
    credentialId: CredentialIdPath, account: AccountDep, session: SessionDep
) -> CredentialPublic:
    credential = lookups.credential(session, account, credentialId)
    app = session.get(App, credential.app_id)
    assert app is not None
    return public(credential, app.name)


@router.patch(
    "/{credentialId}",
    status_code=202,
    response_model=ResourceAccepted,
    responses=error_responses(400, 404, 409),
)
def update_credential(
    credentialId: CredentialIdPath,
    body: CredentialUpdate,
    account: WriterDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> ResourceAccepted:
    credential = lookups.credential(session, account, credentialId)
    if body.isDefault:
        _set_default(session, credential)
    elif credential.is_default:
        raise errors.conflict(
            "an App always has one default Credential per type: "
            "make another Credential the default instead",
            field="isDefault",
        )
    return accepted(request, response, credential.id, f"Credentials/{credential.id}")


@router.delete(
    "/{credentialId}",
    status_code=202,
    response_model=ResourceAccepted,
    responses=error_responses(400, 404),
)
def delete_credential(
    credentialId: CredentialIdPath,
    account: WriterDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> ResourceAccepted:
    credential = lookups.credential(session, account, credentialId)
    answer = accepted(request, response, credential.id, f"Credentials/{credential.id}")
    app = session.get(App, credential.app_id)
    assert app is not None
    session.delete(credential)
    session.flush()
    remaining = session.exec(
        select(Credential).where(Credential.app_id == app.id).order_by(col(Credential.id))
    ).all()
    if not remaining:
        _delete_app(session, account, app)
    elif credential.is_default:
        heir = next((c for c in remaining if c.credential_type == credential.credential_type), None)
        if heir is not None:
            _set_default(session, heir)
    return answer


def _delete_app(session: Session, account: Account, app: App) -> None:
    """The App's last Credential is gone: the App and its registrations go too."""
    registrations = select(DeviceRegistration.id).where(DeviceRegistration.app_id == app.id)
    session.exec(delete(Device).where(col(Device.registration_id).in_(registrations)))
    session.exec(delete(DeviceRegistration).where(col(DeviceRegistration.app_id) == app.id))
    session.delete(app)
    session.flush()
    if app.is_default:
        heir = session.exec(
            select(App).where(App.account_id == account.id).order_by(col(App.id))
        ).first()
        if heir is not None:
            make_default(session, account, heir)
