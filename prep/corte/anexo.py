"""The Anexo 18.5 open-data CSV of one election (layout in DOMAIN.md, "Publication").

UTF-8 with BOM, comma-separated, CRLF line ends, fields quoted only when they need it
(OBSERVACIONES such as ``Excede Lista Nominal, Sin dato``); ``-`` where there is no data
yet, ``N/A`` where a field does not apply (an asociación that does not compete in the
casilla's distrito or demarcación, the image fields of a *sin acta*, the traslado of a
paquete that never existed or of a mesa counted at the sede); CLAVE_CASILLA and
CLAVE_ACTA wrapped in single quotes so spreadsheets keep their leading zeros; times as
``dd/mm/YYYY HH:MM:SS`` in America/Mexico_City.

An election decided per demarcación (alcaldías) is many contests: its CSV carries
ID_DEMARCACION and DEMARCACION after the distrito columns, so every row says which
contest it counts for (a distrito may span two alcaldías).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import MutableMapping
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import tzinfo
from sys import intern
from typing import Any
from typing import Protocol
from zoneinfo import ZoneInfo

from prep.catalog.model import TRASLADO_DIRECTO
from prep.catalog.model import UBICACION_NO_APLICA
from prep.catalog.model import Acta
from prep.catalog.model import Ambito
from prep.catalog.model import Casilla
from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.corte.insumos import igual
from prep.corte.model import NINGUNA
from prep.corte.model import ActaEnCorte
from prep.corte.model import FueraDeCatalogo
from prep.corte.simulacro import titulo as marca_simulacro
from prep.corte.summary import RESUMEN_COLUMNS
from prep.corte.summary import Fila
from prep.corte.summary import TablaEleccion
from prep.rules import Base
from prep.rules import CausaSinActa
from prep.values import Captura
from prep.values import format_valor

TZ = ZoneInfo("America/Mexico_City")
SIN_DATO = "-"
NO_APLICA = "N/A"
TIPO_DOCUMENTO = "Acta PREP"

#: Every column of an election CSV's acta rows is declared once, here, with its
#: description in LEEME.txt (prep.corte.leeme lists them from these, in order): a new
#: column lands in one of these lists and its value in :func:`_row` and
#: :func:`_fuera_row`
#: (docs/publicacion.md, «Para quien desarrolla»). The key columns, in order:
COLUMNAS_ANTES: dict[str, str] = {
    "CLAVE_CASILLA": "Entidad (2), sección (4), tipo (1), número (2) y extensión contigua (2), "
                     "entre comillas simples para conservar los ceros a la izquierda.",
    "CLAVE_ACTA": "CLAVE_CASILLA seguida del código de elección (2), entre comillas simples.",
    "ID_ENTIDAD": "Número de la entidad federativa.",
    "ENTIDAD": "Nombre de la entidad federativa.",
    "ID_DISTRITO_LOCAL": "Número del distrito electoral local.",
    "DISTRITO_LOCAL": "Cabecera del distrito electoral local.",
    "SECCION": "Sección electoral; N/A en las mesas de voto anticipado, prisión "
               "preventiva y en el extranjero, que no pertenecen a ninguna sección.",
    "ID_CASILLA": "Número de la casilla.",
    "TIPO_CASILLA": "Tipo de casilla (valores abajo).",
    "EXT_CONTIGUA": "Número de la casilla contigua a una extraordinaria (0 si no aplica).",
    "UBICACION_CASILLA": "Ubicación de la casilla (valores abajo).",
    "TIPO_ACTA": "Formato de acta de la elección que usa ese tipo de casilla (valores "
                 "abajo): las casillas especiales, las de urna electrónica y las mesas de "
                 "voto anticipado y en el extranjero usan otro formato.",
}
#: After DISTRITO_LOCAL in the CSV of an election of ámbito demarcación.
COLUMNAS_DEMARCACION: dict[str, str] = {
    "ID_DEMARCACION": "Solo en las elecciones que se deciden por demarcación (alcaldías): "
                      "número de la demarcación de la casilla, es decir, de la contienda "
                      "en la que cuenta el acta.",
    "DEMARCACION": "Solo en las elecciones que se deciden por demarcación: nombre de la "
                   "demarcación (alcaldía).",
}
#: The captured fields every election has, in the order of
#: ``Eleccion.campos_captura`` (the catalog declares them; each asociación's votes
#: come before NO_REGISTRADAS and are described together: :data:`ASOCIACIONES`).
CAMPOS: dict[str, str] = {
    "TOTAL_BOLETAS_SOBRANTES": "Boletas sobrantes anotadas en el acta (N/A en las mesas de "
                               "voto anticipado, prisión preventiva y en el extranjero, "
                               "cuyos votos llegan en sobres).",
    "TOTAL_PERSONAS_VOTARON": "Personas que votaron, anotadas en el acta.",
    "TOTAL_REP_PARTIDO_CI_VOTARON": "Representantes de partidos y candidaturas independientes "
                                    "que votaron sin estar en la lista nominal (N/A en las "
                                    "mesas, donde no votan representantes).",
    "TOTAL_VOTOS_SACADOS": "Votos sacados de la urna, anotados en el acta.",
    "NO_REGISTRADAS": "Votos por candidaturas no registradas.",
    "NULOS": "Votos nulos.",
    "TOTAL_VOTOS_ASENTADO": "Total de votos anotado en el acta.",
}
#: The asociaciones' vote columns, one line of LEEME.txt for all of them.
ASOCIACIONES: tuple[str, str] = (
    "<asociaciones>", "votos de cada partido, combinación de coalición o candidatura "
                      "independiente, según la elección (ver abajo).")
#: After the captured fields, in order.
COLUMNAS_DESPUES: dict[str, str] = {
    "TOTAL_VOTOS_CALCULADO": "Suma de los votos por asociación, no registradas y nulos "
                             "(Ilegible y Sin dato cuentan 0).",
    "LISTA_NOMINAL": "Personas en la lista nominal de la casilla (0 en casillas especiales; "
                     "en las mesas de voto anticipado y en el extranjero, las personas "
                     "registradas para votar así).",
    "REPRESENTANTES_PP_CI": "Representantes acreditados que pueden votar en la casilla "
                            "(N/A en las mesas).",
    "OBSERVACIONES": "Por qué el acta tiene algo que advertir o no se contabiliza (valores "
                     "abajo); '-' si no tiene.",
    "CONTABILIZADA": "1 si sus votos se suman a los resultados, 0 si no; '-' sin datos aún.",
    "MECANISMOS_TRASLADO": "Cómo llegó el paquete electoral al centro de acopio (códigos "
                           "abajo).",
    "CODIGO_INTEGRIDAD": "SHA-256 de la imagen del acta publicada; cualquiera puede "
                         "recalcularlo con la imagen descargada.",
    "FECHA_HORA_ACOPIO": "Fecha y hora de acopio del acta (dd/mm/aaaa hh:mm:ss, hora del "
                         "centro de México): la recepción del paquete en el CATD o, si "
                         "el acta se publica de la foto del PREP Casilla (ORIGEN "
                         "CASILLA), la hora de esa foto, aunque el paquete llegue "
                         "después (HISTORIAL.csv tiene entonces su ACOPIO aparte).",
    "FECHA_HORA_CAPTURA": "Fecha y hora de la captura con la que se publican los datos.",
    "FECHA_HORA_VERIFICACION": "Fecha y hora en que los datos del acta quedaron validados "
                               "para su publicación: cuando coincidieron dos capturas, o "
                               "cuando el verificador decidió entre capturas distintas.",
    "ORIGEN": "Dónde se digitalizó la imagen publicada (valores abajo).",
    "DIGITALIZACION": "Con qué se digitalizó la imagen publicada (valores abajo).",
    "TIPO_DOCUMENTO": "Documento del que se capturaron los datos (valores abajo).",
    "COTEJADA": "1 si el acta ya se cotejó contra el papel: un cotejo confirmó sus datos, "
                "o encontró una diferencia y la corrección que abrió quedó validada (sus "
                "cifras vienen entonces del acta en papel); 0 si no, también mientras una "
                "corrección está en curso.",
}
COLUMNS_BEFORE: tuple[str, ...] = tuple(COLUMNAS_ANTES)
COLUMNS_DEMARCACION: tuple[str, ...] = tuple(COLUMNAS_DEMARCACION)
#: Sin acta causes for which no paquete reached the CATD: MECANISMOS_TRASLADO is N/A.
SIN_PAQUETE: frozenset[CausaSinActa] = frozenset({CausaSinActa.CASILLA_NO_INSTALADA,
                                                  CausaSinActa.PAQUETE_NO_ENTREGADO})
COLUMNS_AFTER: tuple[str, ...] = tuple(COLUMNAS_DESPUES)
#: The LEEME.txt description of every column an acta row may have but the
#: asociaciones'.
DESCRIPCIONES: dict[str, str] = {**COLUMNAS_ANTES, **COLUMNAS_DEMARCACION, **CAMPOS,
                                 **COLUMNAS_DESPUES}


#: The key columns of an election decided per demarcación (:func:`columns_before`).
COLUMNS_BEFORE_DEMARCACION: tuple[str, ...] = (
    *COLUMNS_BEFORE[:COLUMNS_BEFORE.index("DISTRITO_LOCAL") + 1], *COLUMNS_DEMARCACION,
    *COLUMNS_BEFORE[COLUMNS_BEFORE.index("DISTRITO_LOCAL") + 1:])
#: Every column of an acta row that is not a captured field (an election's
#: ``campos_captura``): the keys, the catalog's data, what the rules decided, the image,
#: the times and the marks. The one list of them: ``diferencias.json`` tells a
#: correction of the captured data by a changed column outside it.
COLUMNS_NO_CAPTURADAS: frozenset[str] = frozenset(
    (*COLUMNS_BEFORE_DEMARCACION, *COLUMNS_AFTER))
#: The lines of an election CSV up to line 7, the acta rows' column names
#: (:func:`columns`); the acta rows follow.
LINEAS_ENCABEZADO = 7


def columns(eleccion: Eleccion) -> tuple[str, ...]:
    """Line 7: the column names of the acta rows of ``eleccion``."""
    return (*columns_before(eleccion), *eleccion.campos_captura, *COLUMNS_AFTER)


def columns_before(eleccion: Eleccion) -> tuple[str, ...]:
    """The key columns of ``eleccion``'s rows, before the captured fields:
    :data:`COLUMNS_BEFORE`, with :data:`COLUMNS_DEMARCACION` after the distrito's two
    when the election is decided per demarcación."""
    return COLUMNS_BEFORE_DEMARCACION if eleccion.ambito is Ambito.DEMARCACION \
        else COLUMNS_BEFORE


def columnas_leeme() -> tuple[tuple[str, str], ...]:
    """Every column an acta row may have, in order, with its description in LEEME.txt:
    an election's :func:`columns` with the demarcación's (only some elections have them)
    and the asociaciones' vote columns as one (:data:`ASOCIACIONES`)."""
    campos = list(CAMPOS.items())
    votos = list(CAMPOS).index("NO_REGISTRADAS")  # Eleccion.campos_voto: asociaciones first
    return (*((c, DESCRIPCIONES[c]) for c in COLUMNS_BEFORE_DEMARCACION),
            *campos[:votos], ASOCIACIONES, *campos[votos:], *COLUMNAS_DESPUES.items())


#: What line 2 adds after the time in the último corte (:func:`linea_corte`).
ULTIMO_CORTE = "ÚLTIMO CORTE"
#: ...and, when that corte's participación divides the votes with casillas especiales.
CON_ESPECIALES = "participación de la entidad con casillas especiales"


def linea_corte(when: datetime, ultimo: bool = False,
                base: Base = Base.SIN_ESPECIALES) -> str:
    """Line 2: the corte's time to the second (:func:`format_corte_time`); in the último
    corte followed by `` — ÚLTIMO CORTE`` and, where its participación counts the
    casillas especiales (``base``), ``(participación de la entidad con casillas
    especiales)``: a downloaded file says which corte it is and what its line 5 means."""
    text = format_corte_time(when)
    if not ultimo:
        return text
    nota = f" ({CON_ESPECIALES})" if base is Base.CON_ESPECIALES else ""
    return f"{text} — {ULTIMO_CORTE}{nota}"


def format_corte_time(when: datetime, tz: tzinfo = TZ) -> str:
    """The corte's time as line 2 and the LEEME give it: ``dd/mm/YYYY HH:MM:SS (UTC-6)``,
    to the second (two cortes of one minute never claim the same time)."""
    local = when.astimezone(tz)
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    label = f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")
    return f"{local:%d/%m/%Y %H:%M:%S} ({label})"


def format_time(when: datetime | None, missing: str = SIN_DATO) -> str:
    """A UTC instant as published: ``dd/mm/YYYY HH:MM:SS`` in America/Mexico_City."""
    if when is None:
        return missing
    if when.tzinfo is None:
        raise ValueError("las fechas del PREP deben llevar zona horaria (UTC)")
    return f"{when.astimezone(TZ):%d/%m/%Y %H:%M:%S}"


class TimeFormatter(Protocol):
    """:func:`format_time` for the ~120,000 times of a corte (:func:`time_formatter`)."""

    def __call__(self, when: datetime | None, missing: str = SIN_DATO) -> str: ...


_SEGUNDOS = tuple(f"{s:02d}" for s in range(60))


def time_formatter() -> TimeFormatter:
    """A :func:`format_time` memoized per minute, for the times of one corte.

    Actas arrive over a few hundred minutes, so the local ``dd/mm/YYYY HH:MM:`` prefix is
    computed once per minute (zone offsets are whole minutes) and the seconds appended.
    A function, not an object with ``__call__``: calling it costs a fifth less.
    """
    prefixes: dict[tuple[object, ...], str] = {}
    get = prefixes.get

    def fmt(when: datetime | None, missing: str = SIN_DATO) -> str:
        if when is None:
            return missing
        # The minute as the datetime holds it (its zone, fields and fold: reading them is
        # several times cheaper than timestamp()); the zone's offset is whole minutes,
        # so the seconds are the same in Mexico City.
        minute = (when.minute, when.hour, when.day, when.month, when.year, when.tzinfo,
                  when.fold)
        prefix = get(minute)
        if prefix is None:
            if when.tzinfo is None:
                raise ValueError("las fechas del PREP deben llevar zona horaria (UTC)")
            prefix = prefixes[minute] = f"{when.astimezone(TZ):%d/%m/%Y %H:%M}:"
        return prefix + _SEGUNDOS[when.second]

    return fmt


#: Each minute's local ``dd/mm/YYYY HH:MM:``, and each second's whole text, for
#: :func:`hora_us`.
_PREFIJOS: dict[int, str] = {}
_TEXTOS: dict[int, str] = {}


def hora_us(us: int, missing: str = SIN_DATO) -> str:
    """:func:`format_time` of a time in microseconds since 1970 (:data:`NINGUNA`:
    ``missing``), as the packed states and trajectories keep them, with no datetime
    made: the local ``dd/mm/YYYY HH:MM:`` of each minute made once (zone offsets are
    whole minutes, so the seconds are the UTC ones), then the seconds appended. Each
    second's text is one string: half a million actas arrive over a night's thirty
    thousand seconds, and their rows are kept while the site is made from them."""
    if us == NINGUNA:
        return missing
    segundos = us // 1_000_000
    texto = _TEXTOS.get(segundos)
    if texto is not None:
        return texto
    if len(_TEXTOS) > 100_000:  # a long-running central's days of seconds
        _TEXTOS.clear()
        _PREFIJOS.clear()
    minuto = segundos // 60
    prefijo = _PREFIJOS.get(minuto)
    if prefijo is None:
        cuando = datetime.fromtimestamp(minuto * 60, UTC).astimezone(TZ)
        prefijo = _PREFIJOS[minuto] = f"{cuando:%d/%m/%Y %H:%M}:"
    texto = _TEXTOS[segundos] = prefijo + _SEGUNDOS[segundos % 60]
    return texto


def write_eleccion_csv(catalog: Catalog, tabla: TablaEleccion, corte: datetime,
                       cache: dict[str, CasillaColumns] | None = None,
                       simulacro: bool = False,
                       memo: MutableMapping[str, Any] | None = None,
                       claves: ClavesCsv | None = None) -> bytes:
    """The whole CSV file of one election for the corte at ``corte`` (UTC).

    ``cache`` keeps each casilla's key columns between the elections of one corte;
    ``simulacro`` stamps line 1 ``SIMULACRO — <elección>`` (:mod:`prep.corte.simulacro`);
    ``memo``: the acta rows of earlier cortes (:func:`acta_textos`), the same bytes;
    ``claves``: with it, the casillas' key columns of the corte's other elections.
    """
    return b"".join(eleccion_csv_partes(catalog, tabla, corte, cache, simulacro, memo,
                                        claves))


def eleccion_csv_partes(catalog: Catalog, tabla: TablaEleccion, corte: datetime,
                        cache: dict[str, CasillaColumns] | None = None,
                        simulacro: bool = False,
                        memo: MutableMapping[str, Any] | None = None,
                        claves: ClavesCsv | None = None) -> Iterator[bytes]:
    """:func:`write_eleccion_csv` in pieces, to be written as they come (a national
    election's CSV is fifty megabytes). Consume it whole. (A running central's corte
    makes them tramo by tramo: :func:`prep.corte.paquete_tramos.eleccion_csv_partes`,
    the same bytes.)"""
    cache = {} if cache is None else cache
    yield encabezado_csv(tabla, corte, simulacro)
    if memo is not None:
        yield "".join(
            acta_lines(catalog, tabla, acta_textos(catalog, tabla, cache, memo), cache,
                       claves)).encode("utf-8")
    else:
        rows = acta_rows(catalog, tabla, cache)
        lines = plain_csv_lines(rows, len(columns(tabla.eleccion)))
        if lines is None:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
            lines = buf.getvalue()
        del rows
        yield lines.encode("utf-8")
        del lines
    yield fuera_csv(catalog, tabla)


def encabezado_csv(tabla: TablaEleccion, corte: datetime, simulacro: bool = False) -> bytes:
    """An election's CSV up to its column names (UTF-8 with its BOM): its title, the
    corte's line, the summary and the header."""
    eleccion = tabla.eleccion
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow((marca_simulacro(eleccion.nombre, simulacro),))
    w.writerow((linea_corte(corte, tabla.ultimo_corte, tabla.resumen.participacion_base),))
    w.writerow(())
    w.writerow(RESUMEN_COLUMNS)
    w.writerow(tabla.resumen.values())
    w.writerow(())
    w.writerow(columns(eleccion))
    return buf.getvalue().encode("utf-8-sig")


def fuera_csv(catalog: Catalog, tabla: TablaEleccion) -> bytes:
    """An election's CSV after its catalog actas: its fuera-de-catálogo rows (UTF-8)."""
    fmt = time_formatter()
    eleccion = tabla.eleccion
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    sin_datos = (SIN_DATO,) * len(eleccion.campos_captura)
    tail_keys = (SIN_DATO,) * (len(columns_before(eleccion)) - 4)
    for fuera in tabla.fuera:
        etiqueta = tabla.etiqueta_fuera if fuera.eleccion else tabla.etiqueta_fuera_sin_eleccion
        w.writerow(_fuera_row(catalog, tail_keys, sin_datos, etiqueta, fuera, fmt))
    return buf.getvalue().encode("utf-8")


def filas_csv(catalog: Catalog, eleccion: Eleccion, filas: Sequence[Fila],
              cache: dict[str, CasillaColumns]) -> list[tuple[str, ...]]:
    """The CSV rows of ``filas`` (some of an election's, :func:`acta_rows` of all)."""
    keys = 2 if eleccion.ambito is Ambito.DEMARCACION else 1
    return [_row(catalog, eleccion, fila, cache, keys) for fila in filas]


def plain_csv_lines(rows: Sequence[Sequence[str]], width: int) -> str | None:
    """``rows`` as :mod:`csv` writes them (CRLF, minimal quoting), each row joined
    directly unless one of its values needs quoting (published values are digits,
    dates, codes and labels; a few OBSERVACIONES hold a comma): several times faster
    than the csv module for a corte's ~40,000 rows. ``None`` when a value is not text
    or a row is not ``width`` wide, or rows have a single value (csv quotes a lone
    empty one): write those with csv."""
    if width < 2:
        return None
    try:
        lines = list(map(",".join, rows))
    except TypeError:  # a value that is not text
        return None
    if set(map(len, rows)) - {width}:
        return None
    n = len(lines)
    lines.append("")  # the last line's end
    text = "\r\n".join(lines)
    if text.count(",") == (width - 1) * n and '"' not in text \
            and text.count("\r") == n and text.count("\n") == n:
        return text
    del text
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for i, line in enumerate(lines[:n]):
        if line.count(",") != width - 1 or '"' in line or "\r" in line or "\n" in line:
            buf.seek(0)
            buf.truncate()
            writer.writerow(rows[i])
            lines[i] = buf.getvalue()[:-2]
    return "\r\n".join(lines)


#: A casilla's own columns (:func:`_casilla_cols`).
CasillaColumns = tuple[str, tuple[str, ...], tuple[str, ...], str, str, str]


def acta_rows(catalog: Catalog, tabla: TablaEleccion,
              cache: dict[str, CasillaColumns] | None = None) -> list[tuple[str, ...]]:
    """The CSV row of every acta of ``tabla`` (``tabla.filas`` order), computed once per
    table: the CSV and the public site publish the very same rows."""
    rows: list[tuple[str, ...]] | None = tabla.derived.get("acta_rows")
    if rows is None:
        cache = {} if cache is None else cache
        keys = 2 if tabla.eleccion.ambito is Ambito.DEMARCACION else 1
        rows = [_row(catalog, tabla.eleccion, fila, cache, keys) for fila in tabla.filas]
        tabla.derived["acta_rows"] = rows
    return rows


#: Joins the values of an acta's row after its key columns in its memo text
#: (:func:`acta_textos`); a row with a value holding it is not kept as text.
SEP = "\x1f"
#: A value of a row text that csv quotes (a comma, a quote mark, a line break).
_CSV_ESPECIAL = re.compile(r'[,"\r\n]')
#: Stands for the acta's CODIGO_INTEGRIDAD in the memo's row texts (a control
#: character: no text holds one).
IMAGEN_PUBLICADA = "\x1e"
#: A row text whose values go between JSON quotes as they are (SEP aside).
_TEXTO_JSON = re.compile(r'[^"\\\x00-\x1e]*')


def acta_textos(catalog: Catalog, tabla: TablaEleccion,
                cache: dict[str, CasillaColumns] | None = None,
                memo: MutableMapping[str, Any] | None = None) -> list[str | tuple[str, ...]]:
    """Per acta of ``tabla`` (``tabla.filas`` order) its CSV row after the key columns
    (the captured values to COTEJADA) as one text, the values joined by :data:`SEP`
    (the whole row, a tuple, when a value holds it or anything JSON escapes: a quote
    mark, a backslash, a control character); computed once per table (the CSV and the
    site publish the very same rows).

    ``memo`` (by CLAVE_ACTA, filled under the same catalog object and rules; shared
    with :func:`prep.corte.summary.tabulate`): each acta's text of earlier cortes,
    reused where the acta's state is the same object and the rules said the same of
    it; a row is a function of those and the catalog alone. One text per acta, kept by
    a running central between its cortes (≈230 bytes at Ciudad de México scale)."""
    textos: list[str | tuple[str, ...]] | None = tabla.derived.get("acta_textos")
    if textos is not None:
        return textos
    cache = {} if cache is None else cache
    eleccion = tabla.eleccion
    keys = 2 if eleccion.ambito is Ambito.DEMARCACION else 1
    n = len(columns_before(eleccion))  # to TIPO_ACTA
    separadores = len(columns(eleccion)) - n - 1
    textos = []
    memo_: MutableMapping[str, Any] = {} if memo is None else memo
    for fila in tabla.filas:
        est, res = fila.estado, fila.resultado
        clave = fila.acta.clave
        hecho = memo_.get(clave)
        sha256 = None if est is None else est.sha256
        if hecho is not None and igual(hecho[0], est) and hecho[2] is not None \
                and igual(hecho[1], res):
            textos.append(hecho[2] if sha256 is None
                          else hecho[2].replace(IMAGEN_PUBLICADA, sha256))
            continue
        row = _row(catalog, eleccion, fila, cache, keys)
        texto = SEP.join(row[n:])
        if texto.count(SEP) != separadores or not _TEXTO_JSON.fullmatch(texto):
            textos.append(row)
            if memo is not None:
                memo.pop(clave, None)
            continue
        textos.append(texto)
        if memo is not None:  # the image's SHA-256 is in the state: not kept twice
            memo[clave] = (est, res, texto if sha256 is None
                           else texto.replace(sha256, IMAGEN_PUBLICADA))
    tabla.derived["acta_textos"] = textos
    return textos


def key_values(catalog: Catalog, tabla: TablaEleccion, fila: Fila,
               cache: dict[str, CasillaColumns]) -> tuple[str, ...]:
    """The key columns of ``fila``'s CSV row (CLAVE_CASILLA to TIPO_ACTA)."""
    acta = fila.acta
    clave_casilla, sin_dem, con_dem, *_ = (
        cache.get(acta.casilla.clave) or _casilla_cols(catalog, acta.casilla, cache))
    ubicacion = con_dem if tabla.eleccion.ambito is Ambito.DEMARCACION else sin_dem
    return (clave_casilla, f"'{acta.clave}'", *ubicacion, acta.tipo_acta)


def full_row(catalog: Catalog, tabla: TablaEleccion, fila: Fila, texto: str | tuple[str, ...],
             cache: dict[str, CasillaColumns]) -> tuple[str, ...]:
    """The CSV row of ``fila`` from its :func:`acta_textos` entry."""
    if isinstance(texto, tuple):
        return texto
    return (*key_values(catalog, tabla, fila, cache), *texto.split(SEP))


#: casilla and whether with the demarcación's columns → (quoted CLAVE_CASILLA, its key
#: columns after CLAVE_ACTA joined by commas), or None when csv quotes one of them.
ClavesCsv = dict[tuple[str, bool], tuple[str, str] | None]


def acta_lines(catalog: Catalog, tabla: TablaEleccion, textos: Sequence[str | tuple[str, ...]],
               cache: dict[str, CasillaColumns], claves: ClavesCsv | None = None,
               ) -> Iterator[str]:
    """The CSV lines (CRLF) of ``tabla``'s actas from their :func:`acta_textos`: what
    :func:`plain_csv_lines` (or :mod:`csv`) writes of :func:`acta_rows`. ``claves``:
    the casillas' key columns as text, kept between the elections of one corte."""
    demarcacion = tabla.eleccion.ambito is Ambito.DEMARCACION
    claves = {} if claves is None else claves
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for fila, texto in zip(tabla.filas, textos, strict=True):
        acta = fila.acta
        if isinstance(texto, str) and not _CSV_ESPECIAL.search(texto):
            casilla = acta.casilla
            ubicacion = claves.get((casilla.clave, demarcacion), _FALTA)
            if ubicacion is _FALTA:
                cols = cache.get(casilla.clave) or _casilla_cols(catalog, casilla, cache)
                valores = cols[2] if demarcacion else cols[1]
                ubicacion = claves[(casilla.clave, demarcacion)] = None \
                    if _CSV_ESPECIAL.search("".join((cols[0], *valores))) \
                    else (cols[0], ",".join(valores))
            if ubicacion is not None and not _CSV_ESPECIAL.search(acta.clave) \
                    and not _CSV_ESPECIAL.search(acta.tipo_acta):
                yield (f"{ubicacion[0]},'{acta.clave}',{ubicacion[1]},{acta.tipo_acta},"
                       f"{texto.replace(SEP, ',')}\r\n")
                continue
        buf.seek(0)
        buf.truncate()
        writer.writerow(full_row(catalog, tabla, fila, texto, cache))
        yield buf.getvalue()


_FALTA = ("", "")  # not looked up yet


def casilla_columns(catalog: Catalog, casilla: Casilla,
                    cache: dict[str, CasillaColumns]) -> CasillaColumns:
    """The casilla's own columns (kept in ``cache``), as its acta rows carry them:
    (quoted CLAVE_CASILLA, ID_ENTIDAD…UBICACION_CASILLA, the same with ID_DEMARCACION
    and DEMARCACION, LISTA_NOMINAL, REPRESENTANTES, default MECANISMOS_TRASLADO)."""
    return cache.get(casilla.clave) or _casilla_cols(catalog, casilla, cache)


def _casilla_cols(catalog: Catalog, casilla: Casilla,
                  cache: dict[str, CasillaColumns]) -> CasillaColumns:
    """The casilla's own columns, shared by its actas of every election: (quoted
    CLAVE_CASILLA, ID_ENTIDAD…UBICACION_CASILLA, the same with ID_DEMARCACION and
    DEMARCACION after the distrito's, LISTA_NOMINAL, REPRESENTANTES, the default
    MECANISMOS_TRASLADO or N/A where it does not apply)."""
    cols = cache.get(casilla.clave)
    if cols is None:
        # f-strings, not str(): the same text for these ints, without a call each;
        # interned: a national corte keeps 171,000 casillas' columns, and these few
        # values (a distrito's number, a sección's…) were one string each, 74 MB.
        entidad_id, entidad = intern(f"{casilla.entidad_id}"), catalog.entidad
        distrito_id = intern(f"{casilla.distrito_id}")
        cabecera = catalog.distrito_por_id[casilla.distrito_id].cabecera
        # A mesa (voto anticipado, prisión preventiva, extranjero) is in no sección and
        # no representantes vote in it: N/A (its distrito stays: the CATD that counts it).
        seccion = NO_APLICA if casilla.mesa else intern(f"{casilla.seccion}")
        tipo = casilla.tipo
        id_casilla = intern(f"{casilla.id_casilla}")
        ext_contigua = intern(f"{casilla.ext_contigua}")
        ubicacion = NO_APLICA if casilla.ubicacion == UBICACION_NO_APLICA \
            else intern(f"{casilla.ubicacion}")
        demarcacion = catalog.demarcacion_por_id[casilla.demarcacion_id]
        cols = (f"'{casilla.clave}'",
                (entidad_id, entidad, distrito_id, cabecera, seccion, id_casilla, tipo,
                 ext_contigua, ubicacion),
                (entidad_id, entidad, distrito_id, cabecera, intern(f"{demarcacion.id}"),
                 demarcacion.nombre, seccion, id_casilla, tipo, ext_contigua, ubicacion),
                intern(f"{casilla.lista_nominal}"),
                NO_APLICA if casilla.mesa else intern(f"{casilla.representantes}"),
                traslado_publicado(casilla.traslado) if casilla.traslado else NO_APLICA)
        cache[casilla.clave] = cols
    return cols


def traslado_publicado(codigo: str) -> str:
    """MECANISMOS_TRASLADO as published: Anexo 18.5's codes (``F``, ``I``, ``D``) as they
    are; the institute's own ``E`` (:data:`TRASLADO_DIRECTO`: the paquete came straight
    to the sede, no mechanism) as ``N/A``, since INE's domain has no code for it (its
    files leave the cell empty, which here would read as no data)."""
    return NO_APLICA if codigo == TRASLADO_DIRECTO else codigo


def _row(catalog: Catalog, eleccion: Eleccion, fila: Fila, cache: dict[str, CasillaColumns],
         keys: int = 1) -> tuple[str, ...]:
    """One acta's row; ``keys`` picks the casilla's key columns: 1 without, 2 with the
    demarcación's."""
    acta = fila.acta
    casilla = acta.casilla
    cols = cache.get(casilla.clave) or _casilla_cols(catalog, casilla, cache)
    est: ActaEnCorte | None = fila.estado
    res = fila.resultado
    if res is not None and est is not None and (captura := est.captura) is not None:
        # A captured acta, nearly every row: built in one go. ORIGEN and DIGITALIZACION
        # as plain text, not their enums: a row of plain texts is one the garbage
        # collector stops tracking, and a corte keeps ~40,000 rows.
        layout = acta.layout
        origen, digitalizacion = est.origen, est.digitalizacion
        acopio, capturada, verificada = est.horas_us
        return (cols[0], f"'{acta.clave}'", *(cols[1] if keys == 1 else cols[2]),
                acta.tipo_acta,
                *(layout.columnas([*map(format_valor, captura.valores), NO_APLICA])
                  if captura.campos is layout.campos else _valores(acta, captura)),
                str(res.total_calculado), cols[3], cols[4],
                res.observaciones or SIN_DATO, "1" if res.contabilizada else "0",
                # '-' for a PREP Casilla photo captured before its paquete reached the
                # CATD (the snapshot's traslado: no traslado happened yet).
                traslado_publicado(est.traslado) if est.traslado else cols[5],
                est.sha256 or SIN_DATO, hora_us(acopio),
                hora_us(capturada), hora_us(verificada, NO_APLICA),
                str(origen) if origen else SIN_DATO,
                str(digitalizacion) if digitalizacion else SIN_DATO,
                est.tipo_documento or TIPO_DOCUMENTO, "1" if est.cotejada else "0")
    # traslado: the catalog's default, N/A where none applies
    clave_casilla, sin_dem, con_dem, ln, rep, traslado = cols
    ubicacion = sin_dem if keys == 1 else con_dem
    clave_acta, tipo_acta = f"'{acta.clave}'", acta.tipo_acta
    if res is None or est is None:
        acopio = NINGUNA if est is None else est.horas_us[0]
        if est is None or acopio == NINGUNA:
            traslado = SIN_DATO  # the paquete has not arrived
        elif est.traslado:
            traslado = traslado_publicado(est.traslado)
        return (clave_casilla, clave_acta, *ubicacion, tipo_acta, *_sin_valores(acta),
                SIN_DATO, ln, rep,
                SIN_DATO, SIN_DATO, traslado, SIN_DATO, hora_us(acopio),
                SIN_DATO, SIN_DATO, SIN_DATO, SIN_DATO, SIN_DATO, SIN_DATO)
    # sin acta: there is no document, image nor capture
    if est.causa_sin_acta in SIN_PAQUETE:
        traslado = NO_APLICA  # no paquete travelled
    elif est.traslado:
        traslado = traslado_publicado(est.traslado)
    return (clave_casilla, clave_acta, *ubicacion, tipo_acta, *_sin_valores(acta),
            SIN_DATO, ln, rep,
            res.observaciones, "0", traslado, NO_APLICA, hora_us(est.horas_us[0]),
            NO_APLICA, NO_APLICA, NO_APLICA, NO_APLICA, NO_APLICA, "0")


def _valores(acta: Acta, captura: Captura) -> tuple[str, ...]:
    """The captured values in column order, ``N/A`` where a field does not apply."""
    layout = acta.layout
    if captura.campos is layout.campos or captura.campos == layout.campos:
        return layout.columnas([*map(format_valor, captura.valores), NO_APLICA])
    by_name = dict(zip(captura.campos, captura.valores, strict=True))
    return tuple(NO_APLICA if (v := by_name.get(c)) is None else format_valor(v)
                 for c in acta.eleccion.campos_captura)


def _sin_valores(acta: Acta) -> tuple[str, ...]:
    """The value columns of an acta with no captured data: ``-``, or ``N/A`` where the
    field does not apply."""
    return acta.layout.columnas([*(SIN_DATO,) * len(acta.layout.campos), NO_APLICA])


#: A code as read that the CSV can carry as it is (acopio accepts only acta codes).
_CODIGO_PUBLICABLE = re.compile(r"[0-9A-Za-z]{1,32}")


def es_fuera(fila: Mapping[str, str]) -> bool:
    """Whether a parsed CSV row is a fuera-de-catálogo one: no casilla of the catalog
    (CLAVE_CASILLA ``-``); its CLAVE_ACTA is the code as read."""
    return fila.get("CLAVE_CASILLA", SIN_DATO) == SIN_DATO


def _fuera_row(catalog: Catalog, keys: tuple[str, ...], sin_datos: tuple[str, ...],
               etiqueta: str, fuera: FueraDeCatalogo, fmt: TimeFormatter) -> tuple[str, ...]:
    """A fuera-de-catálogo row: what was read (the code as read in CLAVE_ACTA, the
    entidad when the code names this one, where it was registered and when; its
    election is the file's, or «Elección no identificada» in OBSERVACIONES), ``-`` for
    what is not known; CLAVE_CASILLA ``-``: no casilla of the catalog."""
    codigo = fuera.codigo_leido
    leido = f"'{codigo}'" if _CODIGO_PUBLICABLE.fullmatch(codigo) else SIN_DATO
    entidad = (f"{catalog.entidad_id}", catalog.entidad) \
        if codigo[:2] == f"{catalog.entidad_id:02d}" else (SIN_DATO, SIN_DATO)
    return (SIN_DATO, leido, *entidad, *keys, *sin_datos, SIN_DATO, SIN_DATO, SIN_DATO,
            etiqueta, "0", SIN_DATO, SIN_DATO, fmt(fuera.acopio), SIN_DATO, SIN_DATO,
            fuera.origen or SIN_DATO, SIN_DATO, SIN_DATO, SIN_DATO)
