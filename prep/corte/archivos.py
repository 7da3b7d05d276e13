"""The registry of a corte's published files beside the election CSVs (issue 65): each
one is a :class:`ArchivoPublicado`, and the LEEME, the public site's downloads and
``prep verify-corte`` loop over :func:`registrados` instead of naming the files one by
one, so adding such a file is its module and one line here.

The protocol holds, so far, what those three readers of the registry need (its name,
its line among the site's downloads, its LEEME paragraph and its verify-corte check);
how each is made still lives in the central's ``publish``
(:mod:`central.publication.publicar`). The adapters below are thin: each file's own
module keeps its format.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from prep.corte import difusores
from prep.corte.historial import HISTORIAL
from prep.corte.historial_leeme import leeme_historial
from prep.corte.reader import CsvEleccion
from prep.corte.salud_catd import AVANCE_CATD
from prep.corte.salud_catd import leeme_salud
from prep.corte.verify_historial import problemas_historial
from prep.corte.verify_salud_catd import problemas_salud


@dataclass(frozen=True)
class Leido:
    """What ``verify-corte`` has read of a corte when it checks one of its files."""

    directorio: Path
    #: Every file the signed manifest lists and that matches it, sorted.
    archivos: Sequence[str]
    #: The election CSVs, parsed, by file name.
    tablas: Mapping[str, CsvEleccion]


class ArchivoPublicado(Protocol):
    """One published file of a corte, as the LEEME, the site and ``verify-corte`` see
    it (only when the corte has it: a central without difusores publishes no
    DIFUSORES.csv)."""

    @property
    def nombre(self) -> str:
        """Its name at the corte's root."""

    @property
    def titulo(self) -> str:
        """Its line among the public site's downloads (Spanish)."""

    def leeme(self, simulacro: bool) -> str:
        """Its paragraph of LEEME.txt (``simulacro``: a drill's corte)."""

    def problemas(self, leido: Leido) -> list[str]:
        """What ``verify-corte`` finds wrong with it, one Spanish line each."""


class _Historial:
    """HISTORIAL.csv (:mod:`prep.corte.historial`)."""

    nombre = HISTORIAL
    titulo = ("Historial de cada acta publicada: acopio, digitalización, capturas, "
              "cotejo y publicación (CSV)")

    def leeme(self, simulacro: bool) -> str:
        return leeme_historial(simulacro)

    def problemas(self, leido: Leido) -> list[str]:
        return problemas_historial(leido.directorio, leido.tablas)


class _AvanceCatd:
    """AVANCE_CATD.csv (:mod:`prep.corte.salud_catd`)."""

    nombre = AVANCE_CATD
    titulo = ("Avance por centro de acopio (CATD): actas acopiadas, digitalizadas, "
              "capturadas y publicadas, tiempo de publicación y conexión (CSV)")

    def leeme(self, simulacro: bool) -> str:
        return leeme_salud(simulacro)

    def problemas(self, leido: Leido) -> list[str]:
        return problemas_salud(leido.directorio, leido.tablas)


class _Difusores:
    """DIFUSORES.csv (:mod:`prep.corte.difusores`)."""

    nombre = difusores.DIFUSORES
    titulo = ("Difusores oficiales del PREP: nombre y dirección de cada sitio que replica "
              "los cortes (CSV)")

    def leeme(self, simulacro: bool) -> str:
        return difusores.leeme_difusores(simulacro)

    def problemas(self, leido: Leido) -> list[str]:
        return difusores.problemas(leido.directorio, leido.archivos)


#: The registered files, in the order the LEEME describes them and verify-corte checks
#: them.
ARCHIVOS: tuple[ArchivoPublicado, ...] = (_Historial(), _AvanceCatd(), _Difusores())


def registrados() -> tuple[ArchivoPublicado, ...]:
    """The registered files (:data:`ARCHIVOS`), read when asked."""
    return ARCHIVOS


def registrado(nombre: str) -> ArchivoPublicado | None:
    """The registered file called ``nombre``, if any."""
    return next((a for a in registrados() if a.nombre == nombre), None)
