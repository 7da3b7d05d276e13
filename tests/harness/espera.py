"""Waiting for an event in a test: poll until it happens, with a bound for a stuck one.

The bound is generous (a loaded machine is slow, not wrong) and the failure says what
did not happen; ``vivo`` ends the wait early, with its own message, when the process
that should make the event has died. Nothing here measures how fast anything was.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def esperar(ocurrio: Callable[[], object], bound_s: float, que: str,
            vivo: Callable[[], str | None] | None = None, cada_s: float = 0.2) -> None:
    """Poll ``ocurrio`` until it is true. ``vivo`` returns why the wait cannot succeed
    any more (a process ended: its log) or None; ``que`` names the event when the
    bound passes (it is called then when it is a callable, to show the latest state)."""
    limite = time.monotonic() + bound_s
    while not ocurrio():
        if vivo is not None and (muerto := vivo()) is not None:
            raise AssertionError(muerto)
        if time.monotonic() > limite:
            raise AssertionError(f"no ocurrió en {bound_s:g} s: {que}")
        time.sleep(cada_s)
