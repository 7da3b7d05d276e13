"""A replaced primary neither publishes nor receipts, and no bare header locks a station
out (issue 62, «Continuity»; docs/continuidad.md), with real processes: a primary and its
synchronous standby (embedded PostgreSQL), the primary SIGKILLed, the standby promoted
and serving at the same address, a real station syncing over HTTPS.

- The old primary, restarted still synchronous, runs ``prep central corte``: nothing is
  published (no ``latest``, no corte directory), where it used to write, sign and point
  ``latest`` at a corte before its commit hung waiting for the lost standby.
- Made asynchronous by hand and served, it gets nothing from the station (which checks
  the node's signed timeline before sending) and learns from the station's signed
  statement that it was replaced: it refuses any batch (409 ``old_primary``, no
  receipt) and any corte from then on.
- A rogue node holding the TLS key every standby and backup carries (not the
  institute's signing key) answers ``X-Prep-Linea`` with 5,000 digits, then 999999999:
  the station's client neither crashes nor raises its timeline, cannot get the rogue's
  timeline confirmed (so would send it nothing), and delivers to the promoted node
  afterwards.
- A rogue node holding a backup's signing key too (``central.key``) signs timeline
  999999999 at ``/v1/linea``: beyond the ``linea`` of the signed node list the station
  holds (2, the promoted node's), so refused; the station keeps 2 and, restarted,
  still delivers to the promoted node (it used to keep 999999999 and refuse the
  promoted node for good).
- A corte whose row cannot commit yet (another session holds the ``cortes`` table, as
  a commit waiting for a lost synchronous standby holds the corte back) has published
  nothing meanwhile; once its row commits, it is published whole and verifies.
- ``nodos agregar`` refuses a CA certificate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

from central.continuity.fencing import FENCE_FILE
from central.db import make_engine
from central.node.config import DataDir
from central.node.config import load_identity
from central.pipeline.rebuild import load_catalog as load_and_seed
from central.stations.operators import add_operator
from prep.catalog import generate_catalog
from prep.catalog import write_catalog
from prep.linea import verify_linea
from prep.station.client import BEYOND_LIST
from prep.station.client import OLD_PRIMARY
from prep.station.client import UNCONFIRMED
from prep.station.client import CentralClient
from prep.station.client import TimelineFence
from prep.station.errors import SyncError
from prep.station.station import Station
from simulacro.nodo import kill_postmaster
from tests.central.continuity.test_failover_station import _dsn
from tests.central.continuity.test_failover_station import _records
from tests.central.continuity.test_standby_cli import _background
from tests.central.continuity.test_standby_cli import _first_line
from tests.central.continuity.test_standby_cli import _prep
from tests.central.continuity.test_standby_cli import base  # noqa: F401  (the fixture)
from tests.central.station import central_cli
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.espera import esperar
from tests.harness.espera import holgado
from tests.harness.netns_targets import TlsIdentity
from tests.harness.spoof import SpoofCentral
from tests.harness.work import load_catalog
from tests.prep.station.support import clave
from tests.prep.station.test_network_faults import FAST


def _bound() -> float:
    """Generous on a quiet machine, scaled to how loaded this one is now."""
    return holgado(120)


OPTIONS = dataclasses.replace(FAST, cursor_interval=0.5, home_interval=3600.0)


def _published(publicacion: Path) -> list[str]:
    """What a reader of the publication directory sees: ``latest`` and corte dirs."""
    if not publicacion.exists():
        return []
    return sorted(p.name for p in publicacion.iterdir() if not p.name.startswith("."))


def _prepared(publicacion: Path) -> bool:
    """A corte fully written and signed under its hidden name (not published)."""
    return publicacion.exists() and any(
        (p / "MANIFIESTO.sha256.sig").exists() for p in publicacion.glob(".*.tmp-*"))


def _catalogo(datos: Path) -> None:
    """A small catalog loaded as ``prep central catalog load`` does (cortes need one)."""
    engine = make_engine(_dsn(datos), pool_size=1)
    try:
        with tempfile.TemporaryDirectory(prefix="catalogo-") as tmp:
            write_catalog(generate_catalog(4, 0.005), Path(tmp))
            with Session(engine) as session, session.begin():
                load_and_seed(session, Path(tmp), actor="pruebas")
    finally:
        engine.dispose()


def _el_registro_sigue(promovido: Path, publicacion: Path) -> None:
    """The promoted node's log goes on from the same leaf, gapless (issue 67): its first
    corte is entry 1, included in a head that extends the one published before."""
    _prep("corte", "--data-dir", str(promovido), "--publicacion", str(publicacion))
    with psycopg.connect(_dsn(promovido)) as conn:
        filas = conn.execute("SELECT indice, corte FROM registro_cortes "
                             "ORDER BY indice").fetchall()
    assert [i for i, _ in filas] == [0, 1], filas
    testigos = subprocess.run([sys.executable, "-m", "prep", "verify-corte",
                               str(publicacion / filas[1][1]), "--testigos"], cwd=REPO,
                              capture_output=True, text=True, timeout=_bound())
    assert testigos.returncode == 0, testigos.stdout + testigos.stderr
    assert "el corte es la entrada 1" in testigos.stdout


def _post_batch(url: str) -> tuple[int, dict[str, str]]:
    """A batch from a station that never heard of the new timeline (no probe)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(f"{url}/v1/batches", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def _ask(client: CentralClient, what: str) -> Any:
    async with client:
        return await getattr(client, what)()


def test_a_replaced_primary_neither_publishes_nor_receipts_and_a_rogue_header_locks_no_one_out(
        base: Path) -> None:  # noqa: F811
    a, b = base / "primario", base / "standby"
    pub_a = base / "publicacion-a"
    _prep("init", "--data-dir", str(a))
    serve_a, out = _background(base, "serve-a", "serve", "--data-dir", str(a), "--port", "0")
    url = str(_first_line(serve_a, out)["url"])
    port = url.rsplit(":", 1)[1]
    engine = make_engine(_dsn(a), pool_size=1)
    acopiador = add_operator(engine, "Acopiador 07", "acopiador", "07",
                             "contraseña de prueba larga", actor="pruebas").id
    engine.dispose()
    _catalogo(a)  # for the cortes of the public log (issue 67)
    _prep("ventana", "--data-dir", str(a), "--inicio", "ahora")  # cortes may be published
    _prep("standby", "init", "--data-dir", str(b), "--primario-datos", str(a))
    run_b, out = _background(base, "standby-run", "standby", "run", "--data-dir", str(b))
    _first_line(run_b, out)
    _prep("standby", "sincrono", "--data-dir", str(a))
    code = _prep("enroll-code", "--data-dir", str(a), "--catd", "7").stdout.split()[-1]

    station = Station.open(base / "estacion")
    station.enroll(url, code, load_identity(DataDir(a)).cert_sha256)
    ident = station.store.require_identity().station_id
    with station:
        agent = station.start_sync(OPTIONS)
        for i in range(5):
            station.acopio(clave(i), acopiador)
        esperar(lambda: station.status().backlog_records == 0, _bound(), agent.state)
        assert station.store.highest_timeline() == 1
        # A corte before the failover starts the public log of cortes (issue 67).
        pub_ok = base / "publicacion"
        _prep("corte", "--data-dir", str(a), "--publicacion", str(pub_ok))

        # The primary's machine is lost; the standby is promoted at the same address.
        serve_a.kill()
        serve_a.wait(30)
        kill_postmaster(a / "pgdata")
        _prep("promote", "--data-dir", str(b), "--motivo", "se perdió el primario")
        serve_b, out = _background(base, "serve-b", "serve", "--data-dir", str(b),
                                   "--port", port)
        _first_line(serve_b, out)
        for i in range(5, 10):
            station.acopio(clave(i), acopiador)
        esperar(lambda: station.status().backlog_records == 0, _bound(), agent.state)
        assert station.store.highest_timeline() == 2
        _el_registro_sigue(b, pub_ok)
        proof = station.store.timeline_statement()
        assert proof is not None  # signed by the institute's key, for its own nonce
        assert verify_linea(proof, station.store.require_identity().central_key).linea == 2

        # 1. The old primary's machine comes back, still synchronous, and someone asks it
        # for a corte: nothing is published (at most a hidden, unreferenced directory
        # while its commit waits for the standby that is now the primary).
        corte, out = _background(base, "corte-viejo", "corte", "--data-dir", str(a),
                                 "--publicacion", str(pub_a))
        esperar(lambda: corte.poll() is not None or _prepared(pub_a)
                or (pub_a / "latest").exists(), _bound(), "el corte del primario anterior")
        assert _published(pub_a) == [], (out.with_suffix(".err")).read_text()
        if corte.poll() is not None:
            assert corte.returncode == 1
            assert "no puede confirmar" in out.with_suffix(".err").read_text()
        else:
            corte.kill()
            corte.wait(30)

        # 2. The promoted node stops; the old primary, made asynchronous by hand, serves
        # at that address. The station sends it nothing, and its signed statement tells
        # the old primary it was replaced.
        serve_b.send_signal(signal.SIGTERM)
        serve_b.wait(30)
        _prep("standby", "asincrono", "--data-dir", str(a), "--motivo",
              "alguien reinició el servidor A")
        serve_old, out = _background(base, "serve-old", "serve", "--data-dir", str(a),
                                     "--port", port)
        _first_line(serve_old, out)
        for i in range(10, 15):
            station.acopio(clave(i), acopiador)
        esperar(lambda: agent.state().last_error_code == OLD_PRIMARY, _bound(), agent.state)
        esperar(lambda: (a / FENCE_FILE).exists(), _bound(), "el primario anterior se aísla")
        assert station.status().backlog_records > 0
        assert _records(a, ident) == (5, 5)  # nothing of it reached the old primary
        # Nor gives it a receipt to a station that never heard of timeline 2.
        status, answer = _post_batch(url)
        assert (status, answer["error"]) == (409, "old_primary"), answer
        assert "fue reemplazado" in answer["message"]
        done = _prep("corte", "--data-dir", str(a), "--publicacion", str(pub_a), check=False)
        assert done.returncode == 1 and "fue reemplazado" in done.stderr, done.stderr
        assert _published(pub_a) == []
        with psycopg.connect(_dsn(a)) as conn:
            row = conn.execute("SELECT detail FROM audit_log WHERE event = "
                               "'central_fenced'").fetchone()
        assert row is not None and row[0]["linea_superior"] == 2, row

        # 3. The promoted node answers again; a rogue node holding the TLS key every
        # standby and backup carries (not the institute's signing key) claims a huge
        # timeline, first with 5,000 digits.
        serve_old.kill()
        serve_old.wait(30)
        serve_b, out = _background(base, "serve-b2", "serve", "--data-dir", str(b),
                                   "--port", port)
        _first_line(serve_b, out)
        esperar(lambda: station.status().backlog_records == 0, _bound(), agent.state)
        stolen = TlsIdentity(b / "tls" / "cert.pem", b / "tls" / "key.pem",
                             load_identity(DataDir(b)).cert_sha256)
        with SpoofCentral(base / "impostor", identity=stolen) as rogue:
            # The client the sync agent uses, at the rogue's address.
            client = CentralClient(station.store.require_identity(), station.key(),
                                   rogue.url, fence=TimelineFence(station.store))
            rogue.linea = "9" * 5000
            status, _ = asyncio.run(_ask(client, "cursor"))  # no crash: it is ignored
            assert status == 503
            rogue.linea = "999999999"
            status, _ = asyncio.run(_ask(client, "cursor"))
            assert status == 503 and station.store.highest_timeline() == 2
            with pytest.raises(SyncError) as refused:  # it cannot sign a timeline
                asyncio.run(_ask(client, "confirm_timeline"))
            assert refused.value.code == UNCONFIRMED
            assert "no demostró con la firma" in str(refused.value)
        assert station.store.highest_timeline() == 2
        # The same rogue with the central's signing key too (every backup carries it):
        # its signed statement goes beyond what the signed node list allows.
        backup_key = load_identity(DataDir(b)).key
        with SpoofCentral(base / "impostor-llave", identity=stolen,
                          signing_key=backup_key) as rogue:
            rogue.linea = "999999999"
            client = CentralClient(station.store.require_identity(), station.key(),
                                   rogue.url, fence=TimelineFence(station.store))
            with pytest.raises(SyncError) as refused:
                asyncio.run(_ask(client, "confirm_timeline"))
            assert refused.value.code == BEYOND_LIST
            assert "solo admite hasta la 2" in str(refused.value)
            assert station.store.highest_timeline() == 2
        # The genuine promoted node is not refused, also by the station restarted.
        station.stop_sync()
        agent = station.start_sync(OPTIONS)
        station.acopio(clave(15), acopiador)
        esperar(lambda: station.status().backlog_records == 0, _bound(), agent.state)
        assert station.store.highest_timeline() == 2
        station.stop_sync()
    assert _records(b, ident) == (16, 16)


def _ca_certificate() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA de un tercero")])
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                  critical=True)
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def test_nodos_agregar_refuses_a_ca_certificate(central_node: CentralNode,
                                                tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(_ca_certificate())
    done = central_cli(central_node, "nodos", "agregar", "--url", "https://10.0.0.9:8443",
                       "--certificado", str(ca))
    assert done.returncode == 2, done.stderr
    assert "autoridad certificadora" in done.stderr
    listed = central_cli(central_node, "nodos", "listar", "--json")
    assert json.loads(listed.stdout)["nodos"] == []
    with psycopg.connect(central_node.dsn) as conn:
        row = conn.execute("SELECT detail FROM audit_log WHERE event = "
                           "'central_node_refused'").fetchone()
    assert row is not None and row[0]["error"] == "ca_certificate"


def test_a_corte_is_published_only_after_its_row_commits(central_node: CentralNode,
                                                        tmp_path: Path) -> None:
    publicacion = tmp_path / "publicacion"
    load_catalog(central_node)
    window = central_cli(central_node, "ventana", "--inicio", "ahora")
    assert window.returncode == 0, window.stderr
    with psycopg.connect(central_node.dsn) as blocker:
        # Reads go on; the corte's INSERT waits, as a commit waiting for a lost
        # synchronous standby would (that is what the old primary did).
        blocker.execute("LOCK TABLE cortes IN EXCLUSIVE MODE")
        corte = subprocess.Popen(
            [sys.executable, "-m", "prep", "central", "corte", "--publicacion",
             str(publicacion), "--data-dir", str(central_node.data_dir), "--dsn",
             central_node.dsn], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            esperar(lambda: _prepared(publicacion) or (publicacion / "latest").exists()
                    or corte.poll() is not None, _bound(), "el corte queda preparado")
            assert corte.poll() is None, corte.communicate()[1].decode()
            esperar(lambda: blocker.execute(
                "SELECT count(*) FROM pg_locks WHERE relation = 'cortes'::regclass "
                "AND NOT granted").fetchone() != (0,), _bound(), "el corte espera su registro")
            assert _published(publicacion) == []  # not in place, no latest, unsigned to all
        finally:
            blocker.rollback()  # the lock goes; the corte's row commits
        stdout, stderr = corte.communicate(timeout=_bound())
    assert corte.returncode == 0, stderr.decode()
    name = json.loads(stdout.decode().splitlines()[0])["corte"]
    assert {name, "latest", "latest.txt"} <= set(_published(publicacion))
    assert (publicacion / "latest").resolve().name == name
    verified = subprocess.run([sys.executable, "-m", "prep", "verify-corte",
                               str(publicacion / name)], cwd=REPO, capture_output=True,
                              text=True, timeout=_bound(), check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
