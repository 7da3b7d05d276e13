"""Times per phase and per CATD, and the actas corrected after a cotejo, from a corte's
HISTORIAL.csv (:mod:`prep.corte.historial`) for the simulacro's informe.

Phases of each acta with paper: acopio → first digitalización → validación →
publicación (the first corte that published it), and the whole acopio → publicación;
per CATD (where its acopio happened) the median, the 90th percentile and the slowest, in
minutes. A corte without HISTORIAL.csv (an older corte, one written by the core alone)
has no times: the informe says so.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from prep.corte.historial import COLUMNS
from prep.corte.historial import COTEJO_DIFERENCIAS
from prep.corte.historial import HISTORIAL
from prep.corte.historial import Evento

FORMATO_HORA = "%d/%m/%Y %H:%M:%S"
#: (name, from event, to event); the informe shows them in this order.
FASES: tuple[tuple[str, Evento, Evento], ...] = (
    ("acopio → digitalización", Evento.ACOPIO, Evento.DIGITALIZACION),
    ("digitalización → validación", Evento.DIGITALIZACION, Evento.VALIDACION),
    ("validación → publicación", Evento.VALIDACION, Evento.PUBLICACION),
    ("acopio → publicación", Evento.ACOPIO, Evento.PUBLICACION),
)
TODOS = "todos"


@dataclass(frozen=True)
class Percentiles:
    """Minutes: median, 90th percentile, slowest, over ``n`` actas."""

    n: int
    p50: float
    p90: float
    maximo: float


@dataclass(frozen=True)
class Tiempos:
    """What HISTORIAL.csv says: per CATD (and :data:`TODOS`), per phase; and the actas
    whose published data came from a correction."""

    por_catd: dict[str, dict[str, Percentiles]]
    corregidas: list[str]


def leer_tiempos(corte: Path) -> Tiempos | None:
    """The times of the corte at ``corte``; ``None`` without a HISTORIAL.csv. A row that
    cannot be read is skipped (``prep verify-corte`` is what judges the file)."""
    path = corte / HISTORIAL
    if not path.is_file():
        return None
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    while rows and tuple(rows[0]) != COLUMNS:
        rows.pop(0)  # the SIMULACRO line
    eventos: dict[str, dict[str, datetime]] = {}
    catd: dict[str, str] = {}
    corregidas: list[str] = []
    for row in rows[1:]:
        if len(row) != len(COLUMNS):
            continue
        fila = dict(zip(COLUMNS, row, strict=True))
        clave, evento = fila["CLAVE_ACTA"].strip("'"), fila["EVENTO"]
        try:
            at = datetime.strptime(fila["FECHA_HORA"], FORMATO_HORA)
        except ValueError:
            continue
        propios = eventos.setdefault(clave, {})
        if evento in (Evento.ACOPIO, Evento.SIN_ACTA):
            catd.setdefault(clave, fila["CATD"] or "—")
        if evento == Evento.VALIDACION or evento not in propios:
            propios[evento] = at  # the first of each event; the last validation
        if (evento == Evento.CORRECCION or fila["DETALLE"] == COTEJO_DIFERENCIAS) \
                and clave not in corregidas:
            corregidas.append(clave)
    minutos: dict[str, dict[str, list[float]]] = {}
    for clave, propios in eventos.items():
        for nombre, desde, hasta in FASES:
            if desde in propios and hasta in propios:
                delta = (propios[hasta] - propios[desde]).total_seconds() / 60
                for grupo in (catd.get(clave, "—"), TODOS):
                    minutos.setdefault(grupo, {}).setdefault(nombre, []).append(delta)
    return Tiempos({grupo: {nombre: _percentiles(v) for nombre, v in fases.items()}
                    for grupo, fases in sorted(minutos.items(), key=_orden)}, corregidas)


def _orden(item: tuple[str, object]) -> tuple[int, str]:
    grupo = item[0]
    return (1 if grupo == TODOS else 0, grupo.zfill(3))


def _percentiles(values: list[float]) -> Percentiles:
    ordered = sorted(values)
    return Percentiles(len(ordered), round(_rank(ordered, 0.5), 1),
                       round(_rank(ordered, 0.9), 1), round(ordered[-1], 1))


def _rank(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
