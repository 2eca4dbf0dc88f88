"""An IGC-Santé-style test PKI for TLS and mutual-TLS tests (never for production).

Shape copied from the IGC-Santé TEST hierarchy the ANS uses for DRIM-M: a root CA, an intermediate
"AC … ORGANISATIONS" CA, and "personne morale" (organisation) leaf certificates whose extended key
usage carries both serverAuth and clientAuth, with a DN like the whitelist's
``DNCertificatOperateur`` (``CN=<host>,OU=<structure id>,O=<organisation>,ST=…,C=FR``). Names are
fixed and prefixed "DRIMBOX KIT" so they can never be mistaken for real IGC-Santé ones.

Keys: RSA 2048 by default, as IGC-Santé issues; ``key_type="ec"`` gives ECDSA P-256 (faster to
generate). Keys and serial numbers are random; names, extensions and file names are deterministic.
Private keys are written unencrypted with mode 0600. Both leaves carry a subjectAltName (the
client one its DNS name), as RFC 5280 path validators such as ``cryptography``'s require.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyType = Literal["rsa", "ec"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

KIT_ORGANISATION = "DRIMBOX KIT"
ROOT_CN = "DRIMBOX KIT TEST AC RACINE IGC-SANTE STYLE"
INTERMEDIATE_CN = "DRIMBOX KIT TEST AC IGC-SANTE STYLE ORGANISATIONS"
STRUCTURE_ID = "000000000000000"
"""OU of the leaf certificates: IGC-Santé puts the structure's identifier there."""


@dataclass(frozen=True)
class PkiFiles:
    """Where :func:`generate_test_pki` wrote each PEM file."""

    directory: Path
    root_cert: Path
    root_key: Path
    intermediate_cert: Path
    intermediate_key: Path
    server_cert: Path
    """Server leaf followed by the intermediate: what a TLS server presents."""
    server_key: Path
    client_cert: Path
    """Client leaf followed by the intermediate: what an mTLS client presents."""
    client_key: Path


def generate_test_pki(
    directory: Path,
    *,
    key_type: KeyType = "rsa",
    server_name: str = "localhost",
    server_dns: Sequence[str] = ("localhost",),
    server_ips: Sequence[str] = ("127.0.0.1",),
    client_name: str = "drimbox-conso.kit.test",
    organisation: str = KIT_ORGANISATION,
    validity_days: int = 30,
    now: dt.datetime | None = None,
) -> PkiFiles:
    """Create root → intermediate → server + client certificates as PEM files in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(hours=1)
    end = start + dt.timedelta(days=validity_days)
    root_key, inter_key = _new_key(key_type), _new_key(key_type)
    server_key, client_key = _new_key(key_type), _new_key(key_type)

    root_name = _ca_name(ROOT_CN, organisation)
    inter_name = _ca_name(INTERMEDIATE_CN, organisation)
    root = _sign(_ca_builder(root_name, root_name, root_key, root_key, 1), root_key, start, end)
    inter = _sign(_ca_builder(inter_name, root_name, inter_key, root_key, 0), root_key, start, end)
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in server_dns]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
    server = _sign(
        _leaf_builder(_leaf_name(server_name, organisation), inter, server_key, alt_names),
        inter_key,
        start,
        end,
    )
    client = _sign(
        _leaf_builder(
            _leaf_name(client_name, organisation), inter, client_key, [x509.DNSName(client_name)]
        ),
        inter_key,
        start,
        end,
    )
    files = PkiFiles(
        directory=directory,
        root_cert=directory / "root-ca.pem",
        root_key=directory / "root-ca.key",
        intermediate_cert=directory / "intermediate-ca.pem",
        intermediate_key=directory / "intermediate-ca.key",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )
    _write_certs(files.root_cert, root)
    _write_certs(files.intermediate_cert, inter)
    _write_certs(files.server_cert, server, inter)
    _write_certs(files.client_cert, client, inter)
    _write_key(files.root_key, root_key)
    _write_key(files.intermediate_key, inter_key)
    _write_key(files.server_key, server_key)
    _write_key(files.client_key, client_key)
    return files


def _new_key(key_type: KeyType) -> PrivateKey:
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ca_name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "IGC-SANTE STYLE TEST"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _leaf_name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Paris (75)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, STRUCTURE_ID),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: PrivateKey,
    issuer_key: PrivateKey,
    path_length: int,
) -> x509.CertificateBuilder:
    usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )


def _leaf_builder(
    subject: x509.Name,
    issuer: x509.Certificate,
    key: PrivateKey,
    alt_names: list[x509.GeneralName],
) -> x509.CertificateBuilder:
    rsa_key = isinstance(key, rsa.RSAPrivateKey)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=rsa_key,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(eku, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
    )
    return builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)


def _sign(
    builder: x509.CertificateBuilder, issuer_key: PrivateKey, start: dt.datetime, end: dt.datetime
) -> x509.Certificate:
    return (
        builder.serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(issuer_key, hashes.SHA256())
    )


def _write_certs(path: Path, *certs: x509.Certificate) -> None:
    path.write_bytes(b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs))


def _write_key(path: Path, key: PrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)
