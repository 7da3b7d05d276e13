"""The central and a difusor as a NOC's Prometheus sees them (issue 68): a real ``prep
central serve --metrics-port 0`` fed a small night over HTTPS (a CATD's scans, a PREP
Casilla photo, a sin acta, blind captures through real leases, a heartbeat with a
backlog, a station with its clock ahead, refused and repeated batches), a scheduled corte
and one on demand, and a registered ``prep difusor run --metrics-port 0`` following the
publication; each scrape is parsed with the client library's parser and checked against
the night's own counts in PostgreSQL. Then the shipped alert rules (``promtool``) and
Grafana dashboard only name metrics those scrapes return."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from central.publication.feed import INDICE
from prep.catalog.model import Catalog
from prep.crypto import VerifyKey
from prep.records import Kind
from tests.central.publication_night import basic_night
from tests.central.publication_night import corte as make_corte
from tests.central.publication_night import three_actas
from tests.central.station import Station
from tests.central.station import central_cli
from tests.central.station import error_of
from tests.central.station import query
from tests.difusor.origen import OrigenHttps
from tests.difusor.origen import identidad
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.metricas import Scrape
from tests.harness.metricas import samples
from tests.harness.metricas import scrape
from tests.harness.metricas import value
from tests.harness.metricas import wait_for
from tests.harness.postgres import temporary_database
from tests.harness.work import WorkStation
from tests.harness.work import capturistas
from tests.harness.work import load_catalog

RULES = REPO / "installer" / "prometheus" / "prep-alertas.yml"
RULES_TEST = REPO / "installer" / "prometheus" / "prep-alertas.test.yml"
DASHBOARD = REPO / "installer" / "grafana" / "prep-central.json"
HEARTBEAT = {"version": "0.1.0", "backlog": 7, "backlog_bytes": 4096, "last_error": ""}
SKEW = timedelta(minutes=3)  # past the 2 minutes that raise an anomaly
#: The first scheduled corte: far enough ahead that serve is up when it comes, even on a
#: loaded machine (serve's start is bounded at 60 s; it takes a few). The night is sent
#: meanwhile, so the test waits only for what is left.
FIRST_CORTE_IN = timedelta(seconds=45)


@dataclass
class Night:
    node: CentralNode
    central: Scrape  # the central's scrape at the end of the night
    difusor: Scrape  # the difusor's, once it serves the last corte
    counts: dict[str, int]  # the night's counts, read from PostgreSQL around the scrape
    heartbeat_station: str
    skewed_station: str
    last_corte: str
    difusor_id: str
    log: Path


@pytest.fixture(scope="module")
def night(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Night]:
    base = tmp_path_factory.mktemp("metricas")
    publicacion = base / "central" / "publicacion"
    inicio = (datetime.now(UTC) + FIRST_CORTE_IN).replace(microsecond=0)
    with temporary_database(pg_dsn, prefix="prep_central") as dsn:
        node = CentralNode(base, dsn, env={"PREP_LOG_FORMAT": "json"}, extra_args=[
            "--metrics-port", "0", "--publicacion-inicio", inicio.isoformat(),
            "--corte-every", "20", "--publicacion", str(publicacion)])
        catalog = load_catalog(node, scale=0.02)  # before serve: the corte has a catalog
        node.start()
        try:
            yield _night(node, catalog, publicacion, base)
        finally:
            node.stop()


def _night(node: CentralNode, catalog: Catalog, publicacion: Path, base: Path) -> Night:
    actas = three_actas(catalog)
    ana, beto = capturistas(node)
    ids: dict[str, str] = {}

    async def stations() -> None:
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as neighbour, \
                WorkStation.enroll(node, 3) as tres, \
                WorkStation.enroll_intake(node) as intake:
            await basic_night(node, catalog, actas, station, neighbour, intake,
                              (ana, beto))
            await tres.send([(Kind.HEARTBEAT, "", HEARTBEAT)])
            ids["heartbeat"] = tres.id

    asyncio.run(stations())
    # A station whose clock runs 3 minutes ahead, a batch sent before its predecessor (refused
    # out of order), the same batch twice (answered from the stored receipt), and a body
    # that is not a batch at all.
    skewed = Station.enroll(node, catd=2)
    _, first = skewed.batch(skewed.records(2))
    _, second = skewed.batch(skewed.records(3))
    status, body = skewed.post(second)
    assert status == 409 and error_of(body)[0] == "out_of_order", body
    for _ in range(2):
        status, body = skewed.post(first, clock=datetime.now(UTC) + SKEW)
        assert status == 200, body
    status, body = node.request("POST", "/v1/batches", b'{"no": "un lote"}')
    assert status == 400, body

    # The scheduled corte (serve's own), then one a coordinator asks for.
    wait_for(lambda: bool(query(node.dsn, "SELECT 1 FROM cortes WHERE motivo = 'programado'")),
             what="el corte programado de serve (¿serve tardó más de "
                  f"{FIRST_CORTE_IN.seconds} s en arrancar?)")
    ultimo = make_corte(node, publicacion)
    difusor_id, difusor = _difusor(node, publicacion, ultimo.name, base)
    before = _counts(node)
    central = scrape(node.metrics_url)
    after = _counts(node)
    for stable in ("batches", "records", "leases_captura", "cortes", "casilla"):
        assert before[stable] == after[stable], stable  # nothing moved while scraping
    return Night(node, central, difusor, {**after, "audit_before": before["audit"]},
                 ids["heartbeat"], skewed.id, ultimo.name, difusor_id, node.log_path)


def _difusor(node: CentralNode, publicacion: Path, ultimo: str, base: Path
             ) -> tuple[str, Scrape]:
    """A registered difusor following the central's publication over HTTPS: its scrape
    once it serves ``ultimo`` and the central knows it (reported)."""
    done = central_cli(node, "difusor", "alta", "--nombre", "Universidad de Prueba",
                       "--url", "https://prep.prueba.mx/")
    assert done.returncode == 0, done.stderr
    alta = json.loads(done.stdout)
    datos, tls = base / "difusor", identidad(base / "tls")
    huella = json.loads((publicacion / INDICE).read_bytes())["llave"]
    origen = OrigenHttps(publicacion, tls)
    try:
        for args in (["init", "--origen", origen.url, "--huella",
                      VerifyKey.from_b64(huella).fingerprint(), "--raiz", str(base / "www"),
                      "--ca", str(tls.cert_file), "--intervalo", "0.5"],
                     ["registrar", "--central", node.url, "--codigo", alta["codigo"],
                      "--cert-sha256", node.cert_sha256]):
            done = subprocess.run([sys.executable, "-m", "prep", "difusor", *args, "--datos",
                                   str(datos)], cwd=REPO, capture_output=True, text=True,
                                  timeout=120, check=False)
            assert done.returncode == 0, done.stdout + done.stderr
        runner = subprocess.Popen(
            [sys.executable, "-m", "prep", "difusor", "run", "--datos", str(datos),
             "--metrics-port", "0"], cwd=REPO, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        try:
            assert runner.stdout is not None
            url = json.loads(runner.stdout.readline())["metrics_url"]
            wait_for(lambda: query(node.dsn, "SELECT corte FROM difusores WHERE id = %s",
                                   alta["difusor"]) == [(ultimo,)],
                     what="el difusor sirve y reporta el último corte")
            wait_for(lambda: value(scrape(url), "prep_difusor_cortes_published_total") == 1,
                     what="el difusor cuenta el corte publicado")
            return alta["difusor"], scrape(url)
        finally:
            _ctrl_c(runner)
    finally:
        origen.stop()


def _ctrl_c(runner: subprocess.Popen[str]) -> None:
    """Ctrl+C to the difusor; one still running 60 s later is killed (no process left
    for the next tests) and the fixture fails saying so."""
    runner.send_signal(signal.SIGINT)
    try:
        runner.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        runner.kill()
        runner.communicate()
        raise AssertionError("«prep difusor run» no terminó 60 s después de Ctrl+C "
                             "(SIGINT); se mató") from None


def _counts(node: CentralNode) -> dict[str, int]:
    one = {
        "batches": "SELECT count(*) FROM batches",
        "records": "SELECT count(*) FROM records",
        "leases_captura": "SELECT count(*) FROM leases WHERE kind = 'captura'",
        "cortes": "SELECT count(*) FROM cortes",
        "programados": "SELECT count(*) FROM cortes WHERE motivo = 'programado'",
        "casilla": "SELECT count(*) FROM acta_images WHERE origen = 'CASILLA'",
        "publicadas": "SELECT count(*) FROM actas_publicadas",
        "audit": "SELECT count(*) FROM audit_log",
        "en_captura": "SELECT count(*) FROM acta_states WHERE en_catalogo AND estado IN "
                      "('digitalizada', 'captura_1', 'captura_2')",
    }
    counts = {k: int(query(node.dsn, q)[0][0]) for k, q in one.items()}  # type: ignore[arg-type]
    for estado, n in query(node.dsn, "SELECT estado, count(*) FROM acta_states "
                                     "WHERE en_catalogo GROUP BY estado"):
        counts[f"estado:{estado}"] = int(n)
    return counts


def test_ingest_counts_what_the_stations_sent(night: Night) -> None:
    scraped, counts = night.central, night.counts
    accepted = value(scraped, "prep_ingest_batches_total", outcome="accepted", reason="none")
    assert accepted == counts["batches"]  # every stored batch, each accepted once
    assert value(scraped, "prep_ingest_records_total", outcome="accepted",
                 reason="none") == counts["records"]
    assert value(scraped, "prep_ingest_batches_total", outcome="repeated", reason="none") == 1
    assert value(scraped, "prep_ingest_batches_total", outcome="refused",
                 reason="out_of_order") == 1
    assert value(scraped, "prep_ingest_records_total", outcome="refused",
                 reason="out_of_order") == 3
    assert value(scraped, "prep_ingest_batches_total", outcome="refused",
                 reason="malformed") == 1
    answered = sum(samples(scraped, "prep_ingest_batches_total").values())
    assert value(scraped, "prep_ingest_seconds_count", outcome="accepted") == accepted
    assert sum(samples(scraped, "prep_ingest_seconds_count").values()) == answered


def test_pipeline_and_queue_are_the_databases(night: Night) -> None:
    scraped, counts = night.central, night.counts
    by_state = {dict(k)["estado"]: v for k, v in samples(scraped, "prep_actas").items()}
    assert by_state == {k.split(":", 1)[1]: v for k, v in counts.items()
                        if k.startswith("estado:")}
    assert by_state["validada"] == 2  # the CATD's scan and the PREP Casilla photo
    assert value(scraped, "prep_work_queue_depth", kind="captura") == counts["en_captura"]
    # Two capturistas, each leased both actas once.
    assert value(scraped, "prep_leases_granted_total", kind="captura") == \
        counts["leases_captura"] == 4
    # the two validated and the sin acta (published with its cause)
    assert value(scraped, "prep_actas_published") == counts["publicadas"] == 3
    assert value(scraped, "prep_casilla_images_total") == counts["casilla"] == 1
    assert night.counts["audit_before"] <= value(scraped, "prep_audit_events_total") \
        <= counts["audit"]
    assert value(scraped, "prep_database_up") == 1
    assert value(scraped, "prep_simulacro") == 0


def test_stations_backlog_contact_and_skew(night: Night) -> None:
    scraped = night.central
    rows = query(night.node.dsn, "SELECT id, sitio, role FROM stations ORDER BY id")
    contact = samples(scraped, "prep_station_last_contact_timestamp_seconds")
    assert {dict(k)["station"] for k in contact} == {r[0] for r in rows}
    for labels, seen in contact.items():
        assert abs(seen - time.time()) < 600, labels  # heard from during this night
    hb = next(k for k in samples(scraped, "prep_station_backlog_records")
              if dict(k)["station"] == night.heartbeat_station)
    assert dict(hb) == {"station": night.heartbeat_station, "sitio": "03", "role": "catd"}
    assert samples(scraped, "prep_station_backlog_records")[hb] == 7
    assert samples(scraped, "prep_station_backlog_bytes")[hb] == 4096
    skew = next(v for k, v in samples(scraped, "prep_station_clock_skew_seconds").items()
                if dict(k)["station"] == night.skewed_station)
    assert SKEW.total_seconds() - 60 < skew <= SKEW.total_seconds()  # minus the trip


def test_cortes_in_process_and_in_the_database(night: Night) -> None:
    scraped, counts = night.central, night.counts
    assert value(scraped, "prep_cortes_published_total") == counts["cortes"] == 2
    # serve made the scheduled one (its own histograms); the other came from the CLI.
    assert value(scraped, "prep_cortes_total", outcome="published") == \
        counts["programados"] == 1
    assert value(scraped, "prep_corte_seconds_count") == 1
    assert value(scraped, "prep_corte_phase_seconds_count", phase="snapshot") == 1
    assert value(scraped, "prep_corte_period_seconds") == 20 * 60
    [(at,)] = query(night.node.dsn, "SELECT extract(epoch FROM corte_at) FROM cortes "
                                    "ORDER BY id DESC LIMIT 1")
    assert value(scraped, "prep_corte_last_timestamp_seconds") == pytest.approx(float(at))
    indice = json.loads((night.node.data_dir / "publicacion" / INDICE).read_bytes())
    last = indice["cortes"][-1]
    assert last["nombre"] == night.last_corte
    assert value(scraped, "prep_corte_last_files") == last["archivos"]
    assert value(scraped, "prep_corte_last_bytes") == last["bytes"]
    assert value(scraped, "prep_publication_window_open") == 1
    assert value(scraped, "prep_corte_last_actas", count="capturadas") == 3  # sin acta too
    assert value(scraped, "prep_disk_free_bytes", volume="datos") > 0  # type: ignore[operator]


def test_replication_anomalies_and_difusor_seen_from_the_central(night: Night) -> None:
    scraped = night.central
    assert value(scraped, "prep_replication_standbys_streaming") == 0  # no standby here
    assert value(scraped, "prep_replication_synchronous") == 0
    opened = {dict(k)["type"]: v for k, v in samples(scraped, "prep_anomalies_open").items()}
    raised = {dict(k)["type"]: v for k, v in samples(scraped, "prep_anomalies_total").items()}
    in_db = dict(query(night.node.dsn, "SELECT type, count(*) FROM anomalies GROUP BY type"))
    assert set(raised) <= set(in_db) and all(raised[t] <= in_db[t] for t in raised)
    assert opened["clock_skew"] == raised["clock_skew"] == 1  # the station 3 min ahead
    assert value(scraped, "prep_difusor_reported_lag_cortes", difusor=night.difusor_id) == 0
    assert value(scraped, "prep_difusor_reported_error", difusor=night.difusor_id) == 0


def test_the_difusor_says_what_it_serves_and_refused(night: Night) -> None:
    scraped = night.difusor
    assert value(scraped, "prep_difusor_lag_cortes") == 0
    assert value(scraped, "prep_difusor_lag_seconds") == 0
    assert value(scraped, "prep_difusor_polls_total", outcome="ok") >= 1  # type: ignore[operator]
    assert value(scraped, "prep_difusor_rejections_total", reason="rechazo") == 0
    served = value(scraped, "prep_difusor_corte_served_timestamp_seconds")
    [(at,)] = query(night.node.dsn, "SELECT extract(epoch FROM corte_at) FROM cortes "
                                    "ORDER BY id DESC LIMIT 1")
    # The corte's name carries its minute (local time): its snapshot is in that minute.
    assert served is not None and 0 <= float(at) - served < 60


def test_the_log_is_one_json_object_per_line_with_station_and_batch(night: Night) -> None:
    lines = [json.loads(line) for line in night.log.read_text().splitlines()]
    accepted = [line for line in lines if line["logger"] == "central.ingest"
                and "aceptado" in line["message"]]
    assert {line["station"] for line in accepted} >= {night.heartbeat_station,
                                                       night.skewed_station}
    assert all(isinstance(line["batch"], int) for line in accepted)
    assert any(line.get("corte") for line in lines if line["logger"] == "central.publication")


def _names(text: str) -> set[str]:
    """The PREP metric names an expression (or a file of them) uses, without the
    suffixes Prometheus adds to counters and histograms."""
    found = set(re.findall(r"\bprep_[a-z0-9_]+", text))
    return {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in found}


def _exposed(night: Night) -> set[str]:
    return set(night.central) | set(night.difusor)


def test_the_alert_rules_load_and_name_only_exposed_metrics(night: Night) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool (paquete de Debian prometheus) no está instalado: " \
                     "bash scripts/bootstrap.sh --test"
    done = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([promtool, "test", "rules", str(RULES_TEST)], capture_output=True,
                          text=True, timeout=120, check=False, cwd=RULES_TEST.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    unknown = _names(RULES.read_text()) - _exposed(night)
    assert not unknown, f"las reglas usan métricas que nadie expone: {sorted(unknown)}"
    runbook = (REPO / "docs" / "monitoreo.md").read_text(encoding="utf-8")
    for alert in re.findall(r"- alert: (\w+)", RULES.read_text()):
        assert f"`{alert}`" in runbook, f"la alerta {alert} no tiene su línea en el runbook"


def test_the_dashboard_loads_and_queries_only_exposed_metrics(night: Night) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    assert dashboard["uid"] and dashboard["title"] and len(panels) >= 12
    assert all(p.get("targets") for p in panels), "un panel sin consulta"
    used = set().union(*(_names(e) for e in exprs))
    unknown = used - _exposed(night)
    assert not unknown, f"el tablero consulta métricas que nadie expone: {sorted(unknown)}"
    provisioning = (DASHBOARD.parent / "prep-tablero.yml").read_text(encoding="utf-8")
    assert "providers:" in provisioning


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _api(port: int, path: str, **params: str) -> dict[str, Any]:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/{path}{query}",
                                timeout=30) as response:
        return dict(json.loads(response.read()))


def test_a_real_prometheus_scrapes_the_central_runs_the_dashboard_and_the_rules(
        night: Night, tmp_path: Path) -> None:
    """Debian's Prometheus scrapes the running central with the shipped rules: every
    dashboard query is valid PromQL and answers, the rules evaluate without error."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus (paquete de Debian) no está instalado: " \
                   "bash scripts/bootstrap.sh --test"
    target = urllib.parse.urlsplit(night.node.metrics_url).netloc
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "prep-central",
                            "static_configs": [{"targets": [target]}]}]}))
    port = _free_port()
    server = subprocess.Popen([binary, f"--config.file={config}",
                               f"--storage.tsdb.path={tmp_path / 'datos'}",
                               f"--web.listen-address=127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def scraped() -> bool:
            try:
                result = _api(port, "query", query="prep_actas_published")["data"]["result"]
            except OSError:
                return False
            return bool(result)
        wait_for(scraped, what="Prometheus leyó las métricas del nodo central")
        answer = _api(port, "query", query="max(prep_actas_published)")
        assert float(answer["data"]["result"][0]["value"][1]) == \
            value(night.central, "prep_actas_published")
        dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            for target_ in panel.get("targets", []):
                answer = _api(port, "query", query=target_["expr"])
                assert answer["status"] == "success", (panel["title"], answer)

        def evaluated() -> bool:
            groups = _api(port, "rules")["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return bool(rules) and all(r.get("lastEvaluation", "").startswith("2")
                                       for r in rules)
        wait_for(evaluated, what="Prometheus evaluó cada regla")
        rules = [r for g in _api(port, "rules")["data"]["groups"] for r in g["rules"]]
        assert len(rules) == len(re.findall(r"- alert: ", RULES.read_text()))
        assert all(r["health"] == "ok" for r in rules), [
            (r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    finally:
        server.terminate()
        server.wait(timeout=60)
