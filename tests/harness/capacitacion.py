"""A practice set prepared once per test module (rendering its images takes seconds)
and copied into each test's own data directory."""

from __future__ import annotations

import shutil
from pathlib import Path

from prep.capacitacion.practica import Practica
from prep.capacitacion.practica import practice_dir
from prep.capacitacion.practica import prepare

PRACTICE_PASSWORD = "practica-segura-1"
CAPTURISTA = "Ana López"
OTRA_CAPTURISTA = "Berta Núñez"
VERIFICADOR = "Víctor Sosa"
ALUMNOS = ((CAPTURISTA, "capturista"), (OTRA_CAPTURISTA, "capturista"),
           (VERIFICADOR, "verificador"))


def prepare_practice(base: Path, actas: int = 6, role: str = "catd") -> Path:
    """A station data directory whose ``capacitacion/`` holds a prepared practice;
    returns the data directory."""
    prepare(practice_dir(base), ALUMNOS, PRACTICE_PASSWORD, role=role, actas=actas,
            semilla=11)
    return base


def copy_practice(prepared: Path, data_dir: Path) -> Path:
    """A fresh copy of ``prepared``'s practice under ``data_dir``; its practice dir."""
    shutil.copytree(practice_dir(prepared), practice_dir(data_dir))
    return practice_dir(data_dir)


def account(practica: Practica, nombre: str) -> str:
    """The operator id of the trainee ``nombre``."""
    return next(a.id for a in practica.alumnos if a.nombre == nombre)
