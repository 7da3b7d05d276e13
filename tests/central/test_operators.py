"""Operator accounts, catalog versions, the station bundle and the station health table
at the central (real subprocess and PostgreSQL; a bare station signs its requests)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central.db import make_engine
from central.operators import add_operator
from prep.bundle import BUNDLE_PATH, read_bundle
from prep.catalog import generate_catalog, write_catalog
from prep.records import Kind
from tests.central.station import Station, central_cli, error_of, query
from tests.harness.central import REPO, CentralNode

PASSWORD = "contraseña-larga-1"


def _add_cli(node: CentralNode, name: str, role: str, *site: str,
             password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "central", "operator", "add",
                           "--data-dir", str(node.data_dir), "--dsn", node.dsn, "--name", name,
                           "--role", role, *site, "--password-stdin"], cwd=REPO,
                          input=password + "\n", capture_output=True, text=True, timeout=60,
                          check=False)


def _add(node: CentralNode, name: str, role: str, sitio: str) -> str:
    engine = make_engine(node.dsn, pool_size=1)
    try:
        return add_operator(engine, name, role, sitio, PASSWORD, actor="pruebas").id
    finally:
        engine.dispose()


def _bundle(station: Station, held: int | None = None) -> tuple[int, bytes]:
    headers = station.signed("GET", BUNDLE_PATH, hashlib.sha256().hexdigest())
    if held is not None:
        headers["If-None-Match"] = f'"{held}"'
    return station.node.request("GET", BUNDLE_PATH, b"", headers)


def test_operator_add_stores_an_scrypt_hash_never_the_password(
        shared_central: CentralNode) -> None:
    done = _add_cli(shared_central, "  Mariana   López ", "capturista", "--catd", "7")

    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["id"] == "op-07-mariana-lopez" and created["name"] == "Mariana López"
    [(salt, n, r, p, digest, enabled)] = query(
        shared_central.dsn, "SELECT scrypt_salt, scrypt_n, scrypt_r, scrypt_p, scrypt_hash, "
        "enabled FROM operators WHERE id = %s", created["id"])
    assert (n, r, p, len(salt), len(digest), enabled) == (2**14, 8, 1, 16, 32, True)
    assert hashlib.scrypt(PASSWORD.encode(), salt=salt, n=n, r=r, p=p, dklen=32) == digest
    # The password is nowhere: not in the row, the audit log, or what was printed.
    assert PASSWORD.encode() not in bytes(salt) + bytes(digest)
    audit = query(shared_central.dsn, "SELECT detail::text FROM audit_log WHERE event = "
                  "'operator_created' AND detail->>'id' = %s", created["id"])
    assert len(audit) == 1 and PASSWORD not in audit[0][0]
    assert PASSWORD not in done.stdout + done.stderr

    # Same name at the same site (any case) → refused; elsewhere it is another person.
    again = _add_cli(shared_central, "MARIANA LÓPEZ", "verificador", "--catd", "7")
    assert again.returncode == 2 and "ya existe" in again.stderr
    elsewhere = _add_cli(shared_central, "Mariana López", "capturista", "--ccv")
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert json.loads(elsewhere.stdout)["id"] == "op-ccv-mariana-lopez"

    listed = central_cli(shared_central, "operator", "list", "--catd", "7")
    assert listed.returncode == 0, listed.stderr
    row = next(o for o in json.loads(listed.stdout) if o["id"] == created["id"])
    assert "scrypt" not in json.dumps(row) and row["role"] == "capturista"


@pytest.mark.parametrize(("args", "password", "message"), [
    (("--role", "capturista", "--catd", "7"), "corta", "al menos 10 caracteres"),
    (("--role", "acopiador", "--ccv"), PASSWORD, "trabaja en un CATD"),
    (("--role", "capturista", "--central"), PASSWORD, "trabaja en un CATD (--catd N) o el CCV"),
])
def test_operator_add_refuses_short_passwords_and_wrong_sites(
        shared_central: CentralNode, args: tuple[str, ...], password: str,
        message: str) -> None:
    done = _add_cli(shared_central, "Persona Rechazada", args[1], *args[2:],
                    password=password)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not query(shared_central.dsn, "SELECT id FROM operators WHERE name = %s",
                     "Persona Rechazada")


def test_a_stations_bundle_holds_only_its_sites_operators(shared_central: CentralNode) -> None:
    mine = {_add(shared_central, f"Acopiador {i}", "acopiador", "09") for i in range(2)}
    _add(shared_central, "Capturista del diez", "capturista", "10")
    ccv = _add(shared_central, "Verificadora CCV", "verificador", "CCV")
    boss = _add(shared_central, "Coordinadora", "coordinador", "CENTRAL")
    catd = Station.enroll(shared_central, catd=9)

    status, body = _bundle(catd)

    assert status == 200, body
    bundle = read_bundle(body, shared_central.central_key, catd.id, "09")
    assert {o.id for o in bundle.operators} == mine
    assert all(o.sitio == "09" and o.enabled and o.scrypt is not None for o in bundle.operators)
    ccv_station = Station.enroll(shared_central, catd=None, role="ccv")
    ccv_bundle = read_bundle(_bundle(ccv_station)[1], shared_central.central_key,
                             ccv_station.id, "CCV")
    assert ccv in {o.id for o in ccv_bundle.operators}
    assert boss not in {o.id for o in ccv_bundle.operators}
    assert {o.sitio for o in ccv_bundle.operators} == {"CCV"}

    # The version held → 304 and no body; an unsigned request → 401.
    assert _bundle(catd, held=bundle.version) == (304, b"")
    status, body = shared_central.request("GET", BUNDLE_PATH)
    assert status == 401 and error_of(body)[0] == "unauthenticated"
    [(held,)] = query(shared_central.dsn, "SELECT bundle_version FROM station_health "
                      "WHERE station = %s", catd.id)
    assert held == bundle.version


def test_disabling_an_operator_bumps_the_bundle_version(shared_central: CentralNode) -> None:
    operator = _add(shared_central, "Digitalizador once", "digitalizador", "11")
    station = Station.enroll(shared_central, catd=11)
    before = read_bundle(_bundle(station)[1], shared_central.central_key, station.id, "11")

    done = central_cli(shared_central, "operator", "disable", operator)

    assert done.returncode == 0, done.stderr
    status, body = _bundle(station, held=before.version)
    assert status == 200
    after = read_bundle(body, shared_central.central_key, station.id, "11")
    assert after.version > before.version
    [disabled] = [o for o in after.operators if o.id == operator]
    assert not disabled.enabled and disabled.scrypt is None  # no hash to guess offline
    assert query(shared_central.dsn, "SELECT count(*) FROM audit_log WHERE event = "
                 "'operator_disabled' AND detail->>'id' = %s", operator) == [(1,)]


def test_an_invalid_catalog_is_refused_and_audited(shared_central: CentralNode,
                                                   tmp_path: Path) -> None:
    write_catalog(generate_catalog(7, 0.01), tmp_path / "cat")
    casillas = tmp_path / "cat" / "casillas.csv"
    casillas.write_text(casillas.read_text().replace(",B,", ",Q,", 1))

    done = central_cli(shared_central, "catalog", "load", str(tmp_path / "cat"))

    assert done.returncode == 2 and "casillas.csv: línea" in done.stderr, done.stderr
    assert query(shared_central.dsn, "SELECT count(*) FROM audit_log WHERE event = "
                 "'catalog_refused' AND detail->>'source' = %s",
                 str(tmp_path / "cat")) == [(1,)]


def test_heartbeats_fill_the_station_health_table(shared_central: CentralNode) -> None:
    station = Station.enroll(shared_central, catd=12)
    heartbeat = {"version": "9.8.7", "backlog": 42, "backlog_bytes": 123456,
                 "last_error": "Sin conexión con el nodo central"}
    _, body = station.batch(station.records(2) + station.records(1, Kind.HEARTBEAT, heartbeat))
    assert station.post(body, clock=datetime.now(UTC) + timedelta(minutes=5))[0] == 200
    [(skew, version)] = query(shared_central.dsn, "SELECT clock_skew_seconds, version FROM "
                              "station_health WHERE station = %s", station.id)
    assert 290 < skew < 310 and version == "9.8.7"

    _, body = station.batch(station.records(1))  # no heartbeat: contact and clock only
    assert station.post(body, clock=datetime.now(UTC))[0] == 200
    done = central_cli(shared_central, "stations")

    assert done.returncode == 0, done.stderr
    [row] = [r for r in json.loads(done.stdout) if r["station"] == station.id]
    assert (row["version"], row["backlog"], row["backlog_bytes"]) == ("9.8.7", 42, 123456)
    assert row["last_error"] == "Sin conexión con el nodo central"
    assert row["last_batch"] == 2 and row["sitio"] == "12" and row["last_seen"]
    assert abs(row["clock_skew_seconds"]) < 30  # the latest batch's clock was right
