"""Helpers for station tests: an enrolled-looking station without a central, JPEG-ish
bytes, and what ``prep station status`` reports."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from prep.crypto import SigningKey
from prep.station.station import Station
from prep.station.store import StationIdentity
from prep.station.store import key_path
from prep.station.tls import pem_fingerprint
from tests.harness.images import padded_jpeg
from tests.harness.station_cli import station_cmd

REPO = Path(__file__).resolve().parents[3]
STATION_ID = "catd-07-test"
UNREACHABLE_URL = "https://127.0.0.1:9"
"""Nothing listens on the discard port: connections are refused at once."""


def self_signed_pem(common_name: str = "prep-central") -> str:
    """A throwaway self-signed certificate (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def offline_station(data_dir: Path, url: str = UNREACHABLE_URL,
                    station_id: str = STATION_ID, **kwargs: Any) -> Station:
    """A station with an identity written directly (as if enrolled with a central that
    is not running)."""
    station = Station.open(data_dir, **kwargs)
    if station.identity is None:
        key = station.key(create=True)
        pem = self_signed_pem()
        station.store.save_identity(StationIdentity(
            station_id=station_id, role="catd", sitio="07", node="central-test",
            central_url=url, central_key=SigningKey.generate().public, cert_pem=pem,
            cert_sha256=pem_fingerprint(pem), key_path=key_path(data_dir)))
        assert station.key() is key
    return station


def jpeg_bytes(size: int) -> bytes:
    """A real JPEG of ``size`` bytes, distinct every call (a tiny page and random
    padding): the central takes only whole images."""
    return padded_jpeg(size)


def clave(i: int) -> str:
    """A well-formed CLAVE_ACTA, distinct for each ``i``."""
    return f"{(i // 1000) % 1000000:06d}B{i % 1000000:06d}"


def status_of(data_dir: Path) -> dict[str, Any]:
    done = station_cmd("status", "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result
