"""Credential upload validation (herald.credentials) with real key material from fakes.keys."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import stat
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes.keys import (
    PemPair,
    apn_certificate_content,
    apn_token_content,
    b64,
    fcm_content,
    make_apn_certificate,
    make_ca,
    make_p8_key,
    make_server_cert,
    make_service_account,
    write_ca_files,
)
from herald.credentials import (
    MAX_FIELD_CHARS,
    CredentialError,
    ValidatedCredential,
    validate_credential,
)

# --- helpers ---------------------------------------------------------------


def _secret_pieces(*blobs: bytes | str) -> list[str]:
    """The secret parts of uploads: base64 texts and the bodies of PEM blocks."""
    pieces: list[str] = []
    for blob in blobs:
        text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
        pieces.append(text)
        pieces.extend(line for line in text.splitlines() if line and not line.startswith("-----"))
    return pieces


def _assert_no_secret(error: CredentialError, *blobs: bytes | str) -> None:
    shown = f"{error} {error.message} {error.field} {error!r}"
    for piece in _secret_pieces(*blobs):
        for start in range(0, max(1, len(piece) - 11)):
            window = piece[start : start + 12]
            if len(window) == 12 and window.strip():
                assert window not in shown, "error text quotes uploaded key material"
    # the parser's own exception (which may hold the document) is not chained
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def _reject(
    credential_type: str, content: object, field: str, *secrets: bytes | str, **kw: dt.datetime
) -> CredentialError:
    with pytest.raises(CredentialError) as caught:
        validate_credential(credential_type, content, **kw)
    error = caught.value
    assert error.field == field, error
    assert error.message
    values = (
        [v for v in content.values() if isinstance(v, str)] if isinstance(content, dict) else []
    )
    _assert_no_secret(error, *values, *secrets)
    return error


def _public_der(key_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(key_pem, None)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _wrapped(text: str) -> str:
    return "\n".join(textwrap.wrap(text, 64)) + "\n"


def _unpadded(text: str) -> str:
    return text.rstrip("=")


def _urlsafe(text: str) -> str:
    return text.replace("+", "-").replace("/", "_")


def _build_cert(
    subject: x509.Name,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> bytes:
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _pkcs8(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="module")
def ca() -> PemPair:
    return make_ca()


@pytest.fixture(scope="module")
def apn_pair(ca: PemPair) -> PemPair:
    return make_apn_certificate("com.example.shop", ca=ca)


@pytest.fixture(scope="module")
def service_account() -> dict[str, str]:
    return make_service_account("herald-test")


@pytest.fixture(scope="module")
def p8() -> bytes:
    return make_p8_key()


# --- FCM: accepted ---------------------------------------------------------

FCM_ENCODINGS: dict[str, Callable[[str], str]] = {
    "standard": lambda text: b64(text),
    "unpadded": lambda text: _unpadded(b64(text)),
    "wrapped": lambda text: _wrapped(b64(text)),
    "urlsafe": lambda text: _urlsafe(_unpadded(b64(text))),
    "raw json": lambda text: text,
}


@pytest.mark.parametrize("encoding", FCM_ENCODINGS)
def test_fcm_accepts_each_encoding(service_account: dict[str, str], encoding: str) -> None:
    document = json.dumps(service_account, indent=2)
    result = validate_credential("FCM", {"privateKey": FCM_ENCODINGS[encoding](document)})
    assert isinstance(result, ValidatedCredential)
    assert result.metadata == {
        "projectId": "herald-test",
        "clientEmail": service_account["client_email"],
    }
    assert list(result.content) == ["privateKey"]
    assert base64.b64decode(result.content["privateKey"], validate=True) == document.encode()


def test_fcm_stores_canonical_upload_unchanged(service_account: dict[str, str]) -> None:
    content = fcm_content(service_account)
    assert validate_credential("FCM", content).content == content


def test_fcm_ignores_token_uri_and_extra_json_keys() -> None:
    account = make_service_account("shop-prod-4711", client_email="push@shop.example")
    account["token_uri"] = "http://169.254.169.254/evil"
    del account["type"]
    result = validate_credential("FCM", fcm_content(account))
    assert result.metadata == {"projectId": "shop-prod-4711", "clientEmail": "push@shop.example"}
    assert "169.254" not in json.dumps(result.metadata)


# --- FCM: rejected ---------------------------------------------------------


def _fcm_without(service_account: dict[str, str], key: str) -> dict[str, str]:
    return {k: v for k, v in service_account.items() if k != key}


@pytest.mark.parametrize("missing", ["private_key", "project_id", "client_email"])
def test_fcm_rejects_service_account_missing_a_key(
    service_account: dict[str, str], missing: str
) -> None:
    account = _fcm_without(service_account, missing)
    error = _reject(
        "FCM", fcm_content(account), "content.privateKey", account.get("private_key", "")
    )
    assert missing in error.message


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, "PEM"),
        ({"private_key": "not a key at all"}, "PEM"),
        ({"private_key": ""}, "non-empty"),
        ({"project_id": "../../v1/other"}, "project id"),
        ({"project_id": 42}, "non-empty string"),
        ({"client_email": "nobody"}, "email"),
        ({"type": "authorized_user"}, "service_account"),
    ],
)
def test_fcm_rejects_bad_json_values(
    service_account: dict[str, str], change: dict[str, object], needle: str
) -> None:
    account: dict[str, object] = {**service_account, **change}
    error = _reject(
        "FCM",
        {"privateKey": b64(json.dumps(account))},
        "content.privateKey",
        service_account["private_key"],
    )
    assert needle in error.message


def test_fcm_rejects_a_non_rsa_private_key(service_account: dict[str, str]) -> None:
    account = {**service_account, "private_key": make_p8_key().decode()}
    error = _reject("FCM", fcm_content(account), "content.privateKey", account["private_key"])
    assert "RSA" in error.message


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({}, "content.privateKey"),
        ({"privateKey": None}, "content.privateKey"),
        ({"privateKey": 12}, "content.privateKey"),
        ({"privateKey": ""}, "content.privateKey"),
        ({"privateKey": "   \n"}, "content.privateKey"),
        ({"privateKey": "%%% not base64 %%%"}, "content.privateKey"),
        ({"privateKey": "QUJDRA=A"}, "content.privateKey"),
        ({"privateKey": "QUJDR"}, "content.privateKey"),
        ({"privateKey": b64("plain text, not json")}, "content.privateKey"),
        ({"privateKey": b64(b"\xff\xfe\x00binary")}, "content.privateKey"),
        ({"privateKey": b64("[1, 2, 3]")}, "content.privateKey"),
        ({"privateKey": "{not json"}, "content.privateKey"),
        ({"privateKey": "x" * (MAX_FIELD_CHARS + 1)}, "content.privateKey"),
    ],
)
def test_fcm_rejects_bad_privatekey_values(content: dict[str, object], field: str) -> None:
    _reject("FCM", content, field)


def test_fcm_rejects_unknown_fields(service_account: dict[str, str]) -> None:
    content = {**fcm_content(service_account), "certificate": "abc"}
    _reject("FCM", content, "content.certificate", service_account["private_key"])


def test_unknown_field_with_odd_name_is_not_echoed(service_account: dict[str, str]) -> None:
    pasted = service_account["private_key"].splitlines()[1]
    assert len(pasted) == 64
    content = {**fcm_content(service_account), pasted: "x"}
    error = _reject("FCM", content, "content.?")
    assert pasted[:24] not in str(error)
    assert error.field == "content.?"


# --- type and shape --------------------------------------------------------


@pytest.mark.parametrize("credential_type", ["GCM", "apn", "", "FCM "])
def test_rejects_unknown_credential_type(
    credential_type: str, service_account: dict[str, str]
) -> None:
    _reject(credential_type, fcm_content(service_account), "credentialType")


@pytest.mark.parametrize("content", [None, "abc", ["privateKey"], 3, b"bytes"])
@pytest.mark.parametrize("credential_type", ["FCM", "APN", "APN_SANDBOX"])
def test_rejects_content_that_is_not_an_object(credential_type: str, content: object) -> None:
    _reject(credential_type, content, "content")


def test_rejects_non_string_field_names() -> None:
    _reject("FCM", {1: "abc"}, "content")


def test_apn_with_only_a_private_key_asks_for_a_certificate(p8: bytes) -> None:
    error = _reject("APN", {"privateKey": b64(p8)}, "content.certificate", p8)
    assert "token auth" in error.message


# --- APNs certificate auth: accepted ----------------------------------------


@pytest.mark.parametrize("credential_type", ["APN", "APN_SANDBOX"])
def test_apn_certificate_accepted(credential_type: str, apn_pair: PemPair) -> None:
    content = apn_certificate_content(apn_pair)
    result = validate_credential(credential_type, content)
    cert = x509.load_pem_x509_certificate(apn_pair.cert_pem)
    assert result.content == content
    assert result.metadata == {
        "auth": "certificate",
        "topic": "com.example.shop",
        "expiresAt": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result.metadata["expiresAt"])


def test_apn_sandbox_certificate_topic() -> None:
    pair = make_apn_certificate("com.example.dev-app", sandbox=True)
    subject = x509.load_pem_x509_certificate(pair.cert_pem).subject
    cn = subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "Apple Development IOS Push Services: com.example.dev-app"
    result = validate_credential("APN_SANDBOX", apn_certificate_content(pair))
    assert result.metadata["topic"] == "com.example.dev-app"


ENCODINGS: dict[str, Callable[[bytes], str]] = {
    "unpadded": lambda pem: _unpadded(b64(pem)),
    "wrapped": lambda pem: _wrapped(b64(pem)),
    "urlsafe": lambda pem: _urlsafe(b64(pem)),
    "raw pem": lambda pem: pem.decode(),
    "raw pem, crlf": lambda pem: pem.decode().replace("\n", "\r\n"),
}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_apn_certificate_accepts_each_encoding(apn_pair: PemPair, encoding: str) -> None:
    encode = ENCODINGS[encoding]
    content = {"certificate": encode(apn_pair.cert_pem), "privateKey": encode(apn_pair.key_pem)}
    result = validate_credential("APN", content)
    stored_cert = base64.b64decode(result.content["certificate"], validate=True)
    stored_key = base64.b64decode(result.content["privateKey"], validate=True)
    assert x509.load_pem_x509_certificate(stored_cert).subject == (
        x509.load_pem_x509_certificate(apn_pair.cert_pem).subject
    )
    assert _public_der(stored_key) == _public_der(apn_pair.key_pem)
    assert result.metadata["topic"] == "com.example.shop"


def test_apn_certificate_accepts_openssl_pkcs12_export(apn_pair: PemPair) -> None:
    """`openssl pkcs12 -nodes` output: bag attributes, certificate and key in one file."""
    bundle = (
        b"Bag Attributes\n    friendlyName: Apple Push Services: com.example.shop\n"
        + apn_pair.cert_pem
        + b"Bag Attributes\n    localKeyID: 01 02 03\n"
        + apn_pair.key_pem
    )
    result = validate_credential("APN", {"certificate": b64(bundle), "privateKey": b64(bundle)})
    assert result.metadata["topic"] == "com.example.shop"


def test_apn_certificate_with_ec_key_is_accepted() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.USER_ID, "com.example.ec")])
    cert = _build_cert(
        subject, key, not_before=now - dt.timedelta(1), not_after=now + dt.timedelta(9)
    )
    result = validate_credential("APN", {"certificate": b64(cert), "privateKey": b64(_pkcs8(key))})
    assert result.metadata["topic"] == "com.example.ec"


def test_apn_topic_falls_back_to_common_name() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Apple Push Services: com.example.cn-only")]
    )
    cert = _build_cert(
        subject, key, not_before=now - dt.timedelta(1), not_after=now + dt.timedelta(9)
    )
    result = validate_credential("APN", {"certificate": b64(cert), "privateKey": b64(_pkcs8(key))})
    assert result.metadata["topic"] == "com.example.cn-only"


def test_apn_certificate_checked_against_given_now(apn_pair: PemPair) -> None:
    cert = x509.load_pem_x509_certificate(apn_pair.cert_pem)
    content = apn_certificate_content(apn_pair)
    just_before_expiry = cert.not_valid_after_utc - dt.timedelta(seconds=1)
    assert validate_credential("APN", content, now=just_before_expiry).metadata["topic"]
    naive = just_before_expiry.replace(tzinfo=None)
    assert validate_credential("APN", content, now=naive).metadata["topic"]
    error = _reject(
        "APN", content, "content.certificate", apn_pair.key_pem, now=cert.not_valid_after_utc
    )
    assert "expired" in error.message
    error = _reject(
        "APN",
        content,
        "content.certificate",
        apn_pair.key_pem,
        now=cert.not_valid_before_utc - dt.timedelta(seconds=1),
    )
    assert "not valid before" in error.message


# --- APNs certificate auth: rejected ----------------------------------------


def test_apn_rejects_expired_certificate() -> None:
    pair = make_apn_certificate(expired=True)
    error = _reject("APN", apn_certificate_content(pair), "content.certificate", pair.key_pem)
    assert "expired" in error.message


def test_apn_rejects_not_yet_valid_certificate() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.USER_ID, "com.example.future")])
    cert = _build_cert(
        subject, key, not_before=now + dt.timedelta(2), not_after=now + dt.timedelta(9)
    )
    key_pem = _pkcs8(key)
    error = _reject(
        "APN_SANDBOX",
        {"certificate": b64(cert), "privateKey": b64(key_pem)},
        "content.certificate",
        key_pem,
    )
    assert "not valid before" in error.message


def test_apn_rejects_mismatched_key(apn_pair: PemPair) -> None:
    other = make_apn_certificate("com.example.shop")
    assert other.key_pem != apn_pair.key_pem
    content = {"certificate": b64(apn_pair.cert_pem), "privateKey": b64(other.key_pem)}
    error = _reject("APN", content, "content.privateKey", apn_pair.key_pem, other.key_pem)
    assert "does not match" in error.message


def test_apn_rejects_certificate_without_topic() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "just a name")])
    cert = _build_cert(
        subject, key, not_before=now - dt.timedelta(1), not_after=now + dt.timedelta(9)
    )
    key_pem = _pkcs8(key)
    error = _reject(
        "APN",
        {"certificate": b64(cert), "privateKey": b64(key_pem)},
        "content.certificate",
        key_pem,
    )
    assert "topic" in error.message


def test_apn_rejects_encrypted_key(apn_pair: PemPair) -> None:
    key = serialization.load_pem_private_key(apn_pair.key_pem, None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"hunter2"),
    )
    content = {"certificate": b64(apn_pair.cert_pem), "privateKey": b64(encrypted)}
    error = _reject("APN", content, "content.privateKey", encrypted, apn_pair.key_pem)
    assert "passphrase" in error.message


@pytest.mark.parametrize(
    ("mangle", "field"),
    [
        (
            lambda p: {"certificate": "!!garbage!!", "privateKey": b64(p.key_pem)},
            "content.certificate",
        ),
        (
            lambda p: {"certificate": b64(p.key_pem), "privateKey": b64(p.key_pem)},
            "content.certificate",
        ),
        (
            lambda p: {"certificate": b64(b"\x30\x82\x01"), "privateKey": b64(p.key_pem)},
            "content.certificate",
        ),
        (lambda p: {"certificate": b64(p.cert_pem), "privateKey": "@@@"}, "content.privateKey"),
        (
            lambda p: {"certificate": b64(p.cert_pem), "privateKey": b64(p.cert_pem)},
            "content.privateKey",
        ),
        (
            lambda p: {"certificate": b64(p.cert_pem), "privateKey": b64(p.key_pem[:200])},
            "content.privateKey",
        ),
        (lambda p: {"certificate": b64(p.cert_pem)}, "content.privateKey"),
        (lambda p: {"certificate": None, "privateKey": b64(p.key_pem)}, "content.certificate"),
        (lambda p: {**apn_certificate_content(p), "topic": "x"}, "content.topic"),
        (lambda p: {**apn_certificate_content(p), "keyId": "ABC123DEFG"}, "content.keyId"),
    ],
)
def test_apn_certificate_rejections(
    apn_pair: PemPair, mangle: Callable[[PemPair], dict[str, object]], field: str
) -> None:
    _reject("APN", mangle(apn_pair), field, apn_pair.key_pem)


# --- APNs token auth --------------------------------------------------------


@pytest.mark.parametrize("credential_type", ["APN", "APN_SANDBOX"])
def test_apn_token_accepted(credential_type: str, p8: bytes) -> None:
    content = apn_token_content(
        p8, key_id="KEY4567890", team_id="TEAM123456", bundle_id="com.ex.a-b"
    )
    result = validate_credential(credential_type, content)
    assert result.content == content
    assert result.metadata == {
        "auth": "token",
        "topic": "com.ex.a-b",
        "keyId": "KEY4567890",
        "teamId": "TEAM123456",
    }


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_apn_token_accepts_each_encoding(p8: bytes, encoding: str) -> None:
    content = {**apn_token_content(p8), "privateKey": ENCODINGS[encoding](p8)}
    result = validate_credential("APN", content)
    stored = base64.b64decode(result.content["privateKey"], validate=True)
    assert _public_der(stored) == _public_der(p8)


def test_apn_token_accepts_sec1_ec_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    sec1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert b"BEGIN EC PRIVATE KEY" in sec1
    assert validate_credential("APN", apn_token_content(sec1)).metadata["auth"] == "token"


def test_apn_token_rejects_non_ec_p8(service_account: dict[str, str]) -> None:
    rsa_pem = service_account["private_key"].encode()
    error = _reject("APN", apn_token_content(rsa_pem), "content.privateKey", rsa_pem)
    assert "P-256" in error.message


def test_apn_token_rejects_other_curve() -> None:
    p384 = _pkcs8(ec.generate_private_key(ec.SECP384R1()))
    _reject("APN", apn_token_content(p384), "content.privateKey", p384)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"keyId": "abc123defg"}, "content.keyId"),
        ({"keyId": "ABC123DEF"}, "content.keyId"),
        ({"keyId": 1234567890}, "content.keyId"),
        ({"teamId": "DEF123GHIJK"}, "content.teamId"),
        ({"teamId": "DEF-23GHIJ"}, "content.teamId"),
        ({"bundleId": "shop"}, "content.bundleId"),
        ({"bundleId": "com..shop"}, "content.bundleId"),
        ({"bundleId": "com.example/shop"}, "content.bundleId"),
        ({"privateKey": "****"}, "content.privateKey"),
        ({"privateKey": b64("garbage that is base64 but no key")}, "content.privateKey"),
        ({"privateKey": ""}, "content.privateKey"),
        ({"extra": "1"}, "content.extra"),
    ],
)
def test_apn_token_rejections(p8: bytes, change: dict[str, object], field: str) -> None:
    content: dict[str, object] = {**apn_token_content(p8), **change}
    _reject("APN", content, field, p8)


@pytest.mark.parametrize("missing", ["teamId", "bundleId", "privateKey"])
def test_apn_token_rejects_missing_field(p8: bytes, missing: str) -> None:
    content = {k: v for k, v in apn_token_content(p8).items() if k != missing}
    error = _reject("APN", content, f"content.{missing}", p8)
    assert "required" in error.message


# --- robustness --------------------------------------------------------------


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    credential_type=st.sampled_from(["FCM", "APN", "APN_SANDBOX"]),
    content=st.dictionaries(
        st.sampled_from(["privateKey", "certificate", "keyId", "teamId", "bundleId", "other"]),
        st.one_of(st.text(max_size=300), st.binary(max_size=300).map(b64), st.integers()),
        max_size=5,
    ),
)
def test_arbitrary_uploads_only_raise_credential_error(
    credential_type: str, content: dict[str, object]
) -> None:
    try:
        validate_credential(credential_type, content)
    except CredentialError as error:
        assert error.field == "credentialType" or error.field.startswith("content")


# --- the key factory (fakes.keys) -------------------------------------------


def test_ca_signed_apn_certificate_verifies_against_ca(ca: PemPair, apn_pair: PemPair) -> None:
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    cert = x509.load_pem_x509_certificate(apn_pair.cert_pem)
    cert.verify_directly_issued_by(ca_cert)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    public_key = cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == 2048


def test_server_cert_names_hosts(ca: PemPair) -> None:
    pair = make_server_cert(ca, ("127.0.0.1", "localhost", "fake-apns.test"))
    cert = x509.load_pem_x509_certificate(pair.cert_pem)
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.cert_pem))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "fake-apns.test"]


def test_consecutive_credentials_get_different_keys() -> None:
    first, second = make_service_account(), make_service_account()
    assert first["private_key"] != second["private_key"]
    assert first["private_key_id"] != second["private_key_id"]
    assert make_p8_key() != make_p8_key()


def test_write_ca_files(tmp_path: Path, ca: PemPair) -> None:
    cert_path = write_ca_files(tmp_path / "tls", ca)
    assert cert_path == tmp_path / "tls" / "ca.pem"
    assert cert_path.read_bytes() == ca.cert_pem
    key_path = tmp_path / "tls" / "ca.key"
    assert key_path.read_bytes() == ca.key_pem
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_b64_of_text_and_bytes() -> None:
    assert b64("é") == "w6k="
    assert b64(b"\x00\xff") == "AP8="
