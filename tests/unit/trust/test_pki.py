"""The IGC-Santé-style test PKI: chain, names, key usages, files."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from drimbox.trust.pki import INTERMEDIATE_CN, ROOT_CN, STRUCTURE_ID, PkiFiles, generate_test_pki


def certs(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


@pytest.fixture(scope="module", params=["rsa", "ec"])
def pki(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    return generate_test_pki(tmp_path_factory.mktemp(request.param), key_type=request.param)


def test_files_are_written(pki: PkiFiles) -> None:
    names = sorted(path.name for path in pki.directory.iterdir())
    assert names == [
        "client.key",
        "client.pem",
        "intermediate-ca.key",
        "intermediate-ca.pem",
        "root-ca.key",
        "root-ca.pem",
        "server.key",
        "server.pem",
    ]
    for key in (pki.root_key, pki.intermediate_key, pki.server_key, pki.client_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_names_follow_the_igc_sante_shape(pki: PkiFiles) -> None:
    root, inter = certs(pki.root_cert)[0], certs(pki.intermediate_cert)[0]
    assert root.subject == root.issuer
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == ROOT_CN
    assert inter.issuer == root.subject
    assert "ORGANISATIONS" in INTERMEDIATE_CN
    server = certs(pki.server_cert)[0]
    assert server.subject.rfc4514_string() == (
        f"CN=localhost,OU={STRUCTURE_ID},O=DRIMBOX KIT,ST=Paris (75),C=FR"
    )
    assert server.issuer == inter.subject


def test_leaves_carry_server_and_client_auth(pki: PkiFiles) -> None:
    for path in (pki.server_cert, pki.client_cert):
        leaf, chained = certs(path)
        assert chained == certs(pki.intermediate_cert)[0]  # the chain goes with the leaf
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical and not constraints.value.ca


def test_server_san(pki: PkiFiles) -> None:
    san = certs(pki.server_cert)[0].extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]


def test_chains_verify_to_the_root_only(pki: PkiFiles) -> None:
    store = Store(certs(pki.root_cert))
    server, inter = certs(pki.server_cert)
    builder = PolicyBuilder().store(store)
    for name in (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))):
        chain = builder.build_server_verifier(name).verify(server, [inter])
        assert chain[-1] == certs(pki.root_cert)[0]
    client, inter = certs(pki.client_cert)
    verified = builder.build_client_verifier().verify(client, [inter])
    assert verified.chain[0] == client


def test_key_types(pki: PkiFiles) -> None:
    key = serialization.load_pem_private_key(pki.server_key.read_bytes(), password=None)
    if "rsa" in pki.directory.name:
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    else:
        assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert certs(pki.server_cert)[0].public_key() == key.public_key()


def test_another_pki_does_not_verify(pki: PkiFiles, tmp_path: Path) -> None:
    other = generate_test_pki(tmp_path, key_type="ec")
    client, inter = certs(other.client_cert)
    verifier = PolicyBuilder().store(Store(certs(pki.root_cert))).build_client_verifier()
    with pytest.raises(x509.verification.VerificationError):
        verifier.verify(client, [inter])


def test_validity_window(tmp_path: Path) -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    files = generate_test_pki(tmp_path, key_type="ec", validity_days=2, now=now)
    leaf = certs(files.server_cert)[0]
    assert leaf.not_valid_before_utc == now - dt.timedelta(hours=1)
    assert leaf.not_valid_after_utc == now - dt.timedelta(hours=1) + dt.timedelta(days=2)


def test_custom_server_names(tmp_path: Path) -> None:
    files = generate_test_pki(
        tmp_path,
        key_type="ec",
        server_name="db1.kit.test",
        server_dns=("db1.kit.test",),
        server_ips=("127.0.0.1", "::1"),
    )
    leaf = certs(files.server_cert)[0]
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "db1.kit.test"
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
