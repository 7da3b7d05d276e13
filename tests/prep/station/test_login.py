"""A real station against a real central: the signed bundle (catalog and accounts of its
site) arrives at enrollment and by the sync agent, tampered, foreign and older bundles are
refused, and operators log in offline against the cached scrypt hashes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from prep import __version__
from prep.bundle import read_bundle
from prep.bundle import sign_bundle
from prep.catalog import catalog_digest
from prep.catalog import generate_catalog
from prep.catalog import write_catalog
from prep.crypto import SigningKey
from prep.station.accounts import save_bundle
from prep.station.client import CentralClient
from prep.station.errors import BundleRefusedError
from prep.station.errors import LoginError
from prep.station.errors import NoCatalogError
from prep.station.station import Station
from prep.station.sync import SyncOptions
from tests.central.station import central_cli
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.coordinador import STDIN
from tests.harness.coordinador import coordinador
from tests.harness.station_cli import station_cmd
from tests.harness.work import add_operators
from tests.prep.station.support import offline_station

PASSWORD = "clave-de-prueba-7"
FAST = SyncOptions(backoff_base=0.05, backoff_cap=0.5, poll_interval=0.1,
                   heartbeat_interval=0.01, bundle_interval=0)


def _central(node: CentralNode, *args: str, coordinador: bool = False) -> dict[str, object]:
    done = central_cli(node, *args, coordinador=coordinador)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def node(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralNode]:
    """One central for the module: catalog version 1 loaded, operators at CATD 07 and CCV."""
    base = tmp_path_factory.mktemp("login-central")
    with running_central(base, pg_dsn) as central:
        write_catalog(generate_catalog(1, 0.01), base / "catalogo-1")
        assert _central(central, "catalog", "load", str(base / "catalogo-1"))["version"] == 1
        add_operators(central, [("Ana Acopio", "acopiador", "07"),
                                ("Carlos Captura", "capturista", "07"),
                                ("Vera CCV", "verificador", "CCV")], PASSWORD)
        yield central


def _enrolled(node: CentralNode, data_dir: Path, catd: int | None = 7) -> Station:
    station = Station.open(data_dir)
    station.enroll(node.url, node.enroll_code(catd, "catd" if catd else "ccv"), node.cert_sha256)
    return station


def _genuine_body(station: Station) -> bytes:
    identity = station.store.require_identity()

    async def get() -> bytes:
        async with CentralClient(identity, station.key(), identity.central_url) as client:
            status, body = await client.bundle(None)
            assert status == 200
            return body
    return asyncio.run(get())


def test_the_bundle_comes_at_enrollment_and_logins_work_offline(node: CentralNode,
                                                                tmp_path: Path) -> None:
    data_dir = tmp_path / "st"
    with _enrolled(node, data_dir) as station:
        held = station.bundle_info()
        assert held is not None and held.operators == 2
        node.kill()  # from here on the station is alone
        try:
            operator = station.login("ana acopio", PASSWORD)
            assert (operator.id, operator.role, operator.sitio) == (
                "op-07-ana-acopio", "acopiador", "07")
            assert station.login("op-07-carlos-captura", PASSWORD).role == "capturista"
            for user, password in (("Ana Acopio", PASSWORD + "x"), ("Nadie", PASSWORD),
                                   ("op-ccv-vera-ccv", PASSWORD)):  # another site's account
                with pytest.raises(LoginError, match="Usuario o contraseña incorrectos"):
                    station.login(user, password)
            assert station.catalog().casillas  # the cached catalog, verified again
            done = station_cmd("login", "--data-dir", str(data_dir), "--user",
                               "Carlos Captura", input=PASSWORD + "\n")
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["id"] == "op-07-carlos-captura"
            wrong = station_cmd("login", "--data-dir", str(data_dir), "--user",
                                "Carlos Captura", input="equivocada-123\n")
            assert wrong.returncode == 2
            assert "Usuario o contraseña incorrectos" in wrong.stderr
        finally:
            node.start()


def test_without_a_bundle_there_is_no_login_and_no_catalog(tmp_path: Path) -> None:
    with offline_station(tmp_path / "st") as station:
        with pytest.raises(LoginError, match="aún no tiene el catálogo: conéctela al nodo "
                                             "central una vez"):
            station.login("Ana Acopio", PASSWORD)
        with pytest.raises(NoCatalogError, match="aún no tiene el catálogo"):
            station.catalog()


def test_a_disabled_operator_cannot_log_in_after_the_next_bundle(node: CentralNode,
                                                                 tmp_path: Path) -> None:
    [operator] = add_operators(node, [("Dora Deshabilitada", "digitalizador", "07")], PASSWORD)
    with _enrolled(node, tmp_path / "st") as station:
        assert station.login("Dora Deshabilitada", PASSWORD).id == operator
        assert not station.fetch_bundle().changed  # nothing new: 304

        _central(node, "operator", "disable", operator, coordinador=True)
        assert station.sync_until_drained(30, FAST)  # the agent brings the new bundle

        with pytest.raises(LoginError, match="Usuario deshabilitado"):
            station.login(operator, PASSWORD)
        assert station.login("Ana Acopio", PASSWORD).id == "op-07-ana-acopio"
        held = station.bundle_info()
        assert held is not None and station.status().to_json()["bundle"] == held.to_json()


def test_tampered_foreign_and_older_bundles_are_refused(node: CentralNode,
                                                        tmp_path: Path) -> None:
    with _enrolled(node, tmp_path / "st") as station:
        identity = station.store.require_identity()
        before = station.bundle_info()
        body = _genuine_body(station)
        genuine = read_bundle(body, identity.central_key, identity.station_id, "07")
        central_key = SigningKey.load(node.data_dir / "central.key")

        flipped = bytearray(body)
        flipped[body.index(b"Ana Acopio")] ^= 0x01  # "Ana" → "@na": one bit
        # An old bundle replayed: lower versions, signed an hour ago.
        older = replace(genuine, operators_version=genuine.operators_version - 1,
                        issued_at=genuine.issued_at - timedelta(hours=1))
        other_station = replace(genuine, station="catd-07-ffff")
        refusals = {
            "flipped": bytes(flipped),
            "other key": sign_bundle(SigningKey.generate(), genuine),
            "older": sign_bundle(central_key, older),
            "other station": sign_bundle(central_key, other_station),
        }
        codes, messages = {}, {}
        for what, bad in refusals.items():
            with pytest.raises(BundleRefusedError) as refused:
                save_bundle(station.store, bad)
            codes[what], messages[what] = refused.value.code, str(refused.value)
        assert codes == {"flipped": "bad_signature", "other key": "bad_signature",
                         "older": "rollback", "other station": "wrong_station"}
        assert "más antiguo" in messages["older"] and "firma" in messages["flipped"]
        assert station.bundle_info() == before  # nothing replaced
        assert station.login("Ana Acopio", PASSWORD).id == "op-07-ana-acopio"


def test_catalog_versions_reach_the_station(node: CentralNode, tmp_path: Path) -> None:
    write_catalog(generate_catalog(2, 0.01), tmp_path / "catalogo-2")
    with _enrolled(node, tmp_path / "st", catd=None) as station:
        held = station.bundle_info()
        assert held is not None and held.catalog_version >= 1

        # Other tests of the module left records: the change needs --confirmar.
        loaded = _central(node, "catalog", "load", str(tmp_path / "catalogo-2"), "--confirmar")
        again = _central(node, "catalog", "load", str(tmp_path / "catalogo-2"), "--confirmar")

        assert (loaded["version"], loaded["new"]) == (held.catalog_version + 1, True)
        assert (again["version"], again["new"]) == (loaded["version"], False)
        outcome = station.fetch_bundle()
        assert outcome.changed and outcome.info.catalog_version == loaded["version"]
        assert outcome.info.catalog_digest == catalog_digest(tmp_path / "catalogo-2")
        assert station.catalog() == generate_catalog(2, 0.01)
        assert station.login("Vera CCV", PASSWORD).sitio == "CCV"
    with psycopg.connect(node.dsn) as conn:
        versions = conn.execute("SELECT version, digest FROM catalog_versions "
                                "ORDER BY version").fetchall()
    assert [v for v, _ in versions] == list(range(1, held.catalog_version + 2))
    assert versions[-1][1] == catalog_digest(tmp_path / "catalogo-2")


def test_the_agents_heartbeats_reach_the_health_table(node: CentralNode,
                                                      tmp_path: Path) -> None:
    skew = timedelta(minutes=10)
    with Station.open(tmp_path / "st", clock=lambda: datetime.now(UTC) + skew) as station:
        station.enroll(node.url, node.enroll_code(7), node.cert_sha256)
        station.acopio("090001B010001", "op-07-ana-acopio")

        assert station.sync_until_drained(30, FAST)

        station_id = station.store.require_identity().station_id
    done = central_cli(node, "stations")
    assert done.returncode == 0, done.stderr
    [row] = [r for r in json.loads(done.stdout) if r["station"] == station_id]
    assert row["version"] == __version__ and row["backlog"] is not None
    # Its ten minutes ahead, give or take the way of a request through a loaded machine.
    assert 540 < row["clock_skew_seconds"] < 660
    assert row["bundle_current"] is True


def test_repeated_wrong_passwords_make_the_name_wait_and_a_new_password_arrives(
        node: CentralNode, tmp_path: Path) -> None:
    [operator] = add_operators(node, [("Olga Olvido", "capturista", "07")], PASSWORD)
    now = [datetime.now(UTC)]
    station = Station.open(tmp_path / "st", clock=lambda: now[0])
    station.enroll(node.url, node.enroll_code(7), node.cert_sha256)
    with station:
        for _ in range(5):
            with pytest.raises(LoginError, match="Usuario o contraseña incorrectos"):
                station.login("Olga Olvido", "adivinanza-123")
        # Even the right password waits now: guessing offline is slow.
        with pytest.raises(LoginError, match="espere 30 segundos") as locked:
            station.login("olga olvido", PASSWORD)
        assert locked.value.code == "locked" and "restablezca" in str(locked.value)
        assert station.login("Ana Acopio", PASSWORD).id == "op-07-ana-acopio"  # others not
        now[0] += timedelta(seconds=31)
        with pytest.raises(LoginError, match="Usuario o contraseña incorrectos"):
            station.login("Olga Olvido", "adivinanza-456")
        with pytest.raises(LoginError, match="espere 60 segundos"):  # it doubles
            station.login("Olga Olvido", PASSWORD)
        now[0] += timedelta(seconds=61)
        assert station.login("Olga Olvido", PASSWORD).id == operator  # and resets
        with pytest.raises(LoginError, match="Usuario o contraseña incorrectos"):
            station.login("Olga Olvido", "adivinanza-789")

        # She forgot it: the coordinator sets a new one; the station takes it.
        new = "otra-clave-segura-8"
        done = subprocess.run(
            [sys.executable, "-m", "prep", "central", "operator", "password", operator,
             "--coordinador", coordinador(node.dsn), "--password-stdin", "--data-dir",
             str(node.data_dir), "--dsn", node.dsn],
            input=STDIN + new + "\n", capture_output=True, text=True, timeout=60,
            check=False)
        assert done.returncode == 0, done.stderr
        assert "Contraseña de " + operator in done.stderr
        assert station.fetch_bundle().changed
        with pytest.raises(LoginError, match="Usuario o contraseña incorrectos"):
            station.login("Olga Olvido", PASSWORD)
        assert station.login("Olga Olvido", new).id == operator
    with psycopg.connect(node.dsn) as conn:
        audited = conn.execute("SELECT detail->>'id' FROM audit_log WHERE event = "
                               "'operator_password_set'").fetchall()
    assert audited == [(operator,)]


def test_a_central_restored_from_a_backup_is_followed_an_old_bundle_replayed_is_not(
        node: CentralNode, tmp_path: Path) -> None:
    with _enrolled(node, tmp_path / "st") as station:
        identity = station.store.require_identity()
        body = _genuine_body(station)
        genuine = read_bundle(body, identity.central_key, identity.station_id, "07")
        central_key = SigningKey.load(node.data_dir / "central.key")
        replayed = replace(genuine, operators_version=genuine.operators_version - 1,
                           issued_at=genuine.issued_at - timedelta(hours=1))
        with pytest.raises(BundleRefusedError, match="más antiguo"):
            save_bundle(station.store, sign_bundle(central_key, replayed))
        # Restored: lower versions, signed after the bundle the station holds.
        restored = replace(replayed, issued_at=genuine.issued_at + timedelta(seconds=5))
        outcome = save_bundle(station.store, sign_bundle(central_key, restored))
        assert outcome.changed
        assert outcome.info.operators_version == genuine.operators_version - 1
        assert station.login("Ana Acopio", PASSWORD).id == "op-07-ana-acopio"


def test_after_a_restore_a_disabled_operator_cannot_log_in_offline(node: CentralNode,
                                                                   tmp_path: Path) -> None:
    """Issue 62: after a restore to an earlier point, the central's bundle reached the
    version the station held with other content (the operator disabled); with the
    version as its ETag the station got 304 and the operator still logged in offline.
    The ETag is the content's hash: the station takes the new bundle."""
    [xochitl] = add_operators(node, [("Xochitl Captura", "capturista", "07")], PASSWORD)
    with _enrolled(node, tmp_path / "st") as station:
        [elsewhere] = add_operators(node, [("Elsa CCV", "verificador", "CCV")], PASSWORD)
        assert station.fetch_bundle().changed  # the version with «elsewhere»
        held = station.bundle_info()
        assert held is not None
        assert station.login("Xochitl Captura", PASSWORD).id == xochitl
        # The restore to before «elsewhere» was created (its row and counter gone), then
        # the coordinator disables Xochitl: the bundle's version is back where it was.
        with psycopg.connect(node.dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM operators WHERE id = %s", (elsewhere,))
        _central(node, "operator", "disable", xochitl, coordinador=True)

        outcome = station.fetch_bundle()

        assert outcome.info.version == held.version and outcome.changed
        with pytest.raises(LoginError):
            station.login("Xochitl Captura", PASSWORD)
