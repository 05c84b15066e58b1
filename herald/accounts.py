"""Accounts: the tenants of a Herald server."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Engine

from herald.crypto import hash_token, new_auth_token
from herald.db import session_scope
from herald.models import Account


@dataclass(frozen=True)
class NewAccount:
    account_id: str
    auth_token: str


def create_account(engine: Engine, name: str) -> NewAccount:
    """Make an account; its auth token is shown once and stored only hashed."""
    account_id = "AC" + secrets.token_hex(16)
    token = new_auth_token()
    with session_scope(engine) as session:
        session.add(Account(id=account_id, name=name, auth_token_hash=hash_token(token)))
    return NewAccount(account_id, token)
