"""The central's serve nodes in the stations' signed bundle (issue 31,
docs/continuidad.md): two serve nodes on one database, each with its own TLS
certificate, listed with ``prep central nodos``; a station enrolled at node A pins both
certificates, moves to node B when A is killed, never accepts a server whose certificate
is not listed (even at A's address, even holding the institute's signing key), and
every record reaches the central exactly once. A list changed after signing is refused.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from central.db import make_engine
from central.node.config import _self_signed_certificate
from central.stations.operators import add_operator
from prep.bundle import BundleNode
from prep.canonical import canonical_bytes
from prep.canonical import parse_json
from prep.crypto import pem_fingerprint
from prep.station.accounts import save_bundle
from prep.station.errors import BundleRefusedError
from prep.station.models import BundleRow
from prep.station.nodes import node_list
from prep.station.station import Station
from prep.station.station import wait_until
from prep.station.tls import SPOOF_CODE
from tests.central.station import central_cli
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.espera import holgado
from tests.prep.station.support import clave
from tests.prep.station.test_network_faults import FAST

OPTIONS = dataclasses.replace(FAST, locate_after=2, home_interval=0.5, bundle_interval=0.5)


@pytest.fixture
def node_a(pg_dsn: str, tmp_path: Path) -> Iterator[CentralNode]:
    with running_central(tmp_path / "a", pg_dsn) as central:
        yield central


def _serve_node(node: CentralNode, base: Path) -> CentralNode:
    """Another serve node of ``node``'s central (its id and signing key, as ``standby
    init`` copies them, on the same database) with a TLS certificate of its own."""
    data_dir = base / "central"
    (data_dir / "tls").mkdir(parents=True)
    for name in ("central.toml", "central.key"):
        shutil.copy2(node.data_dir / name, data_dir / name)
    cert_pem, key_pem = _self_signed_certificate()
    (data_dir / "tls" / "key.pem").write_bytes(key_pem)
    (data_dir / "tls" / "cert.pem").write_bytes(cert_pem)
    other = CentralNode(base, node.dsn)
    assert other.node == node.node and other.cert_sha256 != node.cert_sha256
    return other


def _records(dsn: str, station_id: str) -> tuple[int, int]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*), count(DISTINCT id) FROM records "
                           "WHERE station = %s", (station_id,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _nodos(node: CentralNode, *args: str) -> dict[str, object]:
    done = central_cli(node, "nodos", *args)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_station_moves_to_the_other_listed_node_and_refuses_an_unlisted_one(
        node_a: CentralNode, tmp_path: Path) -> None:
    node_b = _serve_node(node_a, tmp_path / "b")
    node_b.start()
    impostor = _serve_node(node_a, tmp_path / "c")  # the institute's key, another cert
    try:
        _nodos(node_a, "agregar", "--url", node_a.url)  # its own certificate by default
        _nodos(node_a, "agregar", "--url", node_b.url, "--certificado",
               str(node_b.data_dir / "tls" / "cert.pem"))
        listed = _nodos(node_a, "listar", "--json")
        assert [n["cert_sha256"] for n in listed["nodos"]] == [  # type: ignore[union-attr]
            n.cert_sha256 for n in sorted((node_a, node_b), key=lambda n: n.url)]
        engine = make_engine(node_a.dsn, pool_size=1)
        acopiador = add_operator(engine, "Acopiador 07", "acopiador", "07",
                                 "contraseña de prueba larga", actor="pruebas").id
        engine.dispose()

        station = Station.open(tmp_path / "estacion")
        station.enroll(node_a.url, node_a.enroll_code(7), node_a.cert_sha256)
        ident = station.store.require_identity().station_id
        with station:
            agent = station.start_sync(OPTIONS)
            for i in range(10):
                station.acopio(clave(i), acopiador)
            assert wait_until(lambda: station.status().backlog_records == 0
                              and len(station.status().nodos or []) == 2,
                              holgado(60)), agent.state()
            status = station.status()
            assert {n["url"] for n in status.nodos or []} == {node_a.url, node_b.url}
            assert status.nodo_en_uso == f"{node_a.url} (el nodo de esta estación; " \
                f"{[n['url'] for n in status.nodos or []].index(node_a.url) + 1} de 2 en " \
                "la lista firmada)"

            # Node A dies: the station moves to B, which presents the other listed cert.
            node_a.kill()
            for i in range(10, 20):
                station.acopio(clave(i), acopiador)
            assert wait_until(lambda: station.status().backlog_records == 0, holgado(60)), \
                agent.state()
            assert agent.state().central_url == node_b.url
            assert agent.state().found_via == "lista firmada"
            assert "no respondió" in (station.status().nodo_en_uso or "")
            assert _records(node_a.dsn, ident) == (20, 20)

            # A server at A's address with the institute's key but a certificate not in
            # the list: the station never sends it anything, not even when B is gone.
            impostor.port = node_a.port
            impostor.start()
            node_b.stop()
            for i in range(20, 25):
                station.acopio(clave(i), acopiador)
            assert wait_until(lambda: agent.state().last_error_code == SPOOF_CODE, holgado(60)), \
                agent.state()
            assert "lista firmada" in agent.state().last_error
            assert station.status().backlog_records == 5
            assert _records(node_a.dsn, ident) == (20, 20)  # the impostor got nothing

            # Node A back at its address: the station goes home and delivers the rest.
            impostor.kill()
            node_a.start()
            assert wait_until(lambda: station.status().backlog_records == 0, holgado(60)), \
                agent.state()
            assert agent.state().central_url == node_a.url
            status = station.status()
            station.stop_sync()
        assert _records(node_a.dsn, ident) == (25, 25)
        assert status.batches == status.batches_delivered
        with psycopg.connect(node_a.dsn) as conn:
            row = conn.execute("SELECT count(*), count(DISTINCT number) FROM batches "
                               "WHERE station = %s", (ident,)).fetchone()
        assert row is not None and row[0] == row[1] == status.batches  # each once
    finally:
        impostor.kill()
        node_b.stop()


def test_a_changed_node_list_is_refused(node_a: CentralNode, tmp_path: Path) -> None:
    _nodos(node_a, "agregar", "--url", node_a.url)
    station = Station.open(tmp_path / "estacion")
    station.enroll(node_a.url, node_a.enroll_code(7), node_a.cert_sha256)
    with station:
        station.fetch_bundle()
        with station.store.read() as session:
            row = session.get(BundleRow, 1)
            assert row is not None
            body = row.body
        data = parse_json(body, len(body))
        assert [n["url"] for n in data["bundle"]["nodes"]] == [node_a.url]
        impostor_pem = _self_signed_certificate()[0].decode()
        data["bundle"]["nodes"].append(BundleNode(
            "https://10.66.0.1:8443", pem_fingerprint(impostor_pem), impostor_pem).to_json())
        with pytest.raises(BundleRefusedError) as refused:
            save_bundle(station.store, canonical_bytes(data))
        assert refused.value.code == "bad_signature"
        nodes = node_list(station.store)
        assert nodes.urls == [node_a.url] and nodes.pins == {node_a.cert_sha256}


def test_the_node_commands_refuse_bad_input_and_audit_it(node_a: CentralNode) -> None:
    bad = central_cli(node_a, "nodos", "agregar", "--url", "http://10.0.0.1:8443")
    assert bad.returncode == 2 and "no es válida" in bad.stderr
    _nodos(node_a, "agregar", "--url", node_a.url)
    last = central_cli(node_a, "nodos", "quitar", "--url", node_a.url, "--motivo", "prueba",
                       coordinador=True)
    assert last.returncode == 2 and "único nodo" in last.stderr
    with psycopg.connect(node_a.dsn) as conn:
        events = [(e, d["error"] if "error" in d else None) for e, d in conn.execute(
            "SELECT event, detail FROM audit_log WHERE event LIKE 'central_node%' "
            "ORDER BY id")]
    assert events == [("central_node_refused", "bad_url"), ("central_node_added", None),
                      ("central_node_refused", "last_node")]
