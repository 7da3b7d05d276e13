"""Render the first page of the trainer's PDF (``prep capacitacion informe``) to
``docs/screens/capacitacion_informe.png``.

The numbers are made the way a class makes them: a CATD 10 practice of 12 actas is
prepared (:func:`prep.capacitacion.practica.prepare`), four capturistas and a
verificador work it through the real training station and its practice central, each at
their own pace, with their own share of mistakes and key presses, on a clock the script
moves (minutes per acta); the score is :func:`prep.capacitacion.puntaje.puntajes` and
the PDF :func:`prep.capacitacion.informe.write_informe`, rendered by ``pdftoppm``
(poppler-utils) at 110 dpi as the other PDF pages in ``docs/screens``.

    python3 scripts/render_capacitacion.py [--out docs/screens]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from offscreen import REPO

from prep.capacitacion.estacion import TrainingStation
from prep.capacitacion.informe import write_informe
from prep.capacitacion.practica import practice_dir
from prep.capacitacion.practica import prepare
from prep.capacitacion.puntaje import puntajes
from prep.station.work import WorkQueue
from prep.values import Marca
from prep.values import parse_valor

PASSWORD = "practica-segura-1"
CATD = 10
ACTAS = 12
DPI = 110
#: When the class is run (the PDF's date), UTC.
INFORME = datetime(2026, 11, 25, 15, 5, 9, tzinfo=UTC)


@dataclass(frozen=True)
class Alumno:
    """A trainee and how they work: minutes per acta, the share of actas they type
    something wrong in, and key presses per acta."""

    nombre: str
    rol: str
    minutos: float
    errores: float
    teclas: int


ALUMNOS = (
    Alumno("Ana López Ramírez", "capturista", 1.6, 0.10, 58),
    Alumno("Berta Núñez Ortiz", "capturista", 2.4, 0.0, 58),
    Alumno("Carlos Mejía Luna", "capturista", 3.1, 0.8, 59),
    Alumno("Diana Flores Paz", "capturista", 1.9, 0.4, 59),
    Alumno("Víctor Sosa Campos", "verificador", 2.2, 0.1, 60),
)


class Clock:
    """The training station's clock, moved by the script."""

    def __init__(self) -> None:
        self.now = INFORME - timedelta(hours=2)

    def __call__(self) -> datetime:
        return self.now


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screens")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="capacitacion-") as tmp:
        directory = practice_dir(Path(tmp))
        prepare(directory, [(a.nombre, a.rol) for a in ALUMNOS], PASSWORD, catd=CATD,
                actas=ACTAS, semilla=2027)
        clock = Clock()
        rng = random.Random(2027)
        with TrainingStation.open(directory, clock) as station:
            verdad = {a.clave: a.verdad for a in station.practica.actas}
            cuentas = {a.nombre: a.id for a in station.practica.alumnos}
            # The capturistas first, so the verificador finds the actas they disagree on.
            for alumno in sorted(ALUMNOS, key=lambda a: a.rol != "capturista"):
                clock.now += timedelta(minutes=5)
                _trabajar(station, clock, rng, cuentas[alumno.nombre], alumno, verdad)
            pdf = Path(tmp) / "informe.pdf"
            write_informe(station.practica, puntajes(station), pdf, now=INFORME)
        args.out.mkdir(parents=True, exist_ok=True)
        png = args.out / "capacitacion_informe.png"
        subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-singlefile", "-f", "1", "-l",
                        "1", str(pdf), str(png.with_suffix(""))], check=True, timeout=120)
    print(png.relative_to(REPO) if png.is_relative_to(REPO) else png)
    return 0


def _trabajar(station: TrainingStation, clock: Clock, rng: random.Random, operator: str,
              alumno: Alumno, verdad: Mapping[str, Mapping[str, str]]) -> None:
    """Every acta the practice central offers ``alumno``, typed at their pace."""
    kind = "captura" if alumno.rol == "capturista" else "verificacion"
    queue = WorkQueue(station, operator, kind, prefetch=10)
    try:
        while True:
            item = queue.current()
            if item is None:
                ready = queue.refill().ready
                if not ready:
                    return
                item = ready[0]
            valores = {c: _typed(verdad[item.clave_acta].get(c, "Sin dato"))
                       for c in item.campos}
            if rng.random() < alumno.errores:
                campo = rng.choice(list(item.campos))
                actual = valores[campo]
                valores[campo] = actual + 1 if isinstance(actual, int) else 7
            for _ in range(alumno.teclas + rng.randint(-2, 2)):
                station.note_key(operator)
            clock.now += timedelta(minutes=alumno.minutos * rng.uniform(0.8, 1.2))
            if kind == "captura":
                queue.submit(item, valores)
            else:
                queue.submit(item, valores, "Se tomó lo que dice la imagen del acta.")
    finally:
        queue.close()


def _typed(text: str) -> int | str:
    valor = parse_valor(text)
    return text if isinstance(valor, Marca) else int(valor)


if __name__ == "__main__":
    sys.exit(main())
