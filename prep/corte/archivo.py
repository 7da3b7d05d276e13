"""The protocol of one published file of a corte (issue 65): :class:`Archivo`.

A published file says, in one place: its name, the snapshot inputs it reads (a
:class:`prep.corte.insumos.Lee`), how it is made (whole or per tramo,
:class:`prep.corte.insumos.Render`), its line among the site's downloads, its LEEME
paragraph, its ``prep verify-corte`` check and what counts as a change of it in
``diferencias.json``. The registry (:mod:`prep.corte.archivos`) lists them all; the
LEEME, the site's downloads, verify-corte and the central's ``publish`` loop over it.

A file whose text the registry makes gives :attr:`Archivo.hacer` (whole; one per
election: :attr:`Archivo.por_eleccion`) or :attr:`Archivo.tramo` (per tramo: the
engine reuses a tramo's text of the previous corte while the per-acta inputs it
declared are equal, :mod:`prep.corte.tramos`); the others are still made by
``publish`` and the engine by name (their entries say so in :attr:`Archivo.hecho_por`).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import MutableMapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import Protocol

from prep.catalog.model import Acta
from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.corte.insumos import Insumo
from prep.corte.insumos import Lee
from prep.corte.insumos import Render
from prep.corte.reader import CsvEleccion
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet


@dataclass(frozen=True)
class Leido:
    """What ``verify-corte`` has read of a corte when it checks one of its files."""

    directorio: Path
    #: Every file the signed manifest lists and that matches it, sorted.
    archivos: Sequence[str]
    #: The election CSVs, parsed, by file name.
    tablas: Mapping[str, CsvEleccion]
    #: The election CSVs that could not be read, by file name: why.
    ilegibles: Mapping[str, str] = field(default_factory=dict)
    #: The publication rules the summaries are recomputed with (``--reglas``).
    reglas: RuleSet = DEFAULT_RULES
    #: Per election CSV, what its check says of it (the report's line; filled by the
    #: election CSVs' ``verifica``).
    veredictos: MutableMapping[str, str] = field(default_factory=dict)


class ArchivoPublicado(Protocol):
    """What the LEEME, the site and ``verify-corte`` read of a registered file (every
    :class:`Archivo` is one)."""

    @property
    def nombre(self) -> str: ...
    @property
    def titulo(self) -> str | None: ...
    def leeme(self, simulacro: bool) -> str | None: ...
    def problemas(self, leido: Leido) -> list[str]: ...


class Fuente(Protocol):
    """What a whole file made by the registry reads of the corte (the central's
    ``Snapshot`` and how ``publish`` makes it): only what its
    :class:`~prep.corte.insumos.Lee` declares."""

    @property
    def corte(self) -> datetime: ...
    @property
    def catalog(self) -> Catalog: ...
    @property
    def simulacro(self) -> bool: ...
    @property
    def difusores(self) -> tuple[tuple[str, str, str], ...]: ...  # name, URL, witness key
    @property
    def reglas(self) -> RuleSet: ...
    @property
    def ultimo_corte(self) -> bool: ...
    @property
    def huella_llave(self) -> str:
        """The SHA-256 fingerprint of the central's public key."""
    @property
    def filas_catd(self) -> Sequence[Sequence[str]] | None:
        """AVANCE_CATD's rows, one per CATD, as the engine counted them per tramo
        (:func:`prep.corte.paquete_tramos.filas_catd`; None: no CATD's reading)."""
    @property
    def registro(self) -> Sequence[ArchivoPublicado]:
        """The registered files this corte is made with (:mod:`prep.corte.archivos`)."""
    @property
    def raiz(self) -> Sequence[str]:
        """Every name at the corte's root, sorted, then ``imagenes/`` and ``sitio/``:
        known once every other file is made (read it only declaring
        :attr:`~prep.corte.insumos.Global.ARCHIVOS`)."""


@dataclass(frozen=True)
class Tramo:
    """What a per-tramo renderer is given: one tramo of an election (a run of its actas
    in one sección, :func:`prep.corte.tramos.rangos`) and, per per-acta input, its
    actas' values in order. Every input of the snapshot is there; only the declared
    ones are compared before a tramo's text is reused (read no other)."""

    eleccion: Eleccion
    actas: Sequence[Acta]
    valores: Mapping[Insumo, Sequence[Any]]


@dataclass(frozen=True)
class Cambio:
    """What ``diferencias.json`` counts as a change of a file: per election, its acta
    lines compared column by column (``columnas``); a changed column outside
    ``no_capturadas`` (the keys, catalog data, rules' decisions, image, times, marks) is
    a change of the captured data."""

    descripcion: str
    columnas: Callable[[Eleccion], Sequence[str]]
    no_capturadas: Collection[str] = ()


def _sin_parrafo(simulacro: bool) -> str | None:
    return None


def _sin_problemas(leido: Leido) -> list[str]:
    return []


@dataclass(frozen=True)
class Archivo:
    """One published file (or one per election: ``nombres``)."""

    #: Its name at the corte's root (a pattern in <> for one file per election).
    nombre: str
    lee: Lee
    render: Render
    #: What each tramo's text reads, when made per tramo (None: :attr:`lee`): the
    #: engine reuses a tramo's text while these per-acta inputs are equal for its actas
    #: and keeps none once one of these whole-corte inputs changes.
    lee_tramo: Lee | None = None
    #: Its line among the public site's downloads (None: the site names it itself).
    titulo: str | None = None
    #: Its paragraph of LEEME.txt (``simulacro``: a drill's corte; None: the LEEME's
    #: body describes it).
    parrafo: Callable[[bool], str | None] = _sin_parrafo
    #: What verify-corte finds wrong with it, one Spanish line each (nothing when the
    #: corte has no such file).
    verifica: Callable[[Leido], list[str]] = _sin_problemas
    #: What counts as a change of it in diferencias.json (None: it is not compared).
    cambio: Cambio | None = None
    #: The whole file's bytes (None: this corte has no such file), when the registry
    #: makes it (one file per election, :attr:`nombres`: :attr:`por_eleccion`). A file
    #: that declares :attr:`~prep.corte.insumos.Global.ARCHIVOS` is made after the
    #: others.
    hacer: Callable[[Fuente], bytes | None] | None = None
    #: Each election's file's bytes, when the registry makes one per election.
    por_eleccion: Callable[[Fuente, Eleccion], bytes] | None = None
    #: The phase of the corte's clock its making is counted in (None: ``csv``).
    fase: str | None = None
    #: A tramo's text, when the registry makes it per tramo; the file is
    #: :attr:`cabecera` then every election's tramos in catalog order.
    tramo: Callable[[Tramo], bytes] | None = None
    cabecera: Callable[[Fuente], bytes] = field(default=lambda fuente: b"")
    #: Where it is made when not by the registry (for readers of the code).
    hecho_por: str = ""
    #: Its names in a corte of ``catalog`` (default: ``nombre``).
    nombres: Callable[[Catalog], Sequence[str]] | None = None

    def leeme(self, simulacro: bool) -> str | None:
        """Its paragraph of LEEME.txt (None: the LEEME's body describes it)."""
        return self.parrafo(simulacro)

    def problemas(self, leido: Leido) -> list[str]:
        """What ``verify-corte`` finds wrong with it."""
        return self.verifica(leido)

    def en(self, catalog: Catalog) -> Sequence[str]:
        """Its names in a corte of ``catalog``."""
        return (self.nombre,) if self.nombres is None else self.nombres(catalog)
