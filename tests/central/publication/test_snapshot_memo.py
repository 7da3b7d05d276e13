"""A running central's snapshot reads only what changed since its previous one
(central.publication.memo_corte), and says exactly what a whole read says: checked after
every step of a night sent through real HTTPS to a real central and folded by it
(acopio, images, captures, sin acta, a verificación, a cotejo and a correction round,
a corte, rebuild-state), against a whole read of the same database at that moment."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy import text

from central.db import make_engine
from central.publication import snapshot_historial as historial_db
from central.publication.memo_corte import CorteMemo
from central.publication.snapshot import Snapshot
from central.publication.snapshot import read_snapshot
from prep.catalog import Acta
from prep.catalog import Catalog
from prep.records import Kind
from tests.central.publication_night import corte_in_window
from tests.central.station import central_cli
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import off
from tests.harness.work import site_account
from tests.harness.work import truth


class Lector:
    """The snapshots of a running central (one memo), each checked against a whole read
    made right after it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.memo = CorteMemo()
        self.previo: Snapshot | None = None

    def leer(self) -> Snapshot:
        snap = read_snapshot(self.engine, self.memo)
        entera = read_snapshot(self.engine)
        assert entera.releidas is None
        # The same data; only the instant of the two reads differs.
        assert replace(snap, corte=entera.corte, salud=entera.salud) == entera
        assert snap.historial == entera.historial
        # The actas a corte would record as first published: worked out from what was
        # read again and the previous snapshot's (most steps make no corte, so those
        # stay unrecorded from one snapshot to the next), as from the whole state.
        assert entera.primeras == tuple(historial_db.nuevas(entera.historial, entera.estado))
        assert snap.primeras == entera.primeras
        assert snap.salud is not None and entera.salud is not None
        assert (snap.salud.digitalizadas, snap.salud.con_captura) == (
            entera.salud.digitalizadas, entera.salud.con_captura)
        if self.previo is not None and snap.releidas is not None:
            # Whatever was not read again is the previous snapshot's very object.
            antes = self.previo
            iguales = [c for c in snap.estado if snap.estado[c] is antes.estado.get(c)]
            assert len(iguales) >= len(snap.estado) - snap.releidas
            for clave in iguales:
                if clave in antes.historial.actas:
                    assert snap.historial.actas[clave] is antes.historial.actas[clave]
        self.previo = snap
        return snap


@pytest.fixture
def lector(central_node: CentralNode) -> Iterator[Lector]:
    engine = make_engine(central_node.dsn)
    try:
        yield Lector(engine)
    finally:
        engine.dispose()


def _actas(catalog: Catalog, n: int) -> list[Acta]:
    actas = [a for a in catalog.actas(catalog.elecciones[0]) if a.casilla.distrito_id == 1]
    return actas[:n]


def _cotejo(operator: str, clave: str, coincide: bool,
            **extra: Any) -> tuple[Kind, str, dict[str, Any]]:
    return Kind.COTEJO, operator, {"clave_acta": clave, "coincide": coincide, **extra}


def test_each_snapshot_reads_only_what_changed_and_equals_a_whole_read(
        central_node: CentralNode, lector: Lector, tmp_path: Path) -> None:
    node = central_node
    catalog = load_catalog(node, scale=0.02)
    primera, segunda, verificada, sin, tardia = _actas(catalog, 5)
    ana, beto, carla, dario, vera, victor = add_operators(node, [
        ("Ana", "capturista", "01"), ("Beto", "capturista", "01"),
        ("Carla", "capturista", "01"), ("Dario", "capturista", "01"),
        ("Vera", "verificador", "01"), ("Victor", "coordinador", "01")])
    campo = segunda.layout.campos[4]
    papel = {**truth(segunda), campo: truth(segunda)[campo] + 7}

    vacia = lector.leer()  # the first read of a running central reads everything
    assert vacia.releidas is None and not any(e.publicada for e in vacia.estado.values())
    assert lector.leer().releidas == 0  # nothing changed

    async def scanned() -> None:
        async with WorkStation.enroll(node, 1) as station:
            await station.digitize([primera, segunda, verificada])
            await station.send([(Kind.SIN_ACTA, site_account(node, "acopiador", "01"),
                                 {"clave_acta": sin.clave, "causa": "paquete_no_entregado"})])

    asyncio.run(scanned())
    assert lector.leer().releidas == 4  # three acopios with their images, one sin acta

    async def captured() -> None:
        async with WorkStation.enroll(node, 1) as s1, WorkStation.enroll(node, 1) as s2, \
                WorkStation.enroll(node, 1) as s3, WorkStation.enroll(node, 1) as s4:
            # Two captures of each; the verificada's differ, so does its third capture,
            # and a verificador decides.
            for by, (operator, station) in enumerate(((ana, s1), (beto, s2)), start=1):
                for _ in range(3):
                    [lease] = await station.next(operator)
                    acta = next(a for a in (primera, segunda, verificada)
                                if a.clave == lease["clave_acta"])
                    await station.capture(operator, lease, off(acta, by)
                                          if acta is verificada else truth(acta))
            [lease] = await s3.next(carla)
            assert lease["clave_acta"] == verificada.clave
            await s3.capture(carla, lease, off(verificada, 3))
            [lease] = await s4.next(vera, kind="verificacion")  # not where one captured
            await s4.capture(vera, lease, truth(verificada))

    asyncio.run(captured())
    snap = lector.leer()
    assert snap.releidas == 3
    assert {c for c, e in snap.estado.items() if e.captura is not None} == {
        primera.clave, segunda.clave, verificada.clave}
    assert snap.verificadas == {verificada.clave}
    # What a corte would record as first published now: the sin acta was not read
    # again, and is among them as the previous snapshot's (no corte recorded it since).
    assert snap.primeras == tuple(sorted((primera.clave, segunda.clave, verificada.clave,
                                          sin.clave)))

    corte_in_window(node, tmp_path / "publicacion")  # actas_publicadas: no acta changed
    snap = lector.leer()
    assert snap.releidas == 0
    assert snap.primeras == ()  # the corte recorded them
    assert set(snap.historial.publicada_en) == {primera.clave, segunda.clave,
                                                verificada.clave, sin.clave}
    # Keyed by the states' own strings: a night's first publications keep no second
    # copy of every CLAVE_ACTA.
    assert all(clave is snap.estado[clave].clave for clave in snap.historial.publicada_en)

    async def corrected() -> None:
        async with WorkStation.enroll(node, 1) as s3:
            await s3.send([_cotejo(vera, primera.clave, True)])
            await s3.send([_cotejo(victor, segunda.clave, False, campos=[campo],
                                   motivo="En el papel dice otra cantidad")])
        for operator in (carla, dario):  # never touched it
            async with WorkStation.enroll(node, 1) as station:
                [lease] = await station.next(operator)
                assert lease["clave_acta"] == segunda.clave
                await station.capture(operator, lease, papel)
        async with WorkStation.enroll(node, 1) as s4:
            await s4.digitize([tardia])

    asyncio.run(corrected())
    snap = lector.leer()
    assert snap.releidas == 3  # the cotejada, the corrected and the new acta
    assert snap.estado[primera.clave].cotejada
    corregida = snap.estado[segunda.clave].captura
    assert corregida is not None
    assert dict(zip(segunda.layout.campos, corregida.valores, strict=True))[campo] == \
        papel[campo]
    assert segunda.clave in snap.corregidas

    # rebuild-state rewrites (deletes and writes again) what differs: read everything.
    done = central_cli(node, "rebuild-state")
    assert done.returncode == 0, done.stdout + done.stderr
    assert lector.leer().releidas is None
    assert lector.leer().releidas == 0


def test_the_claves_given_as_one_array_literal_come_back_as_given(migrated: Engine) -> None:
    # The actas a corte reads again, and those it records as first published, go to
    # PostgreSQL as one array literal (psycopg's list dumper took half a second of a
    # national corte): any text comes back as it was, none becomes NULL or splits.
    textos = ["090010001B01", 'comilla"doble', "diagonal\\inversa", "coma,en medio",
              "{llaves}", " espacios ", "ñandú", "NULL", "", "'simple'"]
    with migrated.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        for binario in (False, True):
            fila = raw.execute("SELECT CAST(%s AS text[])", (historial_db.arreglo(textos),),
                               binary=binario).fetchone()
            assert fila is not None and fila[0] == textos
        vacio = raw.execute("SELECT CAST(%s AS text[])", (historial_db.arreglo([]),)).fetchone()
        assert vacio is not None and vacio[0] == []


def test_every_write_marks_its_rows_with_its_transaction(migrated: Engine) -> None:
    # How a running central finds what changed (revision 0024): a state inserted,
    # copied or updated, whatever value of ``cambio`` its writer gave, carries the id of
    # the transaction that wrote it; the same trigger is enabled on the images and the
    # captures (their writes are the ingest's, followed by the memo test above).
    def xid(conn: Any) -> int:
        return int(conn.execute(text("SELECT pg_current_xact_id()::text::bigint"))
                   .scalar_one())

    def cambio(conn: Any) -> int:
        return int(conn.execute(text("SELECT cambio FROM acta_states WHERE clave_acta = "
                                     "'090001B0101'")).scalar_one())

    with migrated.begin() as conn:
        primera = xid(conn)
        conn.execute(text("INSERT INTO acta_states (clave_acta, en_catalogo, eleccion, "
                          "estado, ronda, cambio) VALUES ('090001B0101', false, '01', "
                          "'esperada', 0, 0)"))
        assert cambio(conn) == primera
    with migrated.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        copiada = xid(conn)
        conn.execute(text("DELETE FROM acta_states"))
        with raw.cursor() as cur, cur.copy("COPY acta_states (clave_acta, en_catalogo, "
                                           "eleccion, estado, ronda, cambio) FROM STDIN"
                                           ) as copy:
            copy.write_row(("090001B0101", False, "01", "esperada", 0, 1))
        assert cambio(conn) == copiada > primera
    with migrated.begin() as conn:
        segunda = xid(conn)
        conn.execute(text("UPDATE acta_states SET ronda = 1, cambio = 7 "
                          "WHERE clave_acta = '090001B0101'"))
        assert cambio(conn) == segunda > copiada
        disparadores = set(conn.execute(text(
            "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE '%\\_cambio' "
            "AND tgenabled = 'O'")).scalars())
    assert disparadores == {"acta_states", "acta_images", "acta_captures"}
