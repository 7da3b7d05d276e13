"""The delta of tests/harness/corte_data.py (what bench/corte_db.py and bench/corte_ref.py
write between two cortes) is a state the real central accepts: the pipeline's fold took
every record of it, a corte after it publishes exactly the held-back actas as new and
the changed ones as changed, and the tables keep the fold's invariants."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

import psycopg
import pytest

from central.db import make_engine
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.publication.publicar import DIFERENCIAS
from central.publication.snapshot import read_snapshot
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import CCV_STATION
from tests.harness.corte_data import MOTIVO_CORRECCION
from tests.harness.corte_data import apply_delta
from tests.harness.corte_data import day_after
from tests.harness.corte_data import plan_delta
from tests.harness.corte_data import prepare_database
from tests.harness.corte_data import stage_delta
from tests.harness.corte_data import write_states

SEED = 13


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(SEED, 0.03)


def test_a_corte_after_the_delta_publishes_exactly_its_actas(
        pg_database: str, catalog: Catalog, tmp_path: Path) -> None:
    prepare_database(pg_database, catalog)
    instante = day_after(catalog, time(8, 0))
    sim = simulate(catalog, SEED, instante, pendientes=0.02)
    plan = plan_delta(catalog, sim, 0.06, seed=SEED)
    assert plan.nuevas and plan.imagenes and plan.cotejadas and plan.corregidas
    assert plan.actas == len(plan.nuevas) + len(plan.imagenes) + len(plan.cotejadas) \
        + len(plan.corregidas) == round(0.06 * catalog.total_actas)
    assert any(sim.estado[c].fecha_verificacion for c in plan.nuevas)
    base = write_states(pg_database, catalog, sim, tmp_path / "blobs", delta=plan)
    esperado = stage_delta(pg_database, catalog, sim, plan, instante,
                           blobs=tmp_path / "blobs")
    engine = make_engine(pg_database)
    settings = CorteSettings(tmp_path / "publicacion", tmp_path / "blobs", sitio=False)
    try:
        antes = make_corte(engine, SigningKey.generate(), settings, motivo=A_PEDIDO,
                           actor="pruebas")
        assert read_snapshot(engine).estado == base.estado  # staged: not seen yet
        assert apply_delta(pg_database) == plan.actas
        snap = read_snapshot(engine)
        despues = make_corte(engine, SigningKey.generate(), settings, motivo=A_PEDIDO,
                             actor="pruebas")
    finally:
        engine.dispose()

    # Held back: only acopiadas before; published with the simulation's values after.
    assert all(base.estado[c].captura is None and base.estado[c].acopio is not None
               for c in plan.nuevas)
    assert snap.estado == {**base.estado, **esperado}
    assert despues.actas_capturadas == antes.actas_capturadas + len(plan.nuevas)
    assert despues.publicado.imagenes == antes.publicado.imagenes + len(plan.nuevas)
    assert plan.nuevas & snap.verificadas == {
        c for c in plan.nuevas if sim.estado[c].fecha_verificacion is not None}
    assert set(snap.corregidas) == plan.corregidas
    for clave in plan.imagenes:
        assert len(snap.historial.trayectoria(clave).imagenes) == 2
    for clave in plan.cotejadas | plan.corregidas:
        (cotejo,) = snap.historial.trayectoria(clave).cotejos
        assert cotejo.catd == "CCV"
        assert cotejo.coincide == (clave in plan.cotejadas)

    data = json.loads((despues.publicado.path / DIFERENCIAS).read_bytes())
    elecciones = data["elecciones"].values()
    agregadas = [c for e in elecciones for c in e["agregadas"]]
    assert sorted(agregadas) == sorted(plan.nuevas)
    modificadas = {m["clave_acta"]: m for e in elecciones for m in e["modificadas"]}
    assert set(modificadas) == plan.cotejadas | plan.corregidas
    for clave in plan.cotejadas:
        assert modificadas[clave]["cambios"] == {"COTEJADA": ["0", "1"]}
    for clave in plan.corregidas:
        correccion = modificadas[clave]["correccion"]
        campo = sim.estado[clave].captura.campos[0]  # type: ignore[union-attr]
        assert correccion["campos"] == [campo] and correccion["motivo"] == MOTIVO_CORRECCION
        assert campo in modificadas[clave]["cambios"]
    assert not any(e["retiradas"] for e in elecciones)

    with psycopg.connect(pg_database) as conn:
        # Images and counted captures: positions 1…n per acta, as the fold appends them.
        for table in ("acta_images", "acta_captures"):
            huecos = conn.execute(
                f"SELECT clave_acta FROM {table} GROUP BY clave_acta "  # noqa: S608
                "HAVING min(position) <> 1 OR max(position) <> count(*) "
                "OR count(DISTINCT position) <> count(*)").fetchall()
            assert huecos == [], table
        # Every accepted cotejo names a stored record of the CCV.
        cotejos = conn.execute(
            "SELECT count(*), count(r.id) FILTER (WHERE r.station = %s) "
            "FROM acta_states AS s CROSS JOIN LATERAL jsonb_array_elements(s.cotejos) AS c "
            "LEFT JOIN records AS r ON r.id = CAST(c->>0 AS uuid)", (CCV_STATION,)).fetchone()
        assert cotejos == (len(plan.cotejadas) + len(plan.corregidas),) * 2
        # The validated image of every validated acta is one of its own images.
        ajenas = conn.execute(
            "SELECT count(*) FROM acta_states AS s WHERE s.validada_record IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM acta_images AS i WHERE i.record_id = "
            "s.validada_imagen AND i.clave_acta = s.clave_acta)").fetchone()
        assert ajenas == (0,)


def test_no_delta_holds_nothing_back(catalog: Catalog) -> None:
    sim = simulate(catalog, SEED, day_after(catalog, time(8, 0)))
    assert plan_delta(catalog, sim, 0.0).actas == 0
    plan = plan_delta(catalog, sim, 0.02)
    assert plan == plan_delta(catalog, sim, 0.02)  # deterministic
    assert not (plan.nuevas & plan.imagenes or plan.imagenes & plan.cotejadas
                or plan.cotejadas & plan.corregidas or plan.nuevas & plan.corregidas)
