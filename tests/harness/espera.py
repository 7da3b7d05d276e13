"""Waiting for an event in a test: poll until it happens, with a bound for a stuck one.

The bound is generous (a loaded machine is slow, not wrong) and the failure says what
did not happen; ``vivo`` ends the wait early, with its own message, when the process
that should make the event has died. Nothing here measures how fast anything was.

A test about a call that must return instead of hanging (a stop, a timeout that must cut
a wait) runs it through :func:`sin_colgarse`: the bound is :func:`holgado`, a quiet
machine's generous figure times how much slower this machine runs right now (the drill's
own measure, :class:`simulacro.espera.Ritmo`), and what a hang would look like is told
apart from the bound by the test itself (a timer of an hour, a lock that is never let go).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from simulacro.espera import ritmo

T = TypeVar("T")


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


def holgado(base_s: float, tope_s: float | None = None) -> float:
    """``base_s`` (already generous on a quiet machine) times how much slower than the
    drill's reference machine this one runs right now (≥ 1); never more than ``tope_s``,
    when the test tells "at once" from a timer of the program's (a 60 s wait)."""
    bound = base_s * ritmo().factor()
    return bound if tope_s is None else min(tope_s, bound)


def sin_colgarse(llamada: Callable[[], T], base_s: float, que: str,
                 tope_s: float | None = None,
                 al_colgarse: Callable[[], object] | None = None) -> T:
    """``llamada()`` run in a thread of its own: what it returns, or what it raised.
    If it has not returned within :func:`holgado` of ``base_s`` (never more than
    ``tope_s``: the timer the test tells "at once" from), an AssertionError naming
    ``que``. ``al_colgarse`` then ends the hung call (cancels its query, lets go of the
    lock it waits for), so that the test fails instead of hanging in its clean-up on
    the connection the call still holds; otherwise the call is left in its daemon
    thread."""
    hecho: list[T] = []
    fallo: list[BaseException] = []

    def correr() -> None:
        try:
            hecho.append(llamada())
        except BaseException as exc:  # handed to the test's thread as it was
            fallo.append(exc)

    hilo = threading.Thread(target=correr, name="sin-colgarse", daemon=True)
    hilo.start()
    bound = holgado(base_s, tope_s)
    hilo.join(bound)
    if hilo.is_alive():
        if al_colgarse is not None:
            al_colgarse()
            hilo.join(holgado(30))
        raise AssertionError(f"no volvió en {bound:.0f} s: {que}")
    if fallo:
        raise fallo[0]
    return hecho[0]
