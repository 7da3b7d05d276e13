"""Cotejo and correction rounds (issue 29) against a real central over HTTPS: a cotejo
that confirms makes the next corte publish COTEJADA=1; one that finds a difference
opens a correction round captured again, blind, by operators and stations that never
worked on the acta, while the old data stays published; the round's validation
replaces it at the next corte, with before, after and the reason in diferencias.json.
Who may cotejar, the notes of cotejos that cannot apply, and rebuild-state."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import psycopg

from central.controlroom.overview import Counts
from central.controlroom.overview import read_overview
from prep.catalog import Acta
from prep.catalog import Catalog
from prep.corte.package import slug
from prep.corte.reader import read_eleccion_csv
from prep.records import Kind
from tests.central.station import anomalies
from tests.central.station import central_cli
from tests.central.station import query
from tests.central.station import rebuild_agrees
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import off
from tests.harness.work import truth


def _actas(catalog: Catalog, n: int) -> list[Acta]:
    eleccion = catalog.elecciones[0]
    actas = [a for a in catalog.actas(eleccion) if a.casilla.distrito_id == 1][:n]
    assert len(actas) == n
    return actas


def _state(node: CentralNode, clave: str) -> dict[str, Any]:
    [row] = query(node.dsn, "SELECT estado, ronda, validada_valores, cotejo_record, "
                  "correccion_record, correccion_campos, correccion_motivo "
                  "FROM acta_states WHERE clave_acta = %s", clave)
    keys = ("estado", "ronda", "valores", "cotejo", "correccion", "campos", "motivo")
    return dict(zip(keys, row, strict=True))


def _audit(node: CentralNode, event: str) -> list[dict[str, Any]]:
    return [r[0] for r in query(node.dsn, "SELECT detail FROM audit_log WHERE event = %s "
                                "ORDER BY id", event)]


def _tablero(node: CentralNode) -> Counts:
    """What the control room shows for CATD 01 (every elección)."""
    with psycopg.connect(node.dsn) as conn:
        return read_overview(conn).counts("01")


def _corte(node: CentralNode, publicacion: Path,
           eleccion: str) -> tuple[Path, dict[str, dict[str, str]]]:
    """A corte (the Consejo's window opened first); its directory and ``eleccion``'s
    rows by CLAVE_ACTA."""
    if not publicacion.exists():
        window = central_cli(node, "ventana", "--inicio", "ahora")
        assert window.returncode == 0, window.stderr
    done = central_cli(node, "corte", "--publicacion", str(publicacion))
    assert done.returncode == 0, done.stderr
    corte = publicacion / json.loads(done.stdout)["corte"]
    parsed = read_eleccion_csv((corte / f"{slug(eleccion)}.csv").read_bytes())
    return corte, {r["CLAVE_ACTA"].strip("'"): r for r in parsed.filas}


def _correcciones_publicadas(corte: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Per acta, its CORRECCION_PUBLICADA rows of ``corte``'s HISTORIAL.csv: (the corte
    named, the fields named, the reason), read as a CSV reader reads them."""
    text = (corte / "HISTORIAL.csv").read_text(encoding="utf-8-sig").split("\n", 1)[1]
    found: dict[str, list[tuple[str, str, str]]] = {}
    for row in csv.DictReader(io.StringIO(text, newline="")):  # after its title line
        if row["EVENTO"] == "CORRECCION_PUBLICADA":
            nombre, razon = row["DETALLE"].split(": ", 1)
            match = re.fullmatch(r"corregida tras el cotejo contra el acta en papel "
                                 r"\(campos señalados: (.+)\); cambios: .+ → .+; "
                                 r"motivo: (.+)", razon)
            assert match is not None, razon
            found.setdefault(row["CLAVE_ACTA"].strip("'"), []).append(
                (nombre, match.group(1), match.group(2)))
    return found


def _cotejo(operator: str, clave: str, coincide: bool,
            **extra: Any) -> tuple[Kind, str, dict[str, Any]]:
    return Kind.COTEJO, operator, {"clave_acta": clave, "coincide": coincide, **extra}


def test_a_cotejo_confirms_and_a_difference_is_corrected_in_the_open(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    catalog = load_catalog(node, scale=0.02)
    eleccion = catalog.elecciones[0].nombre
    confirmada, corregida = _actas(catalog, 2)
    ana, beto, carla, dario, vera, victor = add_operators(node, [
        ("Ana", "capturista", "01"), ("Beto", "capturista", "01"),
        ("Carla", "capturista", "01"), ("Dario", "capturista", "01"),
        ("Vera", "verificador", "01"), ("Victor", "coordinador", "01")])
    campo = corregida.layout.campos[4]  # the first vote field
    papel = {**truth(corregida), campo: truth(corregida)[campo] + 7}  # what the paper says
    publicacion = tmp_path / "publicacion"
    leases: dict[str, list[dict[str, Any]]] = {}

    async def captured() -> None:
        async with WorkStation.enroll(node, 1) as s1, WorkStation.enroll(node, 1) as s2:
            await s1.digitize([confirmada, corregida])
            for operator, station in ((ana, s1), (beto, s2)):
                await station.capture_truth(operator, catalog, prefetch=2)

    asyncio.run(captured())
    assert _state(node, corregida.clave)["estado"] == "validada"
    _, rows = _corte(node, publicacion, eleccion)
    assert rows[confirmada.clave]["COTEJADA"] == "0"

    async def cotejos() -> None:
        async with WorkStation.enroll(node, 1) as s3:
            # Capturistas never cotejan; verificadores and coordinadores do, one acta
            # each by lease, oldest validation first, with the published data.
            refused = await s3.call("POST", "/v1/work/next", {
                "operator": ana, "kind": "cotejo", "prefetch": 1,
                "nonce": "2f1c4a55-97c4-4d0c-8d0b-2b1c7b0c0e01"})
            assert refused.status == 403 and refused.body["error"] == "operator_role"
            [first] = await s3.next(vera, kind="cotejo")
            [second] = await s3.next(victor, kind="cotejo")
            assert {first["clave_acta"], second["clave_acta"]} == {confirmada.clave,
                                                                    corregida.clave}
            assert first["kind"] == "cotejo" and first["slot"] == 0
            by_acta = {x["clave_acta"]: (op, x) for op, x in ((vera, first),
                                                               (victor, second))}
            op_ok, lease_ok = by_acta[confirmada.clave]
            op_fix, lease_fix = by_acta[corregida.clave]
            assert lease_ok["valores"] == truth(confirmada)
            await s3.send([_cotejo(op_ok, confirmada.clave, True)])
            await s3.send([_cotejo(op_fix, corregida.clave, False, campos=[campo],
                                   motivo="En el papel el campo dice otra cantidad")])
            for lease in (lease_ok, lease_fix):
                done = await s3.lease_action(lease["lease_id"], "release")
                assert done.body["status"] == "completed"
            # Nothing left to cotejar: one acta cotejada, the other in correction.
            assert await s3.next(vera, kind="cotejo", prefetch=2) == []
            leases["cotejo"] = [lease_ok, lease_fix]

    asyncio.run(cotejos())
    state = _state(node, corregida.clave)
    assert state["estado"] == "digitalizada" and state["ronda"] == 2
    assert state["campos"] == [campo] and state["valores"] == truth(corregida)
    assert _state(node, confirmada.clave)["cotejo"] is not None

    async def first_capture() -> None:
        async with WorkStation.enroll(node, 1) as s4:
            # Who captured the acta gets no correction lease, at any station.
            assert await s4.next(ana) == [] and await s4.next(beto) == []
            [lease] = await s4.next(carla)
            assert lease["clave_acta"] == corregida.clave and lease["slot"] == 1
            await s4.capture(carla, lease, papel)
            # One station never holds two captures of a round (issue 36).
            assert await s4.next(dario) == []

    asyncio.run(first_capture())
    # The correction is pending: the old data stays published; COTEJADA follows.
    _, rows = _corte(node, publicacion, eleccion)
    assert rows[confirmada.clave]["COTEJADA"] == "1"
    assert rows[corregida.clave][campo] == str(truth(corregida)[campo])
    assert rows[corregida.clave]["COTEJADA"] == "0"
    # The control room counts the acta in correction as validated and published (its
    # data is), not as one more acta in capture.
    tablero = _tablero(node)
    assert (tablero.capturadas, tablero.validadas, tablero.publicadas) == (2, 2, 2)

    async def second_capture() -> None:
        async with WorkStation.enroll(node, 1) as s5:
            [lease] = await s5.next(dario)
            assert lease["clave_acta"] == corregida.clave and lease["slot"] == 2
            await s5.capture(dario, lease, papel)

    asyncio.run(second_capture())
    state = _state(node, corregida.clave)
    assert state["estado"] == "validada" and state["valores"] == papel
    # Corrected after the last corte: still published (with the old data) until the next.
    assert _tablero(node).publicadas == 2
    corte, rows = _corte(node, publicacion, eleccion)
    assert rows[corregida.clave][campo] == str(papel[campo])
    assert rows[confirmada.clave]["COTEJADA"] == "1"
    diff = json.loads((corte / "diferencias.json").read_bytes())
    [cambio] = [m for m in diff["elecciones"][eleccion]["modificadas"]
                if m["clave_acta"] == corregida.clave]
    assert cambio["cambios"][campo] == [str(truth(corregida)[campo]), str(papel[campo])]
    assert cambio["correccion"]["campos"] == [campo]
    assert cambio["correccion"]["motivo"] == "En el papel el campo dice otra cantidad"
    assert "cotejo" in cambio["motivo"] and campo in cambio["motivo"]
    assert diff["corte"] == corte.name
    # The acta's public history says the correction, why, and in which corte it
    # appeared; the next corte says the same (the corte is recorded), and an acta only
    # confirmed has no such row.
    publicadas = _correcciones_publicadas(corte)
    assert publicadas == {corregida.clave: [(corte.name, campo,
                                             "En el papel el campo dice otra cantidad")]}
    siguiente, _ = _corte(node, publicacion, eleccion)
    assert _correcciones_publicadas(siguiente) == publicadas

    [confirmado] = _audit(node, "cotejo_confirmado")
    assert confirmado["clave_acta"] == confirmada.clave
    [abierta] = _audit(node, "correccion_abierta")
    assert abierta["clave_acta"] == corregida.clave and abierta["campos"] == [campo]
    [validada] = _audit(node, "correccion_validada")
    assert validada["clave_acta"] == corregida.clave and validada["fuente"] == "captura"
    [publicada] = _audit(node, "correccion_publicada")
    assert (publicada["clave_acta"], publicada["corte"]) == (corregida.clave, corte.name)
    assert publicada["cotejo"] == abierta["record"]
    rebuild_agrees(node)


def test_who_may_cotejar_and_cotejos_that_cannot_apply(central_node: CentralNode) -> None:
    node = central_node
    catalog = load_catalog(node, scale=0.02)
    verificada, pendiente = _actas(catalog, 2)
    ana, beto, carla, vera, victor = add_operators(node, [
        ("Ana", "capturista", "01"), ("Beto", "capturista", "01"),
        ("Carla", "capturista", "01"), ("Vera", "verificador", "01"),
        ("Victor", "coordinador", "01")])

    async def night() -> None:
        async with WorkStation.enroll(node, 1) as s1, WorkStation.enroll(node, 1) as s2, \
                WorkStation.enroll(node, 1) as s3, WorkStation.enroll(node, 1) as s4:
            await s1.digitize([verificada])
            # Three different captures: a verificador decides.
            for by, (operator, station) in enumerate(((ana, s1), (beto, s2), (carla, s3))):
                [lease] = await station.next(operator)
                await station.capture(operator, lease, off(verificada, by))
            [lease] = await s4.next(vera, kind="verificacion")
            await s4.capture(vera, lease, truth(verificada))
            # The verificador who decided it gets no cotejo lease for it, and a cotejo
            # she sends anyway is quarantined.
            assert await s4.next(vera, kind="cotejo") == []
            await s4.send([_cotejo(vera, verificada.clave, True)])
            # A capturista may not cotejar at all.
            await s4.send([_cotejo(ana, verificada.clave, True)])
            # A cotejo of an acta not validated yet, and one naming a field the acta
            # lacks, are kept and do nothing but raise a note.
            await s1.digitize([pendiente])
            await s4.send([_cotejo(victor, pendiente.clave, True)])
            await s4.send([_cotejo(victor, verificada.clave, False,
                                   campos=["NO_ES_UN_CAMPO"])])
            # A difference opens a correction round; a second cotejo then is a note.
            await s4.send([_cotejo(victor, verificada.clave, False)])
            await s4.send([_cotejo(victor, verificada.clave, True)])
            # Nobody who captured or verified the acta captures or verifies it again.
            for operator in (ana, beto, carla):
                offered = await s4.next(operator, prefetch=3)
                assert verificada.clave not in {x["clave_acta"] for x in offered}

    asyncio.run(night())
    [quarantined] = anomalies(node, "cotejo_operador_del_acta")
    assert quarantined["clave_acta"] == verificada.clave and quarantined["operator"] == vera
    assert [a["operator"] for a in anomalies(node, "operador_sin_rol")] == [ana]
    assert [(a["clave_acta"], a["estado"]) for a in anomalies(node, "cotejo_sin_publicar")
            ] == [(pendiente.clave, "digitalizada")]
    assert anomalies(node, "cotejo_campos_invalidos")[0]["campos"] == ["NO_ES_UN_CAMPO"]
    assert [a["clave_acta"] for a in anomalies(node, "cotejo_en_correccion")] == [
        verificada.clave]
    reasons = {r[0] for r in query(node.dsn, "SELECT reason FROM quarantined_records "
                                   "WHERE kind = 'cotejo'")}
    assert reasons == {"cotejo_operador_del_acta", "operador_sin_rol"}
    state = _state(node, verificada.clave)
    assert state["estado"] == "digitalizada" and state["cotejo"] is None
    assert state["campos"] == [] and state["motivo"] is None
    assert state["valores"] == truth(verificada)  # still what is published
    rebuild_agrees(node)


def test_the_history_keeps_every_cotejo_of_an_acta_corrected_twice(
        central_node: CentralNode, tmp_path: Path) -> None:
    """A confirmation, then a difference, then another difference: HISTORIAL.csv lists
    the three cotejos and labels both rounds' captures CORRECCION (the fold used to keep
    only the last cotejo of each kind). The control room counts the acta as published
    all along: both rounds opened and validated after the corte that published it."""
    node = central_node
    catalog = load_catalog(node, scale=0.02)
    eleccion = catalog.elecciones[0].nombre
    [acta] = _actas(catalog, 1)
    ana, beto, carla, dario, elena, fabio, vera, victor, wendy = add_operators(node, [
        ("Ana", "capturista", "01"), ("Beto", "capturista", "01"),
        ("Carla", "capturista", "01"), ("Dario", "capturista", "01"),
        ("Elena", "capturista", "01"), ("Fabio", "capturista", "01"),
        ("Vera", "verificador", "01"), ("Victor", "coordinador", "01"),
        ("Wendy", "coordinador", "01")])
    campo = acta.layout.campos[4]
    primero = {**truth(acta), campo: truth(acta)[campo] + 7}
    segundo = {**truth(acta), campo: truth(acta)[campo] + 3}

    async def capture(pairs: list[tuple[str, dict[str, int]]]) -> None:
        for operator, valores in pairs:  # one station per capture of a round
            async with WorkStation.enroll(node, 1) as station:
                [lease] = await station.next(operator)
                assert lease["clave_acta"] == acta.clave
                await station.capture(operator, lease, valores)

    async def cotejo(operator: str, coincide: bool) -> None:
        async with WorkStation.enroll(node, 1) as station:
            extra = {} if coincide else {"campos": [campo], "motivo": "Otra cantidad"}
            await station.send([_cotejo(operator, acta.clave, coincide, **extra)])

    async def published() -> None:
        async with WorkStation.enroll(node, 1) as scanner:
            await scanner.digitize([acta])
        await capture([(ana, truth(acta)), (beto, truth(acta))])

    asyncio.run(published())
    _corte(node, tmp_path / "publicacion", eleccion)
    assert _tablero(node).publicadas == 1

    async def night() -> None:
        await cotejo(vera, True)
        await cotejo(victor, False)
        await capture([(carla, primero), (dario, primero)])
        await cotejo(wendy, False)
        await capture([(elena, segundo), (fabio, segundo)])

    asyncio.run(night())
    state = _state(node, acta.clave)
    assert (state["estado"], state["ronda"], state["valores"]) == ("validada", 3, segundo)
    # Published by the first corte, corrected twice since: its data never left the site.
    tablero = _tablero(node)
    assert (tablero.validadas, tablero.publicadas) == (1, 1)
    corte, rows = _corte(node, tmp_path / "publicacion", eleccion)
    assert rows[acta.clave][campo] == str(segundo[campo])
    text = (corte / "HISTORIAL.csv").read_text(encoding="utf-8-sig")
    eventos = [line.split(",") for line in text.splitlines()[1:]
               if line.startswith(f"'{acta.clave}") or line.startswith(acta.clave)]
    nombres = [e[1] for e in eventos]
    assert nombres.count("COTEJO") == 3
    # Only the data published is a published correction: the first round's values were
    # replaced before any corte.
    assert _correcciones_publicadas(corte) == {acta.clave: [(corte.name, campo,
                                                             "Otra cantidad")]}
    detalles = [e[-1] for e in eventos if e[1] == "COTEJO"]
    assert detalles[0].startswith("cotejada") and all(
        d.startswith("cotejo con diferencias") for d in detalles[1:])
    assert nombres.count("CAPTURA") == 2 and nombres.count("CORRECCION") == 4
    assert {e[4] for e in eventos if e[1] == "CORRECCION"} == {"2", "3"}
    rebuild_agrees(node)
