"""Asking a real central for work over HTTPS and waiting there for it (``espera``):
given the work a batch makes while it waits, an empty answer when none comes, malformed
asks refused, and every waiting ask answered at once when the central stops."""

from __future__ import annotations

import asyncio
import time

from prep.catalog import Catalog
from tests.central.lease_work import ask_for_work
from tests.central.lease_work import wrong_by
from tests.harness.central import CentralNode
from tests.harness.espera import holgado
from tests.harness.work import WorkStation
from tests.harness.work import actas_of
from tests.harness.work import add_operators
from tests.harness.work import nonce
from tests.harness.work import truth


def test_an_operator_waiting_at_the_central_gets_each_acta_as_a_batch_makes_it(
        node: CentralNode, catalog: Catalog) -> None:
    acta = actas_of(catalog, 1, 1)[0]
    caps = add_operators(node, [(f"Espera {i}", "capturista", "01") for i in range(3)])
    [verifier] = add_operators(node, [("Vicente", "verificador", "01")])

    async def scenario() -> None:
        # Each capture at its own station of CATD 01, the verificador at a fourth
        # (one station never makes two captures of a round nor verifies them: issue 36).
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as s2, WorkStation.enroll(node, 1) as s3, \
                WorkStation.enroll(node, 1) as s4:
            first = ask_for_work(station, caps[0])
            checking = ask_for_work(s4, verifier, "verificacion", espera=60)
            await asyncio.sleep(1.0)
            assert not first.done() and not checking.done()  # nothing yet: they wait
            await station.digitize([acta])
            # It comes back with the acta the batch made (that the batch wakes the wait,
            # not its timer, is tests/central/api/test_work_wait.py's).
            answer = await asyncio.wait_for(first, holgado(120))
            assert answer.status == 200
            [lease] = answer.body["leases"]
            assert lease["clave_acta"] == acta.clave and lease["slot"] == 1
            # The next capture is for someone else: the operator of the first one, also
            # waiting (its lease finished, now at a station that made no capture of the
            # acta), is not given the acta again; the other capturista is.
            again = ask_for_work(s3, caps[0], espera=8, done=(lease["lease_id"],))
            other = ask_for_work(s2, caps[1])
            await asyncio.sleep(0.5)
            await station.capture(caps[0], lease, wrong_by(truth(acta), 1))
            answer = await asyncio.wait_for(other, holgado(120))
            [second] = answer.body["leases"]
            assert (second["clave_acta"], second["slot"]) == (acta.clave, 2)
            await s2.capture(caps[1], second, wrong_by(truth(acta), 2))
            [third] = await s3.next(caps[2])
            await s3.capture(caps[2], third, wrong_by(truth(acta), 3))
            # Three different captures: the verificador, waiting all along, gets it.
            answer = await asyncio.wait_for(checking, holgado(120))
            [check] = answer.body["leases"]
            assert (check["clave_acta"], check["kind"]) == (acta.clave, "verificacion")
            assert (await asyncio.wait_for(again, holgado(60))).body["leases"] == []

    asyncio.run(scenario())


def test_a_wait_that_finds_nothing_answers_empty_and_a_bad_espera_is_refused(
        node: CentralNode, catalog: Catalog) -> None:
    [ana] = add_operators(node, [("Ana", "capturista", "01")])

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station:
            started = time.monotonic()
            answer = await asyncio.wait_for(ask_for_work(station, ana, espera=2), holgado(60))
            assert (answer.status, answer.body["leases"]) == (200, [])
            assert time.monotonic() - started >= 2  # it did wait its two seconds
            for bad in (-1, 61, "5", True, None):
                answer = await ask_for_work(station, ana, espera=bad)
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
            waiting = ask_for_work(station, ana, espera=60)
            await asyncio.sleep(1.0)
            assert not waiting.done()
            stopping = asyncio.get_running_loop().run_in_executor(None, node.stop)
            # Answered, empty, by the stopping central: an ask it left waiting would end
            # with the process (SIGKILLed 10 s after SIGTERM), unanswered.
            answer = await asyncio.wait_for(waiting, holgado(120))
            assert (answer.status, answer.body["leases"]) == (200, [])
            await stopping

    asyncio.run(scenario())
    # An orderly stop (SIGTERM honoured), not the SIGKILL after 10 s of waiting.
    assert node.process.returncode == 0
