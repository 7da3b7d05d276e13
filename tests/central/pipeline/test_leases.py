"""Work leases as operators live them, against a real central over HTTPS: what a lease
shows (image, fields, never another capture), who gets which acta first, what a
capture needs to count, verification, an unreadable image, and an acta that arrives
both from PREP Casilla and from its CATD. A lease's life is in test_lease_life.py,
asking and waiting for work in test_lease_wait.py."""

from __future__ import annotations

import asyncio
import hashlib

from central.pipeline.leases import MAX_PREFETCH
from prep.catalog import Catalog
from prep.records import Kind
from tests.central.lease_work import acta_state
from tests.central.lease_work import wrong_by
from tests.central.station import anomalies
from tests.central.station import central_cli
from tests.central.station import query
from tests.central.station import rebuild_agrees
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation
from tests.harness.work import actas_of
from tests.harness.work import add_operators
from tests.harness.work import capturistas
from tests.harness.work import image_body
from tests.harness.work import nonce
from tests.harness.work import png
from tests.harness.work import site_account
from tests.harness.work import truth


def test_a_capture_lease_shows_image_and_fields_never_another_capture(
        node: CentralNode, catalog: Catalog) -> None:
    acta1, acta2 = actas_of(catalog, 1, 2)
    ana, beto = capturistas(node)

    async def scenario() -> None:
        # Two stations of CATD 01: the second capture never comes from the first's.
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as neighbour:
            await station.digitize([acta1, acta2])
            [lease] = await station.next(ana)
            assert lease["clave_acta"] == acta1.clave and lease["slot"] == 1
            assert lease["kind"] == "captura" and lease["campos"] == list(acta1.layout.campos)
            image = png(f"CATD:{acta1.clave}")
            assert lease["image_sha256"] == hashlib.sha256(image).hexdigest()
            blob = await station.call("GET", f"/v1/blobs/{lease['image_sha256']}")
            assert blob.status == 200 and blob.body == image
            # Asking again (a retry after a lost answer) gives the same work.
            assert [x["lease_id"] for x in await station.next(ana)] == [lease["lease_id"]]

            await station.capture(ana, lease, truth(acta1))
            released = await station.lease_action(lease["lease_id"], "release")
            assert released.body == {"lease_id": lease["lease_id"], "status": "completed"}
            assert acta_state(node, acta1.clave)["estado"] == "captura_1"

            [second] = await neighbour.next(beto)
            assert second["clave_acta"] == acta1.clave and second["slot"] == 2
            assert "capturas" not in second and "diferencias" not in second  # blind
            [other] = await neighbour.next(ana)  # never the same operator twice on an acta
            assert other["clave_acta"] == acta2.clave
            await neighbour.capture(beto, second, truth(acta1))

    asyncio.run(scenario())
    state = acta_state(node, acta1.clave)
    assert state["estado"] == "validada" and state["fuente"] == "captura"
    assert state["valores"] == truth(acta1)
    assert (state["origen"], state["digitalizacion"]) == ("CATD", "Escáner")
    rebuild_agrees(node)


def test_own_catd_first_then_any_oldest_acopio_first(node: CentralNode,
                                                     catalog: Catalog) -> None:
    older = actas_of(catalog, 2, 3)  # CATD 02's actas arrive first
    newer = actas_of(catalog, 1, 2)
    catd_op, ccv_op = add_operators(node, [("Carla", "capturista", "01"),
                                           ("Dario", "capturista", "CCV")])

    async def scenario() -> None:
        async with WorkStation.enroll(node, 2) as digit2, \
                WorkStation.enroll(node, 1) as catd1, WorkStation.enroll(node, None) as ccv:
            await digit2.digitize(older)
            await catd1.digitize(newer)
            # A CATD station gets its own CATD's actas first, oldest acopio first…
            mine = await catd1.next(catd_op, prefetch=3)
            assert [x["clave_acta"] for x in mine] == [newer[0].clave, newer[1].clave,
                                                       older[0].clave]
            assert len({x["lease_id"] for x in mine}) == 3
            # …a CCV station any acta, oldest first, skipping what is leased.
            [theirs] = await ccv.next(ccv_op)
            assert theirs["clave_acta"] == older[1].clave

    asyncio.run(scenario())


def test_only_an_operator_of_the_station_site_and_role_gets_work(
        node: CentralNode, catalog: Catalog) -> None:
    [acta] = actas_of(catalog, 1, 1)
    elsewhere, verifier, disabled_id = add_operators(node, [
        ("Elena", "capturista", "02"), ("Fabio", "verificador", "01"),
        ("Gema", "capturista", "01")])
    assert central_cli(node, "operator", "disable", disabled_id,
                       coordinador=True).returncode == 0

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station:
            await station.digitize([acta])
            for operator, kind, code in ((elsewhere, "captura", "operator_other_site"),
                                         (verifier, "captura", "operator_role"),
                                         (disabled_id, "captura", "unknown_operator"),
                                         ("op-01-nadie", "captura", "unknown_operator")):
                answer = await station.call("POST", "/v1/work/next",
                                            {"operator": operator, "kind": kind,
                                             "nonce": nonce()})
                assert answer.status == 403 and answer.body["error"] == code, answer.body
            bad = await station.call("POST", "/v1/work/next",
                                     {"operator": verifier, "kind": "verificacion",
                                      "prefetch": MAX_PREFETCH + 1, "nonce": nonce()})
            assert bad.status == 400 and bad.body["error"] == "malformed"
            # A verificador finds no verification work while nothing disagrees.
            assert await station.next(verifier, "verificacion") == []

    asyncio.run(scenario())


def test_a_capture_made_without_a_lease_is_quarantined_and_the_coordinator_is_told(
        node: CentralNode, catalog: Catalog) -> None:
    """Capture work comes from the queue: a capture naming no lease of its operator is
    stored (records are facts) but quarantined, moves nothing and raises
    ``trabajo_sin_lease``; the operator may still be handed the acta."""
    [acta] = actas_of(catalog, 1, 1)
    ana, beto = capturistas(node)

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as neighbour:
            await station.digitize([acta])
            image = hashlib.sha256(png(f"CATD:{acta.clave}")).hexdigest()
            stray = await station.capture(ana, {"clave_acta": acta.clave, "kind": "captura",
                                                "image_sha256": image}, truth(acta))
            assert acta_state(node, acta.clave)["estado"] == "digitalizada"
            assert [a["record"] for a in anomalies(node, "trabajo_sin_lease")] == [stray.id]
            assert query(node.dsn, "SELECT record_id::text, reason FROM quarantined_records"
                         ) == [(stray.id, "trabajo_sin_lease")]

            [lease] = await station.next(beto)
            assert lease["slot"] == 1
            await station.capture(beto, lease, truth(acta))
            # The same operator again on the same acta, under the lease it already
            # completed: admitted (its lease vouches for it), ignored by the fold.
            again = await station.capture(beto, lease, truth(acta))
            assert [a["record"] for a in anomalies(node, "operador_repetido")] == [again.id]
            assert acta_state(node, acta.clave)["estado"] == "captura_1"
            # The second capture comes from another station of the CATD (never from
            # the one whose capture counts: issue 36).
            [second] = await neighbour.next(ana)
            assert second["slot"] == 2
            await neighbour.capture(ana, second, truth(acta))
            assert acta_state(node, acta.clave)["estado"] == "validada"

    asyncio.run(scenario())
    assert query(node.dsn, "SELECT count(*) FROM records WHERE kind = 'captura'") == [(4,)]
    assert dict(query(node.dsn, "SELECT operator, status FROM leases")) == {
        ana: "completed", beto: "completed"}
    rebuild_agrees(node)


def test_disagreeing_captures_go_to_a_third_capture_then_to_verification(
        node: CentralNode, catalog: Catalog) -> None:
    two_of_three, disputed = actas_of(catalog, 1, 2)
    caps = add_operators(node, [(f"Capturista {i}", "capturista", "01") for i in range(3)])
    [verifier] = add_operators(node, [("Vera", "verificador", "01")])

    async def scenario() -> None:
        # Four stations of CATD 01: each capture from its own, the verification from
        # one that made none of them (issue 36).
        async with WorkStation.enroll(node, 1) as s1, WorkStation.enroll(node, 1) as s2, \
                WorkStation.enroll(node, 1) as s3, WorkStation.enroll(node, 1) as s4:
            await s1.digitize([two_of_three, disputed])
            for slot, (operator, station) in enumerate(zip(caps, (s1, s2, s3),
                                                           strict=True), 1):
                leases = {x["clave_acta"]: x for x in await station.next(operator, prefetch=2)}
                assert {x["slot"] for x in leases.values()} == {slot}
                await station.capture(operator, leases[two_of_three.clave],
                                      wrong_by(truth(two_of_three), 1) if slot == 1
                                      else truth(two_of_three))
                await station.capture(operator, leases[disputed.clave],
                                      wrong_by(truth(disputed), slot))
                if slot == 2:
                    assert acta_state(node, disputed.clave)["estado"] == "captura_2"
            assert acta_state(node, two_of_three.clave)["estado"] == "validada"
            assert acta_state(node, disputed.clave)["estado"] == "verificacion"
            assert await s1.next(caps[0], prefetch=2) == []
            assert await s4.next(caps[0], prefetch=2) == []

            [check] = await s4.next(verifier, "verificacion")
            assert check["clave_acta"] == disputed.clave and check["kind"] == "verificacion"
            assert [c["valores"] for c in check["capturas"]] == [
                wrong_by(truth(disputed), n) for n in (1, 2, 3)]
            assert check["diferencias"] == [next(iter(truth(disputed)))]
            assert [i["sha256"] for i in check["imagenes"]] == [check["image_sha256"]]
            await s4.capture(verifier, check, truth(disputed))

    asyncio.run(scenario())
    assert acta_state(node, two_of_three.clave)["valores"] == truth(two_of_three)
    verified = acta_state(node, disputed.clave)
    assert verified["estado"] == "validada" and verified["fuente"] == "verificacion"
    assert verified["valores"] == truth(disputed)
    rebuild_agrees(node)


def test_the_queue_never_gives_one_station_two_captures_nor_their_verification(
        node: CentralNode, catalog: Catalog) -> None:
    """One stolen station key and two capturista accounts of its site (issue 36): once
    Ana's capture counts, Beto at the same station asks and gets no lease of that acta,
    at once nor later; CATD 02 and the CCV get the second and third captures. The three
    disagree: the verificadores of those three stations get nothing; CATD 03's gets
    it."""
    [acta] = actas_of(catalog, 1, 1)
    ana, beto = capturistas(node)
    [carla] = add_operators(node, [("Carla", "capturista", "02")])
    [ciro] = add_operators(node, [("Ciro", "capturista", "CCV")])
    verificadores = add_operators(node, [("Vera", "verificador", "01"),
                                         ("Vito", "verificador", "02"),
                                         ("Valeria", "verificador", "CCV"),
                                         ("Victor", "verificador", "03")])

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as catd1, \
                WorkStation.enroll(node, 2) as catd2, \
                WorkStation.enroll(node, 3) as catd3, \
                WorkStation.enroll(node, None) as ccv:
            await catd1.digitize([acta])
            [lease] = await catd1.next(ana)
            await catd1.capture(ana, lease, truth(acta))
            assert await catd1.next(beto) == []
            [second] = await catd2.next(carla)
            assert (second["clave_acta"], second["slot"]) == (acta.clave, 2)
            await catd2.capture(carla, second, wrong_by(truth(acta), 1))
            assert await catd1.next(beto) == []  # its capture still counts this round
            [third] = await ccv.next(ciro)
            assert (third["clave_acta"], third["slot"]) == (acta.clave, 3)
            await ccv.capture(ciro, third, wrong_by(truth(acta), 2))
            assert acta_state(node, acta.clave)["estado"] == "verificacion"
            for station, verificador in zip((catd1, catd2, ccv), verificadores,
                                            strict=False):
                assert await station.next(verificador, "verificacion") == []
            [check] = await catd3.next(verificadores[3], "verificacion")
            assert check["clave_acta"] == acta.clave
            await catd3.capture(verificadores[3], check, truth(acta))

    asyncio.run(scenario())
    assert query(node.dsn, "SELECT operator FROM leases WHERE clave_acta = %s "
                 "ORDER BY granted_at", acta.clave) == [
        (ana,), (carla,), (ciro,), (verificadores[3],)]
    assert acta_state(node, acta.clave)["estado"] == "validada"
    rebuild_agrees(node)


def test_an_unreadable_image_goes_back_to_digitalization(node: CentralNode,
                                                         catalog: Catalog) -> None:
    [acta] = actas_of(catalog, 1, 1)
    ana, beto = capturistas(node)

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station:
            await station.digitize([acta])
            [lease] = await station.next(ana)
            await station.ilegible(ana, lease, "la imagen está cortada")
            assert acta_state(node, acta.clave)["estado"] == "redigitalizacion"
            assert await station.next(beto) == []
            ended = await station.lease_action(lease["lease_id"], "renew")
            assert ended.status == 409 and ended.body["error"] == "lease_ended"
            # Said again (a station resending): the acta already waits for an image.
            again = await station.ilegible(ana, lease)
            assert [a["record"] for a in anomalies(node, "ilegible_obsoleto")] == [again.id]

            first_image = query(node.dsn, "SELECT record_id FROM acta_images WHERE "
                                "clave_acta = %s", acta.clave)[0][0]
            rescan = png(f"rescan:{acta.clave}")
            await station.put_blob(rescan)
            await station.send([(Kind.IMAGEN, site_account(node, "digitalizador", "01"),
                                 image_body(acta.clave, rescan))])
            assert first_image is not None
            state = acta_state(node, acta.clave)
            assert (state["estado"], state["ronda"]) == ("digitalizada", 2)
            [fresh] = await station.next(beto)
            assert fresh["image_sha256"] == hashlib.sha256(rescan).hexdigest()

    asyncio.run(scenario())
    assert dict(query(node.dsn, "SELECT operator, status FROM leases")) == {
        ana: "ilegible", beto: "active"}
    rebuild_agrees(node)


def test_an_acta_from_prep_casilla_and_its_catd_is_processed_once(
        node: CentralNode, catalog: Catalog) -> None:
    [acta] = actas_of(catalog, 1, 1)
    ana, beto = add_operators(node, [("Ana", "capturista", "CCV"),
                                     ("Beto", "capturista", "01")])

    async def scenario() -> None:
        async with WorkStation.enroll_intake(node) as intake, \
                WorkStation.enroll(node, None) as ccv, WorkStation.enroll(node, 1) as catd:
            await intake.digitize([acta], origen="CASILLA", acopio=False)
            [lease] = await ccv.next(ana)
            await catd.digitize([acta])  # the paper arrives at its CATD meanwhile
            await ccv.capture(ana, lease, truth(acta))
            [second] = await catd.next(beto)
            assert second["clave_acta"] == acta.clave and second["slot"] == 2
            assert second["image"]["origen"] == "CASILLA"  # one acta, one capture flow
            await catd.capture(beto, second, truth(acta))

    asyncio.run(scenario())
    state = acta_state(node, acta.clave)
    assert state["estado"] == "validada"
    assert (state["origen"], state["digitalizacion"]) == ("CASILLA", "Móvil")
    images = query(node.dsn, "SELECT origen, record_id FROM acta_images WHERE clave_acta = %s "
                   "ORDER BY position", acta.clave)
    assert [o for o, _ in images] == ["CASILLA", "CATD"]
    assert state["imagen"] == images[0][1]  # the published image is the one captured
    assert query(node.dsn, "SELECT count(*) FROM acta_captures WHERE clave_acta = %s",
                 acta.clave) == [(2,)]
    assert query(node.dsn, "SELECT acopio_station IS NOT NULL FROM acta_states "
                 "WHERE clave_acta = %s", acta.clave) == [(True,)]
    rebuild_agrees(node)
