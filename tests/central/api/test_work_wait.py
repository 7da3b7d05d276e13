"""Who is woken when a batch makes work (central.api.work_wait): the sending CATD's own
operators first, then the CCV's, then the rest, two per acta, only of the kind made;
never a station that hung up; one wait per operator; a look for work that missed a
batch (told from ingest's thread) does not wait; a stopping server answers all."""

from __future__ import annotations

import asyncio
import threading

import pytest

from central.api.work_wait import Waited
from central.api.work_wait import WorkWaiters
from central.pipeline.apply import WorkMade

pytestmark = pytest.mark.rapido

CATD_01, CATD_02, CCV = ("catd", "01"), ("catd", "02"), ("ccv", "CCV")


def _waiting(waiters: WorkWaiters, who: list[tuple[str, str, tuple[str, str]]]
             ) -> dict[str, asyncio.Task[Waited]]:
    return {name: asyncio.create_task(waiters.wait(kind, site, 30, key=("st", name)))
            for name, kind, site in who}


async def _settle() -> None:
    """Let the woken waiters' tasks run to their end (a few turns of the loop)."""
    for _ in range(10):
        await asyncio.sleep(0)


def _ended(tasks: dict[str, asyncio.Task[Waited]], how: Waited = Waited.WOKEN) -> set[str]:
    return {name for name, task in tasks.items() if task.done() and task.result() is how}


def test_the_sending_site_first_then_the_ccv_two_per_acta_of_that_kind() -> None:
    async def scenario() -> None:
        waiters = WorkWaiters()
        tasks = _waiting(waiters, [
            ("otra", "captura", CATD_02), ("ccv", "captura", CCV),
            ("propia-1", "captura", CATD_01), ("propia-2", "captura", CATD_01),
            ("verificador", "verificacion", CATD_01)])
        await _settle()
        assert len(waiters) == 5
        assert waiters.wake(CATD_01, WorkMade(captura=1)) == 2
        await _settle()
        assert _ended(tasks) == {"propia-1", "propia-2"}
        assert waiters.wake(CATD_01, WorkMade(captura=1)) == 2
        await _settle()
        assert _ended(tasks) == {"propia-1", "propia-2", "ccv", "otra"}
        # Capture work never wakes the verificador; verification work does.
        assert waiters.wake(CATD_02, WorkMade(verificacion=1)) == 1
        await _settle()
        assert _ended(tasks) == set(tasks)
        assert len(waiters) == 0

    asyncio.run(scenario())


def test_a_station_that_hung_up_is_not_woken_and_a_newer_ask_replaces_the_older() -> None:
    async def scenario() -> None:
        waiters = WorkWaiters()
        gone = asyncio.create_task(waiters.wait("captura", CATD_01, 30, key=("st1", "ana"),
                                                alive=lambda: False))
        older = asyncio.create_task(waiters.wait("captura", CATD_01, 30, key=("st1", "beto")))
        await _settle()
        newer = asyncio.create_task(waiters.wait("captura", CATD_01, 30, key=("st1", "beto")))
        await _settle()
        assert older.result() is Waited.ENDED  # the same operator asked again
        assert waiters.wake(CATD_01, WorkMade(captura=1)) == 1
        await _settle()
        assert gone.result() is Waited.ENDED and newer.result() is Waited.WOKEN

    asyncio.run(scenario())


def test_work_made_between_the_look_and_the_wait_ends_it_at_once() -> None:
    async def scenario() -> None:
        waiters = WorkWaiters()
        seen = waiters.made("captura")  # the handler's first look, on the loop
        # Ingest tells from a worker thread, before anyone has waited.
        thread = threading.Thread(target=waiters.wake_threadsafe,
                                  args=(CATD_01, WorkMade(verificacion=1)))
        thread.start()
        thread.join()
        await _settle()
        assert await waiters.wait("captura", CATD_01, 0.05, since=seen) is Waited.TIMEOUT
        thread = threading.Thread(target=waiters.wake_threadsafe,
                                  args=(CATD_01, WorkMade(captura=1)))
        thread.start()
        thread.join()
        await _settle()
        assert await asyncio.wait_for(
            waiters.wait("captura", CATD_01, 30, since=seen), 1) is Waited.WOKEN

    asyncio.run(scenario())


def test_a_stopping_server_answers_every_waiter_and_nobody_waits_again() -> None:
    async def scenario() -> None:
        waiters = WorkWaiters()
        tasks = _waiting(waiters, [("a", "captura", CATD_01),
                                   ("b", "verificacion", CCV)])
        await _settle()
        waiters.close()
        await _settle()
        assert _ended(tasks, Waited.ENDED) == {"a", "b"}
        assert await waiters.wait("captura", CATD_01, 30) is Waited.ENDED
        assert len(waiters) == 0

    asyncio.run(scenario())


def test_a_woken_operator_that_may_not_take_the_acta_passes_the_wake_on_once_each() -> None:
    async def scenario() -> None:
        waiters = WorkWaiters()
        tasks = _waiting(waiters, [("ana", "captura", CATD_01), ("beto", "captura", CATD_01),
                                   ("ccv", "captura", CCV), ("otra", "captura", CATD_02)])
        await _settle()
        assert waiters.wake(CATD_01, WorkMade(captura=1)) == 2
        await _settle()
        assert _ended(tasks) == {"ana", "beto"}
        # Both had the acta before (a third image): they look, find nothing, pass it on.
        again = asyncio.create_task(waiters.wait("captura", CATD_01, 30, key=("st", "ana")))
        await _settle()
        assert waiters.pass_on("captura", CATD_01, ("st", "ana")) is True
        await _settle()
        assert _ended(tasks) == {"ana", "beto", "ccv"}  # the CCV next, then the others
        assert waiters.pass_on("captura", CATD_01, ("st", "beto")) is True
        assert waiters.pass_on("captura", CATD_01, ("st", "ccv")) is False  # all tried
        await _settle()
        assert _ended(tasks) == set(tasks) and not again.done()  # ana: once per batch
        waiters.wake(CATD_02, WorkMade(captura=1))  # a new batch: she may be woken again
        await _settle()
        assert again.result() is Waited.WOKEN

    asyncio.run(scenario())
