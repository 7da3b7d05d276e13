"""A running central's next corte reuses its previous corte's work per tramo
(prep.corte.tramos) and publishes the very bytes a fresh process publishes: a real
PostgreSQL filled with a night, a corte, the delta of tests/harness/corte_data.py
applied by the pipeline's own fold (newly validated actas, new images, cotejos, a
correction round), then the next corte with the memo of the first, against the same
corte made from a copy of the database by a central without memo, at the same instant
with the same key: every file of both directories (CSVs, HISTORIAL, AVANCE_CATD, the
zip, diferencias.json, the site, the manifest and its signature) is the same."""

from __future__ import annotations

import csv
import gc
import io
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.conninfo import make_conninfo

from bench.corte_ref import set_now
from bench.corte_ref import tree_differences
from central.db import make_engine
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteHecho
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.publication.memo_corte import CorteMemo
from central.publication.publicar import DIFERENCIAS
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.corte import anexo
from prep.corte import historial
from prep.corte import summary
from prep.corte.memo import RenderMemo
from prep.corte.salud_catd import AVANCE_CATD
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import apply_delta
from tests.harness.corte_data import day_after
from tests.harness.corte_data import plan_delta
from tests.harness.corte_data import prepare_database
from tests.harness.corte_data import stage_delta
from tests.harness.corte_data import write_states
from tests.harness.descriptores import abiertos

SEED = 29
INSTANTES = ("2027-06-07 14:00:00+00", "2027-06-07 14:05:00+00", "2027-06-07 14:10:00+00")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(SEED, 0.03)


def _corte(dsn: str, key: SigningKey, settings: CorteSettings) -> CorteHecho:
    engine = make_engine(dsn)
    try:
        return make_corte(engine, key, settings, motivo=A_PEDIDO, actor="pruebas")
    finally:
        engine.dispose()  # no session left: the database can be copied


@contextmanager
def _sin_memo(pg_dsn: str, pg_database: str, tmp_path: Path, instante: str) -> Iterator[str]:
    """A copy of ``pg_database`` at ``instante`` (its DSN) and of the publication
    (``publicacion_fresca``), for the same corte made by a central without memo;
    the copy is dropped after."""
    nombre = str(conninfo_to_dict(pg_database)["dbname"])
    copia = f"{nombre}_copia"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(copia), sql.Identifier(nombre)))
    try:
        copia_dsn = make_conninfo(pg_dsn, dbname=copia)
        set_now(copia_dsn, instante)
        shutil.copytree(tmp_path / "publicacion", tmp_path / "publicacion_fresca",
                        symlinks=True)
        yield copia_dsn
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(copia)))


def test_the_next_corte_with_the_memo_is_the_bytes_of_a_fresh_one(
        pg_dsn: str, pg_database: str, catalog: Catalog, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    prepare_database(pg_database, catalog)
    instante = day_after(catalog, time(8, 0))
    sim = simulate(catalog, SEED, instante, pendientes=0.02)
    plan = plan_delta(catalog, sim, 0.03, seed=SEED)
    blobs = tmp_path / "blobs"
    write_states(pg_database, catalog, sim, blobs, delta=plan)
    stage_delta(pg_database, catalog, sim, plan, instante, blobs=blobs)
    key = SigningKey.generate()
    estado = tmp_path / "estado"  # the central's data directory: its tramos' texts
    estado.mkdir()
    memo = CorteMemo(render=RenderMemo(carrete=estado))
    corriendo = CorteSettings(tmp_path / "publicacion", blobs, sitio=True, memo=memo)
    set_now(pg_database, INSTANTES[0])
    primero = _corte(pg_database, key, corriendo)
    assert apply_delta(pg_database) == plan.actas
    set_now(pg_database, INSTANTES[1])

    # The same database and publication for a central without memo.
    with _sin_memo(pg_dsn, pg_database, tmp_path, INSTANTES[1]) as copia_dsn:
        hechas: list[int] = []  # actas whose row the rules were applied to again
        filas = summary.filas_y_cuentas

        def contadas(eleccion, actas, *args):  # type: ignore[no-untyped-def]
            hechas.append(len(actas))
            return filas(eleccion, actas, *args)

        monkeypatch.setattr(summary, "filas_y_cuentas", contadas)
        historias: list[str] = []  # actas whose history was made again
        eventos = historial._eventos

        def contados(est, *args):  # type: ignore[no-untyped-def]
            historias.append(est.clave)
            return eventos(est, *args)

        monkeypatch.setattr(historial, "_eventos", contados)
        renglones: list[str] = []  # actas whose CSV row (the site's too) was made again
        renglon = anexo._row

        def contado(catalog, eleccion, fila, *args):  # type: ignore[no-untyped-def]
            renglones.append(fila.acta.clave)
            return renglon(catalog, eleccion, fila, *args)

        monkeypatch.setattr(anexo, "_row", contado)
        segundo = _corte(pg_database, key, corriendo)
        hechas_memo = sum(hechas)
        historias_memo = len(historias)
        renglones_memo = len(renglones)
        fresco = _corte(copia_dsn, key, CorteSettings(tmp_path / "publicacion_fresca", blobs,
                                                      sitio=True))

    assert segundo.publicado.name == fresco.publicado.name != primero.publicado.name
    assert tree_differences(segundo.publicado.path, fresco.publicado.path) == []
    assert segundo.publicado.manifest_sha256 == fresco.publicado.manifest_sha256
    # What the comparison covered: every kind of change of the delta, and AVANCE_CATD.
    data = json.loads((segundo.publicado.path / DIFERENCIAS).read_bytes())
    elecciones = data["elecciones"].values()
    assert sorted(c for e in elecciones for c in e["agregadas"]) == sorted(plan.nuevas)
    assert {m["clave_acta"] for e in elecciones for m in e["modificadas"]} \
        == plan.cotejadas | plan.corregidas
    assert (segundo.publicado.path / AVANCE_CATD).is_file()
    # And the memo's corte made again only the tramos with a changed acta.
    assert segundo.releidas is not None and 0 < segundo.releidas < catalog.total_actas / 4
    assert 0 < hechas_memo <= 3 * plan.actas < catalog.total_actas
    assert sum(hechas) - hechas_memo == catalog.total_actas  # the fresh corte: all
    # The site's areas and acta rows came from the same tramos (prep.corte.site_tramos),
    # each output made again by its own declaration: no row made again but those of
    # the tramos with an acta whose CSV's or site's inputs changed (once each: the site
    # takes the rows the CSV made again).
    assert 0 < renglones_memo <= 3 * plan.actas
    assert len(renglones) - renglones_memo >= catalog.total_actas
    # Of a tramo made again, only the changed actas' history was made again (an acta
    # of the delta is in one election); the others' came from the first corte's text.
    assert 0 < historias_memo <= plan.actas < hechas_memo
    assert len(historias) - historias_memo > catalog.total_actas / 2  # fresh: every one

    # Between cortes the tramos' texts are in files without a name that only this
    # process holds open: per text of each election, the first corte's with every tramo
    # and the second's with the tramos it made again (unless it wrote them all again);
    # none once the memo is forgotten.
    memo.render.carrete.esperar()
    assert memo.render.carrete.fallos == 0
    assert os.listdir(estado) == []
    archivos = abiertos(estado)
    assert 4 * len(catalog.elecciones) <= len(archivos) <= 2 * 4 * len(catalog.elecciones)
    assert all(d.endswith("(deleted)") and e.st_mode & 0o777 == 0o600 for d, e in archivos)
    memo.clear()
    gc.collect()
    assert abiertos(estado) == []


def test_a_correction_published_by_the_previous_corte_reads_the_same_with_the_memo(
        pg_dsn: str, pg_database: str, catalog: Catalog, tmp_path: Path) -> None:
    """The corte after the one that published the delta's corrections: the memo's
    (which takes the corrected actas' history from its previous corte's text, where
    the correction was the corte's own) and a fresh central's (which reads it from
    ``correcciones_publicadas``) are the same bytes, and both name the corte that
    published each correction."""
    prepare_database(pg_database, catalog)
    instante = day_after(catalog, time(8, 0))
    sim = simulate(catalog, SEED, instante, pendientes=0.02)
    plan = plan_delta(catalog, sim, 0.03, seed=SEED)
    write_states(pg_database, catalog, sim, None, delta=plan)
    stage_delta(pg_database, catalog, sim, plan, instante)
    key = SigningKey.generate()
    estado = tmp_path / "estado"
    estado.mkdir()
    corriendo = CorteSettings(tmp_path / "publicacion", None, sitio=True,
                              memo=CorteMemo(render=RenderMemo(carrete=estado)))
    set_now(pg_database, INSTANTES[0])
    _corte(pg_database, key, corriendo)
    assert apply_delta(pg_database) == plan.actas
    set_now(pg_database, INSTANTES[1])
    segundo = _corte(pg_database, key, corriendo)
    set_now(pg_database, INSTANTES[2])
    with _sin_memo(pg_dsn, pg_database, tmp_path, INSTANTES[2]) as copia_dsn:
        tercero = _corte(pg_database, key, corriendo)
        fresco = _corte(copia_dsn, key, CorteSettings(tmp_path / "publicacion_fresca", None,
                                                      sitio=True))
    assert tercero.releidas == 0
    assert tree_differences(tercero.publicado.path, fresco.publicado.path) == []
    text = (tercero.publicado.path / "HISTORIAL.csv").read_text(encoding="utf-8-sig")
    publicadas = {row[0].strip("'"): row[-1] for row in csv.reader(io.StringIO(text))
                  if len(row) > 1 and row[1] == "CORRECCION_PUBLICADA"}
    assert publicadas.keys() == plan.corregidas
    assert all(d.startswith(f"{segundo.publicado.name}: ") for d in publicadas.values())
