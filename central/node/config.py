"""The central's data directory: node id, Ed25519 key, TLS certificate, blobs and (when
no external server is named) the embedded PostgreSQL.

Layout (everything private to the owner)::

    central.toml        node = "central-1a2b3c4d"
    central.key         Ed25519 private key, raw 32 bytes, mode 0600
    tls/cert.pem        self-signed certificate (ECDSA P-256) the stations pin
    tls/key.pem         its private key, mode 0600
    blobs/ab/cdef…      image blobs by SHA-256 (see central.db.blobs)
    ancla/              the audit chain's head and revocations, outside the database
                        (append-only JSON lines, central.audit.ancla)
    pgdata/             embedded PostgreSQL, only without --dsn / PREP_CENTRAL_DSN

Nothing here is ever replaced once made: stations pin the certificate and trust the key
from enrollment on, so a second ``init`` keeps both.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import tomllib
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import platformdirs
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID

from prep.crypto import SigningKey
from prep.crypto import cert_fingerprint
from prep.durable import write_private

DEFAULT_DATA_DIR = Path(platformdirs.user_data_dir("prep-central"))
ENV_DSN = "PREP_CENTRAL_DSN"
CERT_VALID_DAYS = 5 * 365


class NotInitialized(ValueError):
    """The data directory lacks what ``prep central init`` makes."""


@dataclass(frozen=True)
class DataDir:
    """Paths inside one central's data directory."""

    root: Path

    @property
    def settings(self) -> Path:
        return self.root / "central.toml"

    @property
    def key(self) -> Path:
        return self.root / "central.key"

    @property
    def cert(self) -> Path:
        return self.root / "tls" / "cert.pem"

    @property
    def tls_key(self) -> Path:
        return self.root / "tls" / "key.pem"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def ancla(self) -> Path:
        return self.root / "ancla"

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"


@dataclass(frozen=True)
class Identity:
    """Who this central is: what stations learn at enrollment and pin afterwards."""

    node: str
    key: SigningKey
    cert_pem: bytes
    cert_sha256: str


def initialize(data_dir: DataDir) -> tuple[Identity, bool]:
    """Make whatever is missing of the node id, key and certificate; keep what exists.

    Returns the identity and whether anything was created.
    """
    created = False
    for directory in (data_dir.root, data_dir.cert.parent, data_dir.blobs):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not data_dir.settings.exists():
        # The node id is generated, so it needs no quoting in TOML.
        write_private(data_dir.settings, f'node = "central-{secrets.token_hex(4)}"\n'.encode())
        created = True
    if not data_dir.key.exists():
        SigningKey.generate().save(data_dir.key)
        created = True
    if not data_dir.cert.exists():
        cert_pem, key_pem = _self_signed_certificate()
        # A key left without its certificate (a crash between the two) was never pinned.
        data_dir.tls_key.unlink(missing_ok=True)
        write_private(data_dir.tls_key, key_pem)
        write_private(data_dir.cert, cert_pem)
        created = True
    return load_identity(data_dir), created


def load_identity(data_dir: DataDir) -> Identity:
    """Read the identity made by :func:`initialize`."""
    missing = [p for p in (data_dir.settings, data_dir.key, data_dir.cert, data_dir.tls_key)
               if not p.exists()]
    if missing:
        raise NotInitialized(f"el directorio de datos {data_dir.root} no está inicializado "
                             f"(falta {missing[0].name}); ejecute «prep central init»")
    with data_dir.settings.open("rb") as f:
        node = str(tomllib.load(f)["node"])
    cert_pem = data_dir.cert.read_bytes()
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return Identity(node, SigningKey.load(data_dir.key), cert_pem, cert_fingerprint(der))


def _self_signed_certificate() -> tuple[bytes, bytes]:
    """A certificate for 127.0.0.1, localhost and this host's name, and its key (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PREP nodo central"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PREP")])
    hostnames = dict.fromkeys(["localhost", socket.gethostname()])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=CERT_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            + [x509.DNSName(h) for h in hostnames if h]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


