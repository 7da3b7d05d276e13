"""Cotejo work by lease (issue 29: "the operator gets, by lease, published actas of their
CATD, oldest first"), against a real central over HTTPS on real PostgreSQL.

The queue order is the one ``central.pipeline.leases._ORDER`` defines for cotejo and
``docs/pipeline.md`` states: the oldest validation first (``validada_received_at``, the
central's arrival time of the record that validated the acta, so the oldest published
data first), not the acopio order capture and verification follow. Only the asking
CATD's own actas, never another CATD's (the paper acta is at its CATD), and never at a
CCV station; one acta to one cotejador at a time, until the lease ends."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from prep.catalog import Acta
from prep.catalog import Catalog
from prep.station.station import Station
from prep.station.work import WorkError
from prep.station.work import WorkQueue
from tests.central.lease_work import ask_for_work
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.espera import esperar
from tests.harness.espera import holgado
from tests.harness.espera import sin_colgarse
from tests.harness.work import WorkStation
from tests.harness.work import actas_of
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import nonce
from tests.harness.work import truth

SOLO_CATD = ("El cotejo se hace en el CATD que tiene el acta en papel; este equipo no "
             "es de un CATD.")


async def _validate(node: CentralNode, catalog: Catalog, catd: int,
                    acopio: Sequence[Acta], capturistas: tuple[str, str],
                    validacion: Sequence[Acta] | None = None) -> None:
    """``acopio``, actas of CATD ``catd``, acopiadas and digitized in that order (one
    batch each: their acopio times differ), captured once at one station, then
    validated by a second capture at another in the order ``validacion`` (default the
    same), one batch each: each validation arrives at its own time."""
    first, second = capturistas
    async with WorkStation.enroll(node, catd) as s1, WorkStation.enroll(node, catd) as s2:
        for acta in acopio:
            await s1.digitize([acta])
        await s1.capture_truth(first, catalog, prefetch=len(acopio))
        leases = {x["clave_acta"]: x for x in await s2.next(second, prefetch=len(acopio))}
        assert set(leases) == {a.clave for a in acopio}
        for acta in validacion or acopio:
            await s2.capture(second, leases[acta.clave], truth(acta))


def _by_validation(node: CentralNode, claves: Sequence[str]) -> list[str]:
    """``claves`` by ``acta_states.validada_received_at``, as the database holds it."""
    return [r[0] for r in query(node.dsn, "SELECT clave_acta FROM acta_states WHERE "
                                "clave_acta = ANY(%s) ORDER BY validada_received_at",
                                list(claves))]


def _by_acopio(node: CentralNode, claves: Sequence[str]) -> list[str]:
    """``claves`` by ``acta_states.orden_at`` (the acopio time capture is ordered by)."""
    return [r[0] for r in query(node.dsn, "SELECT clave_acta FROM acta_states WHERE "
                                "clave_acta = ANY(%s) ORDER BY orden_at", list(claves))]


#: The cotejo lease of the test that lets one run out: long enough for the asks made
#: under it on a loaded machine (its end is waited for, not slept).
COTEJO_LEASE_MINUTES = 0.25  # 15 s
LEASE_CORTA = "el préstamo venció antes de comprobarlo: la prueba no probó nada"


def _vigente(node: CentralNode, lease_id: str) -> bool:
    """Whether the lease has not reached its end yet (the database's clock)."""
    [(live,)] = query(node.dsn, "SELECT expires_at > now() FROM leases WHERE id = %s",
                      lease_id)
    return bool(live)


def _cotejo_leases(node: CentralNode) -> list[tuple[Any, ...]]:
    """Every cotejo lease: (clave_acta, operator, station, status), oldest first."""
    return query(
        node.dsn, "SELECT clave_acta, operator, station, status FROM leases "
        "WHERE kind = 'cotejo' ORDER BY granted_at")


def test_cotejo_work_comes_oldest_validation_first(node: CentralNode) -> None:
    """Four actas acopiadas in one order and validated in another (neither the CLAVE
    order): a prefetch lists them, and one-at-a-time asks hand them out, in validation
    order."""
    catalog = load_catalog(node)
    k0, k1, k2, k3 = sorted(actas_of(catalog, 1, 4), key=lambda a: a.clave)
    acopio, validacion = [k1, k3, k0, k2], [k3, k0, k2, k1]
    ana, beto, olga, vera, victor, valeria, walter = add_operators(node, [
        ("Ana", "capturista", "01"), ("Beto", "capturista", "01"),
        ("Olga", "verificador", "01"), ("Vera", "verificador", "01"),
        ("Victor", "coordinador", "01"), ("Valeria", "verificador", "01"),
        ("Walter", "coordinador", "01")])
    asyncio.run(_validate(node, catalog, 1, acopio, (ana, beto), validacion))
    claves = [a.clave for a in validacion]
    # The scenery is what it says: three different orders, all in the database.
    assert _by_validation(node, claves) == claves
    assert _by_acopio(node, claves) == [a.clave for a in acopio]
    assert claves not in ([a.clave for a in acopio], sorted(claves))

    async def cotejos() -> list[str]:
        async with WorkStation.enroll(node, 1) as s3:
            prefetched = await s3.next(olga, kind="cotejo", prefetch=4)
            assert [x["clave_acta"] for x in prefetched] == claves
            for lease in prefetched:
                done = await s3.lease_action(lease["lease_id"], "release")
                assert done.body["status"] == "released"
            handed = []
            for operator in (vera, victor, valeria, walter):
                [lease] = await s3.next(operator, kind="cotejo")
                handed.append(lease["clave_acta"])
            return handed

    assert asyncio.run(cotejos()) == claves


def test_a_catd_never_gets_another_catds_actas_for_cotejo(node: CentralNode,
                                                          tmp_path: Path) -> None:
    """CATD 02's validated actas are older than CATD 01's one; a verificador of CATD 01
    gets only hers, and once it is cotejada her station is told, at once, that there is
    nothing to cotejar, while CATD 02's wait for a cotejador of CATD 02."""
    catalog = load_catalog(node)
    [propia] = actas_of(catalog, 1, 1)
    ajenas = actas_of(catalog, 2, 2)
    ana, beto, vera, victor, bea, bruno, berta = add_operators(node, [
        ("Ana", "capturista", "01"), ("Beto", "capturista", "01"),
        ("Vera", "verificador", "01"), ("Victor", "coordinador", "01"),
        ("Bea", "capturista", "02"), ("Bruno", "capturista", "02"),
        ("Berta", "verificador", "02")])
    asyncio.run(_validate(node, catalog, 2, ajenas, (bea, bruno)))
    asyncio.run(_validate(node, catalog, 1, [propia], (ana, beto)))
    ajenas_claves = [a.clave for a in ajenas]
    assert _by_validation(node, [*ajenas_claves, propia.clave]) == [
        *ajenas_claves, propia.clave]  # the other CATD's are the oldest in the queue

    # CATD 01's station, as its verificador uses it.
    station = Station.open(tmp_path / "estacion-catd-01")
    try:
        station.enroll(node.url, node.enroll_code(catd=1), node.cert_sha256)
        queue = WorkQueue(station, vera, kind="cotejo", prefetch=3)
        outcome = queue.refill()
        assert (outcome.online, outcome.pending) == (True, 1)
        assert outcome.message == "1 acta por cotejar, lista."
        [item] = queue.pending()
        assert item.clave_acta == propia.clave and item.valores == truth(propia)
        queue.cotejo(item, True)
        assert station.sync_until_drained(30)
        # Nothing left of its own: nothing at all, though CATD 02 has two waiting; and
        # the answer comes at once, even to an ask willing to wait (cotejo never waits).
        # Not after that minute: the bound is the wait it tells apart, not a speed.
        outcome = sin_colgarse(lambda: queue.refill(espera=60), 10,
                               "la petición de cotejo esperó en el nodo central",
                               tope_s=50)  # the longest wait a station may ask for: 60
        assert (outcome.online, outcome.granted, outcome.pending) == (True, 0, 0)
        assert outcome.message == "No hay actas por cotejar en este momento."
    finally:
        station.close()

    async def other_asks() -> list[str]:
        async with WorkStation.enroll(node, 1) as s1, WorkStation.enroll(node, 2) as s2:
            # A coordinador of CATD 01 at another of its stations, over the wire.
            answer = await ask_for_work(s1, victor, kind="cotejo", espera=20)
            assert (answer.status, answer.body) == (200, {"leases": []})
            # CATD 02's cotejador finds them all still there, oldest first.
            return [x["clave_acta"] for x in await s2.next(berta, kind="cotejo",
                                                             prefetch=3)]

    assert asyncio.run(other_asks()) == ajenas_claves
    leases = _cotejo_leases(node)
    assert [(c, o, s) for c, o, _, s in leases] == [
        (propia.clave, vera, "completed"), *[(c, berta, "active") for c in ajenas_claves]]
    [(estado, cotejo)] = query(node.dsn, "SELECT estado, cotejo_operator FROM acta_states "
                               "WHERE clave_acta = %s", propia.clave)
    assert (estado, cotejo) == ("validada", vera)


def test_a_ccv_station_is_refused_cotejo_work(node: CentralNode, tmp_path: Path) -> None:
    """The CCV has no paper actas: its verificador and coordinador are refused cotejo
    work with the central's Spanish message (over the wire and at the station), while a
    validated acta waits for its CATD."""
    catalog = load_catalog(node)
    [acta] = actas_of(catalog, 1, 1)
    ana, beto, vera, cecilia, carlos = add_operators(node, [
        ("Ana", "capturista", "01"), ("Beto", "capturista", "01"),
        ("Vera", "verificador", "01"), ("Cecilia", "verificador", "CCV"),
        ("Carlos", "coordinador", "CCV")])
    asyncio.run(_validate(node, catalog, 1, [acta], (ana, beto)))

    async def asks() -> None:
        async with WorkStation.enroll(node, None) as ccv:
            assert ccv.sitio == "CCV"
            for operator in (cecilia, carlos):
                refused = await ccv.call("POST", "/v1/work/next", {
                    "operator": operator, "kind": "cotejo", "prefetch": 3,
                    "nonce": nonce()})
                assert refused.status == 403
                assert refused.body == {"error": "cotejo_solo_catd", "message": SOLO_CATD}

    asyncio.run(asks())
    station = Station.open(tmp_path / "estacion-ccv")
    try:
        station.enroll(node.url, node.enroll_code(catd=None, role="ccv"), node.cert_sha256)
        with pytest.raises(WorkError) as refused:
            WorkQueue(station, cecilia, kind="cotejo").refill()
        assert str(refused.value) == SOLO_CATD
        assert WorkQueue(station, cecilia, kind="cotejo").pending() == []
    finally:
        station.close()
    assert _cotejo_leases(node) == []

    async def at_its_catd() -> list[str]:
        async with WorkStation.enroll(node, 1) as catd:
            return [x["clave_acta"] for x in await catd.next(vera, kind="cotejo")]

    assert asyncio.run(at_its_catd()) == [acta.clave]  # there was work to refuse


def test_a_leased_acta_goes_to_nobody_else_until_its_lease_ends(pg_dsn: str,
                                                                 tmp_path: Path) -> None:
    """One acta in the queue: while Vera's cotejo lease is live, no other cotejador (at
    her station or another) gets it; it goes to the next when the lease expires, and
    from that one to another when it is released."""
    with running_central(tmp_path / "central", pg_dsn,
                         extra_args=["--lease-minutes", str(COTEJO_LEASE_MINUTES)]) as node:
        catalog = load_catalog(node)
        [acta] = actas_of(catalog, 1, 1)
        ana, beto, vera, victor, walter = add_operators(node, [
            ("Ana", "capturista", "01"), ("Beto", "capturista", "01"),
            ("Vera", "verificador", "01"), ("Victor", "coordinador", "01"),
            ("Walter", "verificador", "01")])
        asyncio.run(_validate(node, catalog, 1, [acta], (ana, beto)))

        async def night() -> None:
            async with WorkStation.enroll(node, 1) as s3, WorkStation.enroll(node, 1) as s4:
                [held] = await s3.next(vera, kind="cotejo")
                assert held["clave_acta"] == acta.clave
                assert await s4.next(victor, kind="cotejo") == []
                assert await s3.next(walter, kind="cotejo") == []
                [again] = await s3.next(vera, kind="cotejo")  # hers, the same lease
                assert again["lease_id"] == held["lease_id"]
                # Checked while the lease was live (else the test proved nothing).
                assert _vigente(node, held["lease_id"]), LEASE_CORTA
                assert [s for *_, s in _cotejo_leases(node)] == ["active"]

                esperar(lambda: not _vigente(node, held["lease_id"]),
                        holgado(COTEJO_LEASE_MINUTES * 60 + 30), "el préstamo de Vera venció")
                [taken] = await s4.next(victor, kind="cotejo")
                assert taken["clave_acta"] == acta.clave
                assert taken["lease_id"] != held["lease_id"]
                assert await s3.next(walter, kind="cotejo") == []
                assert _vigente(node, taken["lease_id"]), LEASE_CORTA
                released = await s4.lease_action(taken["lease_id"], "release")
                assert released.body["status"] == "released"
                [last] = await s3.next(walter, kind="cotejo")
                assert last["clave_acta"] == acta.clave

        asyncio.run(night())
        leases = _cotejo_leases(node)
        assert [(c, o, s) for c, o, _, s in leases] == [
            (acta.clave, vera, "expired"), (acta.clave, victor, "released"),
            (acta.clave, walter, "active")]
        vera_at, victor_at, walter_at = (station for _, _, station, _ in leases)
        assert vera_at == walter_at != victor_at  # her station and another
