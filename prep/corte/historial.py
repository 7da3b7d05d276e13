"""HISTORIAL.csv: how the published data of every acta came to be (issue 29).

One row per event of every acta with published data (ACTAS_CAPTURADAS: validated or
*sin acta*), in the order of the election CSVs, each acta's events in time order:

- ``ACOPIO`` / ``SIN_ACTA``: when and at which CATD the paquete was received (its time
  is the row's FECHA_HORA_ACOPIO);
- ``DIGITALIZACION``: every image of the acta, numbered (IMAGEN) in arrival order, with
  its SHA-256, origin and medium;
- ``CAPTURA``, ``CORRECCION`` (a capture after a cotejo found differences),
  ``VERIFICACION``: each capture or verificador's decision that counted, with its round
  (RONDA: a new image, or a correction, starts a new round) and the image it was made on;
- ``VALIDACION``: when the published data was validated (FECHA_HORA_VERIFICACION) and on
  which image (CODIGO_INTEGRIDAD);
- ``COTEJO``: a check of the published data against the paper acta;
- ``PUBLICACION``: the corte in which the acta was first published;
- ``CORRECCION_PUBLICADA``: each correction of its published data (a correction round
  opened by a cotejo with differences, validated), in the corte that first published it,
  with the fields the cotejo named and its reason.

Nobody is named: no operator, no station; only the CATD number (or ``CCV``). The events
come from the central's fold (:class:`prep.corte.trayectoria.Trayectoria`, read by
``central.publication.snapshot_historial``) and from the acta's own published state, so the
history cannot contradict the CSV row. The public site shows the same rows
(:func:`filas_por_acta`), so a journalist can rebuild each timeline from this file.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import MutableMapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from operator import itemgetter
from typing import Any
from typing import NamedTuple

from prep.corte.anexo import TZ
from prep.corte.anexo import TimeFormatter
from prep.corte.anexo import hora_us
from prep.corte.anexo import time_formatter
from prep.corte.insumos import igual
from prep.corte.model import NINGUNA
from prep.corte.model import ActaEnCorte
from prep.corte.model import Digitalizacion
from prep.corte.model import Origen
from prep.corte.model import microsegundos
from prep.corte.simulacro import titulo as marca_simulacro
from prep.corte.summary import Fila as FilaEleccion
from prep.corte.summary import TablaEleccion
from prep.corte.trayectoria import SIN_DECIR
from prep.corte.trayectoria import Guardada
from prep.corte.trayectoria import Trayectoria
from prep.corte.trayectoria import crudo as _crudo
from prep.corte.trayectoria import desempacar
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

HISTORIAL = "HISTORIAL.csv"
COLUMNS: tuple[str, ...] = ("CLAVE_ACTA", "EVENTO", "FECHA_HORA", "CATD", "RONDA",
                            "IMAGEN", "CODIGO_INTEGRIDAD", "ORIGEN", "DIGITALIZACION",
                            "DETALLE")
CCV = "CCV"


class Evento(enum.StrEnum):
    ACOPIO = "ACOPIO"
    SIN_ACTA = "SIN_ACTA"
    DIGITALIZACION = "DIGITALIZACION"
    CAPTURA = "CAPTURA"
    CORRECCION = "CORRECCION"
    VERIFICACION = "VERIFICACION"
    VALIDACION = "VALIDACION"
    COTEJO = "COTEJO"
    PUBLICACION = "PUBLICACION"
    CORRECCION_PUBLICADA = "CORRECCION_PUBLICADA"


#: Ties in time keep the lifecycle's order.
_ORDEN = {e: i for i, e in enumerate(Evento)}
COTEJO_COINCIDE = "cotejada: coincide con el acta en papel"
COTEJO_DIFERENCIAS = "cotejo con diferencias: se abre una corrección"


class CorreccionPublicada(NamedTuple):
    """A correction of an acta's published data and the corte that first published it
    (``central.publication.snapshot_historial``: recorded by that corte, or the corte being made
    for one no corte recorded yet)."""

    corte: str  # the corte's directory name
    corte_at: datetime
    cotejo: str  # the record of the cotejo that opened the round
    campos: tuple[str, ...]  # the fields the cotejo named
    motivo: str | None  # its reason (None: it gave none)
    #: What the correction changed in the acta's row: (column, before, after), in the
    #: CSV's column order (empty when the previous corte's files were not at hand).
    cambios: tuple[tuple[str, str, str], ...] = ()
    #: The acta's HISTORIAL rows (without CLAVE_ACTA) the previous corte published:
    #: kept in every later corte, since the re-validated state no longer generates
    #: some of them (its earlier VALIDACION): the public history only grows.
    previas: tuple[tuple[str, ...], ...] = ()


def detalle_correccion(c: CorreccionPublicada) -> str:
    """DETALLE of a ``CORRECCION_PUBLICADA`` row: the corte's name, then why (the fields
    the cotejo named and its reason) and what changed (``campo: antes → después``), as
    the LEEME says."""
    texto = f"{c.corte}: corregida tras el cotejo contra el acta en papel"
    if c.campos:
        texto += " (campos señalados: " + ", ".join(c.campos) + ")"
    if c.cambios:
        texto += "; cambios: " + ", ".join(f"{campo}: {antes} → {despues}"
                                           for campo, antes, despues in c.cambios)
    if c.motivo:  # last: the cotejo's own words, whatever they hold
        texto += f"; motivo: {c.motivo}"
    return texto


#: A correction no corte published yet: CorreccionPublicada's fields after corte_at
#: (its ``cambios`` and ``previas`` empty until read from the previous corte).
Pendiente = tuple[str, tuple[str, ...], str | None, tuple[tuple[str, str, str], ...],
                  tuple[tuple[str, ...], ...]]


@dataclass(frozen=True)
class Historial:
    """Per acta its :class:`Trayectoria` (packed or not: :data:`Guardada`; read it with
    :meth:`trayectoria`); per acta already published by an earlier corte, that corte
    (directory name, time). An acta published now and absent from ``publicada_en`` is
    first published by the corte being made."""

    actas: Mapping[str, Guardada] = field(default_factory=dict)
    publicada_en: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)
    verificadas: frozenset[str] = frozenset()
    #: Per acta, the corrections of its published data that earlier cortes published,
    #: oldest first.
    correcciones: Mapping[str, tuple[CorreccionPublicada, ...]] = field(
        default_factory=dict)
    #: Per acta, the correction its published data comes from when no corte published it
    #: yet (the cotejo's record, fields and reason; what it changed and the history the
    #: previous corte published, where known: :class:`CorreccionPublicada`): the corte
    #: being made publishes it.
    pendientes: Mapping[str, Pendiente] = field(default_factory=dict)

    def correcciones_de(self, clave: str, corte: str, corte_at: datetime
                        ) -> tuple[CorreccionPublicada, ...]:
        """The corrections of ``clave`` a corte named ``corte`` (made at ``corte_at``)
        shows: the recorded ones and, last, its own."""
        hechas = self.correcciones.get(clave, ())
        pendiente = self.pendientes.get(clave)
        if pendiente is None:
            return hechas
        return (*hechas, CorreccionPublicada(corte, corte_at, *pendiente))

    def trayectoria(self, clave: str) -> Trayectoria:
        """The trajectory of ``clave`` (an empty one if it has none)."""
        return desempacar(self.actas.get(clave))


Fila = tuple[str, ...]  # a HISTORIAL row without its CLAVE_ACTA


def filas_por_acta(tablas: Sequence[TablaEleccion], historial: Historial, corte: str,
                   corte_at: datetime, rules: RuleSet = DEFAULT_RULES
                   ) -> dict[str, list[Fila]]:
    """CLAVE_ACTA → its HISTORIAL rows (without the key), for every acta with published
    data, in the order of the election CSVs."""
    fmt = time_formatter()
    return {fila.acta.clave: rows for tabla in tablas
            for fila, rows in eventos_de(tabla, historial, corte, corte_at, rules, fmt)}




def eventos_de(tabla: TablaEleccion, historial: Historial, corte: str, corte_at: datetime,
               rules: RuleSet = DEFAULT_RULES, fmt: TimeFormatter | None = None
               ) -> Iterator[tuple[FilaEleccion, list[Fila]]]:
    """Each acta of ``tabla`` with published data, in the order of its CSV, with its
    HISTORIAL rows (without the key). A generator: a national corte writes each acta's
    rows out (:func:`lineas_csv`, the site's per-distrito files) and drops them, never
    holding three million rows at once."""
    fmt = fmt or time_formatter()
    for fila, est, t, publicada, verificada, corregida in _publicadas(
            tabla, historial, corte, corte_at):
        yield fila, _eventos(est, t, publicada, verificada, fmt, rules, corregida)


def _publicadas(tabla: TablaEleccion, historial: Historial, corte: str, corte_at: datetime,
                filas: Sequence[FilaEleccion] | None = None,
                ) -> Iterator[tuple[FilaEleccion, ActaEnCorte, Guardada | None,
                                    tuple[str, datetime], bool,
                                    tuple[CorreccionPublicada, ...]]]:
    """What each acta of ``tabla`` (or of its rows ``filas``) with published data has
    its history made from, in CSV order: its row, state, trajectory, first publication
    (this corte's, ``corte`` at ``corte_at``, for an acta no earlier corte published),
    whether a verificador decided it, and its published corrections."""
    actas, publicada_en = historial.actas, historial.publicada_en
    verificadas = historial.verificadas
    hechas, pendientes = historial.correcciones, historial.pendientes
    cuando = (corte, corte_at)
    for fila in tabla.filas if filas is None else filas:
        est = fila.estado
        if est is None or not est.publicada:
            continue
        clave = est.clave
        yield (fila, est, actas.get(clave), publicada_en.get(clave, cuando),
               clave in verificadas,
               historial.correcciones_de(clave, corte, corte_at)
               if clave in hechas or clave in pendientes else ())


def cuerpos_de(tabla: TablaEleccion, historial: Historial, corte: str, corte_at: datetime,
               rules: RuleSet = DEFAULT_RULES, fmt: TimeFormatter | None = None,
               memo: MutableMapping[str, Any] | None = None,
               filas: Sequence[FilaEleccion] | None = None,
               ) -> Iterator[tuple[FilaEleccion, str | list[Fila]]]:
    """:func:`eventos_de`, each acta's rows given as its :func:`cuerpo` when they have
    one (the rows themselves otherwise). ``memo``: the bodies of earlier cortes by
    CLAVE_ACTA (:class:`prep.corte.memo.RenderMemo`, filled under these ``rules``),
    reused where the acta's state, trajectory, publication and verification are equal
    (by value: :func:`prep.corte.insumos.igual`) (the PUBLICACION event of an acta not
    published before is this corte's). The memo holds each body with the published
    image's SHA-256 as :data:`IMAGEN_PUBLICADA`. ``filas``: only those rows of
    ``tabla`` (a tramo's, :mod:`prep.corte.tramos`)."""
    fmt = fmt or time_formatter()
    for fila, est, t, publicada, verificada, corregida in _publicadas(
            tabla, historial, corte, corte_at, filas):
        clave = est.clave
        sha256 = est.sha256
        if memo is not None:
            hecho = memo.get(clave)
            if hecho is not None and igual(hecho[0], est) and igual(hecho[1], t) \
                    and hecho[2] == publicada and hecho[3] == verificada \
                    and hecho[5] == corregida:
                yield fila, hecho[4] if sha256 is None else hecho[4].replace(
                    IMAGEN_PUBLICADA, sha256)
                continue
        rows = _eventos(est, t, publicada, verificada, fmt, rules, corregida)
        texto = cuerpo(clave, rows)
        if texto is None:
            if memo is not None:
                memo.pop(clave, None)
            yield fila, rows
            continue
        if memo is not None:
            memo[clave] = (est, t, publicada, verificada, texto if sha256 is None
                           else texto.replace(sha256, IMAGEN_PUBLICADA), corregida)
        yield fila, texto


#: Stands for the published image's SHA-256 in the memo's texts (twice in most actas'
#: history: a third of its text); a control character, which no :func:`cuerpo` holds.
IMAGEN_PUBLICADA = "\x1e"

#: What would make a value need escaping in CSV (a comma, a quote, a line break) or in
#: JSON (a quote, a backslash, a control character).
_ESCAPAR = re.compile(r'[,"\\\x00-\x1f]')


def cuerpo(clave: str, rows: Sequence[Fila]) -> str | None:
    """One acta's HISTORIAL rows as one compact text: the values of each row joined by
    commas, the rows by CRLF, without CLAVE_ACTA; ``None`` when there are no rows or a
    value (or the clave) holds anything CSV or JSON would escape. Its CSV lines are
    :func:`lineas_de_cuerpo`, its entry in the site's history
    ``prep.corte.site_historial.historial_acta_de_cuerpo``: the same text :func:`lineas_csv` and
    ``historial_acta`` make from the rows, at a fraction of the memory of the rows."""
    if not rows or _ESCAPAR.search("".join(map("".join, rows))) or _ESCAPAR.search(clave):
        return None
    return "\r\n".join(map(",".join, rows))


def lineas_de_cuerpo(clave: str, texto: str) -> str:
    """:func:`lineas_csv` of the rows whose :func:`cuerpo` is ``texto``."""
    key = f"'{clave}',"
    return key + texto.replace("\r\n", "\r\n" + key) + "\r\n"


#: A CLAVE_ACTA that CSV and JSON write as it is (the catalog's are digits and letters).
_CLAVE_LLANA = re.compile(r"[0-9A-Za-z_.-]+")


def lineas_por_acta(texto: bytes, claves: Sequence[str]) -> dict[str, bytes] | None:
    """A tramo's HISTORIAL.csv lines (``texto``, UTF-8, as :func:`lineas_csv` or
    :func:`lineas_de_cuerpo` made them for its actas ``claves``, in order) cut per acta:
    CLAVE_ACTA → its lines (an acta without lines: absent). None when the text cannot
    be cut safely: a value quoted (which could hold a line break), or a line that is not
    one of these actas'. A tramo made again takes an unchanged acta's lines from here
    instead of making them (:mod:`prep.corte.tramos`)."""
    if b'"' in texto:
        return None
    marcas = [(c, f"'{c}',".encode()) for c in claves]
    out = por_acta(texto, marcas, b"\r\n", b"")
    if out is None:
        return None
    for clave, marca in marcas:  # every line of an acta's text is one of its rows
        lineas = out.get(clave)
        if lineas is not None and (not lineas.endswith(b"\r\n") or lineas.count(
                b"\r\n" + marca) != lineas.count(b"\r\n") - 1):
            return None
    return out


def por_acta(texto: bytes, marcas: Sequence[tuple[str, bytes]], corte: bytes,
             sep: bytes) -> dict[str, bytes] | None:
    """``texto``, the texts of some of the actas of ``marcas`` (key, how its text
    starts) in that order, each one after ``corte`` (the first at the start) and joined
    by ``sep``, cut per acta (None: it is not that). Each acta's text runs from its
    start to the next one's: :func:`lineas_por_acta` and the site's
    ``entradas_por_acta`` check what may be in it."""
    if not texto:
        return {}
    if not all(_CLAVE_LLANA.fullmatch(clave) for clave, _ in marcas):
        return None  # a key CSV or JSON would escape: written otherwise than its mark
    inicios: list[tuple[int, str]] = []
    for clave, marca in marcas:
        if texto.startswith(marca):
            inicio = 0
        else:
            inicio = texto.find(corte + marca)
            if inicio < 0:
                continue
            inicio += len(corte)
        if inicios and inicio <= inicios[-1][0]:
            return None  # not in the actas' order
        inicios.append((inicio, clave))
    if not inicios or inicios[0][0] != 0:
        return None
    out: dict[str, bytes] = {}
    fines = [i for i, _ in inicios[1:]]
    for (inicio, clave), fin in zip(inicios, [*fines, len(texto) + len(sep)], strict=True):
        if texto[fin - len(sep):fin] != sep and fin <= len(texto):
            return None
        out[clave] = texto[inicio:fin - len(sep)]
    return out


#: Line 1 of HISTORIAL.csv (``SIMULACRO — …`` in a drill).
TITULO = "HISTORIAL DE LAS ACTAS"


def encabezado_csv(simulacro: bool = False) -> str:
    """The first lines of HISTORIAL.csv (its title line, with the SIMULACRO mark in a
    drill, then the columns); the file is UTF-8 with BOM, CRLF."""
    return _csv_text([(marca_simulacro(TITULO, simulacro),), COLUMNS])


def lineas_csv(clave: str, rows: Sequence[Fila]) -> str:
    """The HISTORIAL.csv lines of one acta (CRLF), as :mod:`csv` writes them."""
    key = f"'{clave}'"
    lines = [",".join((key, *row)) for row in rows]
    flat = "".join(lines)
    # Published values are digits, dates, codes and fixed labels: joined as they are,
    # unless one holds what csv would quote (a comma, a quote, a line break).
    if flat.count(",") == (len(COLUMNS) - 1) * len(lines) and '"' not in flat \
            and "\r" not in flat and "\n" not in flat:
        return "\r\n".join(lines) + "\r\n"
    return _csv_text((key, *row) for row in rows)


def historial_csv(filas: Mapping[str, Sequence[Fila]], simulacro: bool = False) -> bytes:
    """HISTORIAL.csv (UTF-8 with BOM, CRLF; :func:`encabezado_csv`, then one acta's
    lines after another)."""
    return (encabezado_csv(simulacro)
            + "".join(lineas_csv(clave, rows) for clave, rows in filas.items())
            ).encode("utf-8-sig")


def _csv_text(rows: Iterable[Sequence[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buf.getvalue()


_Ev = tuple[int, int, Fila]  # (microseconds, place in the lifecycle, row)
# (EVENTO, its place in the lifecycle) of each event, and the small numbers as text:
# made once, not for each of the three million events of a national corte.
_E = {e: (e.value, _ORDEN[e]) for e in Evento}
_NUMEROS = tuple(str(n) for n in range(100))
_DETALLE_REEMPLAZA = "reemplaza una imagen anterior"
_DETALLE_VERIFICADOR = "decisión de un verificador"
_DETALLE_CAPTURA = tuple(f"captura {n}" for n in range(10))
_by_time = itemgetter(0, 1)
_SIN_ACTA, _ACOPIO, _DIGITALIZACION, _CAPTURA, _CORRECCION, _VERIFICACION, _VALIDACION, \
    _COTEJO, _PUBLICACION, _CORRECCION_PUBLICADA = (_E[e] for e in (
        Evento.SIN_ACTA, Evento.ACOPIO, Evento.DIGITALIZACION, Evento.CAPTURA,
        Evento.CORRECCION, Evento.VERIFICACION, Evento.VALIDACION, Evento.COTEJO,
        Evento.PUBLICACION, Evento.CORRECCION_PUBLICADA))
#: ORIGEN and DIGITALIZACION as text (an enum's ``value`` is a slow property).
_TEXTO: dict[object, str] = {None: "", **{o: o.value for o in Origen},
                             **{d: d.value for d in Digitalizacion}}


def _numero(n: int) -> str:
    return _NUMEROS[n] if 0 <= n < len(_NUMEROS) else str(n)


def _eventos(est: ActaEnCorte, guardada: Guardada | None, publicada: tuple[str, datetime],
             verificada: bool, fmt: TimeFormatter, rules: RuleSet,
             corregida: Sequence[CorreccionPublicada] = ()) -> list[Fila]:
    # From the packed trajectory as it unpacks (prep.corte.trayectoria.empacar's fields,
    # times in microseconds): no named tuple nor datetime is made for its events.
    acopio_catd, sin_acta_catd, imagenes, capturas, cotejos, paquete = _crudo(guardada)
    hora = hora_us
    evs: list[_Ev] = []
    add = evs.append
    acopio, _, validada = est.horas_us
    if paquete != SIN_DECIR and est.causa_sin_acta is None:
        # The paquete's own time: an acta published from its PREP Casilla photo carries
        # the photo's as FECHA_HORA_ACOPIO (and has no ACOPIO until the paquete arrives).
        acopio = paquete
    if est.causa_sin_acta is not None:
        assert acopio != NINGUNA  # a sin acta always has its registration time
        nombre, orden = _SIN_ACTA
        add((acopio, orden, (nombre, hora(acopio), sin_acta_catd, "", "", "", "",
                             "", rules.sin_acta[est.causa_sin_acta])))
    elif acopio != NINGUNA:
        nombre, orden = _ACOPIO
        add((acopio, orden, (nombre, hora(acopio), acopio_catd, "", "", "", "", "", "")))
    numero: dict[str, str] = {}
    publicada_sha = est.sha256
    imagen_publicada = ""
    nombre, orden = _DIGITALIZACION
    for n, (record, at, catd, sha, origen, medio, reemplaza) in enumerate(imagenes, start=1):
        numero[record] = imagen = _numero(n)
        sha256 = sha.hex()
        if sha256 == publicada_sha:
            imagen_publicada = str(n)
        add((at, orden, (nombre, hora(at), catd, "", imagen, sha256, origen, medio,
                         _DETALLE_REEMPLAZA if reemplaza else "")))
    correcciones = [ronda for _, _, coincide, _, ronda in cotejos
                    if not coincide and ronda is not None]
    desde = min(correcciones) if correcciones else None
    for es_verificacion, ronda, slot, imagen_record, at, catd, _ in capturas:
        imagen = numero.get(imagen_record or "", "")
        if es_verificacion:
            nombre, orden = _VERIFICACION
            detalle = _DETALLE_VERIFICADOR
        else:
            nombre, orden = _CORRECCION if desde is not None and ronda >= desde \
                else _CAPTURA
            detalle = _DETALLE_CAPTURA[slot] if 0 <= slot < len(_DETALLE_CAPTURA) \
                else f"captura {slot}"
        add((at, orden, (nombre, hora(at), catd,
                         _NUMEROS[ronda] if 0 <= ronda < len(_NUMEROS) else str(ronda),
                         imagen, "", "", "", detalle)))
    if est.captura is not None and validada != NINGUNA:
        nombre, orden = _VALIDACION
        rondas = [c[1] for c in capturas if c[4] <= validada]
        add((validada, orden, (
            nombre, hora(validada), "", str(max(rondas)) if rondas else "",
            imagen_publicada, publicada_sha or "", _TEXTO[est.origen],
            _TEXTO[est.digitalizacion], _como_se_valido(capturas, verificada))))
    if cotejos:
        nombre, orden = _COTEJO
        for at, catd, coincide, _, _ in cotejos:
            add((at, orden, (nombre, hora(at), catd, "", "", "", "", "",
                             COTEJO_COINCIDE if coincide else COTEJO_DIFERENCIAS)))
    corte, corte_at = publicada
    nombre, orden = _PUBLICACION
    add((microsegundos(corte_at), orden, (nombre, fmt(corte_at), "", "", "", "", "", "",
                                          corte)))
    nombre, orden = _CORRECCION_PUBLICADA
    for c in corregida:
        add((microsegundos(c.corte_at), orden, (nombre, fmt(c.corte_at), "", "", "", "", "",
                                                "", detalle_correccion(c))))
    if any(c.previas for c in corregida):
        _previas(evs, corregida)
    evs.sort(key=_by_time)  # stable: ties keep the order above
    return [row for _, _, row in evs]


def _previas(evs: list[_Ev], corregida: Sequence[CorreccionPublicada]) -> None:
    """Add the rows earlier cortes published of a corrected acta that its state no
    longer generates (its earlier validation): once published, a history row stays. A
    CORRECCION_PUBLICADA row is always generated again, from its correction."""
    hay = {row for _, _, row in evs}
    for c in corregida:
        for row in c.previas:
            row = tuple(row)
            if row in hay or not row or row[0] == Evento.CORRECCION_PUBLICADA:
                continue
            hay.add(row)
            evento = _EVENTO_DE_TEXTO.get(row[0])
            orden = _ORDEN[evento] if evento is not None else len(_ORDEN)
            evs.append((_us_local(row[1]), orden, row))


_EVENTO_DE_TEXTO = {e.value: e for e in Evento}


def _us_local(texto: str) -> int:
    """A published time (``dd/mm/YYYY HH:MM:SS``, Mexico City) as microseconds since
    1970, at the end of its second: the events it followed within that second (a
    validation follows the captures it settled) keep their order; 0 when it does not
    read as one (the row then sorts first)."""
    try:
        local = datetime.strptime(texto, "%d/%m/%Y %H:%M:%S").replace(tzinfo=TZ)
    except ValueError:
        return 0
    return microsegundos(local) + 999_999


def _como_se_valido(capturas: Sequence[tuple[Any, ...]], verificada: bool) -> str:
    if verificada:
        return "decidió un verificador"
    if not capturas:
        return "coincidieron dos capturas"
    rondas = [c[1] for c in capturas if not c[0]]
    if rondas and rondas.count(max(rondas)) >= 3:
        return "la tercera captura coincidió con una de las anteriores"
    return "coincidieron dos capturas"


