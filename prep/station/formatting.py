"""How the workstation writes times, sizes and names for the operator (Qt-free)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from prep.catalog import Eleccion

LOCAL_TZ = ZoneInfo("America/Mexico_City")
"""Operators read local time; records keep UTC."""

_SMALL_WORDS = frozenset({"de", "del", "la", "las", "los", "y", "e", "en"})


def local_time(when: datetime, seconds: bool = True) -> str:
    """``21:43:05`` in the CATD's local time."""
    return when.astimezone(LOCAL_TZ).strftime("%H:%M:%S" if seconds else "%H:%M")


def local_datetime(when: datetime) -> str:
    """``07/06/2027 21:43:05`` in local time."""
    return when.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S")


def eleccion_label(eleccion: Eleccion) -> str:
    """``JEFATURA DE GOBIERNO`` → ``Jefatura de Gobierno`` (acronyms such as MR kept)."""
    words = []
    for i, word in enumerate(eleccion.nombre.split()):
        low = word.lower()
        if i > 0 and low in _SMALL_WORDS:
            words.append(low)
        elif len(word) <= 2 and word.isupper():
            words.append(word)
        else:
            words.append(low[:1].upper() + low[1:])
    return " ".join(words)


def size_label(size: int) -> str:
    """``3.4 MB``: a backlog's size."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def count(n: int, singular: str, plural: str) -> str:
    """``1 acta``, ``3 actas``: the number with the noun that agrees with it."""
    return f"{n} {singular if n == 1 else plural}"
