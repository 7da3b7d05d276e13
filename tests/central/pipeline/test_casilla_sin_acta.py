"""*Casilla no instalada* and *paquete no entregado* hold for every acta of the casilla
(issue 28): a real central raises the anomaly ``casilla_sin_acta_con_datos`` (with its
audit event, and the dashboard's Spanish label) when one acta of a casilla is registered
so while another acta of the same casilla has an image or votes, in either arrival order
and when both arrive at once from two stations; never for a cause that is the acta's
own (paquete sin sobre), nor when every acta of the casilla agrees."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest

from central.controlroom.anomaly_text import anomaly_label
from central.controlroom.anomaly_text import describe
from central.pipeline.casilla import CASILLA_SIN_ACTA_CON_DATOS
from central.pipeline.casilla import contradicciones
from central.pipeline.casilla import siblings_in
from central.pipeline.state import ActaInfo
from central.pipeline.state import Estado
from central.pipeline.state import RecordEvent
from central.pipeline.state import fold
from central.pipeline.state import initial
from prep.catalog import Acta
from prep.catalog import Casilla
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.records import Kind
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import site_account
from tests.harness.work import truth


@pytest.fixture(scope="module")
def node(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentralNode]:
    with running_central(tmp_path_factory.mktemp("casilla-sin-acta"), pg_dsn) as central:
        yield central


@pytest.fixture(scope="module")
def catalog(node: CentralNode) -> Catalog:
    return load_catalog(node, scale=0.02)


_used: set[str] = set()


def _casilla(catalog: Catalog, distrito: int = 1) -> tuple[Acta, ...]:
    """The actas (one per election) of a casilla of ``distrito`` no other test used."""
    for casilla in catalog.casillas_ordenadas:
        if casilla.distrito_id == distrito and casilla.clave not in _used \
                and casilla.tipo in "BC":
            _used.add(casilla.clave)
            return _actas(catalog, casilla)
    raise AssertionError(f"no quedan casillas en el distrito {distrito}")


def _actas(catalog: Catalog, casilla: Casilla) -> tuple[Acta, ...]:
    actas = tuple(a for e in catalog.elecciones
                  if (a := catalog.acta(casilla.clave + e.codigo)) is not None)
    assert len(actas) == len(catalog.elecciones) >= 2
    return actas


def _anomalies(node: CentralNode, casilla: str) -> list[tuple[str | None, dict[str, Any]]]:
    return [(str(s) if s else None, d) for s, d in query(
        node.dsn, "SELECT station, detail FROM anomalies WHERE type = %s "
        "AND detail->>'casilla' = %s ORDER BY id", CASILLA_SIN_ACTA_CON_DATOS, casilla)]


def _audited(node: CentralNode, casilla: str) -> list[tuple[str, dict[str, Any]]]:
    return [(str(a), d) for a, d in query(
        node.dsn, "SELECT actor, detail FROM audit_log WHERE event = %s "
        "AND detail->>'casilla' = %s ORDER BY id", "casilla_sin_acta_con_datos", casilla)]


async def _sin_acta(station: WorkStation, actas: tuple[Acta, ...], causa: str) -> None:
    acopiador = await asyncio.to_thread(site_account, station.node, "acopiador",
                                        station.sitio)
    await station.send([(Kind.SIN_ACTA, acopiador, {"clave_acta": a.clave, "causa": causa})
                        for a in actas])


def test_sin_acta_first_then_an_image_of_another_acta(node: CentralNode,
                                                      catalog: Catalog) -> None:
    uno, dos, *_ = actas = _casilla(catalog)
    casilla = uno.casilla.clave

    async def night() -> str:
        async with WorkStation.enroll(node, 1) as catd:
            await _sin_acta(catd, (uno,), "casilla_no_instalada")
            assert _anomalies(node, casilla) == []  # nothing contradicts it yet
            await catd.digitize([dos])
            return catd.id

    station = asyncio.run(night())
    [(raised_by, detail)] = _anomalies(node, casilla)
    assert raised_by == station
    assert detail["causa"] == "casilla_no_instalada"
    assert detail["clave_acta"] == dos.clave  # the image made it appear
    assert detail["actas_sin_acta"] == [uno.clave]
    assert detail["actas_con_datos"] == [dos.clave]
    assert _audited(node, casilla) == [(station, detail)]
    # The coordinator reads it in Spanish.
    assert anomaly_label(CASILLA_SIN_ACTA_CON_DATOS) == \
        "Casilla «sin acta» con otra acta con datos"
    text = describe(detail)
    assert text.startswith(f"Casilla {casilla} · acta {dos.clave} · ")
    assert "causa casilla no instalada" in text
    assert f"actas con imagen o votos {dos.clave}" in text
    assert len(actas) == len(catalog.elecciones)
    # Nothing was refused: the acta is digitized, the other stays sin acta, and the
    # states are what the records give.
    estados = dict(query(node.dsn, "SELECT clave_acta, estado FROM acta_states "
                                   "WHERE clave_acta = ANY(%s)", [uno.clave, dos.clave]))
    assert estados == {uno.clave: "sin_acta", dos.clave: "digitalizada"}
    done = central_cli(node, "rebuild-state", "--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_votes_first_then_paquete_no_entregado(node: CentralNode, catalog: Catalog) -> None:
    uno, dos, *resto = _casilla(catalog)
    casilla = uno.casilla.clave
    ana, beto = add_operators(node, [("Ana Sin Acta", "capturista", "01"),
                                     ("Beto Sin Acta", "capturista", "CCV")])

    async def night() -> str:
        async with WorkStation.enroll(node, 1) as catd, \
                WorkStation.enroll(node, None) as ccv:
            await catd.digitize([dos])
            # Two blind captures from two stations (one station never decides an acta).
            for station, operator in ((catd, ana), (ccv, beto)):
                [lease] = [lease for lease in await station.next(operator, prefetch=10)
                           if lease["clave_acta"] == dos.clave]
                await station.capture(operator, lease, truth(dos))
            assert _anomalies(node, casilla) == []
            await _sin_acta(catd, (uno, *resto), "paquete_no_entregado")
            return catd.id

    station = asyncio.run(night())
    [(estado,)] = query(node.dsn, "SELECT estado FROM acta_states WHERE clave_acta = %s",
                        dos.clave)
    assert estado == "validada"
    [(raised_by, detail)] = _anomalies(node, casilla)  # one per casilla and batch
    assert raised_by == station
    assert detail["causa"] == "paquete_no_entregado"
    assert detail["actas_sin_acta"] == sorted(a.clave for a in (uno, *resto))
    assert detail["actas_con_datos"] == [dos.clave]
    [(actor, audited)] = _audited(node, casilla)
    assert (actor, audited) == (station, detail)


def test_no_anomaly_when_the_casilla_agrees_or_the_cause_is_the_actas_own(
        node: CentralNode, catalog: Catalog) -> None:
    no_instalada = _casilla(catalog)
    sin_sobre = _casilla(catalog)
    otra = _casilla(catalog)

    async def night() -> None:
        async with WorkStation.enroll(node, 1) as catd:
            # Every acta of the casilla not installed: consistent.
            await _sin_acta(catd, no_instalada, "casilla_no_instalada")
            # Paquete entregado sin sobre is about one acta's envelope.
            await _sin_acta(catd, sin_sobre[:1], "paquete_sin_sobre")
            await catd.digitize(sin_sobre[1:])
            # Another casilla's image says nothing about this one.
            await catd.digitize(otra[:1])

    asyncio.run(night())
    for actas in (no_instalada, sin_sobre, otra):
        assert _anomalies(node, actas[0].casilla.clave) == []


def test_raised_once_when_both_arrive_at_once_from_two_stations(
        node: CentralNode, catalog: Catalog) -> None:
    """A CATD registers the casilla not installed while the PREP Casilla intake sends
    another acta's photo, in parallel, for several casillas: ingest locks the casilla's
    actas, so each batch sees the other's and every casilla is reported exactly once."""
    casillas = [_casilla(catalog, distrito=2) for _ in range(5)]

    async def night() -> None:
        async with WorkStation.enroll(node, 2) as catd, \
                WorkStation.enroll_intake(node) as intake:
            for actas in casillas:
                await asyncio.gather(
                    _sin_acta(catd, actas[:1], "casilla_no_instalada"),
                    intake.digitize(actas[1:2], origen="CASILLA", acopio=False))

    asyncio.run(night())
    for actas in casillas:
        [(_, detail)] = _anomalies(node, actas[0].casilla.clave)
        assert detail["actas_sin_acta"] == [actas[0].clave]
        assert detail["actas_con_datos"] == [actas[1].clave]


# --- the rule alone, over folded states (no database) -------------------------------

T0 = datetime(2027, 6, 7, 2, 0, tzinfo=UTC)


def _event(n: int, kind: Kind, clave: str, **body: Any) -> RecordEvent:
    return RecordEvent(f"00000000-0000-4000-8000-{n:012d}", "catd-01", "op", kind, T0, T0,
                       {"clave_acta": clave, **body})


def _image(n: int, clave: str) -> RecordEvent:
    return _event(n, Kind.IMAGEN, clave, sha256=f"{n:064d}", bytes=10,
                  media_type="image/png", origen="CATD", digitalizacion="Escáner")


def test_the_rule_is_edge_triggered_per_casilla() -> None:
    catalog = generate_catalog(4, 0.005)
    uno, dos, tres = _actas(catalog, catalog.casillas_ordenadas[0])
    siblings = siblings_in(catalog)
    assert set(siblings(uno.clave)) == {dos.clave, tres.clave}
    assert siblings("099999B010001") == ()
    assert siblings_in(None)(uno.clave) == ()

    def lookup(clave: str) -> ActaInfo | None:
        acta = catalog.acta(clave)
        return None if acta is None else ActaInfo(1, acta.eleccion.codigo, acta.layout.campos)

    states = {a.clave: initial(a.clave, lookup(a.clave)) for a in (uno, dos, tres)}

    def batch(*events: RecordEvent) -> list[str]:
        nonlocal states
        before, states = states, fold(events, lookup, states).actas
        return [c.clave_acta for c in contradicciones(before, states, siblings)]

    assert batch(_event(1, Kind.SIN_ACTA, uno.clave, causa="casilla_no_instalada")) == []
    # One per casilla, however many of its actas the batch touched.
    assert batch(_image(2, dos.clave), _image(3, tres.clave)) == [dos.clave]
    # A second image of an acta that already had one makes nothing new.
    assert batch(_image(4, dos.clave)) == []
    # The cause corrected (a sin acta replacing the first) is a new fact: told again.
    correction = _event(5, Kind.SIN_ACTA, uno.clave, causa="paquete_no_entregado")
    correction = RecordEvent(correction.id, correction.station, correction.operator,
                             correction.kind, T0, T0, correction.body,
                             replaces=states[uno.clave].sin_acta.record)  # type: ignore[union-attr]
    assert batch(correction) == [uno.clave]
    assert states[uno.clave].estado is Estado.SIN_ACTA


def test_the_dashboard_names_the_anomaly_and_its_cause() -> None:
    detail = {"casilla": "090123B0100", "clave_acta": "090123B010002", "record": "x" * 36,
              "causa": "paquete_no_entregado", "actas_sin_acta": ["090123B010001"],
              "actas_con_datos": ["090123B010002"]}
    assert describe(detail) == (
        "Casilla 090123B0100 · acta 090123B010002 · registro xxxxxxxx… · causa paquete no "
        "entregado · actas «sin acta» 090123B010001 · actas con imagen o votos 090123B010002")
