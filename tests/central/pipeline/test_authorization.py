"""Who may record what, attacked over real HTTPS and PostgreSQL (issue 36): a station key
used to forge captures of another CATD's acta, by operators that do not exist, of
another site, disabled or of the wrong role, or twice from one station outside the
queue; acopio and images of another distrito's actas. Each record is stored and
quarantined with an anomaly, never moves the acta nor reaches a corte, and
``rebuild-state --check`` agrees with ingest."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from central.db import make_engine
from central.stations.catd_distritos import assign
from prep.catalog import Acta
from prep.catalog import Catalog
from prep.corte.package import slug
from prep.corte.reader import read_eleccion_csv
from prep.records import Kind
from prep.records import Record
from tests.central.publication_night import corte_in_window
from tests.central.station import anomalies
from tests.central.station import central_cli
from tests.central.station import query
from tests.central.station import rebuild_agrees
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.images import padded_jpeg
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import capturistas
from tests.harness.work import image_body
from tests.harness.work import load_catalog
from tests.harness.work import png
from tests.harness.work import site_account
from tests.harness.work import truth

SHORT_LEASE_MINUTES = 0.05  # 3 s


def _acta(catalog: Catalog, distrito: int, n: int = 0) -> Acta:
    return [a for a in catalog.iter_actas() if a.casilla.distrito_id == distrito][n]


def _estado(node: CentralNode, clave: str) -> str:
    [(estado,)] = query(node.dsn, "SELECT estado FROM acta_states WHERE clave_acta = %s",
                        clave)
    return str(estado)


def _quarantined(node: CentralNode) -> dict[str, str]:
    return {str(r): str(reason) for r, reason in query(
        node.dsn, "SELECT record_id, reason FROM quarantined_records")}


def _capture(acta: Acta, valores: dict[str, int], lease: str | None = None) -> dict[str, Any]:
    """A capture body made on ``acta``'s CATD scan (the harness's image)."""
    return {"clave_acta": acta.clave, "valores": valores, "lease": lease,
            "imagen_sha256": hashlib.sha256(png(f"CATD:{acta.clave}")).hexdigest()}


def _forged(acta: Acta) -> dict[str, int]:
    return {campo: 700 for campo in acta.layout.campos}


def test_a_forged_batch_from_another_catd_never_validates_nor_publishes(
        node: CentralNode, catalog: Catalog, tmp_path: Path) -> None:
    """CATD 02's key sends two captures of an acta of distrito 01: first by operators
    that do not exist, then by CATD 02's real capturistas without leases, then by CATD
    01's capturistas (another site). All six are kept and quarantined; the acta stays
    waiting for capture and the corte publishes nothing for it."""
    acta = _acta(catalog, 1)
    mine = add_operators(node, [("Ana", "capturista", "02"), ("Beto", "capturista", "02")])
    theirs = add_operators(node, [("Carla", "capturista", "01"),
                                  ("Dario", "capturista", "01")])
    forged = _capture(acta, _forged(acta))

    async def attack() -> list[list[Record]]:
        async with WorkStation.enroll(node, 1) as catd1, \
                WorkStation.enroll(node, 2) as thief:
            await catd1.digitize([acta])
            return [await thief.send([(Kind.CAPTURA, operator, forged)
                                      for operator in operators])
                    for operators in (("op-02-nadie", "op-02-fantasma"), mine, theirs)]

    nadie, sin_lease, otro_sitio = asyncio.run(attack())
    assert _estado(node, acta.clave) == "digitalizada"
    assert _quarantined(node) == {
        **{r.id: "operador_desconocido" for r in nadie},
        **{r.id: "trabajo_sin_lease" for r in sin_lease},
        **{r.id: "operador_otro_sitio" for r in otro_sitio}}
    assert [a["record"] for a in anomalies(node, "operador_desconocido")] == [
        r.id for r in nadie]
    assert [a["record"] for a in anomalies(node, "trabajo_sin_lease")] == [
        r.id for r in sin_lease]
    assert query(node.dsn, "SELECT count(*) FROM acta_captures") == [(0,)]
    assert query(node.dsn, "SELECT count(*) FROM records WHERE kind = 'captura'") == [(6,)]

    publicacion = tmp_path / "publicacion"
    corte = corte_in_window(node, publicacion)  # the Consejo's window, then a corte
    eleccion = next(e for e in catalog.elecciones if e.codigo == acta.clave[-2:])
    parsed = read_eleccion_csv((corte / f"{slug(eleccion.nombre)}.csv").read_bytes())
    [row] = [r for r in parsed.filas if r["CLAVE_ACTA"].strip("'") == acta.clave]
    assert {row[campo] for campo in acta.layout.campos} == {"-"}
    assert row["CONTABILIZADA"] != "1"
    assert parsed.resumen["ACTAS_CAPTURADAS"] == "0"
    rebuild_agrees(node)


def test_acopio_and_images_of_another_distrito_are_quarantined(
        node: CentralNode, catalog: Catalog) -> None:
    """CATD 01 registers acopio and an image of its own acta and of one of distrito 03:
    the foreign ones are quarantined (``acta_de_otro_catd``) and the acta stays
    *esperada*, until the coordinator has CATD 01 receive distrito 03."""
    own, foreign = _acta(catalog, 1), _acta(catalog, 3)

    async def scenario(actas: list[Acta]) -> None:
        async with WorkStation.enroll(node, 1) as catd1:
            await catd1.digitize(actas)

    asyncio.run(scenario([own, foreign]))
    assert (_estado(node, own.clave), _estado(node, foreign.clave)) == ("digitalizada",
                                                                        "esperada")
    refused = anomalies(node, "acta_de_otro_catd")
    assert [(a["clave_acta"], a["kind"], a["distrito"], a["catd"]) for a in refused] == [
        (foreign.clave, "acopio", 3, 3), (foreign.clave, "imagen", 3, 3)]
    assert sorted(_quarantined(node).values()) == ["acta_de_otro_catd"] * 2
    rebuild_agrees(node)

    done = central_cli(node, "catd-distritos", "--catd", "1", "--distritos", "3")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"distritos": {"3": 1}}
    asyncio.run(scenario([foreign]))
    assert _estado(node, foreign.clave) == "digitalizada"
    assert query(node.dsn, "SELECT count(*) FROM audit_log "
                 "WHERE event = 'catd_distritos_assigned'") == [(1,)]
    rebuild_agrees(node)


def test_disabled_operators_wrong_roles_and_sites_record_nothing(
        node: CentralNode, catalog: Catalog) -> None:
    """A capture by an operator disabled after taking the lease, a capture by an
    acopiador, an acopio by a capturista, an image sent by a CCV station and one
    naming the central's intake as its operator: all stored, all quarantined."""
    acta, otra = _acta(catalog, 1), _acta(catalog, 1, 1)
    ana, beto, acopiador = add_operators(node, [("Ana", "capturista", "01"),
                                                ("Beto", "capturista", "01"),
                                                ("Alma", "acopiador", "01")])
    [ccv_digit] = add_operators(node, [("Ciro", "digitalizador", "CCV")])

    async def scenario() -> dict[str, Record]:
        async with WorkStation.enroll(node, 1) as catd1, \
                WorkStation.enroll(node, None) as ccv:
            await catd1.digitize([acta])
            [lease] = await catd1.next(ana)
            done = await asyncio.to_thread(central_cli, node, "operator", "disable", ana,
                                           coordinador=True)
            assert done.returncode == 0, done.stderr
            [disabled] = await catd1.send([(Kind.CAPTURA, ana, _capture(
                acta, truth(acta), lease["lease_id"]))])
            [by_acopiador, acopio_by_capturista] = await catd1.send([
                (Kind.CAPTURA, acopiador, _capture(acta, truth(acta))),
                (Kind.ACOPIO, beto, {"clave_acta": otra.clave})])
            image = png(f"CCV:{otra.clave}")
            await ccv.put_blob(image)
            [ccv_image, as_intake] = await ccv.send([
                (Kind.IMAGEN, ccv_digit, image_body(otra.clave, image, "CASILLA")),
                (Kind.IMAGEN, "prep central import-casilla",
                 image_body(otra.clave, image, "CASILLA"))])
            return {"disabled": disabled, "acopiador": by_acopiador,
                    "capturista": acopio_by_capturista, "ccv": ccv_image,
                    "intake": as_intake}

    records = asyncio.run(scenario())
    assert (_estado(node, acta.clave), _estado(node, otra.clave)) == ("digitalizada",
                                                                      "esperada")
    assert _quarantined(node) == {
        records["disabled"].id: "operador_deshabilitado",
        records["acopiador"].id: "operador_sin_rol",
        records["capturista"].id: "operador_sin_rol",
        records["ccv"].id: "registro_no_admitido",
        records["intake"].id: "registro_no_admitido"}
    assert [a["rol"] for a in anomalies(node, "operador_sin_rol")] == [
        "acopiador", "capturista"]
    # The disabled operator's lease still holds the acta until it runs out.
    assert query(node.dsn, "SELECT status FROM leases") == [("active",)]
    rebuild_agrees(node)


def test_one_station_never_decides_an_acta_with_captures_outside_the_queue(
        pg_dsn: str, tmp_path: Path) -> None:
    """A station whose two operators' leases on one acta expired and went elsewhere
    sends both captures, equal: the first counts (offline work, ``captura_sin_lease``),
    the second is quarantined (``captura_misma_estacion``): the acta waits for a capture
    from another station. A verification whose lease went to someone else is
    quarantined too (``verificacion_sin_lease_vivo``): it would decide alone."""
    with running_central(tmp_path / "central", pg_dsn,
                         extra_args=["--lease-minutes", str(SHORT_LEASE_MINUTES)]) as node:
        catalog = load_catalog(node)
        acta = _acta(catalog, 1)
        uno, dos = add_operators(node, [("Uno", "capturista", "01"),
                                        ("Dos", "capturista", "01")])
        [tres] = add_operators(node, [("Tres", "capturista", "02")])
        [cuatro] = add_operators(node, [("Cuatro", "capturista", "03")])
        vera, vito = add_operators(node, [("Vera", "verificador", "CCV"),
                                          ("Vito", "verificador", "04")])
        lease_s = SHORT_LEASE_MINUTES * 60 + 0.5

        async def scenario() -> tuple[Record, Record, Record]:
            async with WorkStation.enroll(node, 1) as catd1, \
                    WorkStation.enroll(node, 2) as catd2, \
                    WorkStation.enroll(node, 3) as catd3, \
                    WorkStation.enroll(node, 4) as catd4, \
                    WorkStation.enroll(node, None) as ccv:
                await catd1.digitize([acta])
                [first] = await catd1.next(uno)
                await asyncio.sleep(lease_s)
                [second] = await catd1.next(dos)  # the acta again, at the same station
                assert second["clave_acta"] == acta.clave
                await asyncio.sleep(lease_s)
                [third] = await catd2.next(tres)  # and then at CATD 02
                assert third["clave_acta"] == acta.clave
                counted = await catd1.capture(uno, first, _forged(acta))
                refused = await catd1.capture(dos, second, _forged(acta))
                assert _estado(node, acta.clave) == "captura_1"
                await catd2.capture(tres, third, truth(acta))
                assert _estado(node, acta.clave) == "captura_2"
                [fourth] = await catd3.next(cuatro)
                wrong = {**truth(acta), acta.layout.campos[0]: 999}
                await catd3.capture(cuatro, fourth, wrong)
                assert _estado(node, acta.clave) == "verificacion"
                [check] = await ccv.next(vera, "verificacion")
                await asyncio.sleep(lease_s)
                [recheck] = await catd4.next(vito, "verificacion")
                assert recheck["clave_acta"] == acta.clave
                late = await ccv.capture(vera, check, _forged(acta))
                assert _estado(node, acta.clave) == "verificacion"
                await catd4.capture(vito, recheck, truth(acta))
                return counted, refused, late

        counted, refused, late = asyncio.run(scenario())
        assert _quarantined(node) == {refused.id: "captura_misma_estacion",
                                      late.id: "verificacion_sin_lease_vivo"}
        assert [a["otra_captura"] for a in anomalies(node, "captura_misma_estacion")] == [
            counted.id]
        assert [a["record"] for a in anomalies(node, "captura_sin_lease")] == [counted.id]
        [(estado, valores)] = query(node.dsn, "SELECT estado, validada_valores FROM "
                                    "acta_states WHERE clave_acta = %s", acta.clave)
        assert (estado, valores) == ("validada", truth(acta))
        rebuild_agrees(node)


def _grant_directly(node: CentralNode, acta: Acta, operator: str, station: str,
                    kind: str = "captura") -> dict[str, Any]:
    """A lease written straight into ``leases``, as a queue that hands one acta twice to
    one station would (the queue before issue 36's last fix): what ingest alone must
    stop. The lease as ``next`` describes it."""
    engine = make_engine(node.dsn, pool_size=1)
    try:
        with engine.begin() as conn:
            row = conn.exec_driver_sql(
                "INSERT INTO leases (id, clave_acta, kind, slot, ronda, image_record, "
                "operator, station, granted_at, expires_at, status) "
                "SELECT gen_random_uuid(), clave_acta, %(kind)s, 0, ronda, imagen_actual, "
                "%(operator)s, %(station)s, now(), now() + interval '10 minutes', 'active' "
                "FROM acta_states WHERE clave_acta = %(clave)s RETURNING id",
                {"kind": kind, "operator": operator, "station": station,
                 "clave": acta.clave}).one()
    finally:
        engine.dispose()
    image = hashlib.sha256(png(f"CATD:{acta.clave}")).hexdigest()
    return {"lease_id": str(row.id), "clave_acta": acta.clave, "kind": kind,
            "image_sha256": image}


def _lease_status(node: CentralNode, lease: dict[str, Any]) -> str:
    [(status,)] = query(node.dsn, "SELECT status FROM leases WHERE id = %s",
                        lease["lease_id"])
    return str(status)


def test_two_captures_of_one_station_never_validate_even_through_live_leases(
        pg_dsn: str, tmp_path: Path) -> None:
    """One stolen station key and two capturista accounts of its site (issue 36): Ana's
    lease lapses, Beto at the same station is handed the acta and captures it, then
    Ana's capture of the lapsed lease arrives, equal; and on a second acta both
    captures come through live leases (the second written into ``leases`` as a queue
    handing the acta twice to one station would). Each second capture is quarantined
    (``captura_misma_estacion``), its lease goes back to the queue, the acta stays in
    ``captura_1``; a capture from CATD 02 then decides it."""
    with running_central(tmp_path / "central", pg_dsn,
                         extra_args=["--lease-minutes", str(SHORT_LEASE_MINUTES)]) as node:
        catalog = load_catalog(node)
        acta, otra = _acta(catalog, 1), _acta(catalog, 1, 1)
        ana, beto = capturistas(node)
        [carla] = add_operators(node, [("Carla", "capturista", "02")])

        async def scenario() -> tuple[list[Record], dict[str, Any]]:
            async with WorkStation.enroll(node, 1) as thief, \
                    WorkStation.enroll(node, 2) as catd2:
                await thief.digitize([acta, otra])
                [lapsed] = await thief.next(ana)
                assert lapsed["clave_acta"] == acta.clave
                await asyncio.sleep(SHORT_LEASE_MINUTES * 60 + 0.5)
                [again] = await thief.next(beto)
                assert again["clave_acta"] == acta.clave
                first = await thief.capture(beto, again, _forged(acta))
                forged = await thief.capture(ana, lapsed, _forged(acta))
                [live] = await thief.next(ana)
                assert live["clave_acta"] == otra.clave
                first_live = await thief.capture(ana, live, _forged(otra))
                twice = await asyncio.to_thread(_grant_directly, node, otra, beto, thief.id)
                both_live = await thief.capture(beto, twice, _forged(otra))
                assert (_estado(node, acta.clave), _estado(node, otra.clave)) == (
                    "captura_1", "captura_1")
                for _ in range(2):
                    [lease] = await catd2.next(carla)
                    chosen = acta if lease["clave_acta"] == acta.clave else otra
                    await catd2.capture(carla, lease, truth(chosen))
                return [first, forged, first_live, both_live], twice

        (first, forged, first_live, both_live), twice = asyncio.run(scenario())
        assert _quarantined(node) == {forged.id: "captura_misma_estacion",
                                      both_live.id: "captura_misma_estacion"}
        assert [a["otra_captura"] for a in anomalies(node, "captura_misma_estacion")] == [
            first.id, first_live.id]
        assert _lease_status(node, twice) == "released"
        # Never the forged numbers: the third capture, from another station, decides.
        assert (_estado(node, acta.clave), _estado(node, otra.clave)) == ("captura_2",
                                                                          "captura_2")
        assert query(node.dsn, "SELECT count(*) FROM acta_states "
                     "WHERE estado = 'validada'") == [(0,)]
        rebuild_agrees(node)


def test_a_verification_from_a_station_that_captured_the_acta_is_quarantined(
        node: CentralNode, catalog: Catalog) -> None:
    """Three captures from CATD 01, CATD 02 and the CCV disagree; a verification from
    CATD 01 through a live lease (written into ``leases`` as a queue handing it there
    would) is quarantined (``verificacion_misma_estacion``) and its lease released:
    the verificador of CATD 03 decides the acta."""
    acta = _acta(catalog, 1)
    [ana] = add_operators(node, [("Ana", "capturista", "01")])
    [carla] = add_operators(node, [("Carla", "capturista", "02")])
    [ciro] = add_operators(node, [("Ciro", "capturista", "CCV")])
    vera, vito = add_operators(node, [("Vera", "verificador", "01"),
                                      ("Vito", "verificador", "03")])

    async def scenario() -> tuple[Record, dict[str, Any]]:
        async with WorkStation.enroll(node, 1) as thief, \
                WorkStation.enroll(node, 2) as catd2, \
                WorkStation.enroll(node, 3) as catd3, \
                WorkStation.enroll(node, None) as ccv:
            await thief.digitize([acta])
            campo = acta.layout.campos[0]
            for station, operator, by in ((thief, ana, 1), (catd2, carla, 2),
                                          (ccv, ciro, 3)):
                [lease] = await station.next(operator)
                wrong = {**truth(acta), campo: truth(acta)[campo] + by}
                await station.capture(operator, lease, wrong)
            assert _estado(node, acta.clave) == "verificacion"
            check = await asyncio.to_thread(_grant_directly, node, acta, vera, thief.id,
                                            "verificacion")
            forged = await thief.capture(vera, check, _forged(acta))
            assert _estado(node, acta.clave) == "verificacion"
            [fair] = await catd3.next(vito, "verificacion")
            await catd3.capture(vito, fair, truth(acta))
            return forged, check

    forged, check = asyncio.run(scenario())
    assert _quarantined(node) == {forged.id: "verificacion_misma_estacion"}
    assert _lease_status(node, check) == "released"
    [(estado, valores)] = query(node.dsn, "SELECT estado, validada_valores FROM "
                                "acta_states WHERE clave_acta = %s", acta.clave)
    assert (estado, valores) == ("validada", truth(acta))
    rebuild_agrees(node)


def test_an_ilegible_of_a_lease_handed_to_another_station_is_quarantined(
        pg_dsn: str, tmp_path: Path) -> None:
    """An «imagen ilegible» throws away the round's captures, so, like a verification,
    it counts only through a live lease: Ana's lease lapses, CATD 02 takes the acta and
    captures it, then Ana's ilegible arrives: quarantined (``ilegible_sin_lease_vivo``),
    the capture stands. An ilegible on a lapsed lease nobody else took still counts
    (offline work)."""
    with running_central(tmp_path / "central", pg_dsn,
                         extra_args=["--lease-minutes", str(SHORT_LEASE_MINUTES)]) as node:
        catalog = load_catalog(node)
        acta, otra = _acta(catalog, 1), _acta(catalog, 1, 1)
        [ana] = add_operators(node, [("Ana", "capturista", "01")])
        [carla] = add_operators(node, [("Carla", "capturista", "02")])

        async def scenario() -> Record:
            async with WorkStation.enroll(node, 1) as thief, \
                    WorkStation.enroll(node, 2) as catd2:
                await thief.digitize([acta])
                [lapsed] = await thief.next(ana)
                await asyncio.sleep(SHORT_LEASE_MINUTES * 60 + 0.5)
                [taken] = await catd2.next(carla)
                assert taken["clave_acta"] == acta.clave
                await catd2.capture(carla, taken, truth(acta))
                late = await thief.ilegible(ana, lapsed)
                await thief.digitize([otra])
                [offline] = await thief.next(ana)
                assert offline["clave_acta"] == otra.clave
                await asyncio.sleep(SHORT_LEASE_MINUTES * 60 + 0.5)
                await thief.ilegible(ana, offline)
                return late

        late = asyncio.run(scenario())
        assert _quarantined(node) == {late.id: "ilegible_sin_lease_vivo"}
        assert (_estado(node, acta.clave), _estado(node, otra.clave)) == (
            "captura_1", "redigitalizacion")
        rebuild_agrees(node)


def test_a_lease_too_long_expired_vouches_for_nothing(node: CentralNode,
                                                      catalog: Catalog) -> None:
    """Offline work is bounded: a capture arriving more than LEASE_GRACE after its
    lease expired is quarantined (``lease_vencido``). The lease's expiry is moved into
    the past in the database, as an hour and more going by would."""
    acta = _acta(catalog, 1)
    [ana] = add_operators(node, [("Ana", "capturista", "01")])

    async def scenario() -> Record:
        async with WorkStation.enroll(node, 1) as catd1:
            await catd1.digitize([acta])
            [lease] = await catd1.next(ana)
            engine = make_engine(node.dsn, pool_size=1)
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql("UPDATE leases SET granted_at = granted_at - "
                                         "interval '2 hours', expires_at = expires_at - "
                                         "interval '2 hours'")
            finally:
                engine.dispose()
            return await catd1.capture(ana, lease, truth(acta))

    late = asyncio.run(scenario())
    assert _estado(node, acta.clave) == "digitalizada"
    assert _quarantined(node) == {late.id: "lease_vencido"}
    rebuild_agrees(node)


def test_the_drills_few_catds_receive_the_other_distritos(node: CentralNode) -> None:
    """``catd-distritos`` in process: a distrito given back to its own CATD leaves the
    table, and the listing shows only the distritos away from their own CATD."""
    engine = make_engine(node.dsn, pool_size=1)
    try:
        assert assign(engine, 1, [1, 4, 7], actor="pruebas") == {4: 1, 7: 1}
        assert assign(engine, 4, [4], actor="pruebas") == {7: 1}
        with pytest.raises(ValueError):
            assign(engine, 0, [3], actor="pruebas")
    finally:
        engine.dispose()
    listed = central_cli(node, "catd-distritos")
    assert listed.returncode == 0 and json.loads(listed.stdout) == {"distritos": {"7": 1}}


def test_an_image_record_must_declare_its_blobs_real_type(node: CentralNode,
                                                           catalog: Catalog) -> None:
    """A JPEG (a whole, valid one) named in a record as ``image/png`` would be published
    as ``.png``: the record is quarantined (``imagen_tipo_distinto``) and the acta is
    not digitized; the same blob declared as what it is counts."""
    acta = _acta(catalog, 1)
    jpeg = padded_jpeg(3000)

    async def scenario(declared: str) -> None:
        async with WorkStation.enroll(node, 1) as catd1:
            await catd1.put_blob(jpeg)
            digitalizador = site_account(node, "digitalizador", "01")
            body = {**image_body(acta.clave, jpeg), "media_type": declared}
            await catd1.send([(Kind.IMAGEN, digitalizador, body)])

    asyncio.run(scenario("image/png"))
    assert _estado(node, acta.clave) == "esperada"
    [anomaly] = anomalies(node, "imagen_tipo_distinto")
    assert (anomaly["declarado"], anomaly["real"]) == ("image/png", "image/jpeg")
    assert list(_quarantined(node).values()) == ["imagen_tipo_distinto"]
    asyncio.run(scenario("image/jpeg"))
    assert _estado(node, acta.clave) == "digitalizada"
    rebuild_agrees(node)
