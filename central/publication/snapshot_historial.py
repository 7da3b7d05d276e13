"""The public history of every published acta, read in the corte's snapshot (issue 29).

Read in the same REPEATABLE READ transaction as the rest of the corte
(:func:`leer`, called by :func:`central.publication.snapshot.read_snapshot`), so the
history is exactly the CSV's: the same fold, at the same instant.

Where each event comes from (only what the fold accepted: quarantined records never
reach its tables, and records it ignored, such as a second acopio or a capture nobody
asked for, are not in them either):

- acopio / sin acta: ``acta_states`` (the acopio the CSV publishes) and the CATD of its
  station;
- images: ``acta_images`` (every image the fold kept, in arrival order);
- captures and verifications: ``acta_captures`` (the ones that counted, with their round);
- cotejos: every cotejo the fold accepted (``acta_states.cotejos``, revision 0021), with
  the correction round each difference opened;
- the first corte that published the acta: ``actas_publicadas``, recorded by every
  corte in the same transaction as its ``cortes`` row (:func:`registrar`). It is
  recorded rather than derived from ``cortes.corte_at`` and the validation time
  because those cannot say it exactly: a batch whose transaction began before a
  corte's snapshot and committed after it carries an earlier ``received_at`` yet is
  not in that corte; a re-validation, a *sin acta* corrected into an acopio or a
  catalog change would move it too. Only what a recorded corte actually published
  counts.
- every correction a corte published (the cotejo, its fields and reason, the corte):
  ``correcciones_publicadas`` (revision 0025), recorded the same way
  (:func:`registrar_correcciones`); the corte being made publishes the corrections no
  corte recorded yet (the snapshot's ``pendientes``).

Operators and station ids are never read into the history: only the CATD number (the
station's site, ``01``–``33``) or ``CCV``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from central.publication.prefetch import Prefetch
from prep.corte.historial import CorreccionPublicada
from prep.corte.historial import Historial
from prep.corte.historial import Pendiente
from prep.corte.model import NINGUNA
from prep.corte.model import ActaEnCorte
from prep.corte.trayectoria import SIN_CENTRO
from prep.corte.trayectoria import Guardada
from prep.corte.trayectoria import empacar

K = TypeVar("K")
V = TypeVar("V")

# Every query reads the actas a corte publishes with data, as _STATES in snapshot.py
# does (validated data stays published through a correction round, whatever the estado).
_SITIOS = """
    SELECT s.clave_acta, a.sitio, n.sitio, {s_acopio_at}
    FROM acta_states AS s
    LEFT JOIN stations AS a ON a.id = s.acopio_station
    LEFT JOIN stations AS n ON n.id = s.sin_acta_station
    WHERE s.en_catalogo
      AND (s.validada_record IS NOT NULL OR s.estado = 'sin_acta')
      AND (a.sitio IS NOT NULL OR n.sitio IS NOT NULL){solo}
"""
# An image is named by its position among the acta's images (how the captures below
# name theirs too): a small number instead of a record UUID per image and capture.
# Times are read as whole microseconds since 1970 (:func:`en_microsegundos`): the trajectories keep
# them so (prep.corte.trayectoria.empacar), and half a million actas' datetimes are
# neither made nor kept.
_IMAGENES = """
    SELECT i.clave_acta, i.position, {i_at}, st.sitio, i.sha256, i.origen,
           i.digitalizacion, i.replaces IS NOT NULL
    FROM acta_images AS i
    JOIN acta_states AS s ON s.clave_acta = i.clave_acta
    LEFT JOIN stations AS st ON st.id = i.station
    WHERE s.en_catalogo
      AND (s.validada_record IS NOT NULL OR s.estado = 'sin_acta'){solo}
    ORDER BY i.clave_acta, i.position
"""
_CAPTURAS = """
    SELECT c.clave_acta, c.kind = 'verificacion', c.ronda, c.slot, ci.position,
           {c_at}, st.sitio, {c_received_at}
    FROM acta_captures AS c
    JOIN acta_states AS s ON s.clave_acta = c.clave_acta
    LEFT JOIN acta_images AS ci ON ci.record_id = c.image_record
                               AND ci.clave_acta = c.clave_acta
    LEFT JOIN stations AS st ON st.id = c.station
    WHERE s.en_catalogo
      AND (s.validada_record IS NOT NULL OR s.estado = 'sin_acta'){solo}
    ORDER BY c.clave_acta, c.position
"""
# Every cotejo the fold accepted (revision 0021): confirmations (no round) and the ones
# that opened a correction round, with that round.
_COTEJOS = """
    SELECT s.clave_acta, {r_at}, st.sitio, c->1 = 'null', {r_received_at},
           CAST(c->>1 AS integer)
    FROM acta_states AS s
    CROSS JOIN LATERAL jsonb_array_elements(s.cotejos) AS c
    JOIN records AS r ON r.id = CAST(c->>0 AS uuid)
    LEFT JOIN stations AS st ON st.id = r.station
    WHERE s.en_catalogo
      AND (s.validada_record IS NOT NULL OR s.estado = 'sin_acta')
      AND s.cotejos <> '[]'{solo}
    ORDER BY s.clave_acta, r.received_at
"""
# Every correction a corte published (few: a share of the actas cotejadas), read whole
# each corte, in the order they were published.
_CORRECCIONES = """
    SELECT p.clave_acta, c.directorio, c.corte_at, CAST(p.cotejo_record AS text),
           CAST(p.campos AS text), p.motivo, CAST(p.cambios AS text),
           CAST(p.previas AS text)
    FROM correcciones_publicadas AS p JOIN cortes AS c ON c.id = p.corte_id
    ORDER BY c.id, p.clave_acta
"""
# Few rows (one per corte), each with its actas as one text: half a million actas read
# as a few strings instead of half a million rows.
_PUBLICADA_EN = """
    SELECT c.directorio, c.corte_at, string_agg(p.clave_acta, ',')
    FROM actas_publicadas AS p JOIN cortes AS c ON c.id = p.corte_id{desde}
    GROUP BY c.id
"""
#: Only the cortes after the ``ultimo_corte`` parameter (an id): ``actas_publicadas`` is
#: append-only and each corte writes its rows with its own ``cortes`` row, under the
#: corte lock, so a snapshot taken under that lock that saw cortes up to an id has seen
#: every row of theirs, and no later row belongs to them.
DESDE = " WHERE c.id > %(ultimo_corte)s"
#: Only the actas a corte reads again (the ones that changed since the previous corte
#: of a running central, :mod:`central.publication.memo_corte`), given as ``claves``
#: (:func:`arreglo`).
SOLO = " AND s.clave_acta = ANY(CAST(%(claves)s AS text[]))"


def arreglo(textos: Iterable[str]) -> str:
    """``textos`` as one PostgreSQL array literal (each element quoted and escaped), the
    parameter of :data:`SOLO` and of the first publications' record: psycopg dumps a
    list of ten thousand strings item by item in Python (measured: about half a second
    of each national corte, with the GIL held)."""
    return "{" + ",".join('"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for t in textos) + "}"


def las_mismas(claves: list[str], por_clave: Mapping[str, Any]) -> list[str]:
    """``claves`` (split from a text PostgreSQL gave) as the strings ``por_clave``'s
    objects hold (their ``clave``: the catalog's), where it has them: a running central
    keeps half a million of these keys, and a second copy of each for nothing."""
    return [clave if objeto is None else objeto.clave
            for clave, objeto in zip(claves, map(por_clave.get, claves), strict=True)]


def copia(tabla: Mapping[K, V]) -> dict[K, V]:
    """A new dict of ``tabla``: a dict's own table copied whole (a few milliseconds for
    the half a million actas a running central carries from one snapshot to the next),
    where ``dict(tabla)`` or ``update()`` inserts each key again (eight times as long,
    measured)."""
    return tabla.copy() if isinstance(tabla, dict) else dict(tabla)


def en_microsegundos(columna: str) -> str:
    """A timestamptz column as whole microseconds since 1970 (exact: EXTRACT gives a
    numeric since PostgreSQL 14, and before it a double within 0.3 µs, rounded)."""
    return f"CAST(EXTRACT(EPOCH FROM {columna}) * 1000000 AS bigint)"


_TIEMPOS = {f"{t}_{c}": en_microsegundos(f"{t}.{c}") for t, c in (
    ("i", "at"), ("c", "at"), ("c", "received_at"), ("r", "at"), ("r", "received_at"),
    ("s", "acopio_at"))}


def consultas(solo: str = "", desde: str = "") -> tuple[tuple[str, str], ...]:
    """The queries :func:`leer` reads, in its order (run ahead by the snapshot's
    :class:`~central.publication.prefetch.Prefetch`): of every acta, or with
    :data:`SOLO` only of the actas given as the ``claves`` parameter."""
    return (("sitios", _SITIOS.format(solo=solo, **_TIEMPOS)),
            ("imagenes", _IMAGENES.format(solo=solo, **_TIEMPOS)),
            ("capturas", _CAPTURAS.format(solo=solo, **_TIEMPOS)),
            ("cotejos", _COTEJOS.format(solo=solo, **_TIEMPOS)),
            ("publicada_en", _PUBLICADA_EN.format(desde=desde)),
            ("correcciones", _CORRECCIONES))


CONSULTAS = consultas()
_REGISTRAR = text("""
    INSERT INTO actas_publicadas (clave_acta, corte_id)
    SELECT unnest(CAST(:claves AS varchar[])), :corte_id
    ON CONFLICT (clave_acta) DO NOTHING
""")
_REGISTRAR_CORRECCION = text("""
    INSERT INTO correcciones_publicadas (clave_acta, cotejo_record, corte_id, campos, motivo,
                                         cambios, previas)
    VALUES (:clave, CAST(:cotejo AS uuid), :corte_id, CAST(:campos AS jsonb), :motivo,
            CAST(:cambios AS jsonb), CAST(:previas AS jsonb))
    ON CONFLICT (clave_acta, cotejo_record) DO NOTHING
""")


def leer(filas: Prefetch, estado: Mapping[str, ActaEnCorte],
         verificadas: frozenset[str], claves: Collection[str] | None = None,
         previas: Mapping[str, Guardada] | None = None,
         publicadas_previas: Mapping[str, tuple[str, datetime]] | None = None) -> Historial:
    """The history of the actas ``estado`` publishes with data, read from ``filas``
    (:func:`consultas`, run in the snapshot's transaction).

    ``claves``: read only these actas' history (``consultas(SOLO)``); every other acta
    keeps its trajectory in ``previas`` (the previous corte's, the very same objects).
    ``publicadas_previas``: the first publications a previous snapshot read, to which
    the rows read are added (``consultas(desde=DESDE)``: the cortes recorded since)."""
    # Half a million actas read a few million of these values: each distinct text (a
    # CATD, an origin, a medium) is made once, and the rows are fetched in batches
    # (iterating a cursor row by row costs more than building the rows).
    texto: dict[Any, Any] = {SIN_CENTRO: SIN_CENTRO, None: SIN_CENTRO}
    leidas = list(estado) if claves is None else [c for c in claves if c in estado]
    una = texto.setdefault
    sitios: dict[str, tuple[str, str, int]] = {}
    for clave, acopio, sin_acta, acopio_at in filas.rows("sitios"):
        sitios[clave] = (una(acopio, acopio), una(sin_acta, sin_acta),
                         NINGUNA if acopio_at is None else acopio_at)
    # Each trajectory's fields as prep.corte.trayectoria.empacar takes them.
    imagenes: dict[str, list[tuple[Any, ...]]] = {}
    for clave, posicion, at, sitio, sha, origen, medio, reemplaza in filas.rows("imagenes"):
        catd = SIN_CENTRO if origen == "CASILLA" or sitio is None else una(sitio, sitio)
        imagenes.setdefault(clave, []).append((
            una(posicion, str(posicion)), at, catd, bytes.fromhex(sha), una(origen, origen),
            una(medio, medio), reemplaza))
    capturas: dict[str, list[tuple[Any, ...]]] = {}
    for clave, verificacion, ronda, slot, imagen, at, sitio, received in filas.rows(
            "capturas"):
        capturas.setdefault(clave, []).append((
            verificacion, ronda, slot, None if imagen is None else una(imagen, str(imagen)),
            at, una(sitio, sitio), received))
    cotejos: dict[str, list[tuple[Any, ...]]] = {}
    for clave, at, sitio, coincide, received, ronda in filas.rows("cotejos"):
        cotejos.setdefault(clave, []).append(
            (at, una(sitio, sitio), bool(coincide), received, ronda))
    publicada_en = copia(publicadas_previas or {})
    for directorio, corte_at, publicadas in filas.rows("publicada_en"):
        cuando = (directorio, corte_at)
        # Keyed by the states' own strings: over a night every acta is first published
        # once.
        publicada_en.update(dict.fromkeys(las_mismas(publicadas.split(","), estado), cuando))
    correcciones: dict[str, tuple[CorreccionPublicada, ...]] = {}
    for clave, directorio, corte_at, cotejo, campos, motivo, cambios_json, previas_json \
            in filas.rows("correcciones"):
        est = estado.get(clave)
        clave = clave if est is None else est.clave
        correcciones[clave] = (*correcciones.get(clave, ()), CorreccionPublicada(
            directorio, corte_at, cotejo, tuple(str(c) for c in json.loads(campos)), motivo,
            tuple((str(c), str(a), str(d)) for c, a, d in json.loads(cambios_json or "[]")),
            tuple(tuple(str(v) for v in r) for r in json.loads(previas_json or "[]"))))
    actas: dict[str, Guardada] = {}
    if claves is not None and previas is not None:
        actas = copia(previas)
        for clave in claves:
            actas.pop(clave, None)
    vacia: list[tuple[Any, ...]] = []
    for clave in leidas:
        est = estado[clave]
        if not est.publicada:
            continue
        acopio, sin_acta, acopio_at = sitios.get(clave, (SIN_CENTRO, SIN_CENTRO, NINGUNA))
        actas[clave] = empacar(acopio, sin_acta, imagenes.pop(clave, vacia),
                               capturas.pop(clave, vacia), cotejos.pop(clave, vacia),
                               acopio_at)
    return Historial(actas, publicada_en, verificadas, correcciones)


def nuevas(historial: Historial, estado: Mapping[str, ActaEnCorte],
           candidatas: Iterable[str] | None = None) -> list[str]:
    """The actas of ``estado`` with published data that no earlier corte published, in
    order (the set difference first: of half a million actas, few are not recorded).

    ``candidatas``: only these can be (a snapshot read from a previous one: the actas it
    read again and the previous one's new actas; every other acta is as it was then, so
    already recorded or already among those). Half a million lookups fewer per corte."""
    antes = historial.publicada_en
    if candidatas is None:
        return sorted(c for c in estado.keys() - antes.keys() if estado[c].publicada)
    return sorted({c for c in candidatas
                   if c not in antes and (est := estado.get(c)) is not None and est.publicada})


def pendientes(historial: Historial, corregidas: Mapping[str, Any]
               ) -> dict[str, Pendiente]:
    """Of ``corregidas`` (per acta, the correction its published data comes from:
    ``cotejo``, ``campos``, ``motivo``), the ones no corte recorded yet: the corte being
    made publishes them."""
    hechas = historial.correcciones
    return {clave: (c.cotejo, tuple(c.campos), c.motivo, (), ())
            for clave, c in sorted(corregidas.items())
            if all(p.cotejo != c.cotejo for p in hechas.get(clave, ()))}


def registrar_correcciones(session: Session, historial: Historial, corte_id: int) -> None:
    """Record that corte ``corte_id`` published the corrections of ``historial`` no
    corte had published (its ``pendientes``; in the transaction that records the corte
    itself)."""
    filas = [{"clave": clave, "cotejo": cotejo, "corte_id": corte_id,
              "campos": json.dumps(list(campos), ensure_ascii=False), "motivo": motivo,
              "cambios": json.dumps([list(c) for c in cambios], ensure_ascii=False),
              "previas": json.dumps([list(r) for r in previas], ensure_ascii=False)}
             for clave, (cotejo, campos, motivo, cambios, previas)
             in historial.pendientes.items()]
    if filas:
        session.execute(_REGISTRAR_CORRECCION, filas)


def registrar(session: Session, claves: list[str], corte_id: int) -> None:
    """Record that corte ``corte_id`` first published ``claves`` (in the transaction
    that records the corte itself)."""
    if claves:
        session.execute(_REGISTRAR, {"claves": arreglo(claves), "corte_id": corte_id})
