"""The colours and fonts of every PREP screen (Qt-free strings for style sheets).

Colours carry meaning and nothing else: green done or on time, amber look again, red
not done or failing, blue working or live. A widget picks its colour with the dynamic
``tone`` property (see :func:`qtkit.style.set_tone`).
"""

from __future__ import annotations

FONT_FAMILY = "Noto Sans"
MONO_FAMILY = "DejaVu Sans Mono"

INK = "#1f2933"
MUTED = "#5f6b7a"
LINE = "#d5dbe3"
PAPER = "#f4f6f9"
CARD = "#ffffff"
ACCENT = "#0b5cad"

OK = ("#1b7f3b", "#e7f5ec")
WARN = ("#a35a00", "#fff3df")
ERROR = ("#b3261e", "#fdecea")
BLUE = ("#0b5cad", "#e8f1fb")
IDLE_INK = "#3d4a5c"
"""Each tone: (strong colour for text and borders, soft colour for backgrounds)."""


def tones(blue: str, idle_soft: str) -> dict[str, tuple[str, str]]:
    """A program's tone names: ``ok``, ``warn``, ``error``, its name for blue (the
    workstation's ``pending``, the dashboard's ``live``) and ``idle`` over its own
    background (``idle_soft``)."""
    return {"ok": OK, "warn": WARN, "error": ERROR, blue: BLUE,
            "idle": (IDLE_INK, idle_soft)}
