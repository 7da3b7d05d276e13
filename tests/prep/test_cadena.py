"""Where :func:`prep.cadena.contrastar` says a rewritten audit chain changed (issue 62),
whatever heads were taken from it after the rewrite: a running ``serve`` copies the
head to its anchor every few seconds, so the anchor holds the rewritten chain's head
too (a flake of tests/central/audit/test_bitacora_anclada.py showed it named that head)."""

from __future__ import annotations

import hashlib

from prep.cadena import Cabeza
from prep.cadena import Publicada
from prep.cadena import contrastar


def _chain(ids: list[int], seed: str = "") -> list[tuple[int, str]]:
    """Rows ``(id, sha256)`` linked as a chain (each hash covers the ones before)."""
    rows, prev = [], "0" * 64
    for id_ in ids:
        prev = hashlib.sha256(f"{prev}{seed}{id_}".encode()).hexdigest()
        rows.append((id_, prev))
    return rows


def _head(rows: list[tuple[int, str]], eventos: int, origen: str) -> Publicada:
    id_, sha = rows[eventos - 1]
    return Publicada(Cabeza(eventos, id_, sha), origen)


# The night: 608 events; the first corte at 6, the second at 607. The owner deletes
# ids 7..606 and links the rest again: 8 events, ids 1..6, 607, 608.
ORIGINAL = _chain(list(range(1, 609)))
REWRITTEN = [*ORIGINAL[:6], (607, hashlib.sha256(b"607").hexdigest()),
             (608, hashlib.sha256(b"608").hexdigest())]
PRIMERO = _head(ORIGINAL, 6, "el corte A_1")
SEGUNDO = _head(ORIGINAL, 607, "el corte A_2")


def test_the_anchor_of_the_rewritten_chain_is_not_where_the_published_one_held() -> None:
    despues = _head(REWRITTEN, 8, "el ancla bitacora.jsonl (04:16)")
    for cabezas in ([PRIMERO, SEGUNDO, despues], [despues, SEGUNDO, PRIMERO]):
        contraste = contrastar(REWRITTEN, cabezas)
        assert not contraste.ok and contraste.coinciden == 2
        assert contraste.contradichas == (SEGUNDO,)
        assert ("eventos después del evento n.º 6 (id 6, que coincide con el corte A_1) y "
                "hasta el n.º 607 (id 607)") in contraste.hallazgo, contraste.hallazgo
        assert "1 de 3 cabezas" in contraste.hallazgo


def test_with_no_head_before_it_the_finding_says_from_the_first_event() -> None:
    # Event 1 deleted too, the rest linked again from the genesis; only the second
    # corte's head was published before. The anchor and a corte made after the rewrite
    # hold the new chain and vouch for nothing of the published one.
    rewritten = _chain([2, 3, 4, 5, 6, 607, 608, 609], seed="otra vez")
    cabezas = [SEGUNDO, _head(rewritten, 7, "el ancla"), _head(rewritten, 8, "el corte A_3")]
    contraste = contrastar(rewritten, cabezas)
    assert contraste.contradichas == (SEGUNDO,) and contraste.coinciden == 2
    assert "eventos desde el primer evento y hasta el n.º 607" in contraste.hallazgo, \
        contraste.hallazgo


def test_a_head_earlier_on_the_published_chain_still_bounds_the_range() -> None:
    # Only the events after the 100th were deleted: the anchor's head at 100, taken
    # before the rewrite, still holds and is where the chain changed.
    rewritten = [*ORIGINAL[:100], (607, hashlib.sha256(b"x").hexdigest())]
    cabezas = [PRIMERO, _head(ORIGINAL, 100, "el ancla (antes)"), SEGUNDO,
               _head(rewritten, 101, "el ancla (después)")]
    contraste = contrastar(rewritten, cabezas)
    assert contraste.contradichas == (SEGUNDO,)
    assert "después del evento n.º 100 (id 100, que coincide con el ancla (antes))" \
        in contraste.hallazgo
    assert contrastar(ORIGINAL, cabezas[:3]).ok
