"""Resource ids: ``comms_<type>_<ULID in lowercase Crockford base32>``."""

from __future__ import annotations

import re

from ulid import ULID

CREDENTIAL = "comms_credential_"
DEVICE_REGISTRATION = "comms_device_registration_"
USER = "comms_pushnotificationuser_"
PUSH_NOTIFICATION = "comms_pushnotification_"
OPERATION = "comms_operation_"

_ULID_PART = "[0-7][0-9a-hjkmnp-tv-z]{25}"


def new_id(prefix: str) -> str:
    return prefix + str(ULID()).lower()


def id_pattern(prefix: str) -> str:
    return f"^{prefix}{_ULID_PART}$"


def is_id(prefix: str, value: str) -> bool:
    return re.fullmatch(prefix + _ULID_PART, value) is not None
