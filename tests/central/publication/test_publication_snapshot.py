"""A corte read from a real PostgreSQL: the published CSVs say exactly what the stored
acta states say, in the Anexo 18.5 layout of DOMAIN.md, with every publication category
and the truncated percentages."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime
from datetime import time
from decimal import ROUND_DOWN
from decimal import ROUND_HALF_UP
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from central.db import make_engine
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.publication.snapshot import read_snapshot
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.corte.anexo import columns
from prep.corte.package import build_corte_files
from prep.corte.package import slug
from prep.corte.reader import read_eleccion_csv
from prep.corte.summary import RESUMEN_COLUMNS
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import day_after
from tests.harness.corte_data import prepare_database
from tests.harness.corte_data import write_states

SEED = 11


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(SEED, 0.02)


def _corte(engine: Engine, tmp_path: Path) -> Path:
    """A corte on request (no site); the directory it published."""
    hecho = make_corte(engine, SigningKey.generate(),
                       CorteSettings(tmp_path / "publicacion", tmp_path / "blobs", sitio=False),
                       motivo=A_PEDIDO, actor="pruebas")
    return hecho.publicado.path


def corte_time(catalog: Catalog) -> datetime:
    return day_after(catalog, time(6, 0))


def test_the_csvs_of_a_corte_from_postgresql_are_those_of_the_stored_states(
        pg_database: str, catalog: Catalog, tmp_path: Path) -> None:
    prepare_database(pg_database, catalog)
    sim = simulate(catalog, SEED, corte_time(catalog), pendientes=0.05)
    written = write_states(pg_database, catalog, sim, tmp_path / "blobs")
    engine = make_engine(pg_database)
    try:
        snap = read_snapshot(engine)
        directory = _corte(engine, tmp_path)
    finally:
        engine.dispose()

    assert snap.estado == written.estado
    # Each registered at an acopio: its origin, the CATD (issue 61).
    fuera = [replace(f, origen="CATD") for f in written.fuera]
    assert sorted(snap.fuera, key=lambda f: f.codigo_leido) == sorted(
        fuera, key=lambda f: f.codigo_leido)
    # The same bytes the core writes from the same facts: every column of every row. At
    # the corte's own instant (the snapshot above was read a moment earlier: a minute
    # may have turned in between, and the CSVs' second line says the second).
    with psycopg.connect(pg_database) as conn:
        row = conn.execute("SELECT corte_at FROM cortes ORDER BY id DESC LIMIT 1").fetchone()
    assert row is not None
    expected, _ = build_corte_files(catalog, written.estado, fuera, row[0])
    for eleccion in catalog.elecciones:
        name = f"{slug(eleccion.nombre)}.csv"
        assert (directory / name).read_bytes() == expected[name], name


def test_the_layout_is_that_of_domain_md_line_by_line(
        pg_database: str, catalog: Catalog, tmp_path: Path) -> None:
    prepare_database(pg_database, catalog)
    sim = simulate(catalog, SEED, corte_time(catalog), pendientes=0.05)
    write_states(pg_database, catalog, sim, tmp_path / "blobs")
    engine = make_engine(pg_database)
    try:
        published = _corte(engine, tmp_path)
    finally:
        engine.dispose()
    eleccion = catalog.elecciones[0]
    data = (published / f"{slug(eleccion.nombre)}.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data[3:].decode("utf-8").split("\r\n")
    assert lines[0] == eleccion.nombre
    assert lines[1].endswith("(UTC-6)") and lines[1][2] == "/" and lines[1][5] == "/"
    assert lines[2] == "" and lines[5] == ""
    assert lines[3] == ",".join(RESUMEN_COLUMNS)
    assert lines[6] == ",".join(columns(eleccion))
    assert lines[-1] == ""  # the file ends with CRLF
    rows = list(csv.DictReader(io.StringIO("\r\n".join(lines[6:]), newline="")))
    actas = catalog.actas(eleccion)
    assert [r["CLAVE_ACTA"] for r in rows[:len(actas)]] == [f"'{a.clave}'" for a in actas]
    fuera = rows[len(actas):]
    # Fuera de catálogo: no casilla of the catalog, the code as read, where and when.
    assert fuera and all(r["CLAVE_CASILLA"] == "-" and r["CLAVE_ACTA"].startswith("'")
                         and r["ORIGEN"] == "CATD" and r["FECHA_HORA_ACOPIO"] != "-"
                         for r in fuera)
    # The drill registers one of election «No se sabe»: in every election's file.
    assert [r["OBSERVACIONES"] for r in fuera].count(
        "Fuera de catálogo, Elección no identificada") == 1
    assert {r["OBSERVACIONES"] for r in fuera} == {
        "Fuera de catálogo", "Fuera de catálogo, Elección no identificada"}
    by_obs = {r["OBSERVACIONES"] for r in rows}
    for category in ("-", "Ilegible", "Sin dato", "Ilegible, Sin dato", "Excede Lista Nominal",
                     "Excede Lista Nominal, Sin dato", "Todos los campos ilegibles",
                     "Todos los campos vacíos", "Todos los campos ilegibles o sin dato",
                     "Sin Acta por paquete no entregado", "Sin Acta por casilla no instalada",
                     "Sin Acta por paquete entregado sin sobre"):
        assert category in by_obs, category
    counted = {r["CONTABILIZADA"] for r in rows if r["OBSERVACIONES"] in (
        "-", "Ilegible", "Sin dato", "Ilegible, Sin dato") and r["CODIGO_INTEGRIDAD"] != "-"}
    assert counted == {"1"}
    for r in rows:
        if r["OBSERVACIONES"].startswith(("Excede", "Todos", "Sin Acta")):
            assert r["CONTABILIZADA"] == "0", r
        if r["OBSERVACIONES"].startswith("Sin Acta"):
            assert r["CODIGO_INTEGRIDAD"] == "N/A"
        if r["CONTABILIZADA"] == "1":
            assert len(r["CODIGO_INTEGRIDAD"]) == 64
            assert (published / "imagenes"
                    / f"{r['CODIGO_INTEGRIDAD']}.png").is_file()
    pendientes = [r for r in rows[:len(actas)] if r["CONTABILIZADA"] == "-"]
    assert pendientes and all(r["OBSERVACIONES"] == "-" and r["CODIGO_INTEGRIDAD"] == "-"
                              for r in pendientes)


def _truncation_case(n: int) -> int:
    """A count k ≤ n whose k × 100 / n rounds differently than it truncates at 4
    decimals."""
    for k in range(1, n):
        value = Decimal(k * 100) / Decimal(n)
        if value.quantize(Decimal("0.0001"), ROUND_DOWN) != value.quantize(
                Decimal("0.0001"), ROUND_HALF_UP):
            return k
    raise AssertionError("no count rounds up")


def test_percentages_are_truncated_to_four_decimals(
        pg_database: str, catalog: Catalog, tmp_path: Path) -> None:
    prepare_database(pg_database, catalog)
    sim = simulate(catalog, SEED, corte_time(catalog), pendientes=0.0)
    write_states(pg_database, catalog, sim, tmp_path / "blobs")
    eleccion = catalog.elecciones[0]
    n = len(catalog.actas(eleccion))
    k = _truncation_case(n)
    # Keep exactly k actas of the election with data: the rest back to *esperada*.
    keep = [a.clave for a in catalog.actas(eleccion)[:k]]
    with psycopg.connect(pg_database) as conn:
        conn.execute("UPDATE acta_states SET estado = 'esperada', acopio_at = NULL, "
                     "validada_record = NULL, validada_valores = NULL, sin_acta_causa = NULL "
                     "WHERE eleccion = %s AND NOT clave_acta = ANY(%s)",
                     (eleccion.codigo, keep))
    engine = make_engine(pg_database)
    try:
        published = _corte(engine, tmp_path)
    finally:
        engine.dispose()
    parsed = read_eleccion_csv(
        (published / f"{slug(eleccion.nombre)}.csv").read_bytes())
    exact = Decimal(k * 100) / Decimal(n)
    assert parsed.resumen["ACTAS_CAPTURADAS"] == str(k)
    assert parsed.resumen["PORCENTAJE_ACTAS_CAPTURADAS"] == str(
        exact.quantize(Decimal("0.0001"), ROUND_DOWN))
    assert parsed.resumen["PORCENTAJE_ACTAS_CAPTURADAS"] != str(
        exact.quantize(Decimal("0.0001"), ROUND_HALF_UP))
