"""The dashboard's snapshot, read through the read-only role, against the database."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest

from central.controlroom.overview import Overview
from central.controlroom.overview import Settings
from central.controlroom.overview import read_overview
from tests.dashboard.conftest import Scenario


@pytest.fixture
def overview(scenario: Scenario) -> Overview:
    with psycopg.connect(scenario.reader_dsn) as conn:
        return read_overview(conn)


def test_phase_counts_equal_sql_per_catd(scenario: Scenario, overview: Overview) -> None:
    for distrito in (1, 2, 3):
        sitio = f"{distrito:02d}"
        counts = overview.counts(sitio)
        assert counts.esperadas == scenario.scalar(
            "SELECT count(*) FROM acta_states WHERE en_catalogo AND distrito = %s", distrito)
        assert counts.acopiadas == scenario.scalar(
            "SELECT count(*) FROM acta_states WHERE distrito = %s AND "
            "estado NOT IN ('esperada') AND (acopio_at IS NOT NULL OR estado = 'sin_acta')",
            distrito)
        assert counts.validadas == scenario.scalar(
            "SELECT count(*) FROM acta_states WHERE distrito = %s AND estado = 'validada'",
            distrito)
    catd1 = overview.counts("01")
    assert 0 < catd1.validadas < catd1.capturadas <= catd1.digitalizadas < catd1.esperadas
    # Everything validated before the corte was published in it.
    assert catd1.publicadas == catd1.validadas
    assert overview.total().publicadas == overview.last_corte.actas_capturadas - \
        scenario.scalar("SELECT count(*) FROM acta_states WHERE estado = 'sin_acta'")


def test_ccv_counts_the_prep_casilla_images(scenario: Scenario, overview: Overview) -> None:
    recibidas = scenario.scalar("SELECT count(DISTINCT clave_acta) FROM acta_images "
                                "WHERE origen = 'CASILLA'")
    assert recibidas > 0
    assert overview.counts("CCV").digitalizadas == recibidas


def test_behind_is_below_the_state_average_by_the_threshold(overview: Overview) -> None:
    state = overview.total().pct("validadas")
    assert state is not None and state > 0
    # A threshold of 40 % of the state's share: a site with nothing validated is more
    # than twice that behind, CATD 01 (where all the capture happened) is ahead.
    ov = replace(overview, settings=Settings(rezago_puntos=state * 0.4))
    rows = {r.sitio: r for r in ov.site_rows()}
    assert rows["01"].situacion == "al_dia"
    assert rows["02"].situacion == "muy_rezagado"
    ov = replace(overview, settings=Settings(rezago_puntos=state * 0.6))
    assert {r.sitio: r for r in ov.site_rows()}["02"].situacion == "rezagado"
    assert not replace(overview, settings=Settings(rezago_puntos=100)).behind()


def test_capture_errors_per_operator(scenario: Scenario, overview: Overview) -> None:
    by_id = {o.operator: o for o in overview.capturistas}
    ana, beto, _carla = scenario.capturistas
    assert by_id[beto].discrepantes > 0
    assert by_id[ana].discrepantes == 0
    assert by_id[beto].nombre == "Beto Salas" and by_id[beto].sitio == "01"
    expected = scenario.scalar(
        "SELECT count(*) FROM acta_captures c JOIN acta_states s USING (clave_acta) "
        "WHERE c.operator = %s AND s.estado = 'validada' AND c.kind = 'captura' "
        "AND c.ronda = s.ronda", beto)
    assert by_id[beto].capturas == expected


def test_stations_anomalies_cortes_and_throughput(scenario: Scenario,
                                                 overview: Overview) -> None:
    assert {s.station for s in overview.stations} == {s.id for s in scenario.stations}
    by_id = {s.station: s for s in overview.stations}
    # The CCV station was enrolled and never sent anything: never seen, so offline.
    assert by_id.pop(scenario.ccv.id).last_seen is None
    assert all(s.online for s in by_id.values())
    assert any(a.type == "acopio_duplicado" and not a.acknowledged
               for a in overview.anomalies)
    # Newest first (other tests of the package may have made more).
    assert [c.manifiesto_sha256 for c in overview.cortes] == [h for (h,) in scenario.sql(
        "SELECT manifiesto_sha256 FROM cortes ORDER BY id DESC")]
    validaciones = sum(n for _t, n in overview.throughput["validacion"])
    assert validaciones == scenario.scalar(
        "SELECT count(*) FROM acta_states WHERE estado = 'validada'")
    assert dict(overview.elecciones)["01"] == "JEFATURA DE GOBIERNO"
    assert overview.distritos[1]


def test_the_dashboard_connection_cannot_write(scenario: Scenario) -> None:
    with psycopg.connect(scenario.reader_dsn) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE anomalies SET acknowledged = true")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT scrypt_hash FROM operators")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT body FROM records")
