"""50 operators on 20 stations work one election at once against a real central over
HTTPS, with 2.4-second leases and some operators walking away from their work.

Every acta ends validada with the values really written on it; no acta was ever leased
to two operators at the same time, nor to the same operator twice; every abandoned
lease went to someone else; and recomputing the states from the records agrees."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg

from prep.catalog import Acta
from prep.catalog import Catalog
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.espera import holgado
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import truth

LEASE_MINUTES = 0.04  # 2.4 s
CATDS = 14  # CATD stations for distritos 1-14; the other 6 stations are at the CCV
STATIONS = 20
OPERATORS = 50
ABANDONERS = 4  # capturistas who take one acta and walk away from it
TIMEOUT = 50.0


def _plan(index: int) -> str:
    """What the capturistas get wrong on an acta: nothing, the first capture, or every
    capture differently (so it needs a verificador)."""
    return {3: "first_wrong", 7: "all_differ"}.get(index % 10, "right")


def _typed(acta: Acta, plan: str, slot: int, who: int) -> dict[str, int]:
    """What operator number ``who`` types in capture slot ``slot``. A wrong figure is
    off by the operator's own amount, so two wrong captures never agree: not even when
    two operators held the same slot (a lease that expired while its operator typed was
    given to another, and both captures count, as the central promises)."""
    valores = truth(acta)
    wrong = {"first_wrong": slot == 1, "all_differ": True}.get(plan, False)
    first = next(iter(valores))
    return {**valores, first: valores[first] + (1 + who if wrong else 0)}


class Election:
    """The shared scene: actas by clave, who works where, what happened."""

    def __init__(self, node: CentralNode, catalog: Catalog) -> None:
        self.node = node
        self.actas = {a.clave: a for a in catalog.iter_actas()}
        self.plans = {clave: _plan(i) for i, clave in enumerate(sorted(self.actas))}
        self.done = asyncio.Event()
        self.abandoned: list[dict[str, Any]] = []
        self.releases: dict[str, int] = defaultdict(int)

    async def operator(self, station: WorkStation, operator: str, who: int, role: str,
                       abandon: bool, prefetch: int) -> None:
        kind = "captura" if role == "capturista" else "verificacion"
        while not self.done.is_set():
            leases = await station.next(operator, kind, prefetch)
            if not leases:
                await asyncio.sleep(0.05)
                continue
            for lease in leases:
                if abandon:  # takes it and walks away until it has expired
                    abandon = False
                    self.abandoned.append(lease)
                    await asyncio.sleep(LEASE_MINUTES * 60 + 0.3)
                    continue
                acta = self.actas[lease["clave_acta"]]
                valores = truth(acta) if kind == "verificacion" else \
                    _typed(acta, self.plans[acta.clave], lease["slot"], who)
                await station.capture(operator, lease, valores)
                answer = await station.lease_action(lease["lease_id"], "release")
                self.releases[answer.body["status"]] += 1

    async def watch(self, total: int) -> None:
        deadline = time.monotonic() + holgado(TIMEOUT)
        while time.monotonic() < deadline:
            [(validadas,)] = await asyncio.to_thread(
                query, self.node.dsn, "SELECT count(*) FROM acta_states "
                "WHERE en_catalogo AND estado = 'validada'")
            if validadas == total:
                break
            await asyncio.sleep(0.2)
        self.done.set()


def test_fifty_operators_on_twenty_stations(pg_dsn: str, tmp_path: Path) -> None:
    with running_central(tmp_path / "central", pg_dsn,
                         extra_args=["--lease-minutes", str(LEASE_MINUTES)]) as node:
        catalog = load_catalog(node)
        election = Election(node, catalog)
        stations = [WorkStation.enroll(node, n + 1 if n < CATDS else None)
                    for n in range(STATIONS)]
        accounts = [(f"Operador {i}", "verificador" if i % 5 == 4 else "capturista",
                     stations[i % STATIONS].sitio) for i in range(OPERATORS)]
        operators = add_operators(node, accounts)
        started = asyncio.run(_work(election, stations, operators, accounts))
        _check(node, election, started)


async def _work(election: Election, stations: list[WorkStation], operators: list[str],
                accounts: list[tuple[str, str, str]]) -> float:
    for station in stations:
        await station.__aenter__()
    try:
        by_catd = {int(s.sitio): s for s in stations if s.sitio != "CCV"}
        ccv = [s for s in stations if s.sitio == "CCV"]
        mine: dict[WorkStation, list[Acta]] = defaultdict(list)
        casilla: list[Acta] = []
        for i, acta in enumerate(election.actas.values()):
            own = by_catd.get(acta.casilla.distrito_id)
            if own is None or i % 10 == 5:
                casilla.append(acta)  # photographed at the casilla, sent by the CCV
            if own is not None:
                mine[own].append(acta)
        # The photos come in through the central's own intake station.
        async with WorkStation.enroll_intake(ccv[0].node) as intake:
            await asyncio.gather(*(s.digitize(a) for s, a in mine.items()),
                                 intake.digitize(casilla, origen="CASILLA", acopio=False))
        started = time.monotonic()
        capturistas = [i for i, (_, role, _) in enumerate(accounts) if role == "capturista"]
        quitters = set(capturistas[:ABANDONERS])
        await asyncio.gather(
            election.watch(len(election.actas)),
            *(election.operator(stations[i % STATIONS], operators[i], i, accounts[i][1],
                                i in quitters, 2 if i % 3 == 0 else 1)
              for i in range(len(operators))))
        return started
    finally:
        for station in stations:
            await station.__aexit__()


def _check(node: CentralNode, election: Election, started: float) -> None:
    seconds = time.monotonic() - started
    with psycopg.connect(node.dsn) as conn:
        states = {clave: (estado, valores, fuente) for clave, estado, valores, fuente in
                  conn.execute("SELECT clave_acta, estado, validada_valores, validada_fuente "
                               "FROM acta_states WHERE en_catalogo")}
        leases = conn.execute("SELECT id::text, clave_acta, operator, status, granted_at, "
                              "ended_at FROM leases ORDER BY clave_acta, granted_at").fetchall()
        captures = conn.execute("SELECT clave_acta, operator FROM acta_captures").fetchall()

    assert {c: s[0] for c, s in states.items()} == dict.fromkeys(election.actas, "validada"), \
        f"not all validada after {seconds:.1f} s"
    wrong = {c: states[c][1] for c, a in election.actas.items() if states[c][1] != truth(a)}
    assert not wrong, f"validated values differ from the paper: {wrong}"
    by_acta: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for lease in leases:
        by_acta[lease[1]].append(lease)
    # Every acta captured all differently went to a verificador; so may one whose wrong
    # first capture was typed twice (its lease expired and was given to another).
    verified = {c for c, s in states.items() if s[2] == "verificacion"}
    differ = {c for c, p in election.plans.items() if p == "all_differ"}
    retyped = {c for c, p in election.plans.items() if p == "first_wrong"
               and any(row[3] == "expired" for row in by_acta[c])}
    assert differ <= verified <= differ | retyped, verified - differ

    # Never two live leases on one acta: each ended before the next began.
    for clave, history in by_acta.items():
        assert all(row[3] != "active" for row in history), clave
        for earlier, later in pairwise(history):
            assert earlier[5] <= later[4], (clave, earlier, later)
    # Never the same operator twice on one acta.
    assert len({(row[1], row[2]) for row in leases}) == len(leases)
    assert len(set(captures)) == len(captures)
    # Every abandoned lease expired and its acta went to someone else.
    status = {row[0]: row for row in leases}
    assert len(election.abandoned) == ABANDONERS
    for walked in election.abandoned:
        row = status[walked["lease_id"]]
        assert row[3] == "expired"
        assert any(other[4] >= row[5] for other in by_acta[row[1]] if other[0] != row[0])
    assert election.releases["completed"] >= len(election.actas) * 2

    done = central_cli(node, "rebuild-state", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"{len(election.actas)} actas, {len(leases)} leases in {seconds:.1f} s")
