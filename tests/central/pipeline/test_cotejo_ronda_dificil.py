"""Correction rounds that two captures do not settle (issue 29), against a real central
over HTTPS: the round's two blind captures differ, and either a third capture agrees
with one of them or, all three different, a verificador decides. Until the round
validates the old data stays published; the next corte publishes the corrected values,
lists the change in diferencias.json and tells the whole round in HISTORIAL.csv."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prep.catalog import Acta
from prep.catalog import Catalog
from tests.central.pipeline.test_cotejo import _actas
from tests.central.pipeline.test_cotejo import _audit
from tests.central.pipeline.test_cotejo import _corte
from tests.central.pipeline.test_cotejo import _cotejo
from tests.central.pipeline.test_cotejo import _state
from tests.central.station import rebuild_agrees
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import truth

MOTIVO = "En el papel el campo dice otra cantidad, con letra y número"


def _with(acta: Acta, campo: str, more: int) -> dict[str, int]:
    """The true values of ``acta`` with ``campo`` ``more`` votes higher."""
    valores = truth(acta)
    return {**valores, campo: valores[campo] + more}


def _historial(corte: Path, clave: str) -> list[dict[str, str]]:
    """``clave``'s rows of ``corte``'s HISTORIAL.csv, as a CSV reader reads them."""
    text = (corte / "HISTORIAL.csv").read_text(encoding="utf-8-sig").split("\n", 1)[1]
    return [row for row in csv.DictReader(io.StringIO(text, newline=""))  # after its title
            if row["CLAVE_ACTA"].strip("'") == clave]


def _diferencia(corte: Path, eleccion: str, clave: str) -> list[dict[str, Any]]:
    """``clave``'s entries among the modified actas of ``corte``'s diferencias.json."""
    diff = json.loads((corte / "diferencias.json").read_bytes())
    assert diff["corte"] == corte.name
    return [m for m in diff["elecciones"][eleccion]["modificadas"]
            if m["clave_acta"] == clave]


async def _published(node: CentralNode, catalog: Catalog, acta: Acta,
                     capturistas: tuple[str, str]) -> None:
    """``acta`` digitized and validated by two matching captures, one per station."""
    async with WorkStation.enroll(node, 1) as scanner:
        await scanner.digitize([acta])
    for operator in capturistas:
        async with WorkStation.enroll(node, 1) as station:
            await station.capture_truth(operator, catalog, prefetch=1)


async def _cotejo_differs(node: CentralNode, verificador: str, acta: Acta,
                          campo: str) -> None:
    """``verificador`` takes the acta's cotejo lease and finds ``campo`` different."""
    async with WorkStation.enroll(node, 1) as station:
        [lease] = await station.next(verificador, kind="cotejo")
        assert lease["clave_acta"] == acta.clave
        assert lease["valores"] == truth(acta)  # compared with what is published
        await station.send([_cotejo(verificador, acta.clave, False, campos=[campo],
                                    motivo=MOTIVO)])


async def _round_capture(node: CentralNode, acta: Acta, operator: str, slot: int,
                         valores: Mapping[str, int], others: tuple[str, ...]) -> None:
    """On a station of its own (one station never holds two captures of a round),
    ``operator`` captures ``valores`` as the round's capture ``slot``; first, none of
    ``others`` (who already touched the acta) is offered it there."""
    async with WorkStation.enroll(node, 1) as station:
        for other in others:
            assert await station.next(other) == [], other
        [lease] = await station.next(operator)
        assert (lease["clave_acta"], lease["kind"], lease["slot"]) == (
            acta.clave, "captura", slot)
        await station.capture(operator, lease, valores)


def _round_rows(rows: list[dict[str, str]]) -> tuple[list[tuple[str, str]], ...]:
    """(RONDA, DETALLE) of the CAPTURA, CORRECCION and VERIFICACION rows."""
    return tuple([(r["RONDA"], r["DETALLE"]) for r in rows if r["EVENTO"] == evento]
                 for evento in ("CAPTURA", "CORRECCION", "VERIFICACION"))


def _correccion_publicada(rows: list[dict[str, str]], corte: Path, campo: str,
                          antes: int, despues: int) -> None:
    [publicada] = [r for r in rows if r["EVENTO"] == "CORRECCION_PUBLICADA"]
    assert publicada["DETALLE"].startswith(f"{corte.name}: "), publicada["DETALLE"]
    assert f"campos señalados: {campo})" in publicada["DETALLE"]
    # What changed, from what to what (issue 61), before the cotejo's own words.
    assert f"; cambios: {campo}: {antes} → {despues}; " in publicada["DETALLE"]
    assert publicada["DETALLE"].endswith(f"motivo: {MOTIVO}")  # its commas kept


def _pending_stays_published(node: CentralNode, publicacion: Path, eleccion: str,
                             acta: Acta, campo: str) -> list[dict[str, str]]:
    """A corte made while the round is open publishes the old data, no correction (its
    history rows of the acta are returned)."""
    corte, rows = _corte(node, publicacion, eleccion)
    assert rows[acta.clave][campo] == str(truth(acta)[campo])
    assert rows[acta.clave]["COTEJADA"] == "0"
    assert _diferencia(corte, eleccion, acta.clave) == []
    historial = _historial(corte, acta.clave)
    eventos = [r["EVENTO"] for r in historial]
    assert "CORRECCION_PUBLICADA" not in eventos and "VALIDACION" in eventos
    return historial



def _corregida_publicada(node: CentralNode, publicacion: Path, eleccion: str, acta: Acta,
                         campo: str, papel: dict[str, int], fuente: str
                         ) -> tuple[Path, dict[str, Any]]:
    """The round validated ``papel`` from ``fuente`` (audited), and the next corte
    publishes it: its row, and its diferencias.json entry with the cotejo's field and
    reason (returned with the corte)."""
    state = _state(node, acta.clave)
    assert (state["estado"], state["ronda"], state["valores"]) == ("validada", 2, papel)
    [validada] = _audit(node, "correccion_validada")
    assert (validada["clave_acta"], validada["fuente"], validada["ronda"]) == (
        acta.clave, fuente, 2)
    corte, rows = _corte(node, publicacion, eleccion)
    assert rows[acta.clave][campo] == str(papel[campo])
    [cambio] = _diferencia(corte, eleccion, acta.clave)
    assert cambio["cambios"][campo] == [str(truth(acta)[campo]), str(papel[campo])]
    assert cambio["correccion"]["campos"] == [campo]
    assert cambio["correccion"]["motivo"] == MOTIVO
    assert "cotejo" in cambio["motivo"] and campo in cambio["motivo"]
    return corte, cambio

def test_a_third_capture_settles_a_correction_round_whose_two_captures_differ(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    catalog = load_catalog(node, scale=0.02)
    eleccion = catalog.elecciones[0].nombre
    [acta] = _actas(catalog, 1)
    ana, beto, carla, dario, elena, vera = add_operators(node, [
        ("Ana", "capturista", "01"), ("Beto", "capturista", "01"),
        ("Carla", "capturista", "01"), ("Dario", "capturista", "01"),
        ("Elena", "capturista", "01"), ("Vera", "verificador", "01")])
    campo = acta.layout.campos[4]  # the first vote field
    papel = _with(acta, campo, 7)  # what the paper says
    publicacion = tmp_path / "publicacion"

    asyncio.run(_published(node, catalog, acta, (ana, beto)))
    _, rows = _corte(node, publicacion, eleccion)
    assert rows[acta.clave][campo] == str(truth(acta)[campo])

    async def round_without_agreement() -> None:
        await _cotejo_differs(node, vera, acta, campo)
        await _round_capture(node, acta, carla, 1, papel, (ana, beto))
        await _round_capture(node, acta, dario, 2, _with(acta, campo, 5), (ana, beto, carla))

    asyncio.run(round_without_agreement())
    state = _state(node, acta.clave)
    assert (state["estado"], state["ronda"], state["valores"]) == (
        "captura_2", 2, truth(acta))
    antes = _pending_stays_published(node, publicacion, eleccion, acta, campo)

    async def third_capture() -> None:
        await _round_capture(node, acta, elena, 3, papel, (ana, beto, carla, dario))

    asyncio.run(third_capture())
    corte, cambio = _corregida_publicada(node, publicacion, eleccion, acta, campo, papel,
                                         "captura")
    assert "verificación" not in cambio["motivo"]

    historial = _historial(corte, acta.clave)
    capturas, correcciones, verificaciones = _round_rows(historial)
    assert capturas == [("1", "captura 1"), ("1", "captura 2")]
    assert correcciones == [("2", "captura 1"), ("2", "captura 2"), ("2", "captura 3")]
    assert verificaciones == []
    # The public history only grows: the first validation stays, then the correction's.
    assert all(r in historial for r in antes)
    primera, validacion = [r for r in historial if r["EVENTO"] == "VALIDACION"]
    assert (primera["RONDA"], validacion["RONDA"]) == ("1", "2")
    assert validacion["DETALLE"] == "la tercera captura coincidió con una de las anteriores"
    _correccion_publicada(historial, corte, campo, truth(acta)[campo], papel[campo])
    rebuild_agrees(node)


def test_a_verificador_settles_a_correction_round_whose_three_captures_differ(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    catalog = load_catalog(node, scale=0.02)
    eleccion = catalog.elecciones[0].nombre
    [acta] = _actas(catalog, 1)
    ana, beto, carla, dario, elena, vera, wendy = add_operators(node, [
        ("Ana", "capturista", "01"), ("Beto", "capturista", "01"),
        ("Carla", "capturista", "01"), ("Dario", "capturista", "01"),
        ("Elena", "capturista", "01"), ("Vera", "verificador", "01"),
        ("Wendy", "verificador", "01")])
    campo = acta.layout.campos[4]
    papel = _with(acta, campo, 7)
    publicacion = tmp_path / "publicacion"

    asyncio.run(_published(node, catalog, acta, (ana, beto)))
    _corte(node, publicacion, eleccion)

    async def three_different_captures() -> None:
        await _cotejo_differs(node, vera, acta, campo)
        await _round_capture(node, acta, carla, 1, _with(acta, campo, 1), (ana, beto))
        await _round_capture(node, acta, dario, 2, _with(acta, campo, 2), (ana, beto, carla))
        await _round_capture(node, acta, elena, 3, _with(acta, campo, 3),
                             (ana, beto, carla, dario))

    asyncio.run(three_different_captures())
    state = _state(node, acta.clave)
    assert (state["estado"], state["ronda"], state["valores"]) == (
        "verificacion", 2, truth(acta))
    antes = _pending_stays_published(node, publicacion, eleccion, acta, campo)

    async def verificacion() -> None:
        async with WorkStation.enroll(node, 1) as station:
            # The verificador who opened the round with her cotejo does not decide it.
            assert await station.next(vera, kind="verificacion") == []
            [lease] = await station.next(wendy, kind="verificacion")
            assert (lease["clave_acta"], lease["kind"]) == (acta.clave, "verificacion")
            await station.capture(wendy, lease, papel)

    asyncio.run(verificacion())
    corte, cambio = _corregida_publicada(node, publicacion, eleccion, acta, campo, papel,
                                         "verificacion")
    assert "el acta pasó por verificación" in cambio["motivo"]

    historial = _historial(corte, acta.clave)
    capturas, correcciones, verificaciones = _round_rows(historial)
    assert capturas == [("1", "captura 1"), ("1", "captura 2")]
    assert correcciones == [("2", "captura 1"), ("2", "captura 2"), ("2", "captura 3")]
    assert verificaciones == [("2", "decisión de un verificador")]
    assert all(r in historial for r in antes)  # the public history only grows
    primera, validacion = [r for r in historial if r["EVENTO"] == "VALIDACION"]
    assert primera["RONDA"] == "1"
    assert (validacion["RONDA"], validacion["DETALLE"]) == ("2", "decidió un verificador")
    _correccion_publicada(historial, corte, campo, truth(acta)[campo], papel[campo])
    rebuild_agrees(node)
