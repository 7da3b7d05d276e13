"""Why the PREP Casilla intake rejects a photo: the vocabulary declared once in
``casilla_rechazos.toml``, read by the central's intake (:mod:`central.pipeline.intake`) and by
whatever shows its counts to a coordinator (the CCV's intake panel)."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RECHAZOS_FILE = Path(__file__).with_name("casilla_rechazos.toml")


@dataclass(frozen=True)
class Rechazo:
    """One declared reason: its id, its Spanish name and where it comes from
    (``imagen``: the image check; ``intake``: the intake itself)."""

    motivo: str
    nombre: str
    origen: str


@functools.cache
def rechazos() -> Mapping[str, Rechazo]:
    """Every declared reason by id, in the file's order."""
    with RECHAZOS_FILE.open("rb") as f:
        data = tomllib.load(f)
    return {motivo: Rechazo(motivo, str(spec["nombre"]), str(spec["origen"]))
            for motivo, spec in data["motivos"].items()}


def nombre(motivo: str) -> str:
    """The reason's Spanish name; an id this version does not know (a newer central's)
    is shown as it came rather than hidden."""
    rechazo = rechazos().get(motivo)
    return rechazo.nombre if rechazo is not None else motivo
