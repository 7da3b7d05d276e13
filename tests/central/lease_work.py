"""What the lease tests share: the state of an acta as the queue moves it, captures
that disagree on purpose, an ask for work that waits at the central, and a short lease
time for the tests that wait it out."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.work import Answer
from tests.harness.work import WorkStation
from tests.harness.work import nonce

SHORT_LEASE_MINUTES = 0.05  # 3 s


def acta_state(node: CentralNode, clave: str) -> dict[str, Any]:
    """Where the acta stands and what was validated for it."""
    [row] = query(node.dsn, "SELECT estado, ronda, validada_fuente, validada_valores, "
                  "validada_origen, validada_digitalizacion, validada_imagen "
                  "FROM acta_states WHERE clave_acta = %s", clave)
    keys = ("estado", "ronda", "fuente", "valores", "origen", "digitalizacion", "imagen")
    return dict(zip(keys, row, strict=True))


def wrong_by(valores: dict[str, int], by: int) -> dict[str, int]:
    """``valores`` with the first field off by ``by`` (a capture that disagrees)."""
    first = next(iter(valores))
    return {**valores, first: valores[first] + by}


def ask_for_work(station: WorkStation, operator: str, kind: str = "captura",
         espera: object = 30, done: tuple[str, ...] = ()) -> asyncio.Task[Answer]:
    """An ask for work that may wait at the central (``espera`` seconds)."""
    return asyncio.create_task(station.call("POST", "/v1/work/next", {
        "operator": operator, "kind": kind, "espera": espera, "done": list(done),
        "nonce": nonce()}))
