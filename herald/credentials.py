"""Validation of uploaded push credentials (``POST /Credentials`` ``content``).

:func:`validate_credential` checks an upload for real (it parses the keys and
certificates) and answers what to encrypt and store plus non-secret metadata
for ``GET``. Accepted ``content`` per ``credentialType``:

``FCM``
    ``{"privateKey"}``: the Google service-account JSON file, base64-encoded.
    It must hold ``project_id``, ``client_email`` and ``private_key`` (a PEM RSA
    private key, which google-auth signs with); ``type``, when present, must
    be ``service_account``. Its ``token_uri`` is ignored: Herald always asks
    ``HERALD_GOOGLE_TOKEN_URL`` for tokens. Metadata: ``projectId``,
    ``clientEmail``.

``APN`` / ``APN_SANDBOX``, certificate auth
    ``{"certificate", "privateKey"}``: the PEM push certificate and its PEM
    private key (unencrypted; RSA or EC), each base64-encoded. The key must
    match the certificate, and the certificate must be valid now. The topic is
    the subject's UID (OID 0.9.2342.19200300.100.1.1), else the part after
    the last ``": "`` of its CN (``Apple Push Services: com.example.shop``).
    Metadata: ``auth`` = ``certificate``, ``topic``, ``expiresAt``.

``APN`` / ``APN_SANDBOX``, token auth
    ``{"keyId", "teamId", "bundleId", "privateKey"}``: ``keyId`` and ``teamId``
    are ten uppercase letters or digits, ``bundleId`` a reverse-DNS id, and
    ``privateKey`` the ``AuthKey_<keyId>.p8`` file (a PEM EC P-256 private key,
    PKCS#8 or SEC1 framing), base64-encoded. Metadata: ``auth`` = ``token``,
    ``topic`` (the bundle id), ``keyId``, ``teamId``.

Choices where users are loose with encodings:

* base64 is accepted with or without ``=`` padding, with line breaks or other
  whitespace anywhere, and in the URL-safe alphabet (``-``/``_``);
* a PEM value uploaded as raw PEM text (it contains ``-----BEGIN ``) instead of
  its base64 is accepted as-is, and likewise raw JSON text (starting with
  ``{``) for the FCM service account; neither can be mistaken for base64;
* whatever the upload's form, the stored ``content`` holds each blob as
  standard padded base64 of the decoded bytes (identical to the upload when
  that was already canonical), so readers always ``base64.b64decode`` it to
  get PEM (or JSON) bytes. Only the known fields are kept.

Anything else raises :class:`CredentialError` naming the offending field
(``credentialType``, ``content`` or ``content.<name>``). Its message never
quotes the uploaded values, and the parsing errors behind it are not chained,
so no key material reaches a log or a response through it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

__all__ = [
    "CREDENTIAL_TYPES",
    "MAX_FIELD_CHARS",
    "CredentialError",
    "ValidatedCredential",
    "validate_credential",
]

CREDENTIAL_TYPES: Final = ("APN", "APN_SANDBOX", "FCM")
MAX_FIELD_CHARS: Final = 64 * 1024
"""Upper bound on one uploaded ``content`` value (real ones are a few KiB)."""

_FCM_FIELDS: Final = frozenset({"privateKey"})
_CERT_FIELDS: Final = frozenset({"certificate", "privateKey"})
_TOKEN_FIELDS: Final = frozenset({"keyId", "teamId", "bundleId", "privateKey"})

_APPLE_ID = re.compile(r"[A-Z0-9]{10}")
_BUNDLE_ID = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Project ids go into the FCM URL path: lowercase letters, digits and hyphens,
# optionally behind a legacy "domain:" prefix.
_PROJECT_ID = re.compile(r"(?:[a-z0-9.-]+:)?[a-z0-9][a-z0-9-]{0,62}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TOPIC = re.compile(r"[A-Za-z0-9.\-_]+")
_WHITESPACE = re.compile(r"\s+")
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,23}")


class CredentialError(ValueError):
    """An uploaded credential is not acceptable.

    ``field`` names what is wrong (``credentialType``, ``content`` or
    ``content.<name>``); ``message`` says why, without quoting any value.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ValidatedCredential:
    """What to encrypt and store (``content``) and what ``GET`` may show (``metadata``)."""

    content: dict[str, str]
    metadata: dict[str, str]


def validate_credential(
    credential_type: str, content: object, *, now: dt.datetime | None = None
) -> ValidatedCredential:
    """Check an uploaded credential; raise :class:`CredentialError` if it is unusable.

    ``now`` (default: the current time; naive means UTC) is when the
    certificate must be valid.
    """
    if credential_type not in CREDENTIAL_TYPES:
        raise CredentialError("credentialType", f"must be one of {', '.join(CREDENTIAL_TYPES)}")
    if not isinstance(content, Mapping):
        raise CredentialError("content", "must be an object")
    fields = _string_keys(content)
    if credential_type == "FCM":
        return _validate_fcm(fields)
    when = _as_utc(now) if now is not None else dt.datetime.now(dt.UTC)
    if "certificate" in fields:
        return _validate_apn_certificate(fields, when)
    if fields.keys() & {"keyId", "teamId", "bundleId"}:
        return _validate_apn_token(fields)
    raise CredentialError(
        "content.certificate",
        "is required for certificate auth (token auth needs keyId, teamId and bundleId)",
    )


# --- FCM -------------------------------------------------------------------


def _validate_fcm(fields: Mapping[str, object]) -> ValidatedCredential:
    _check_fields(fields, _FCM_FIELDS)
    field = "content.privateKey"
    raw = _blob(fields, "privateKey", raw_prefixes=("{",))
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CredentialError(field, "is not a base64-encoded service-account JSON") from None
    if not isinstance(document, dict):
        raise CredentialError(field, "must decode to a JSON object (the service-account file)")
    account_type = document.get("type", "service_account")
    if account_type != "service_account":
        raise CredentialError(field, 'JSON "type" must be "service_account"')
    project_id = _json_string(document, "project_id")
    client_email = _json_string(document, "client_email")
    private_key_pem = _json_string(document, "private_key")
    if not _PROJECT_ID.fullmatch(project_id):
        raise CredentialError(field, 'JSON "project_id" is not a valid Google Cloud project id')
    if not _EMAIL.fullmatch(client_email):
        raise CredentialError(field, 'JSON "client_email" is not an email address')
    key = _private_key(private_key_pem.encode("utf-8"), field, what='JSON "private_key"')
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialError(field, 'JSON "private_key" must be an RSA private key')
    return ValidatedCredential(
        content={"privateKey": _canonical_b64(raw)},
        metadata={"projectId": project_id, "clientEmail": client_email},
    )


def _json_string(document: dict[str, object], key: str) -> str:
    value = document.get(key)
    if value is None:
        raise CredentialError("content.privateKey", f'service-account JSON lacks "{key}"')
    if not isinstance(value, str) or not value.strip():
        raise CredentialError("content.privateKey", f'JSON "{key}" must be a non-empty string')
    return value.strip()


# --- APNs certificate auth -------------------------------------------------


def _validate_apn_certificate(
    fields: Mapping[str, object], now: dt.datetime
) -> ValidatedCredential:
    _check_fields(fields, _CERT_FIELDS, hint="not allowed with certificate auth")
    cert_raw = _blob(fields, "certificate", raw_prefixes=())
    key_raw = _blob(fields, "privateKey", raw_prefixes=())
    try:
        certificate = x509.load_pem_x509_certificate(cert_raw)
    except ValueError:
        raise CredentialError("content.certificate", "is not a PEM certificate") from None
    key = _private_key(key_raw, "content.privateKey", what="value")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CredentialError("content.privateKey", "must be an RSA or EC private key")
    if _spki(key) != _cert_spki(certificate):
        raise CredentialError("content.privateKey", "does not match the certificate")
    not_before = certificate.not_valid_before_utc
    not_after = certificate.not_valid_after_utc
    if now >= not_after:
        raise CredentialError("content.certificate", f"expired at {_rfc3339(not_after)}")
    if now < not_before:
        raise CredentialError("content.certificate", f"is not valid before {_rfc3339(not_before)}")
    topic = _topic(certificate)
    return ValidatedCredential(
        content={"certificate": _canonical_b64(cert_raw), "privateKey": _canonical_b64(key_raw)},
        metadata={"auth": "certificate", "topic": topic, "expiresAt": _rfc3339(not_after)},
    )


def _topic(certificate: x509.Certificate) -> str:
    subject = certificate.subject
    candidates = [_attribute_text(a) for a in subject.get_attributes_for_oid(NameOID.USER_ID)]
    for attribute in subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        common_name = _attribute_text(attribute)
        if ": " in common_name:
            candidates.append(common_name.rsplit(": ", 1)[1])
    for candidate in candidates:
        topic = candidate.strip()
        if _TOPIC.fullmatch(topic):
            return topic
    raise CredentialError(
        "content.certificate",
        "has no APNs topic: its subject needs a UID (or a CN like 'Apple Push Services: <topic>')",
    )


def _attribute_text(attribute: x509.NameAttribute[str | bytes]) -> str:
    value = attribute.value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _cert_spki(certificate: x509.Certificate) -> bytes:
    try:
        public_key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise CredentialError("content.certificate", "has an unsupported public key") from None
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _spki(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- APNs token auth -------------------------------------------------------


def _validate_apn_token(fields: Mapping[str, object]) -> ValidatedCredential:
    _check_fields(fields, _TOKEN_FIELDS, hint="not allowed with token auth")
    key_id = _plain(fields, "keyId")
    team_id = _plain(fields, "teamId")
    bundle_id = _plain(fields, "bundleId")
    if not _APPLE_ID.fullmatch(key_id):
        raise CredentialError("content.keyId", "must be 10 uppercase letters or digits")
    if not _APPLE_ID.fullmatch(team_id):
        raise CredentialError("content.teamId", "must be 10 uppercase letters or digits")
    if len(bundle_id) > 255 or not _BUNDLE_ID.fullmatch(bundle_id):
        raise CredentialError("content.bundleId", "must be a reverse-DNS id like com.example.app")
    key_raw = _blob(fields, "privateKey", raw_prefixes=())
    key = _private_key(key_raw, "content.privateKey", what="value")
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CredentialError(
            "content.privateKey", "must be an EC P-256 private key (the AuthKey .p8 file)"
        )
    return ValidatedCredential(
        content={
            "keyId": key_id,
            "teamId": team_id,
            "bundleId": bundle_id,
            "privateKey": _canonical_b64(key_raw),
        },
        metadata={"auth": "token", "topic": bundle_id, "keyId": key_id, "teamId": team_id},
    )


# --- shared helpers --------------------------------------------------------


def _string_keys(content: Mapping[object, object]) -> dict[str, object]:
    fields: dict[str, object] = {}
    for name, value in content.items():
        if not isinstance(name, str):
            raise CredentialError("content", "field names must be strings")
        fields[name] = value
    return fields


def _check_fields(
    fields: Mapping[str, object], allowed: frozenset[str], *, hint: str = "unknown field"
) -> None:
    for name in sorted(fields.keys() - allowed):
        # Echo a name only when it looks like a field name, never a blob someone
        # pasted as a key (PEM lines are 64 characters long).
        shown = name if _FIELD_NAME.fullmatch(name) else "?"
        raise CredentialError(f"content.{shown}", hint)
    for name in sorted(allowed - fields.keys()):
        raise CredentialError(f"content.{name}", "is required")


def _plain(fields: Mapping[str, object], name: str) -> str:
    value = fields[name]
    if not isinstance(value, str):
        raise CredentialError(f"content.{name}", "must be a string")
    return value.strip()


def _blob(fields: Mapping[str, object], name: str, *, raw_prefixes: tuple[str, ...]) -> bytes:
    """Decode one uploaded blob: base64 (loose), or raw PEM / raw text as documented."""
    field = f"content.{name}"
    value = fields[name]
    if not isinstance(value, str):
        raise CredentialError(field, "must be a base64 string")
    if len(value) > MAX_FIELD_CHARS:
        raise CredentialError(field, f"is longer than {MAX_FIELD_CHARS} characters")
    if "-----BEGIN " in value or value.lstrip().startswith(raw_prefixes):
        return value.encode("utf-8")
    compact = _WHITESPACE.sub("", value).rstrip("=").replace("-", "+").replace("_", "/")
    if not compact:
        raise CredentialError(field, "is empty")
    if len(compact) % 4 == 1:
        raise CredentialError(field, "is not valid base64")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise CredentialError(field, "is not valid base64") from None


def _private_key(pem: bytes, field: str, *, what: str) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise CredentialError(
            field, f"{what} is an encrypted key; upload it without a passphrase"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise CredentialError(field, f"{what} is not a PEM private key") from None


def _canonical_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _as_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _rfc3339(moment: dt.datetime) -> str:
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
