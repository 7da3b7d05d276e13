"""What one process keeps between its cortes so that the next renders only the actas
that changed (issues 28–30: a corte every few minutes over half a million actas).

A corte's per-acta output (its CSV row, HISTORIAL lines, site rows) is a pure function
of the inputs its file declares (:mod:`prep.corte.insumos`): the acta's state, its
history…, and of the whole corte's (catalog, rules…). A render kept here is reused when
the per-acta inputs it was made from are equal by value (:func:`prep.corte.insumos.
igual`: the identity test first, since the snapshot of a running central keeps the very
objects of every acta that did not change, :mod:`central.publication.snapshot`), and
made again otherwise. Every store is emptied when a whole-corte input its renders
declare changes: the store's *context* (:func:`prep.corte.insumos.contexto`).
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
    """A part of a store's context compared by identity: the catalog of a snapshot made
    by hand, which has no digest (``Snapshot.catalog_huella``; a running central's
    catalog is compared by its digest). A catalog is never changed in place, so the same
    object is the same value; another object with the same value only costs a corte
    made whole. Holds the object, so its id cannot be reused while the store lives."""

    __slots__ = ("objeto",)

    def __init__(self, objeto: object) -> None:
        self.objeto = objeto

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mismo) and other.objeto is self.objeto

    def __hash__(self) -> int:
        return id(self.objeto)
