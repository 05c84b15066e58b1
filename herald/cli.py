"""The ``herald`` command."""

from __future__ import annotations

import argparse
import json
import sys

from herald.settings import get_settings


def _accounts_create(args: argparse.Namespace) -> int:
    from herald.accounts import create_account
    from herald.db import get_engine

    created = create_account(get_engine(get_settings().database_url), args.name)
    print(json.dumps({"accountId": created.account_id, "authToken": created.auth_token}))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from herald.migrate import upgrade

    upgrade(args.url or get_settings().database_url)
    return 0


def _secret_init(_: argparse.Namespace) -> int:
    from herald.crypto import load_secret_key

    settings = get_settings()
    load_secret_key(settings, create=True)
    print(settings.secret_key_file if not settings.secret_key else "HERALD_SECRET_KEY is set")
    return 0


def _api(_: argparse.Namespace) -> int:
    import uvicorn

    from herald.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
    )
    return 0


def _run(_: argparse.Namespace) -> int:
    from herald.supervisor import run_stack

    return run_stack(get_settings())


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="herald", description="Herald push notifications")
    sub = top.add_subparsers(dest="command", required=True)

    accounts = sub.add_parser("accounts", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
    create = accounts.add_parser("create", help="create an account, print its credentials")
    create.add_argument("--name", required=True)
    create.set_defaults(func=_accounts_create)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    up = db.add_parser("upgrade", help="apply the migrations")
    up.add_argument("--url", help="database URL (default: HERALD_DATABASE_URL)")
    up.set_defaults(func=_db_upgrade)

    secret = sub.add_parser("secret", help="the credential encryption key").add_subparsers(
        dest="action", required=True
    )
    secret.add_parser("init", help="create the key file once").set_defaults(func=_secret_init)

    sub.add_parser("api", help="serve the HTTP API").set_defaults(func=_api)
    sub.add_parser(
        "run", help="the whole stack: Temporal dev server, API and worker, supervised"
    ).set_defaults(func=_run)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
