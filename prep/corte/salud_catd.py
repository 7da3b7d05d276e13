"""AVANCE_CATD.csv: the public health of the pipeline per CATD (issue 29).

One row per CATD (a data centre receives the actas of its distrito, or of the distritos
``prep central catd-distritos`` gave it) and one for the CCV, as of the corte's snapshot:

- ``ACTAS_ESPERADAS``, ``ACTAS_ACOPIADAS``, ``ACTAS_PUBLICADAS``: counted on the rows of
  the election CSVs themselves (the same :class:`~prep.corte.summary.TablaEleccion`),
  summed over every election: the catalog actas; those with a FECHA_HORA_ACOPIO (an
  acopio or a *sin acta*); those with published data (the election CSVs'
  ACTAS_CAPTURADAS: validated, or *sin acta*);
- ``ACTAS_DIGITALIZADAS`` (at least one image kept by the central, CATD scan or PREP
  Casilla photo) and ``ACTAS_CON_CAPTURA`` (at least one capture counted, or validated
  data): read by the
  central in the same snapshot (``central.publication.snapshot_salud_catd``);
- ``MEDIANA_ACOPIO_PUBLICACION``: over the actas with an acopio first published by a
  corte of the last hour (this one included), the median of FECHA_HORA_ACOPIO → the time
  of that first corte, in whole seconds of the published times (HISTORIAL.csv's ACOPIO
  and PUBLICACION rows give the same), the lower median for an even count, ``H:MM:SS``;
- ``EN_LINEA``: ``1`` when an enabled station of the centre was heard (any signed
  request or batch) in the :data:`EN_LINEA_MINUTOS` minutes before the corte, ``0``
  otherwise, ``NO_PUBLICADO`` when the coordinator hid it with an audited reason.

The CCV owns no actas (it captures those of every CATD), so its counts are ``N/A``:
counting them again would add actas twice; only its online status is published.
Format: UTF-8 with BOM, CRLF, the header on line 1 (line 2 in a drill, after the
SIMULACRO line); the site shows the very same strings (:func:`datos_sitio`).
"""

from __future__ import annotations

from array import array
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from itertools import chain
from itertools import groupby
from typing import Any

from prep.catalog.model import Catalog
from prep.corte.model import SIN_PAQUETE
from prep.corte.simulacro import linea_titulo
from prep.corte.simulacro import tabla_csv
from prep.corte.summary import Fila
from prep.corte.summary import TablaEleccion
from prep.corte.summary import percentage

AVANCE_CATD = "AVANCE_CATD.csv"
CCV = "CCV"
NO_APLICA = "N/A"
SIN_DATO = "-"
NO_PUBLICADO = "NO_PUBLICADO"
#: A centre is online when one of its stations was heard in these minutes before the
#: corte (the control room's dashboard uses the same default: central.controlroom.overview).
EN_LINEA_MINUTOS = 5
#: The median covers the actas first published in this window before the corte.
VENTANA_MINUTOS = 60
TITULO = "AVANCE POR CENTRO DE ACOPIO (CATD)"
COLUMNS: tuple[str, ...] = (
    "ID_CATD", "DISTRITOS_LOCALES", "ACTAS_ESPERADAS", "ACTAS_ACOPIADAS",
    "ACTAS_DIGITALIZADAS", "ACTAS_CON_CAPTURA", "ACTAS_PUBLICADAS",
    "PORCENTAJE_ACTAS_PUBLICADAS", "ACTAS_ULTIMA_HORA", "MEDIANA_ACOPIO_PUBLICACION",
    "EN_LINEA",
)
#: The columns that are counts (summable; ``N/A`` in the CCV's row).
CONTEOS: tuple[str, ...] = ("ACTAS_ESPERADAS", "ACTAS_ACOPIADAS", "ACTAS_DIGITALIZADAS",
                            "ACTAS_CON_CAPTURA", "ACTAS_PUBLICADAS")


class Claves(AbstractSet[str]):
    """A set of CLAVE_ACTA, kept as the catalog's actas (``universo``) but the few
    outside it when it holds most of them: late in a national night almost every acta
    has an image and a capture, and two sets of half a million were 32 MB between
    cortes (tracemalloc). Compares and iterates as the frozenset of its keys."""

    __slots__ = ("_dentro", "_extra", "_fuera", "_universo")

    def __init__(self, claves: Iterable[str], universo: Collection[str] | None = None
                 ) -> None:
        dentro = claves if isinstance(claves, frozenset) else frozenset(claves)
        self._universo = universo
        self._dentro: frozenset[str] | None = dentro
        self._fuera: frozenset[str] = frozenset()
        self._extra: frozenset[str] = frozenset()
        if universo is not None and 2 * len(dentro) > len(universo):
            self._fuera = frozenset(c for c in universo if c not in dentro)
            self._extra = dentro.difference(universo)
            self._dentro = None

    def cambiada(self, cambios: Mapping[str, bool]) -> Claves:
        """This set with each key of ``cambios`` in it or not as it says (without copying
        the half a million it holds when kept as the few outside)."""
        if self._dentro is not None or self._universo is None:
            return Claves({c for c in self if c not in cambios}
                          | {c for c, dentro in cambios.items() if dentro}, self._universo)
        fuera, extra = set(self._fuera), set(self._extra)
        universo = self._universo
        for clave, dentro in cambios.items():
            if clave in universo:
                (fuera.discard if dentro else fuera.add)(clave)
            else:
                (extra.add if dentro else extra.discard)(clave)
        nueva = object.__new__(Claves)
        nueva._universo, nueva._dentro = universo, None
        nueva._fuera, nueva._extra = frozenset(fuera), frozenset(extra)
        return nueva

    def __contains__(self, clave: object) -> bool:
        if self._dentro is not None:
            return clave in self._dentro
        assert self._universo is not None
        return (clave in self._universo and clave not in self._fuera) or clave in self._extra

    def __iter__(self) -> Iterator[str]:
        if self._dentro is not None:
            return iter(self._dentro)
        assert self._universo is not None
        fuera = self._fuera
        return chain((c for c in self._universo if c not in fuera), self._extra)

    def __len__(self) -> int:
        if self._dentro is not None:
            return len(self._dentro)
        assert self._universo is not None
        return len(self._universo) - len(self._fuera) + len(self._extra)

    def __repr__(self) -> str:
        return f"Claves({set(self)!r})"


@dataclass(frozen=True)
class LecturaCatd:
    """What the central reads for this file in the corte's snapshot."""

    #: distrito → CATD, for the distritos not received by the CATD of their number.
    asignados: Mapping[int, int] = field(default_factory=dict)
    digitalizadas: AbstractSet[str] = frozenset()  # CLAVE_ACTA with an image
    con_captura: AbstractSet[str] = frozenset()  # CLAVE_ACTA with a capture counted
    en_linea: frozenset[str] = frozenset()  # sitios ("01"…, "CCV") heard lately
    ocultos: frozenset[str] = frozenset()  # sitios whose status is not published


def duracion(segundos: int | None) -> str:
    """``H:MM:SS`` (``-`` without a value)."""
    if segundos is None:
        return SIN_DATO
    horas, resto = divmod(segundos, 3600)
    return f"{horas}:{resto // 60:02d}:{resto % 60:02d}"


@dataclass(frozen=True, slots=True)
class Avance:
    """What AVANCE_CATD takes from some actas (a tramo's, :mod:`prep.corte.tramos`, kept
    in its piece for the next corte): their counts (:data:`CONTEOS`) and, per acta
    published with an acopio, the time of the corte that first published it and the
    duration it adds to the median if that time is in a corte's window.

    The durations are taken once, when the actas are: a corte whose window holds every
    one of them (``desde``) adds them in one step, one whose window holds none
    (``hasta``) skips them, and only a tramo the window's start falls in is looked at
    acta by acta. The times stay datetimes so that the window's test is exactly
    ``primera > desde``, sub-second parts included.

    A national central keeps one per tramo (176,000): the counts and the first
    publications are tuples shared by every tramo with the same ones (a few cortes
    published them all), the durations an array (no int object each)."""

    cuentas: tuple[int, ...]
    primeras: tuple[datetime, ...]  # per acta, the time of its first publication
    #: Per acta, in the same order: from FECHA_HORA_ACOPIO to that time in whole
    #: seconds of both (0 when the acopio is later: a station's clock ahead).
    duraciones: Sequence[int]
    desde: datetime | None  # the earliest of ``primeras`` (None: no acta)
    hasta: datetime | None  # the latest

    def en_ventana(self, desde: datetime) -> list[int]:
        """The durations of the actas first published after ``desde``."""
        return [d for p, d in zip(self.primeras, self.duraciones, strict=True) if p > desde]


def avance_de(filas: Sequence[Fila], lectura: LecturaCatd,
              publicada_en: Mapping[str, tuple[str, datetime]], corte_at: datetime,
              segundos: dict[datetime, int] | None = None) -> Avance:
    """The :class:`Avance` of ``filas`` in the corte made at ``corte_at`` (the first
    publication of an acta absent from ``publicada_en``). ``segundos``: the whole
    seconds of publication times already taken, shared by the calls of one corte (its
    actas were first published by a few cortes only)."""
    if segundos is None:
        segundos = {}
    c = [0] * len(CONTEOS)
    primeras: list[datetime] = []
    duraciones: list[int] = []
    ahora = ("", corte_at)
    digitalizadas, con_captura = lectura.digitalizadas, lectura.con_captura
    for fila in filas:
        clave = fila.acta.clave
        c[0] += 1
        est = fila.estado
        # The paquete's reception (an acta published from its PREP Casilla photo carries
        # the photo's time as its acopio until then: not one the CATD received).
        acopio = None if est is None or est.traslado == SIN_PAQUETE else est.acopio_us
        if acopio is not None:
            c[1] += 1
        if clave in digitalizadas:
            c[2] += 1
        if clave in con_captura:
            c[3] += 1
        if fila.resultado is None or est is None:
            continue
        c[4] += 1
        if est.captura is None or acopio is None:  # sin acta, or no acopio
            continue
        primera = publicada_en.get(clave, ahora)[1]
        primera_s = segundos.get(primera)
        if primera_s is None:
            primera_s = segundos[primera] = int(primera.timestamp())
        primeras.append(primera)
        duraciones.append(max(0, primera_s - acopio // 1_000_000))
    return Avance(_comun(tuple(c)), _comun(tuple(primeras)), array("q", duraciones),
                  min(primeras, default=None), max(primeras, default=None))


#: The tuples of counts and first publications already made, each kept once (bounded:
#: past it, the next ones are simply not shared).
_COMUNES: dict[tuple[object, ...], tuple[object, ...]] = {}
_COMUNES_MAX = 100_000


def _comun(t: tuple[Any, ...]) -> tuple[Any, ...]:
    comun = _COMUNES.get(t)
    if comun is None:
        if len(_COMUNES) >= _COMUNES_MAX:
            return t
        comun = _COMUNES[t] = t
    return comun


def filas_catd(catalog: Catalog, tablas: Sequence[TablaEleccion], lectura: LecturaCatd,
               publicada_en: Mapping[str, tuple[str, datetime]], corte_at: datetime,
               ) -> list[tuple[str, ...]]:
    """The rows of AVANCE_CATD.csv (without its header), CATDs by number, then the CCV.

    ``publicada_en``: the earlier corte that first published each acta (an acta with
    data absent from it is first published by this corte, at ``corte_at``). (A running
    central's corte reuses each unchanged tramo's :class:`Avance` instead:
    :func:`prep.corte.paquete_tramos.filas_catd`, the same rows.)"""
    segundos: dict[datetime, int] = {}
    return filas_de_avances(catalog, lectura, corte_at, (
        avances_por_distrito(tabla, lectura, publicada_en, corte_at, segundos)
        for tabla in tablas))


def avances_por_distrito(tabla: TablaEleccion, lectura: LecturaCatd,
                         publicada_en: Mapping[str, tuple[str, datetime]],
                         corte_at: datetime, segundos: dict[datetime, int] | None = None,
                         ) -> list[tuple[int, Avance]]:
    """Each distrito's run of ``tabla``'s actas (the CSV is in distrito order) and its
    :class:`Avance` (``segundos``: as :func:`avance_de` takes it)."""
    return [(distrito, avance_de(list(filas), lectura, publicada_en, corte_at, segundos))
            for distrito, filas in groupby(tabla.filas,
                                           key=lambda f: f.acta.casilla.distrito_id)]


def filas_de_avances(catalog: Catalog, lectura: LecturaCatd, corte_at: datetime,
                     partes: Iterable[Iterable[tuple[int, Avance]]],
                     ) -> list[tuple[str, ...]]:
    """:func:`filas_catd` from the :class:`Avance` of every part of every election
    (``partes``: per election, its parts' distrito and Avance, in any cut of its
    actas)."""
    catd_de = {d.id: lectura.asignados.get(d.id, d.id) for d in catalog.distritos}
    catds = sorted(set(catd_de.values()))
    cuentas: dict[int, list[tuple[int, ...]]] = {c: [] for c in catds}
    duraciones: dict[int, list[int]] = {c: [] for c in catds}
    desde = corte_at - timedelta(minutes=VENTANA_MINUTOS)
    for eleccion in partes:
        for distrito, avance in eleccion:
            catd = catd_de[distrito]
            cuentas[catd].append(avance.cuentas)
            primera, ultima = avance.desde, avance.hasta
            if primera is None or ultima is None or ultima <= desde:
                continue  # none published within the window
            if primera > desde:  # all of them
                duraciones[catd].extend(avance.duraciones)
            else:
                duraciones[catd].extend(avance.en_ventana(desde))
    conteos = {c: [sum(columna) for columna in zip(*cuentas[c], strict=True)]
               if cuentas[c] else [0] * len(CONTEOS) for c in catds}
    return _filas(catd_de, conteos, duraciones, lectura)


def _filas(catd_de: Mapping[int, int], conteos: Mapping[int, Sequence[int]],
           duraciones: Mapping[int, Sequence[int]], lectura: LecturaCatd
           ) -> list[tuple[str, ...]]:
    filas: list[tuple[str, ...]] = []
    for catd, c in conteos.items():
        sitio = f"{catd:02d}"
        distritos = ";".join(str(d) for d in sorted(d for d, n in catd_de.items() if n == catd))
        tiempos = sorted(duraciones[catd])
        mediana = tiempos[(len(tiempos) - 1) // 2] if tiempos else None
        filas.append((sitio, distritos, *map(str, c), percentage(c[4], c[0]),
                      str(len(tiempos)), duracion(mediana), _en_linea(sitio, lectura)))
    filas.append((CCV, NO_APLICA, *[NO_APLICA] * (len(COLUMNS) - 3), _en_linea(CCV, lectura)))
    return filas


def _en_linea(sitio: str, lectura: LecturaCatd) -> str:
    if sitio in lectura.ocultos:
        return NO_PUBLICADO
    return "1" if sitio in lectura.en_linea else "0"


def salud_csv(filas: Sequence[Sequence[str]], simulacro: bool = False) -> bytes:
    """AVANCE_CATD.csv (UTF-8 with BOM, CRLF; a drill's opens with a SIMULACRO line)."""
    return tabla_csv(TITULO, COLUMNS, filas, simulacro)


def datos_sitio(filas: Sequence[Sequence[str]]) -> dict[str, object]:
    """The site's ``datos/catd.js``: the CSV's rows as they are, and the two windows."""
    return {"columnas": list(COLUMNS), "filas": [list(f) for f in filas],
            "en_linea_minutos": EN_LINEA_MINUTOS, "ventana_minutos": VENTANA_MINUTOS}


def leeme_salud(simulacro: bool = False) -> str:
    """The LEEME section that describes AVANCE_CATD.csv: lines, columns, values."""
    linea = linea_titulo(TITULO, simulacro)
    return f"""\
{AVANCE_CATD}: el avance de cada centro de acopio y transmisión de datos (CATD) al momento
de este corte. Una fila por CATD, en orden de número, y al final una del centro de captura
y verificación ({CCV}). UTF-8 con BOM, CRLF; {linea}.
  Columnas: {", ".join(COLUMNS)}.
  ID_CATD: número del CATD (dos dígitos), o {CCV}.
  DISTRITOS_LOCALES: los ID_DISTRITO_LOCAL cuyas actas recibe el CATD, separados por «;»
    (de ordinario, el de su mismo número); {NO_APLICA} en el {CCV}.
  ACTAS_ESPERADAS: actas del catálogo de esos distritos, de todas las elecciones (la suma
    de las filas de esos distritos en los CSV de las elecciones).
  ACTAS_ACOPIADAS: de ellas, las que tienen FECHA_HORA_ACOPIO en el CSV de su elección
    (se recibió el paquete con el acta, o se registró Sin Acta).
  ACTAS_DIGITALIZADAS: las que tienen al menos una imagen recibida en el nodo central
    (escaneada en un CATD o tomada por el PREP Casilla).
  ACTAS_CON_CAPTURA: las que tienen al menos una captura de sus datos ya recibida (de
    cualquier ronda), o datos ya validados.
  ACTAS_PUBLICADAS: las que tienen datos publicados en este corte: el ACTAS_CAPTURADAS de
    los CSV de las elecciones (validadas o Sin Acta).
  PORCENTAJE_ACTAS_PUBLICADAS: ACTAS_PUBLICADAS × 100 / ACTAS_ESPERADAS, truncado a cuatro
    decimales.
  ACTAS_ULTIMA_HORA: actas con acopio (no Sin Acta) publicadas por primera vez por un
    corte de los {VENTANA_MINUTOS} minutos anteriores a este, incluido este.
  MEDIANA_ACOPIO_PUBLICACION: la mediana, sobre esas actas, del tiempo entre su
    FECHA_HORA_ACOPIO y la hora del corte que la publicó por primera vez (las filas
    ACOPIO y PUBLICACION de HISTORIAL.csv), en segundos enteros de esas horas publicadas,
    como H:MM:SS; con un número par de actas, la menor de las dos centrales. Una hora de
    acopio posterior a la publicación (reloj de la estación adelantado) cuenta 0:00:00.
    '{SIN_DATO}' si no hay actas en la ventana.
  EN_LINEA: 1 si algún equipo habilitado del centro se comunicó con el nodo central en
    los {EN_LINEA_MINUTOS} minutos anteriores al corte; 0 si no (o si no tiene equipos);
    {NO_PUBLICADO}: no se publica por decisión del coordinador (queda registrada, con su
    motivo, en la bitácora de auditoría del nodo central).
  En la fila del {CCV}, las columnas de actas son {NO_APLICA}: el {CCV} no recibe actas
  propias (captura las de todos los CATD), así que contarlas ahí las sumaría dos veces.
  Comprobaciones: cada conteo de un CATD se obtiene de los CSV de las elecciones con sus
  DISTRITOS_LOCALES; la suma de ACTAS_ESPERADAS de todos los CATD es la de los resúmenes
  de las elecciones, y la de ACTAS_PUBLICADAS, la de sus ACTAS_CAPTURADAS."""
