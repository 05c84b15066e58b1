"""Fixtures shared by the suite: databases (SQLite and PostgreSQL) and the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from herald.accounts import create_account
from tests.servers import ApiServer, fresh_database, postgres_available, test_settings

_PG_REASON = postgres_available()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "postgres" and _PG_REASON:
        print(f"skipping PostgreSQL: {_PG_REASON}")
        pytest.skip(_PG_REASON)
    with fresh_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def api(database_url: str) -> Iterator[ApiServer]:
    with ApiServer(test_settings(database_url)) as server:
        yield server


def client_for(server: ApiServer, name: str = "test") -> httpx.Client:
    created = create_account(server.engine, name)
    return httpx.Client(
        base_url=server.url + "/v1/PushNotifications",
        auth=(created.account_id, created.auth_token),
        timeout=30,
    )


@pytest.fixture
def client(api: ApiServer) -> Iterator[httpx.Client]:
    """An HTTP client authenticated as a brand-new account."""
    with client_for(api) as c:
        yield c


@pytest.fixture
def other_client(api: ApiServer) -> Iterator[httpx.Client]:
    with client_for(api, "other") as c:
        yield c


@pytest.fixture(scope="session")
def tmp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("work")
