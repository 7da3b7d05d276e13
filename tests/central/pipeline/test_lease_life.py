"""A work lease's life, against a real central over HTTPS: expiry, renewal up to a
maximum life, release, the leases a station names as finished, how many leases one
operator or station may hold, and a replayed ask that must grant nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from central.db import make_engine
from central.pipeline.leases import MAX_LEASES_PER_OPERATOR
from central.pipeline.leases import MAX_LEASES_PER_STATION
from central.pipeline.leases import MAX_LIFE_FACTOR
from central.pipeline.leases import MAX_PREFETCH
from central.stations.catd_distritos import assign
from prep.catalog import Catalog
from tests.central.lease_work import SHORT_LEASE_MINUTES
from tests.central.lease_work import acta_state
from tests.central.station import anomalies
from tests.central.station import query
from tests.central.station import rebuild_agrees
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.work import Answer
from tests.harness.work import WorkStation
from tests.harness.work import actas_of
from tests.harness.work import add_operators
from tests.harness.work import capturistas
from tests.harness.work import load_catalog
from tests.harness.work import nonce
from tests.harness.work import truth


def test_an_expired_lease_returns_to_the_queue_and_a_renewed_one_does_not(
        pg_dsn: str, tmp_path: Path) -> None:
    with running_central(tmp_path / "central", pg_dsn,
                         extra_args=["--lease-minutes", str(SHORT_LEASE_MINUTES)]) as node:
        catalog = load_catalog(node)
        first, second = actas_of(catalog, 1, 2)
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
                assert [a["record"] for a in anomalies(node, "captura_sin_lease")] == [late.id]

        asyncio.run(scenario())
        statuses = dict(query(node.dsn, "SELECT operator, status FROM leases"))
        assert statuses == {slow: "expired", renewer: "active", fast: "completed"}
        assert acta_state(node, first.clave)["estado"] == "validada"
        rebuild_agrees(node)


def test_a_released_acta_goes_to_someone_else_at_once(node: CentralNode,
                                                      catalog: Catalog) -> None:
    [acta] = actas_of(catalog, 1, 1)
    ana, beto = capturistas(node)

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


def test_an_acta_given_back_on_leaving_the_screen_comes_back_to_its_operator(
        node: CentralNode, catalog: Catalog) -> None:
    """Issue 63: a verificador or capturista who leaves the screen (logout, F7/F8) gives
    the unfinished actas back saying ``volver``; at a CATD with nobody else they would
    wait forever, so they come back to the same operator, who still never gets an acta
    a second time once their capture of it is in."""
    [acta] = actas_of(catalog, 1, 1)
    ana, beto = capturistas(node)

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as neighbour:
            await station.digitize([acta])
            [lease] = await station.next(ana)
            bad = await station.call("POST", f"/v1/work/{lease['lease_id']}/release",
                                     {"volver": "sí"})
            assert bad.status == 400 and bad.body["error"] == "malformed"
            answer = await station.call("POST", f"/v1/work/{lease['lease_id']}/release",
                                        {"volver": True})
            assert answer.body == {"lease_id": lease["lease_id"], "status": "returned"}
            [again] = await station.next(ana)  # hers again, under a new lease
            assert again["clave_acta"] == acta.clave and again["slot"] == 1
            assert again["lease_id"] != lease["lease_id"]
            await station.capture(ana, again, truth(acta))
            [second] = await neighbour.next(beto)
            assert second["clave_acta"] == acta.clave and second["slot"] == 2
            released = await neighbour.call(
                "POST", f"/v1/work/{second['lease_id']}/release", {"volver": True})
            assert released.body["status"] == "returned"
            # Her capture is in: never hers a second time, returned or not.
            assert [x["clave_acta"] for x in await neighbour.next(ana, prefetch=10)
                    ].count(acta.clave) == 0

    asyncio.run(scenario())
    history = query(node.dsn, "SELECT operator, status FROM leases WHERE clave_acta = %s "
                    "ORDER BY granted_at", acta.clave)
    assert history == [(ana, "returned"), (ana, "completed"), (beto, "returned")]


def test_leases_finished_at_the_station_make_room_for_the_next_actas(
        node: CentralNode, catalog: Catalog) -> None:
    """A station names the leases its operator finished whose captures are still in its
    outbox: the central answers the next actas instead of the finished ones, which keep
    holding their actas until the captures arrive. A lease of someone else, or one the
    central never gave, changes nothing; a list too long or not of lease ids is
    refused."""
    actas = actas_of(catalog, 1, 4)
    ana, beto = capturistas(node)

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
    assert {a.clave: acta_state(node, a.clave)["estado"] for a in actas} == {
        **{c: "captura_1" for c in captured}, **{c: "digitalizada" for c in rest}}


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
        [acta] = actas_of(catalog, 1, 1)
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
    actas = actas_of(catalog, 1, 4)
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
    assert len(anomalies(node, "solicitud_repetida")) == 1
