"""Schemathesis against the live server's /openapi.json: no 5xx, answers match the schema.

Each resource operation gets a few generated requests that fit the schema and
a few that break it (wrong types, missing fields, no Authorization, ...), sent
over HTTP as a real account that owns an App, Credentials and a registered
device, so lists answer with real items. Every response must be a documented
status with a body that fits its documented schema; invalid requests must be
refused (4xx). Positive-data acceptance is not checked: many schema-valid
requests are refused by design (a random ``content`` is no credential, a
random ``appName`` names no App, a random ``pageToken`` is tampered).

It runs on both databases (PostgreSQL refuses what SQLite stores, e.g. NUL
characters), at ``MAX_EXAMPLES`` per operation and mode to stay within seconds;
``HERALD_FUZZ_EXAMPLES=200`` makes a deeper run.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.resources import basic_auth, register, upload
from tests.conftest import client_for
from tests.servers import ApiServer

MAX_EXAMPLES = int(os.environ.get("HERALD_FUZZ_EXAMPLES", "10"))
PREFIX = "/v1/PushNotifications"
OPERATIONS = [
    ("GET", "/Apps"),
    ("GET", "/Apps/{appName}"),
    ("PATCH", "/Apps/{appName}"),
    ("POST", "/Credentials"),
    ("GET", "/Credentials"),
    ("GET", "/Credentials/{credentialId}"),
    ("PATCH", "/Credentials/{credentialId}"),
    ("DELETE", "/Credentials/{credentialId}"),
    ("POST", "/DeviceRegistrations"),
    ("GET", "/DeviceRegistrations"),
    ("GET", "/DeviceRegistrations/{deviceRegistrationId}"),
    ("DELETE", "/DeviceRegistrations/{deviceRegistrationId}"),
    ("GET", "/Users"),
    ("GET", "/Users/{userId}"),
    ("DELETE", "/Users/{userId}"),
]


@pytest.fixture(scope="module")
def schema(api: ApiServer) -> schemathesis.BaseSchema:
    """The live schema, authenticated as an account that owns a few resources."""
    with client_for(api, "fuzz") as client:
        upload(client, "FCM", "shop_app")
        upload(client, "APN", "shop_app")
        register(client, "fuzz-device-token")
        credentials = basic_auth(client)
    loaded = schemathesis.openapi.from_url(api.url + "/openapi.json")
    loaded.config.update(basic_auth=credentials, base_url=api.url)
    return loaded


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_survives_fuzzing(
    schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = schema[PREFIX + path][method]
    if mode is GenerationMode.POSITIVE:
        # The documented examples name the fuzzing account's App ("shop_app"):
        # they reach real resources, not only 400s and 404s.
        examples = operation.get_strategies_from_examples()
        if examples:
            _fuzz(st.one_of(examples), max_examples=len(examples) * 3)
    _fuzz(operation.as_strategy(generation_mode=mode), max_examples=MAX_EXAMPLES)


def _fuzz(cases: st.SearchStrategy[schemathesis.Case[Any]], *, max_examples: int) -> None:
    @given(case=cases)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    def run(case: schemathesis.Case[Any]) -> None:
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    run()
