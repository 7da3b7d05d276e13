"""The drill's clock and its progress line (printed through the night and the drain)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from prep.corte.reader import read_resumen
from prep.sintetico.plan import NOCHE_MINUTOS
from simulacro.estaciones import Estaciones
from simulacro.informe import DrillReport
from simulacro.veredicto import cortes_in


@dataclass
class Reloj:
    """The simulated clock: ``speed`` simulated seconds per real second from ``t0``
    (``time.time()`` of minute 0, once the stations are ready)."""

    speed: float
    t0: float = 0.0

    def minute(self) -> float:
        return (time.time() - self.t0) * self.speed / 60.0


def progress_line(reloj: Reloj, estaciones: Estaciones, report: DrillReport,
                  publicacion: Path) -> str:
    """``[minuto M/840] acopio … · imágenes … · capturadas en el último corte …``."""
    totals: dict[str, int] = {}
    for state in estaciones.states().values():
        for k, v in state.get("counts", {}).items():
            totals[k] = totals.get(k, 0) + int(v)
    return (f"[minuto {min(reloj.minute(), NOCHE_MINUTOS):.0f}/{NOCHE_MINUTOS:.0f}] "
            f"acopio {totals.get('acopios', 0) + totals.get('sin_acta', 0)}"
            f"/{report.actas} · imágenes {totals.get('imagenes', 0)} · fotos "
            f"{report.metrics.get('fotos_casilla', 0)} · capturas "
            f"{totals.get('capturas', 0)} (errores {totals.get('errores_tecleados', 0)})"
            f" · verificaciones {totals.get('verificaciones', 0)} · cortes "
            f"{len(cortes_in(publicacion))} · capturadas en el último corte "
            f"{_captured_in_latest(publicacion)}/{report.actas}")


def _captured_in_latest(publicacion: Path) -> int:
    """ACTAS_CAPTURADAS summed over the elections of the latest corte (whoever made
    it: the central's schedule or the drill), read from each CSV's summary line."""
    total = 0
    for path in (publicacion / "latest").glob("*.csv"):
        if path.stem.endswith("_CANDIDATURAS"):
            continue
        try:
            total += int(read_resumen(path).get("ACTAS_CAPTURADAS", 0))
        except (OSError, ValueError):  # CsvFormatError is one
            continue  # being replaced by the next corte: the next line will say
    return total
