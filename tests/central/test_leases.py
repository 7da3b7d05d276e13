"""Work leases as operators live them, against a real central over HTTPS: what a lease
shows (image, fields, never another capture), who gets which acta first, what a
capture needs to count, expiry, release, renewal, verification, an unreadable image,
and an acta that arrives both from PREP Casilla and from its CATD."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central.catd_distritos import assign
from central.db import make_engine
from central.leases import (
    MAX_LEASES_PER_OPERATOR,
    MAX_LEASES_PER_STATION,
    MAX_LIFE_FACTOR,
    MAX_PREFETCH,
)
from prep.catalog import Acta, Catalog
from prep.records import Kind
from tests.central.station import central_cli, query
from tests.harness.central import CentralNode, running_central
from tests.harness.work import (
    Answer,
    WorkStation,
    add_operators,
    image_body,
    load_catalog,
    nonce,
    png,
    site_account,
    truth,
)

SHORT_LEASE_MINUTES = 0.05  # 3 s


@pytest.fixture
def node(pg_dsn: str, tmp_path: Path) -> Iterator[CentralNode]:
    with running_central(tmp_path / "central", pg_dsn) as central:
        yield central


@pytest.fixture
def catalog(node: CentralNode) -> Catalog:
    return load_catalog(node)


def _actas(catalog: Catalog, distrito: int, n: int) -> list[Acta]:
    """``n`` actas of ``distrito`` (every election's), in catalog order."""
    actas = [a for a in catalog.iter_actas() if a.casilla.distrito_id == distrito][:n]
    assert len(actas) == n
    return actas


def _state(node: CentralNode, clave: str) -> dict[str, Any]:
    [row] = query(node.dsn, "SELECT estado, ronda, validada_fuente, validada_valores, "
                  "validada_origen, validada_digitalizacion, validada_imagen "
                  "FROM acta_states WHERE clave_acta = %s", clave)
    keys = ("estado", "ronda", "fuente", "valores", "origen", "digitalizacion", "imagen")
    return dict(zip(keys, row, strict=True))


def _anomalies(node: CentralNode, type_: str) -> list[dict[str, Any]]:
    return [r[0] for r in query(node.dsn, "SELECT detail FROM anomalies WHERE type = %s "
                                "ORDER BY id", type_)]


def _wrong(valores: dict[str, int], by: int) -> dict[str, int]:
    first = next(iter(valores))
    return {**valores, first: valores[first] + by}


def _capturistas(node: CentralNode) -> list[str]:
    """Two capturistas of CATD 01."""
    return add_operators(node, [("Ana", "capturista", "01"), ("Beto", "capturista", "01")])


def _rebuild_agrees(node: CentralNode) -> None:
    done = central_cli(node, "rebuild-state", "--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_capture_lease_shows_image_and_fields_never_another_capture(
        node: CentralNode, catalog: Catalog) -> None:
    acta1, acta2 = _actas(catalog, 1, 2)
    ana, beto = _capturistas(node)

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
            assert _state(node, acta1.clave)["estado"] == "captura_1"

            [second] = await neighbour.next(beto)
            assert second["clave_acta"] == acta1.clave and second["slot"] == 2
            assert "capturas" not in second and "diferencias" not in second  # blind
            [other] = await neighbour.next(ana)  # never the same operator twice on an acta
            assert other["clave_acta"] == acta2.clave
            await neighbour.capture(beto, second, truth(acta1))

    asyncio.run(scenario())
    state = _state(node, acta1.clave)
    assert state["estado"] == "validada" and state["fuente"] == "captura"
    assert state["valores"] == truth(acta1)
    assert (state["origen"], state["digitalizacion"]) == ("CATD", "Escáner")
    _rebuild_agrees(node)


def test_own_catd_first_then_any_oldest_acopio_first(node: CentralNode,
                                                     catalog: Catalog) -> None:
    older = _actas(catalog, 2, 3)  # CATD 02's actas arrive first
    newer = _actas(catalog, 1, 2)
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
    [acta] = _actas(catalog, 1, 1)
    elsewhere, verifier, disabled_id = add_operators(node, [
        ("Elena", "capturista", "02"), ("Fabio", "verificador", "01"),
        ("Gema", "capturista", "01")])
    assert central_cli(node, "operator", "disable", disabled_id).returncode == 0

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
    [acta] = _actas(catalog, 1, 1)
    ana, beto = _capturistas(node)

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as neighbour:
            await station.digitize([acta])
            image = hashlib.sha256(png(f"CATD:{acta.clave}")).hexdigest()
            stray = await station.capture(ana, {"clave_acta": acta.clave, "kind": "captura",
                                                "image_sha256": image}, truth(acta))
            assert _state(node, acta.clave)["estado"] == "digitalizada"
            assert [a["record"] for a in _anomalies(node, "trabajo_sin_lease")] == [stray.id]
            assert query(node.dsn, "SELECT record_id::text, reason FROM quarantined_records"
                         ) == [(stray.id, "trabajo_sin_lease")]

            [lease] = await station.next(beto)
            assert lease["slot"] == 1
            await station.capture(beto, lease, truth(acta))
            # The same operator again on the same acta, under the lease it already
            # completed: admitted (its lease vouches for it), ignored by the fold.
            again = await station.capture(beto, lease, truth(acta))
            assert [a["record"] for a in _anomalies(node, "operador_repetido")] == [again.id]
            assert _state(node, acta.clave)["estado"] == "captura_1"
            # The second capture comes from another station of the CATD (never from
            # the one whose capture counts: issue 36).
            [second] = await neighbour.next(ana)
            assert second["slot"] == 2
            await neighbour.capture(ana, second, truth(acta))
            assert _state(node, acta.clave)["estado"] == "validada"

    asyncio.run(scenario())
    assert query(node.dsn, "SELECT count(*) FROM records WHERE kind = 'captura'") == [(4,)]
    assert dict(query(node.dsn, "SELECT operator, status FROM leases")) == {
        ana: "completed", beto: "completed"}
    _rebuild_agrees(node)


def test_an_expired_lease_returns_to_the_queue_and_a_renewed_one_does_not(
        pg_dsn: str, tmp_path: Path) -> None:
    with running_central(tmp_path / "central", pg_dsn,
                         extra_args=["--lease-minutes", str(SHORT_LEASE_MINUTES)]) as node:
        catalog = load_catalog(node)
        first, second = _actas(catalog, 1, 2)
        slow, fast, renewer, other = add_operators(node, [
            ("Lento", "capturista", "01"), ("Rapido", "capturista", "01"),
            ("Renueva", "capturista", "01"), ("Otro", "capturista", "01")])

        async def scenario() -> None:
            async with WorkStation.enroll(node, 1) as station, \
                    WorkStation.enroll(node, 1) as neighbour:
                await station.digitize([first, second])
                [abandoned] = await station.next(slow)
                [kept] = await station.next(renewer)
                assert (abandoned["clave_acta"], kept["clave_acta"]) == (first.clave,
                                                                        second.clave)
                deadline = time.monotonic() + SHORT_LEASE_MINUTES * 60 + 0.5
                while time.monotonic() < deadline:
                    renewed = await station.lease_action(kept["lease_id"], "renew")
                    assert renewed.status == 200 and renewed.body["status"] == "active"
                    await asyncio.sleep(0.5)
                # The abandoned acta went back to the queue (here to another station
                # of the CATD); the renewed one did not.
                [reissued] = await neighbour.next(fast, prefetch=2)
                assert reissued["clave_acta"] == first.clave
                assert await station.next(other) == []
                assert await neighbour.next(other) == []
                # The slow operator's capture, typed during an outage, arrives after
                # the acta was handed again: both are blind captures by different
                # operators at different stations, and both count (the lease only
                # handed the work out).
                late = await station.capture(slow, abandoned, truth(first))
                await neighbour.capture(fast, reissued, truth(first))
                ended = await station.lease_action(abandoned["lease_id"], "renew")
                assert ended.status == 409 and ended.body["error"] == "lease_ended"
                assert [a["record"] for a in _anomalies(node, "captura_sin_lease")] == [late.id]

        asyncio.run(scenario())
        statuses = dict(query(node.dsn, "SELECT operator, status FROM leases"))
        assert statuses == {slow: "expired", renewer: "active", fast: "completed"}
        assert _state(node, first.clave)["estado"] == "validada"
        _rebuild_agrees(node)


def test_a_released_acta_goes_to_someone_else_at_once(node: CentralNode,
                                                      catalog: Catalog) -> None:
    [acta] = _actas(catalog, 1, 1)
    ana, beto = _capturistas(node)

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station:
            await station.digitize([acta])
            [lease] = await station.next(ana)
            answer = await station.lease_action(lease["lease_id"], "release")
            assert answer.body["status"] == "released"
            assert (await station.lease_action(lease["lease_id"], "release")).body[
                "status"] == "released"  # idempotent
            [taken] = await station.next(beto)
            assert taken["clave_acta"] == acta.clave and taken["slot"] == 1
            assert await station.next(ana) == []  # she had it once: never again
            for lease_id, action in (("00000000-0000-4000-8000-000000000000", "release"),
                                     ("no-es-un-uuid", "renew")):
                unknown = await station.lease_action(lease_id, action)
                assert unknown.status == 404 and unknown.body["error"] == "unknown_lease"
            missing = await station.call("GET", "/v1/blobs/" + "0" * 64)
            assert missing.status == 404 and missing.body["error"] == "unknown_blob"

    asyncio.run(scenario())


def test_leases_finished_at_the_station_make_room_for_the_next_actas(
        node: CentralNode, catalog: Catalog) -> None:
    """A station names the leases its operator finished whose captures are still in its
    outbox: the central answers the next actas instead of the finished ones, which keep
    holding their actas until the captures arrive. A lease of someone else, or one the
    central never gave, changes nothing; a list too long or not of lease ids is
    refused."""
    actas = _actas(catalog, 1, 4)
    ana, beto = _capturistas(node)

    async def scenario() -> tuple[set[str], set[str]]:
        async with WorkStation.enroll(node, 1) as station:
            await station.digitize(actas)
            first = await station.next(ana, prefetch=2)
            assert len(first) == 2
            rest = {a.clave for a in actas} - {lease["clave_acta"] for lease in first}
            # Without naming them, the same two come back (the captures are not here).
            assert [lease["lease_id"] for lease in await station.next(ana, prefetch=2)] \
                == [lease["lease_id"] for lease in first]
            done = [lease["lease_id"] for lease in first]
            answer = await station.call("POST", "/v1/work/next", {
                "operator": ana, "kind": "captura", "prefetch": 2, "done": done,
                "nonce": nonce()})
            assert answer.status == 200, answer.body
            assert {lease["clave_acta"] for lease in answer.body["leases"]} == rest
            # The finished ones still hold their actas: nobody else gets them.
            assert await station.next(beto, prefetch=5) == []
            # Naming leases that are not Ana's held ones changes nothing.
            stranger = await station.call("POST", "/v1/work/next", {
                "operator": ana, "kind": "captura", "prefetch": 2,
                "done": ["00000000-0000-4000-8000-000000000000"], "nonce": nonce()})
            assert stranger.status == 200  # her four, all held again, nothing new
            assert {lease["clave_acta"] for lease in stranger.body["leases"]} == \
                {a.clave for a in actas}
            for bad in (["no-es-un-uuid"], "x", [done[0]] * 33, [7]):
                refused = await station.call("POST", "/v1/work/next", {
                    "operator": ana, "kind": "captura", "prefetch": 2, "done": bad,
                    "nonce": nonce()})
                assert refused.status == 400 and refused.body["error"] == "malformed", bad
            # The captures arrive: the leases end as completed, the actas move on.
            by_clave = {a.clave: a for a in actas}
            for lease in first:
                await station.capture(ana, lease, truth(by_clave[lease["clave_acta"]]))
            return {lease["clave_acta"] for lease in first}, rest

    captured, rest = asyncio.run(scenario())
    status = dict(query(node.dsn, "SELECT clave_acta, status FROM leases WHERE operator = %s",
                        ana))
    assert status == {**{c: "completed" for c in captured}, **{c: "active" for c in rest}}
    assert {a.clave: _state(node, a.clave)["estado"] for a in actas} == {
        **{c: "captura_1" for c in captured}, **{c: "digitalizada" for c in rest}}


def test_disagreeing_captures_go_to_a_third_capture_then_to_verification(
        node: CentralNode, catalog: Catalog) -> None:
    two_of_three, disputed = _actas(catalog, 1, 2)
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
                                      _wrong(truth(two_of_three), 1) if slot == 1
                                      else truth(two_of_three))
                await station.capture(operator, leases[disputed.clave],
                                      _wrong(truth(disputed), slot))
                if slot == 2:
                    assert _state(node, disputed.clave)["estado"] == "captura_2"
            assert _state(node, two_of_three.clave)["estado"] == "validada"
            assert _state(node, disputed.clave)["estado"] == "verificacion"
            assert await s1.next(caps[0], prefetch=2) == []
            assert await s4.next(caps[0], prefetch=2) == []

            [check] = await s4.next(verifier, "verificacion")
            assert check["clave_acta"] == disputed.clave and check["kind"] == "verificacion"
            assert [c["valores"] for c in check["capturas"]] == [
                _wrong(truth(disputed), n) for n in (1, 2, 3)]
            assert check["diferencias"] == [next(iter(truth(disputed)))]
            assert [i["sha256"] for i in check["imagenes"]] == [check["image_sha256"]]
            await s4.capture(verifier, check, truth(disputed))

    asyncio.run(scenario())
    assert _state(node, two_of_three.clave)["valores"] == truth(two_of_three)
    verified = _state(node, disputed.clave)
    assert verified["estado"] == "validada" and verified["fuente"] == "verificacion"
    assert verified["valores"] == truth(disputed)
    _rebuild_agrees(node)


def test_the_queue_never_gives_one_station_two_captures_nor_their_verification(
        node: CentralNode, catalog: Catalog) -> None:
    """One stolen station key and two capturista accounts of its site (issue 36): once
    Ana's capture counts, Beto at the same station asks and gets no lease of that acta,
    at once nor later; CATD 02 and the CCV get the second and third captures. The three
    disagree: the verificadores of those three stations get nothing; CATD 03's gets
    it."""
    [acta] = _actas(catalog, 1, 1)
    ana, beto = _capturistas(node)
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
            await catd2.capture(carla, second, _wrong(truth(acta), 1))
            assert await catd1.next(beto) == []  # its capture still counts this round
            [third] = await ccv.next(ciro)
            assert (third["clave_acta"], third["slot"]) == (acta.clave, 3)
            await ccv.capture(ciro, third, _wrong(truth(acta), 2))
            assert _state(node, acta.clave)["estado"] == "verificacion"
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
    assert _state(node, acta.clave)["estado"] == "validada"
    _rebuild_agrees(node)


def test_an_unreadable_image_goes_back_to_digitalization(node: CentralNode,
                                                         catalog: Catalog) -> None:
    [acta] = _actas(catalog, 1, 1)
    ana, beto = _capturistas(node)

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station:
            await station.digitize([acta])
            [lease] = await station.next(ana)
            await station.ilegible(ana, lease, "la imagen está cortada")
            assert _state(node, acta.clave)["estado"] == "redigitalizacion"
            assert await station.next(beto) == []
            ended = await station.lease_action(lease["lease_id"], "renew")
            assert ended.status == 409 and ended.body["error"] == "lease_ended"
            # Said again (a station resending): the acta already waits for an image.
            again = await station.ilegible(ana, lease)
            assert [a["record"] for a in _anomalies(node, "ilegible_obsoleto")] == [again.id]

            first_image = query(node.dsn, "SELECT record_id FROM acta_images WHERE "
                                "clave_acta = %s", acta.clave)[0][0]
            rescan = png(f"rescan:{acta.clave}")
            await station.put_blob(rescan)
            await station.send([(Kind.IMAGEN, site_account(node, "digitalizador", "01"),
                                 image_body(acta.clave, rescan))])
            assert first_image is not None
            state = _state(node, acta.clave)
            assert (state["estado"], state["ronda"]) == ("digitalizada", 2)
            [fresh] = await station.next(beto)
            assert fresh["image_sha256"] == hashlib.sha256(rescan).hexdigest()

    asyncio.run(scenario())
    assert dict(query(node.dsn, "SELECT operator, status FROM leases")) == {
        ana: "ilegible", beto: "active"}
    _rebuild_agrees(node)


def test_an_acta_from_prep_casilla_and_its_catd_is_processed_once(
        node: CentralNode, catalog: Catalog) -> None:
    [acta] = _actas(catalog, 1, 1)
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
    state = _state(node, acta.clave)
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
    _rebuild_agrees(node)


def _ask(station: WorkStation, operator: str, kind: str = "captura",
         espera: object = 30, done: tuple[str, ...] = ()) -> asyncio.Task[Answer]:
    """An ask for work that may wait at the central (``espera`` seconds)."""
    return asyncio.create_task(station.call("POST", "/v1/work/next", {
        "operator": operator, "kind": kind, "espera": espera, "done": list(done),
        "nonce": nonce()}))


def test_an_operator_waiting_at_the_central_gets_each_acta_as_a_batch_makes_it(
        node: CentralNode, catalog: Catalog) -> None:
    acta = _actas(catalog, 1, 1)[0]
    caps = add_operators(node, [(f"Espera {i}", "capturista", "01") for i in range(3)])
    [verifier] = add_operators(node, [("Vicente", "verificador", "01")])

    async def scenario() -> None:
        # Each capture at its own station of CATD 01, the verificador at a fourth
        # (one station never makes two captures of a round nor verifies them: issue 36).
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as s2, WorkStation.enroll(node, 1) as s3, \
                WorkStation.enroll(node, 1) as s4:
            started = time.monotonic()
            first = _ask(station, caps[0])
            checking = _ask(s4, verifier, "verificacion", espera=60)
            await asyncio.sleep(1.0)
            assert not first.done() and not checking.done()  # nothing yet: they wait
            await station.digitize([acta])
            answer = await asyncio.wait_for(first, 25)
            assert answer.status == 200
            [lease] = answer.body["leases"]
            assert lease["clave_acta"] == acta.clave and lease["slot"] == 1
            # Woken by the batch, not by the end of its 30 s.
            assert time.monotonic() - started < 25
            # The next capture is for someone else: the operator of the first one, also
            # waiting (its lease finished, now at a station that made no capture of the
            # acta), is not given the acta again; the other capturista is.
            again = _ask(s3, caps[0], espera=8, done=(lease["lease_id"],))
            other = _ask(s2, caps[1])
            await asyncio.sleep(0.5)
            await station.capture(caps[0], lease, _wrong(truth(acta), 1))
            answer = await asyncio.wait_for(other, 25)
            [second] = answer.body["leases"]
            assert (second["clave_acta"], second["slot"]) == (acta.clave, 2)
            await s2.capture(caps[1], second, _wrong(truth(acta), 2))
            [third] = await s3.next(caps[2])
            await s3.capture(caps[2], third, _wrong(truth(acta), 3))
            # Three different captures: the verificador, waiting all along, gets it.
            answer = await asyncio.wait_for(checking, 65)
            [check] = answer.body["leases"]
            assert (check["clave_acta"], check["kind"]) == (acta.clave, "verificacion")
            assert (await asyncio.wait_for(again, 20)).body["leases"] == []

    asyncio.run(scenario())


def test_a_wait_that_finds_nothing_answers_empty_and_a_bad_espera_is_refused(
        node: CentralNode, catalog: Catalog) -> None:
    [ana] = add_operators(node, [("Ana", "capturista", "01")])

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station:
            started = time.monotonic()
            answer = await asyncio.wait_for(_ask(station, ana, espera=2), 30)
            assert (answer.status, answer.body["leases"]) == (200, [])
            assert time.monotonic() - started >= 2  # it did wait its two seconds
            for bad in (-1, 61, "5", True, None):
                answer = await _ask(station, ana, espera=bad)
                assert answer.status == 400 and answer.body["error"] == "malformed", bad
                assert "espera (0 a 60 segundos)" in answer.body["message"]
            # A fraction is no JSON the central takes (integers only).
            raw = await station.call("POST", "/v1/work/next", raw=(
                f'{{"operator": "{ana}", "kind": "captura", "espera": 1.5, '
                f'"nonce": "{nonce()}"}}').encode())
            assert raw.status == 400 and raw.body["error"] == "malformed"

    asyncio.run(scenario())


def test_a_kind_that_is_not_a_text_is_refused_not_an_internal_error(
        node: CentralNode, catalog: Catalog) -> None:
    """Found by bench/fuzz.py: a list or an object as ``kind`` (unhashable) was a 500
    «error interno» for a request that had not even been checked for its signature."""
    [ana] = add_operators(node, [("Ana", "capturista", "01")])

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station:
            for kind in ("[]", "{}", '["captura"]'):
                answer = await station.call("POST", "/v1/work/next", raw=(
                    f'{{"operator": "{ana}", "kind": {kind}, "nonce": "{nonce()}"}}'
                ).encode())
                assert answer.status == 400 and answer.body["error"] == "malformed", kind

    asyncio.run(scenario())


def test_a_central_that_stops_answers_the_asks_waiting_there_at_once(
        node: CentralNode, catalog: Catalog) -> None:
    [ana] = add_operators(node, [("Ana", "capturista", "01")])
    assert node.process is not None

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station:
            waiting = _ask(station, ana)
            await asyncio.sleep(1.0)
            assert not waiting.done()
            stopping = asyncio.get_running_loop().run_in_executor(None, node.stop)
            answer = await asyncio.wait_for(waiting, 25)
            assert (answer.status, answer.body["leases"]) == (200, [])
            await stopping

    asyncio.run(scenario())
    # An orderly stop (SIGTERM honoured), not the SIGKILL after 10 s of waiting.
    assert node.process.returncode == 0


def test_no_station_hoards_the_queue(node: CentralNode, catalog: Catalog) -> None:
    """One station asks again and again for three capturistas, naming every lease it
    holds as finished and renewing them: each operator stops at
    MAX_LEASES_PER_OPERATOR, the station at MAX_LEASES_PER_STATION, and the CCV still
    gets work. A ``done`` naming another station's leases frees nothing."""
    actas = list(catalog.iter_actas())[:71]
    hoarders = add_operators(node, [(f"Acaparador {i}", "capturista", "01")
                                    for i in range(3)])
    [ccv_op] = add_operators(node, [("Honesta", "capturista", "CCV")])
    engine = make_engine(node.dsn, pool_size=1)
    try:
        assign(engine, 1, list(range(2, 34)), actor="pruebas")  # all at CATD 01
    finally:
        engine.dispose()

    async def scenario() -> tuple[dict[str, int], list[dict[str, Any]]]:
        async with WorkStation.enroll(node, 1) as hoarder, \
                WorkStation.enroll(node, None) as ccv:
            await hoarder.digitize(actas)
            held: dict[str, list[str]] = {op: [] for op in hoarders}
            for _ in range(6):
                for op in hoarders:
                    answer = await hoarder.call("POST", "/v1/work/next", {
                        "operator": op, "kind": "captura", "prefetch": MAX_PREFETCH,
                        "done": held[op][-32:], "nonce": nonce()})
                    assert answer.status == 200, answer.body
                    held[op] += [x["lease_id"] for x in answer.body["leases"]
                                 if x["lease_id"] not in held[op]]
                    for lease_id in held[op]:
                        renewed = await hoarder.lease_action(lease_id, "renew")
                        assert renewed.status == 200
            counts = {op: len(ids) for op, ids in held.items()}
            [ccv_done] = [await ccv.call("POST", "/v1/work/next", {
                "operator": ccv_op, "kind": "captura", "prefetch": MAX_PREFETCH,
                "done": held[hoarders[0]][:5], "nonce": nonce()})]
            assert ccv_done.status == 200
            return counts, ccv_done.body["leases"]

    counts, honest = asyncio.run(scenario())
    assert max(counts.values()) == MAX_LEASES_PER_OPERATOR
    assert sum(counts.values()) == MAX_LEASES_PER_STATION
    active = dict(query(node.dsn, "SELECT station, count(*) FROM leases WHERE status = "
                        "'active' GROUP BY station"))
    hoarder_station = next(s for s in active if s.startswith("catd-01-"))
    assert active[hoarder_station] == MAX_LEASES_PER_STATION
    assert len(honest) == MAX_PREFETCH  # naming the hoarder's leases did not matter


def test_a_lease_is_never_renewed_past_its_maximum_life(pg_dsn: str,
                                                        tmp_path: Path) -> None:
    """Renewing every second keeps a lease only up to MAX_LIFE_FACTOR lease times after
    it was granted; then it runs out, renewing answers ``lease_max_life`` and the acta
    goes to someone else."""
    with running_central(tmp_path / "central", pg_dsn,
                         extra_args=["--lease-minutes", str(SHORT_LEASE_MINUTES)]) as node:
        catalog = load_catalog(node)
        [acta] = _actas(catalog, 1, 1)
        keeper, other = add_operators(node, [("Guarda", "capturista", "01"),
                                             ("Otra", "capturista", "01")])
        max_life = SHORT_LEASE_MINUTES * 60 * MAX_LIFE_FACTOR

        async def scenario() -> list[Answer]:
            async with WorkStation.enroll(node, 1) as station:
                await station.digitize([acta])
                [lease] = await station.next(keeper)
                answers = []
                deadline = time.monotonic() + max_life + 4
                while time.monotonic() < deadline:
                    answers.append(await station.lease_action(lease["lease_id"], "renew"))
                    await asyncio.sleep(0.5)
                [taken] = await station.next(other)
                assert taken["clave_acta"] == acta.clave
                return answers

        answers = asyncio.run(scenario())
        [(granted, expires, status)] = query(
            node.dsn, "SELECT granted_at, expires_at, status FROM leases WHERE "
            "operator = %s", keeper)
        assert status == "expired"
        assert (expires - granted).total_seconds() == pytest.approx(max_life, abs=0.01)
        assert answers[0].status == 200
        assert answers[-1].status == 409 and answers[-1].body["error"] == "lease_max_life"
        assert {a.status for a in answers} == {200, 409}


def test_a_replayed_work_request_gets_no_new_leases(node: CentralNode,
                                                     catalog: Catalog) -> None:
    """The same signed ``next`` sent again (a captured request replayed, here naming
    the leases it got as finished) is refused and grants nothing; the coordinator sees
    one ``solicitud_repetida`` however many replays. An ask without a nonce (older
    station software) is refused with a message saying to update it."""
    actas = _actas(catalog, 1, 4)
    [ana] = add_operators(node, [("Ana", "capturista", "01")])

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station:
            await station.digitize(actas)
            first = await station.next(ana)
            ask = {"operator": ana, "kind": "captura", "prefetch": 1,
                   "done": [first[0]["lease_id"]], "nonce": nonce()}
            answer = await station.call("POST", "/v1/work/next", ask)
            assert answer.status == 200 and len(answer.body["leases"]) == 1
            for _ in range(3):
                replay = await station.call("POST", "/v1/work/next", ask)
                assert replay.status == 409 and replay.body["error"] == "solicitud_repetida"
            old = await station.call("POST", "/v1/work/next",
                                     {"operator": ana, "kind": "captura"})
            assert old.status == 400 and old.body["error"] == "nonce_missing"
            assert "Actualícelo" in old.body["message"]

    asyncio.run(scenario())
    assert query(node.dsn, "SELECT count(*) FROM leases") == [(2,)]
    assert len(_anomalies(node, "solicitud_repetida")) == 1
