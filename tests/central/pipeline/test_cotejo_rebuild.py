"""``prep central rebuild-state`` covers cotejo and corrections (issue 29): the state
stays derivable from the records alone. After a real night over HTTPS (a cotejo that
confirms, a correction round captured again and validated, another left open) someone
edits by hand the columns of ``acta_states`` that hold those facts; ``--check`` must
exit 1 naming the acta and what differs without writing anything, and a rebuild must
restore exactly what ingest had written, after which ``--check`` agrees again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from typing import LiteralString

import psycopg
import pytest
from psycopg.types.json import Jsonb

from prep.catalog import Acta
from prep.records import Kind
from tests.central.station import central_cli
from tests.central.station import query
from tests.central.station import rebuild_agrees
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import truth

MOTIVO = "En el papel el campo dice otra cantidad"


@dataclass(frozen=True)
class Noche:
    """The central after the night, and what ingest wrote for its three actas."""

    node: CentralNode
    claves: dict[str, str]  # "cotejada", "corregida", "en_correccion" → CLAVE_ACTA
    campos: tuple[str, str]  # the field the cotejos named, and another of the acta
    confirmacion: str  # the cotejo record that confirmed the corrected acta first
    victor: str  # the coordinador whose cotejos opened both correction rounds
    filas: dict[str, Any]  # every derived row of the three actas, as ingest left them


def _filas(node: CentralNode, claves: list[str]) -> dict[str, Any]:
    """The acta_states, acta_images and acta_captures rows of ``claves`` (less
    ``cambio``, which says which transaction wrote the row, not what it holds)."""
    out: dict[str, Any] = {}
    for name, sql in (
            ("states", "SELECT clave_acta, to_jsonb(t) - 'cambio' FROM acta_states AS t "
                       "WHERE clave_acta = ANY(%s) ORDER BY clave_acta"),
            ("images", "SELECT clave_acta, to_jsonb(t) - 'cambio' FROM acta_images AS t "
                       "WHERE clave_acta = ANY(%s) ORDER BY clave_acta, position"),
            ("captures", "SELECT clave_acta, to_jsonb(t) - 'cambio' FROM acta_captures "
                         "AS t WHERE clave_acta = ANY(%s) ORDER BY clave_acta, position")):
        out[name] = query(node.dsn, sql, claves)
    return out


def _cotejo(operator: str, clave: str, coincide: bool,
            **extra: Any) -> tuple[Kind, str, dict[str, Any]]:
    return Kind.COTEJO, operator, {"clave_acta": clave, "coincide": coincide, **extra}


def _night(node: CentralNode, cotejada: Acta, corregida: Acta,
           abierta: Acta) -> tuple[str, str]:
    """Drive the night as tests/central/pipeline/test_cotejo.py does; the id of the cotejo that
    first confirmed ``corregida`` and the coordinador's."""
    ana, beto, carla, dario, vera, victor = add_operators(node, [
        ("Ana", "capturista", "01"), ("Beto", "capturista", "01"),
        ("Carla", "capturista", "01"), ("Dario", "capturista", "01"),
        ("Vera", "verificador", "01"), ("Victor", "coordinador", "01")])
    campo = corregida.layout.campos[4]  # the first vote field
    papel = {**truth(corregida), campo: truth(corregida)[campo] + 7}

    async def captured() -> None:
        async with WorkStation.enroll(node, 1) as s1, WorkStation.enroll(node, 1) as s2:
            await s1.digitize([cotejada, corregida, abierta])
            for operator, station in ((ana, s1), (beto, s2)):
                for lease in await station.next(operator, prefetch=3):
                    await station.capture(operator, lease, truth(
                        next(a for a in (cotejada, corregida, abierta)
                             if a.clave == lease["clave_acta"])))

    async def cotejos() -> str:
        async with WorkStation.enroll(node, 1) as s3:
            await s3.send([_cotejo(vera, cotejada.clave, True)])
            [primero] = await s3.send([_cotejo(vera, corregida.clave, True)])
            await s3.send([_cotejo(victor, corregida.clave, False, campos=[campo],
                                   motivo=MOTIVO)])
        for operator in (carla, dario):  # one station per capture of a round
            async with WorkStation.enroll(node, 1) as station:
                [lease] = await station.next(operator)
                assert lease["clave_acta"] == corregida.clave
                await station.capture(operator, lease, papel)
        async with WorkStation.enroll(node, 1) as s6:
            await s6.send([_cotejo(victor, abierta.clave, False, campos=[campo],
                                   motivo="Otra cantidad")])
        return primero.id

    asyncio.run(captured())
    return asyncio.run(cotejos()), victor


@pytest.fixture(scope="module")
def noche(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Noche]:
    with running_central(tmp_path_factory.mktemp("cotejo-rebuild"), pg_dsn) as node:
        catalog = load_catalog(node, scale=0.02)
        eleccion = catalog.elecciones[0]
        actas = [a for a in catalog.actas(eleccion) if a.casilla.distrito_id == 1][:3]
        confirmacion, victor = _night(node, *actas)
        claves = dict(zip(("cotejada", "corregida", "en_correccion"),
                          (a.clave for a in actas), strict=True))
        campos = (actas[1].layout.campos[4], actas[1].layout.campos[5])
        yield Noche(node, claves, campos, confirmacion, victor,
                    _filas(node, list(claves.values())))


# Puts back, from the rows ingest wrote, every column the tampers below edit.
_RESTORE = """
    UPDATE acta_states AS s SET
        cotejo_record = r.cotejo_record, cotejo_station = r.cotejo_station,
        cotejo_operator = r.cotejo_operator, cotejo_at = r.cotejo_at,
        cotejo_received_at = r.cotejo_received_at, cotejos = r.cotejos,
        correccion_record = r.correccion_record, correccion_station = r.correccion_station,
        correccion_operator = r.correccion_operator, correccion_at = r.correccion_at,
        correccion_received_at = r.correccion_received_at,
        correccion_campos = r.correccion_campos, correccion_motivo = r.correccion_motivo,
        correccion_ronda = r.correccion_ronda
    FROM jsonb_populate_record(NULL::acta_states, %s) AS r
    WHERE s.clave_acta = r.clave_acta
"""


@pytest.fixture
def intacta(noche: Noche) -> Iterator[Noche]:
    """The night as ingest left it, before and after the test: a test that fails
    half-way (the rebuild it checks may be what failed) leaves no edit to the next."""
    claves = list(noche.claves.values())
    assert _filas(noche.node, claves) == noche.filas
    yield noche
    if _filas(noche.node, claves) != noche.filas:
        with psycopg.connect(noche.node.dsn) as conn:
            for _, row in noche.filas["states"]:
                conn.execute(_RESTORE, (Jsonb(row),))


def test_the_night_left_cotejo_and_correction_facts_in_the_state(noche: Noche) -> None:
    """What the tampering below starts from: each column it edits holds a fact."""
    rows = dict(query(noche.node.dsn, "SELECT clave_acta, jsonb_build_array(estado, "
                      "ronda, cotejo_record, correccion_record, correccion_campos, "
                      "correccion_motivo, correccion_ronda, cotejos) FROM acta_states "
                      "WHERE clave_acta = ANY(%s)", list(noche.claves.values())))
    cotejada, corregida, abierta = (rows[noche.claves[k]] for k in (
        "cotejada", "corregida", "en_correccion"))
    assert cotejada[:2] == ["validada", 1] and cotejada[2] is not None
    assert cotejada[3:7] == [None, None, None, None]
    assert cotejada[7] == [[cotejada[2], None]]
    # Confirmed, then found different: the confirmation is gone, the round validated.
    assert corregida[:3] == ["validada", 2, None]
    assert corregida[4:7] == [[noche.campos[0]], MOTIVO, 2]
    assert corregida[7] == [[noche.confirmacion, None], [corregida[3], 2]]
    assert abierta[:3] == ["digitalizada", 2, None]
    assert abierta[4:7] == [[noche.campos[0]], "Otra cantidad", 2]
    assert abierta[7] == [[abierta[3], 2]]
    rebuild_agrees(noche.node)


@dataclass(frozen=True)
class Tamper:
    """A hand edit of one acta's derived row, and the state field it falsifies."""

    acta: str  # key of Noche.claves
    sql: LiteralString  # constant; ``%(clave)s`` and what ``params`` gives
    field: str  # the ActaState field --check must name
    params: Callable[[Noche], dict[str, Any]] = lambda noche: {}


TAMPERS = {
    # COTEJADA=1 dropped: the acta would be published unconfirmed and cotejada again.
    "cotejo_borrado": Tamper("cotejada", """
        UPDATE acta_states SET cotejo_record = NULL, cotejo_station = NULL,
            cotejo_operator = NULL, cotejo_at = NULL, cotejo_received_at = NULL
        WHERE clave_acta = %(clave)s""", "cotejo"),
    # Who confirmed it, rewritten.
    "cotejo_operador": Tamper("cotejada", """
        UPDATE acta_states SET cotejo_operator = %(otro)s WHERE clave_acta = %(clave)s""",
                              "cotejo", lambda noche: {"otro": noche.victor}),
    # The confirmation a correction superseded, put back: a forged COTEJADA=1 on data
    # that was corrected after it.
    "cotejo_revivido": Tamper("corregida", """
        UPDATE acta_states SET cotejo_record = %(record)s,
            cotejo_station = correccion_station, cotejo_operator = correccion_operator,
            cotejo_at = correccion_at, cotejo_received_at = correccion_received_at
        WHERE clave_acta = %(clave)s""", "cotejo",
                              lambda noche: {"record": noche.confirmacion}),
    # The public history (HISTORIAL.csv) would lose the cotejo.
    "cotejos_vaciados": Tamper("cotejada", """
        UPDATE acta_states SET cotejos = '[]' WHERE clave_acta = %(clave)s""", "cotejos"),
    # The cotejo that opened round 2 passed off as one that confirmed the data.
    "cotejos_sin_ronda": Tamper("corregida", """
        UPDATE acta_states SET cotejos = jsonb_set(cotejos, '{1,1}', 'null')
        WHERE clave_acta = %(clave)s""", "cotejos"),
    # diferencias.json would name another field as the one found different...
    "correccion_campos": Tamper("corregida", """
        UPDATE acta_states SET correccion_campos = %(campos)s WHERE clave_acta = %(clave)s""",
                                "correccion",
                                lambda noche: {"campos": Jsonb([noche.campos[1]])}),
    # ...or another reason...
    "correccion_motivo": Tamper("corregida", """
        UPDATE acta_states SET correccion_motivo = 'Sin diferencias'
        WHERE clave_acta = %(clave)s""", "correccion"),
    # ...or none at all: the corrected data published as if never corrected.
    "correccion_borrada": Tamper("corregida", """
        UPDATE acta_states SET correccion_record = NULL WHERE clave_acta = %(clave)s""",
                                 "correccion"),
    # The open round's captures would be counted in the wrong image round.
    "correccion_ronda": Tamper("en_correccion", """
        UPDATE acta_states SET correccion_ronda = correccion_ronda + 1
        WHERE clave_acta = %(clave)s""", "correccion"),
    # The open round gone: a plain digitalizada acta, which the coordinador who found
    # the difference could capture himself.
    "correccion_abierta_borrada": Tamper("en_correccion", """
        UPDATE acta_states SET correccion_record = NULL, correccion_station = NULL,
            correccion_operator = NULL, correccion_at = NULL,
            correccion_received_at = NULL, correccion_campos = NULL,
            correccion_motivo = NULL, correccion_ronda = NULL
        WHERE clave_acta = %(clave)s""", "correccion"),
}


def _tamper(noche: Noche, tamper: Tamper) -> tuple[str, str]:
    """Apply ``tamper``; the acta's clave and estado."""
    clave = noche.claves[tamper.acta]
    with psycopg.connect(noche.node.dsn) as conn:
        cursor = conn.execute(tamper.sql + " RETURNING clave_acta, estado",
                              {"clave": clave, **tamper.params(noche)})
        [(edited, estado)] = cursor.fetchall()
    assert edited == clave
    return clave, estado


@pytest.mark.parametrize("name", list(TAMPERS))
def test_check_names_a_hand_edited_cotejo_or_correction_and_rebuild_restores_it(
        intacta: Noche, name: str) -> None:
    noche = intacta
    node, tamper = noche.node, TAMPERS[name]
    clave, estado = _tamper(noche, tamper)
    tampered = _filas(node, list(noche.claves.values()))
    assert tampered != noche.filas

    checked = central_cli(node, "rebuild-state", "--check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert (report["differences"], report["fuera_differences"], report["written"]) == (
        1, 0, False)
    # The operator is told which acta and which part of its state the records disagree
    # with (the estado itself is not what was edited).
    assert report["sample"] == [{"clave_acta": clave, "fields": [tamper.field],
                                 "stored": estado, "computed": estado}]
    assert "1 actas y 0 registros fuera de catálogo con diferencias" in checked.stderr
    assert _filas(node, list(noche.claves.values())) == tampered  # --check wrote nothing

    repaired = central_cli(node, "rebuild-state")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    report = json.loads(repaired.stdout)
    assert (report["differences"], report["written"]) == (1, True)
    assert [d["clave_acta"] for d in report["sample"]] == [clave]
    # Exactly what ingest wrote, every column of every row of the three actas.
    assert _filas(node, list(noche.claves.values())) == noche.filas
    [(detail,)] = query(node.dsn, "SELECT detail FROM audit_log WHERE event = "
                        "'acta_states_rebuilt' ORDER BY id DESC LIMIT 1")
    assert (detail["reason"], detail["changed"]) == ("rebuild-state", 1)
    rebuild_agrees(node)


def test_check_names_every_acta_edited_at_once(intacta: Noche) -> None:
    """A cotejo and two corrections edited together: one line of the sample each."""
    noche = intacta
    edits = [_tamper(noche, TAMPERS[name]) for name in (
        "cotejo_borrado", "correccion_motivo", "correccion_abierta_borrada")]
    checked = central_cli(noche.node, "rebuild-state", "--check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["differences"] == 3
    assert sorted((d["clave_acta"], tuple(d["fields"])) for d in report["sample"]) == sorted([
        (edits[0][0], ("cotejo",)), (edits[1][0], ("correccion",)),
        (edits[2][0], ("correccion",))])
    assert "3 actas y 0 registros fuera de catálogo con diferencias" in checked.stderr
    repaired = central_cli(noche.node, "rebuild-state")
    assert repaired.returncode == 0 and json.loads(repaired.stdout)["differences"] == 3
    assert _filas(noche.node, list(noche.claves.values())) == noche.filas
    rebuild_agrees(noche.node)
