"""What a published file reads of a corte's snapshot, declared by name (issue 65).

Each published file (:mod:`prep.corte.archivos`) declares, in a :class:`Lee`, the inputs
its text is made from: per acta (:class:`Insumo`, e.g. the acta's state or its
trajectory) and for the whole corte (:class:`Global`, e.g. the catalog or the rules).
Each name maps to one field of the central's snapshot
(``central.publication.snapshot.Snapshot``), written as its value.

The incremental engine (:mod:`prep.corte.tramos`) keys what it keeps of a file by
exactly those declarations, compared by value: a tramo's text of the previous corte is
reused only when every per-acta input the file declared is equal for every acta of the
tramo, and anything kept at all only while the whole-corte inputs the kept files
declared are equal. An input read and not declared is a stale value the engine may
publish; the random-night differential (tests/central/test_corte_diferencial.py) is the
net that catches it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Insumo(enum.Enum):
    """One per-acta input, named by the snapshot field it is read from (its value). Every
    value is immutable (``ActaEnCorte`` refuses assignment; a trajectory is packed bytes
    or a named tuple of tuples; the rest are strings, tuples and booleans): the same
    object is always an equal value, which lets the engine compare by value at the
    cost of an identity test for the actas that did not change."""

    #: The acta's published state (``ActaEnCorte``; None: not in the snapshot).
    ESTADO = "estado"
    #: What the fold accepted for it (``historial.actas``: a packed ``Trayectoria``).
    TRAYECTORIA = "historial.actas"
    #: The corte that first published it (``historial.publicada_en``: name and time;
    #: for an acta published with data that no corte recorded yet, the corte being
    #: made: what the next corte will read).
    PUBLICADA_EN = "historial.publicada_en"
    #: Whether a verificador decided its published data (``historial.verificadas``).
    VERIFICADA = "historial.verificadas"
    #: Its image's media type (``imagenes``; its SHA-256 is the state's).
    TIPO_IMAGEN = "imagenes"
    #: Whether it was digitalized (``salud.digitalizadas``, AVANCE_CATD).
    DIGITALIZADA = "salud.digitalizadas"
    #: Whether it has a capture (``salud.con_captura``, AVANCE_CATD).
    CON_CAPTURA = "salud.con_captura"


class Global(enum.Enum):
    """One input of the whole corte, named by where it comes from (its value)."""

    #: The catalog: compared by its SHA-256 (``Snapshot.catalog_huella``; a national
    #: catalog is half a million actas, a digest is what comparing it by value costs).
    CATALOGO = "catalog"
    REGLAS = "rules"  # the institute's publication rules (reglas.toml)
    ULTIMO_CORTE = "ultimo_corte"  # the night's last corte (publish's argument)
    SIMULACRO = "simulacro"  # a drill's central: every file stamped SIMULACRO
    CORTE = "corte"  # the corte's instant and name
    FUERA = "fuera"  # the fuera-de-catálogo rows
    DIFUSORES = "difusores"  # the official difusores
    SALUD = "salud"  # AVANCE_CATD's reading of the CATDs
    CON_IMAGENES = "blobs"  # whether the corte publishes images (benchmarks do not)
    CON_SITIO = "sitio"  # whether the corte has the public site
    LLAVE = "llave"  # the central's signing key (its public half)
    #: The names of the corte's other files (what the LEEME lists): known once they are
    #: made, so what reads it is made last.
    ARCHIVOS = "archivos"


class Render(enum.Enum):
    """How a published file is made."""

    ENTERO = "entero"  # whole, every corte
    POR_TRAMO = "por_tramo"  # by tramos of actas (prep.corte.tramos), each reusable


@dataclass(frozen=True)
class Lee:
    """The inputs a published file declares it reads: per acta and of the whole
    corte."""

    actas: frozenset[Insumo] = frozenset()
    corte: frozenset[Global] = frozenset()

    @staticmethod
    def de(*nombres: Insumo | Global) -> Lee:
        """A declaration from its names, in any order."""
        return Lee(frozenset(n for n in nombres if isinstance(n, Insumo)),
                   frozenset(n for n in nombres if isinstance(n, Global)))

    def __or__(self, other: Lee) -> Lee:
        return Lee(self.actas | other.actas, self.corte | other.corte)


def igual(a: object, b: object) -> bool:
    """Whether two values of an input are equal: every input's value is immutable, so
    the same object is an equal value, and the identity test (what an unchanged acta
    costs: a running central's snapshot keeps its very objects) comes before ``==``
    (what an acta read again costs: a state is 28 bytes, a packed trajectory ~110, so
    no digest or version counter is needed to compare them)."""
    return a is b or a == b


def union(declaraciones: Iterable[Lee]) -> Lee:
    """Every input any of ``declaraciones`` reads."""
    out = Lee()
    for lee in declaraciones:
        out = out | lee
    return out


def fuentes(estado: Mapping[str, Any], historial: Any, imagenes: Mapping[str, Any],
            digitalizadas: Collection[str], con_captura: Collection[str]
            ) -> dict[Insumo, Callable[[str], Any]]:
    """Per :class:`Insumo`, CLAVE_ACTA → its value in this snapshot (``historial``: a
    :class:`prep.corte.historial.Historial`)."""
    verificadas = historial.verificadas
    get_imagen = imagenes.get

    def tipo(clave: str) -> str | None:
        # Only the media type: a national central keeps one per acta between cortes,
        # and a shared text is 8 bytes where the (SHA-256, type) pair was 64.
        imagen = get_imagen(clave)
        return None if imagen is None else str(imagen[1])

    return {Insumo.ESTADO: estado.get, Insumo.TRAYECTORIA: historial.actas.get,
            Insumo.PUBLICADA_EN: historial.publicada_en.get,
            Insumo.VERIFICADA: verificadas.__contains__, Insumo.TIPO_IMAGEN: tipo,
            Insumo.DIGITALIZADA: digitalizadas.__contains__,
            Insumo.CON_CAPTURA: con_captura.__contains__}


def valores_globales(catalogo: object, rules: object, ultimo_corte: bool, simulacro: bool,
                     con_imagenes: bool, sitio: bool) -> dict[Global, object]:
    """The values of the whole-corte inputs a kept render may depend on (the others,
    e.g. the corte's instant, are never kept: what reads them is made every corte)."""
    return {Global.CATALOGO: catalogo, Global.REGLAS: rules,
            Global.ULTIMO_CORTE: ultimo_corte, Global.SIMULACRO: simulacro,
            Global.CON_IMAGENES: con_imagenes, Global.CON_SITIO: sitio}


def contexto(lee: Lee, valores: Mapping[Global, object]) -> tuple[tuple[str, object], ...]:
    """The key of what is kept of files that read ``lee``: each declared whole-corte
    input and its value, in a fixed order (compared with ``==``). A declared input with
    no value here (the corte's instant…) cannot be kept across cortes: ValueError."""
    out = []
    for g in sorted(lee.corte, key=lambda g: g.name):
        if g not in valores:
            raise ValueError(f"{g.name}: una entrada de cada corte; lo que la lee no se "
                             "guarda entre cortes")
        out.append((g.name, valores[g]))
    return tuple(out)
