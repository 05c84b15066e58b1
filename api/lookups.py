"""Account-scoped lookups: another account's ids are simply not found."""

from __future__ import annotations

from sqlmodel import Session, col, select

from herald import errors
from herald.models import Account, App, Credential, DeviceRegistration, PushUser


def app_by_name(session: Session, account: Account, name: str) -> App:
    app = session.exec(
        select(App).where(App.account_id == account.id, App.name == name)
    ).first()
    if app is None:
        raise errors.not_found("App", name)
    return app


def default_app(session: Session, account: Account) -> App | None:
    return session.exec(
        select(App).where(App.account_id == account.id, col(App.is_default).is_(True))
    ).first()


def credential(session: Session, account: Account, credential_id: str) -> Credential:
    found = session.get(Credential, credential_id)
    if found is None or found.account_id != account.id:
        raise errors.not_found("Credential", credential_id)
    return found


def registration(session: Session, account: Account, registration_id: str) -> DeviceRegistration:
    found = session.get(DeviceRegistration, registration_id)
    if found is None or found.account_id != account.id:
        raise errors.not_found("DeviceRegistration", registration_id)
    return found


def user(session: Session, account: Account, user_id: str) -> PushUser:
    found = session.get(PushUser, user_id)
    if found is None or found.account_id != account.id:
        raise errors.not_found("User", user_id)
    return found
