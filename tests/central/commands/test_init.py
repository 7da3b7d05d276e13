"""``prep central init``: a private key, a pinnable certificate and the schema at the
Alembic head; a second run replaces nothing."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from psycopg import sql

from central.db import current_revision
from central.db import head_revision
from central.db import make_engine
from central.db.engine import EMBEDDED_SETTINGS
from central.db.engine import database_dsn
from central.db.schema import METADATA
from prep.crypto import SigningKey
from prep.crypto import cert_fingerprint
from tests.harness.central import REPO


def _central(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "central", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False,
                          env=env)


def test_init_makes_a_private_key_a_certificate_and_the_schema(tmp_path: Path,
                                                                pg_database: str) -> None:
    data = tmp_path / "central"
    done = _central("init", "--data-dir", str(data), "--dsn", pg_database)
    assert done.returncode == 0, done.stderr

    key_file = data / "central.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "tls" / "key.pem").stat().st_mode) == 0o600
    key = SigningKey.load(key_file)
    assert key.public.fingerprint() in done.stdout
    cert = x509.load_pem_x509_certificate((data / "tls" / "cert.pem").read_bytes())
    assert cert_fingerprint(cert.public_bytes(serialization.Encoding.DER)) in done.stdout
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert {"localhost", socket.gethostname()} <= set(names.get_values_for_type(x509.DNSName))

    engine = make_engine(pg_database)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:  # the migrations build exactly the models' schema
            assert compare_metadata(MigrationContext.configure(conn), METADATA) == []
    finally:
        engine.dispose()


def test_init_twice_keeps_the_key_and_the_certificate(tmp_path: Path, pg_database: str) -> None:
    data = tmp_path / "central"
    assert _central("init", "--data-dir", str(data), "--dsn", pg_database).returncode == 0
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}

    again = _central("init", "--data-dir", str(data), "--dsn", pg_database)

    assert again.returncode == 0, again.stderr
    assert "ya existía" in again.stdout
    after = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    # The audit chain's copy outside the database only grows (central.audit.ancla): the
    # second init's events are appended to it; everything else is as it was.
    anchor = data / "ancla" / "bitacora.jsonl"
    assert after.pop(anchor).startswith(before.pop(anchor))
    assert after == before


def test_without_a_dsn_the_central_runs_its_own_postgres(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "central"
    monkeypatch.delenv("PREP_CENTRAL_DSN", raising=False)  # for database_dsn below too
    env = dict(os.environ)

    done = _central("init", "--data-dir", str(data), env=env)
    assert done.returncode == 0, done.stderr
    code = _central("enroll-code", "--data-dir", str(data), "--ccv", "--role", "ccv", env=env)
    assert code.returncode == 0, code.stderr

    assert (data / "pgdata" / "PG_VERSION").exists()
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){2}", code.stdout.strip())
    audit = _central("verify-audit", "--data-dir", str(data), env=env)
    assert audit.returncode == 0 and "2 eventos" in audit.stdout, audit.stderr
    # Sized for a night's writes, shared_buffers too (the server restarted since init).
    with database_dsn(None, data / "pgdata") as dsn, psycopg.connect(dsn) as conn:
        shown = {name: conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name)))
                 .fetchone() for name in EMBEDDED_SETTINGS}
    assert shown == {name: (value,) for name, value in EMBEDDED_SETTINGS.items()}


def test_the_central_commands_are_listed() -> None:
    done = _central("--help")
    assert done.returncode == 0
    for command in ("init", "serve", "enroll-code", "verify-audit"):
        assert command in done.stdout
