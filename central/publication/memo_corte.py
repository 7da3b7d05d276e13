"""What a running central keeps between its cortes (``prep central serve``'s schedule,
the control room's corte a pedido): the previous snapshot, so the next reads from
PostgreSQL only the actas that changed since (:func:`central.publication.snapshot.
read_snapshot`), and the per-acta renders (:class:`prep.corte.memo.RenderMemo`).

A corte made without one (``prep central corte``, a process of its own) reads and
renders everything; both give the same bytes (tests/central/test_corte_memo.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from prep.corte.memo import RenderMemo


@dataclass(eq=False)
class CorteMemo:
    """Kept by one process for all its cortes; used by one corte at a time (the corte
    lock)."""

    #: The previous snapshot and the database instant it was read at (set by
    #: read_snapshot; None: the next corte reads everything).
    previo: Any = None
    render: RenderMemo = field(default_factory=RenderMemo)

    def clear(self) -> None:
        """Forget everything: the next corte reads and renders every acta."""
        self.previo = None
        self.render.clear()
