"""The drill's verdict on the cotejo (issue 29), over real cortes: an acta published wrong
must be corrected in a later corte whose ``diferencias.json`` names it with the cotejo's
``correccion`` (:func:`check_correcciones`), and COTEJADA is 1 in the last corte for
exactly the actas a cotejo confirmed, whichever they are, not merely as many
(:func:`check_cotejadas`).

The cortes are made by the real publication (:func:`make_corte`) over a central's
PostgreSQL that tests/harness/corte_data.py fills: a first corte, then a delta in which
the CCV's cotejos confirm some published actas and find others different (captured
again with the corrected value), then the corte that publishes it and one more. The
truth the verdict holds is the corrected data; the value published first is the
«errada» of the plan. The stations' tallies are the ``*.estado.json`` files a drill's
stations leave under ``estaciones/``. Each test tampers with a copy, as a broken central
would publish it, and the checks must name the acta.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from datetime import time
from pathlib import Path

import pytest

from central.db import make_engine
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.publication.publicar import DIFERENCIAS
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.corte.anexo import es_fuera
from prep.corte.historial import HISTORIAL
from prep.corte.package import csv_name
from prep.corte.reader import BOM
from prep.corte.reader import read_eleccion_csv
from prep.crypto import SigningKey
from prep.rules import DEFAULT_RULES
from prep.sintetico.capturas import simulate
from prep.values import format_valor
from simulacro.veredicto import ERRADA
from simulacro.veredicto import VERDAD
from simulacro.veredicto import CorteVerdict
from simulacro.veredicto import check_correcciones
from simulacro.veredicto import check_corte
from simulacro.veredicto import check_cotejadas
from simulacro.veredicto import cortes_in
from simulacro.veredicto import cotejos_de
from simulacro.veredicto import filas_erradas
from tests.harness.corte_data import apply_delta
from tests.harness.corte_data import day_after
from tests.harness.corte_data import plan_delta
from tests.harness.corte_data import prepare_database
from tests.harness.corte_data import stage_delta
from tests.harness.corte_data import write_states
from tests.harness.postgres import temporary_database

SEED = 7
# 421 actas; a delta of 18 % of them holds 6 cotejos that confirm and 2 that correct.
SCALE, DELTA = 0.01, 0.18


@dataclass(frozen=True)
class Noche:
    """A publication with cotejos, and what the verdict knows about it."""

    catalog: Catalog
    out: Path  # publicacion/ and estaciones/, as a drill leaves them
    confirmadas: frozenset[str]  # cotejadas: the cotejo confirmed the published data
    corregidas: frozenset[str]  # the cotejo found a difference; corrected since
    erradas: dict[str, tuple[str, str]]  # as Plan.erradas: clave → (campo, value shown first)
    verdad: dict[str, dict[str, str]]  # as Plan.verdad(), for those actas
    verdicts: tuple[CorteVerdict, ...]  # check_corte of each corte, oldest first


@pytest.fixture(scope="module")
def noche(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Noche]:
    base = tmp_path_factory.mktemp("noche")
    out, blobs = base / "sim", base / "blobs"
    catalog = generate_catalog(SEED, SCALE)
    instante = day_after(catalog, time(8, 0))
    sim = simulate(catalog, SEED, instante, pendientes=0.02)
    delta = plan_delta(catalog, sim, DELTA, seed=SEED)
    with temporary_database(pg_dsn) as dsn:
        prepare_database(dsn, catalog)
        write_states(dsn, catalog, sim, blobs, delta=delta)
        despues = stage_delta(dsn, catalog, sim, delta, instante, blobs=blobs)
        engine = make_engine(dsn)
        settings = CorteSettings(out / "publicacion", blobs, sitio=False)
        key = SigningKey.generate()
        try:
            make_corte(engine, key, settings, motivo=A_PEDIDO, actor="pruebas")
            apply_delta(dsn)
            for _ in range(2):  # the corte that publishes the delta, and one after it
                make_corte(engine, key, settings, motivo=A_PEDIDO, actor="pruebas")
        finally:
            engine.dispose()
    erradas: dict[str, tuple[str, str]] = {}
    verdad: dict[str, dict[str, str]] = {}
    for clave in delta.corregidas:
        antes, ahora = sim.estado[clave].captura, despues[clave].captura
        assert antes is not None and ahora is not None
        campo = antes.campos[0]  # the field the harness's cotejo names
        erradas[clave] = (campo, format_valor(antes[campo]))
        verdad[clave] = {campo: format_valor(ahora[campo])}
    truth = replace(sim, estado={**sim.estado, **{c: despues[c] for c in delta.corregidas}})
    filas = filas_erradas(catalog, truth, erradas, DEFAULT_RULES)
    cortes = cortes_in(out / "publicacion")
    verdicts = tuple(check_corte(catalog, truth, corte, DEFAULT_RULES,
                                 final=i == len(cortes) - 1, erradas=filas)
                     for i, corte in enumerate(cortes))
    # The stations' own tallies: two CATDs' verificadores confirmed some, the CCV the
    # rest and found the differences.
    confirmadas = sorted(delta.cotejadas)
    estaciones = out / "estaciones"
    estaciones.mkdir()
    for nombre, cotejadas, diferentes in (
            ("catd01", confirmadas[:2], []), ("catd02", [], []),
            ("ccv", confirmadas[2:], sorted(delta.corregidas))):
        (estaciones / f"{nombre}.estado.json").write_text(json.dumps(
            {"nombre": nombre, "pid": 1, "counts": {}, "errores": [], "cotejadas": cotejadas,
             "cotejos_con_diferencia": diferentes, "final": True}, ensure_ascii=False),
            encoding="utf-8")
    yield Noche(catalog, out, delta.cotejadas, delta.corregidas, erradas, verdad, verdicts)


@pytest.fixture
def copia(noche: Noche, tmp_path: Path) -> Path:
    """A copy of the drill's output to tamper with."""
    shutil.copytree(noche.out, tmp_path / "sim", symlinks=True)
    return tmp_path / "sim"


def _correcciones(noche: Noche, out: Path) -> tuple[int, list[str]]:
    """The verdict's check of the corrections, called as the drill's dictamen calls it."""
    return check_correcciones(cortes_in(out / "publicacion"), noche.verdicts, noche.erradas,
                              noche.verdad)


def _cotejadas(noche: Noche, out: Path) -> list[str]:
    """The verdict's check of COTEJADA in the last corte, with the stations' tallies."""
    confirmadas, diferentes = cotejos_de(out / "estaciones")
    return check_cotejadas(cortes_in(out / "publicacion")[-1], noche.catalog, confirmadas,
                           diferentes)


def _columna(corte: Path, catalog: Catalog, columna: str) -> dict[str, str]:
    """CLAVE_ACTA → its value in ``columna``, over every election's CSV of ``corte``."""
    out: dict[str, str] = {}
    for eleccion in catalog.elecciones:
        parsed = read_eleccion_csv((corte / csv_name(eleccion)).read_bytes())
        out |= {f["CLAVE_ACTA"].strip("'"): f[columna] for f in parsed.filas
                if not es_fuera(f)}
    return out


def _set_cotejada(corte: Path, catalog: Catalog, clave: str, valor: str) -> None:
    """Publish ``valor`` in the COTEJADA of ``clave``'s row, the rest of the file as it was."""
    acta = catalog.acta(clave)
    assert acta is not None
    path = corte / csv_name(acta.eleccion)
    lines = path.read_bytes()[len(BOM):].decode("utf-8").split("\r\n")
    header = next(csv.reader([lines[6]]))
    for i in range(7, len(lines) - 1):
        row = dict(zip(header, next(csv.reader([lines[i]])), strict=True))
        if row["CLAVE_ACTA"].strip("'") == clave:
            assert row["COTEJADA"] != valor
            row["COTEJADA"] = valor
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow([row[h] for h in header])
            lines[i] = buf.getvalue()
            path.write_bytes(BOM + "\r\n".join(lines).encode("utf-8"))
            assert _columna(corte, catalog, "COTEJADA")[clave] == valor
            return
    raise AssertionError(f"{clave} is not in {path}")


def _sin_cotejo(noche: Noche, corte: Path) -> str:
    """A published acta that no cotejo touched."""
    contabilizada = _columna(corte, noche.catalog, "CONTABILIZADA")
    return next(c for c in sorted(contabilizada) if contabilizada[c] == "1"
                and c not in noche.confirmadas | noche.corregidas)


def _editar_diferencias(corte: Path, clave: str, editar: str) -> bool:
    """Change ``clave``'s entry among the modificadas of ``corte``'s diferencias.json:
    ``quitar`` it, or drop its ``correccion`` (``sin_correccion``) or the cotejo record
    that correccion names (``sin_cotejo``). Whether the file listed it."""
    path = corte / DIFERENCIAS
    data = json.loads(path.read_text(encoding="utf-8"))
    listed = False
    for eleccion in data["elecciones"].values():
        for m in [m for m in eleccion["modificadas"] if m["clave_acta"] == clave]:
            listed = True
            if editar == "quitar":
                eleccion["modificadas"].remove(m)
            elif editar == "sin_correccion":
                del m["correccion"]
            else:
                m["correccion"]["cotejo"] = None
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return listed


# --- untampered --------------------------------------------------------------------------


def test_both_checks_pass_on_the_publication_as_it_was_made(noche: Noche) -> None:
    cortes = cortes_in(noche.out / "publicacion")
    assert len(cortes) == 3 and len(noche.confirmadas) >= 2 and len(noche.corregidas) >= 2
    # The inputs are what the checks are for: every corte true to the data, each errada
    # shown wrong in the first corte and corrected from the second on; COTEJADA is 1 in the
    # last corte exactly for the confirmed actas and the corrected ones (issue 61).
    assert all(v.verify_ok and not v.failures for v in noche.verdicts), \
        [v.failures[:3] for v in noche.verdicts]
    for clave in noche.corregidas:
        assert [v.erradas[clave] for v in noche.verdicts] == [ERRADA, VERDAD, VERDAD]
    cotejada = _columna(cortes[-1], noche.catalog, "COTEJADA")
    assert {c for c, v in cotejada.items() if v == "1"} == noche.confirmadas | noche.corregidas
    assert cotejos_de(noche.out / "estaciones") == (noche.confirmadas, noche.corregidas)

    assert _correcciones(noche, noche.out) == (len(noche.corregidas), [])
    assert _cotejadas(noche, noche.out) == []


# --- check_cotejadas ---------------------------------------------------------------------


def test_cotejada_one_for_an_acta_no_cotejo_confirmed_fails(noche: Noche, copia: Path) -> None:
    """COTEJADA=1 for an acta nobody cotejó."""
    last = cortes_in(copia / "publicacion")[-1]
    clave = _sin_cotejo(noche, last)
    _set_cotejada(last, noche.catalog, clave, "1")
    problemas = _cotejadas(noche, copia)
    assert len(problemas) == 1 and clave in problemas[0], problemas
    assert not any(c in problemas[0] for c in noche.confirmadas)


@pytest.mark.parametrize("cual", ["confirmada", "corregida"])
def test_a_cotejada_acta_shown_not_cotejada_fails(noche: Noche, copia: Path,
                                                  cual: str) -> None:
    """A confirmed acta, or one corrected from the paper after its cotejo (issue 61),
    published with COTEJADA 0."""
    last = cortes_in(copia / "publicacion")[-1]
    clave = sorted(noche.confirmadas if cual == "confirmada" else noche.corregidas)[-1]
    _set_cotejada(last, noche.catalog, clave, "0")
    problemas = _cotejadas(noche, copia)
    assert len(problemas) == 1 and clave in problemas[0], problemas


def test_one_cotejada_swapped_for_another_fails_though_the_count_holds(
        noche: Noche, copia: Path) -> None:
    """The sets, not the counts: the last corte shows as many cotejadas as were confirmed,
    but one of them is an acta nobody cotejó in place of one that was."""
    last = cortes_in(copia / "publicacion")[-1]
    confirmada, intrusa = sorted(noche.confirmadas)[0], _sin_cotejo(noche, last)
    _set_cotejada(last, noche.catalog, confirmada, "0")
    _set_cotejada(last, noche.catalog, intrusa, "1")
    cotejada = _columna(last, noche.catalog, "COTEJADA")
    assert sum(v == "1" for v in cotejada.values()) == len(
        noche.confirmadas | noche.corregidas)
    problemas = _cotejadas(noche, copia)
    assert any(intrusa in p for p in problemas), problemas
    assert any(confirmada in p for p in problemas), problemas


# --- check_correcciones ------------------------------------------------------------------


def test_a_correction_missing_from_every_later_diferencias_fails(
        noche: Noche, copia: Path) -> None:
    clave, otra = sorted(noche.corregidas)[:2]
    cortes = cortes_in(copia / "publicacion")
    listed = [_editar_diferencias(corte, clave, "quitar") for corte in cortes[1:]]
    assert listed == [True, False]  # listed once, by the corte that published it
    vistas, problemas = _correcciones(noche, copia)
    assert vistas == len(noche.corregidas) - 1
    assert len(problemas) == 1 and clave in problemas[0], problemas
    assert otra not in problemas[0]


@pytest.mark.parametrize("editar", ["sin_correccion", "sin_cotejo"])
def test_a_correction_listed_without_its_reason_fails(
        noche: Noche, copia: Path, editar: str) -> None:
    """Among the modificadas with its change of value, but without the ``correccion`` of
    the cotejo that found it, or with one that names no cotejo."""
    clave = sorted(noche.corregidas)[-1]
    cortes = cortes_in(copia / "publicacion")
    assert _editar_diferencias(cortes[1], clave, editar)
    vistas, problemas = _correcciones(noche, copia)
    assert vistas == len(noche.corregidas) - 1
    assert len(problemas) == 1 and clave in problemas[0], problemas


@pytest.mark.parametrize("donde", ["corte_que_la_publico", "ultimo"])
def test_a_correction_missing_from_the_public_history_fails(
        noche: Noche, copia: Path, donde: str) -> None:
    """HISTORIAL.csv of the corte that published the correction, and of the last corte,
    say it (CORRECCION_PUBLICADA, naming that corte and the field): a history without
    that row fails, naming the acta."""
    clave = sorted(noche.corregidas)[0]
    cortes = cortes_in(copia / "publicacion")
    corte = cortes[1] if donde == "corte_que_la_publico" else cortes[-1]
    historial = corte / HISTORIAL
    lines = historial.read_bytes().decode("utf-8-sig").split("\r\n")
    quedan = [line for line in lines
              if not (line.startswith(f"'{clave}',CORRECCION_PUBLICADA,"))]
    assert len(quedan) == len(lines) - 1
    historial.write_bytes("\r\n".join(quedan).encode("utf-8-sig"))
    vistas, problemas = _correcciones(noche, copia)
    assert vistas == len(noche.corregidas) - 1
    assert len(problemas) == 1 and clave in problemas[0] and HISTORIAL in problemas[0], \
        problemas
