"""What one process keeps between its cortes so that the next renders only the actas
that changed (issues 28–30: a corte every few minutes over half a million actas).

A corte's per-acta output (its CSV row, HISTORIAL lines, site rows) is a pure function
of the acta's state, its history, the catalog and the rules. The snapshot of a running
central reuses the very objects of the previous corte for every acta that did not
change (:mod:`central.publication.snapshot`), so a render kept here is reused when the
objects it was made from are the same objects (``is``), and made again otherwise.
Every store is emptied when anything the renders depend on as a whole changes
(catalog, rules, the SIMULACRO flag, …: the store's *context*).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prep.corte.carrete import Carrete


class RenderMemo:
    """Named stores of per-acta renders, each valid for one context.

    ``filas``: keep each acta's CSV row (and what the rules say of it) too, not only its
    history. Off by default: at Ciudad de México scale it held 393 bytes per acta
    (≈200 MB nationally) and a corte with it took no less time than one with the
    histories alone (the rows it saves are cheap next to the site's use of them:
    ``python3 -m bench.render_memo --ab``).

    ``carrete``: the directory of the files without a name that hold the tramos' texts
    between cortes (``prep central serve``: its data directory)."""

    def __init__(self, filas: bool = False, carrete: Path | str | None = None) -> None:
        self._stores: dict[str, tuple[Any, dict[Any, Any]]] = {}
        self.filas = filas
        #: Where the tramos' texts wait for the next corte (:mod:`prep.corte.carrete`;
        #: a directory, None: the system's temporary one).
        self.carrete = Carrete(carrete)

    def store(self, name: str, context: Any) -> dict[Any, Any]:
        """The store ``name``, emptied first if it was filled under another
        ``context`` (compared with ``==``; hold objects, not ids, in it)."""
        held = self._stores.get(name)
        if held is None or held[0] != context:
            held = (context, {})
            self._stores[name] = held
        return held[1]

    def clear(self) -> None:
        """Forget every render (a corte failed: the next one makes everything)."""
        self._stores.clear()


class Mismo:
    """A part of a store's context compared by identity: the catalog (a national one is
    half a million actas; comparing it by value every corte would cost what the memo
    saves). Holds the object, so its id cannot be reused while the store lives."""

    __slots__ = ("objeto",)

    def __init__(self, objeto: object) -> None:
        self.objeto = objeto

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mismo) and other.objeto is self.objeto

    def __hash__(self) -> int:
        return id(self.objeto)
