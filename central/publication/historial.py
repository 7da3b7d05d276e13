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
- cotejos: the two the fold keeps in ``acta_states`` (revision 0015): the cotejo that
  confirmed the published data and the one that opened the last correction round (an
  earlier correction round of the same acta is not kept by the fold, so its cotejo is
  not listed; its captures still are, by round);
- the first corte that published the acta: ``actas_publicadas``, recorded by every
  corte in the same transaction as its ``cortes`` row (:func:`registrar`). It is
  recorded rather than derived from ``cortes.corte_at`` and the validation time
  because those cannot say it exactly: a batch whose transaction began before a
  corte's snapshot and committed after it carries an earlier ``received_at`` yet is
  not in that corte; a re-validation, a *sin acta* corrected into an acopio or a
  catalog change would move it too. Only what a recorded corte actually published
  counts.

Operators and station ids are never read into the history: only the CATD number (the
station's site, ``01``–``33``) or ``CCV``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from prep.corte.historial import (
    SIN_CENTRO,
    CapturaH,
    CotejoH,
    Historial,
    ImagenH,
    Trayectoria,
)
from prep.corte.model import ActaEnCorte

# Every query reads the actas a corte publishes with data, as _STATES in snapshot.py
# does (validated data stays published through a correction round, whatever the estado).
_SITIOS = """
    SELECT s.clave_acta, a.sitio, n.sitio
    FROM acta_states AS s
    LEFT JOIN stations AS a ON a.id = s.acopio_station
    LEFT JOIN stations AS n ON n.id = s.sin_acta_station
    WHERE s.en_catalogo
      AND (s.validada_record IS NOT NULL OR s.estado = 'sin_acta')
      AND (a.sitio IS NOT NULL OR n.sitio IS NOT NULL)
"""
_IMAGENES = """
    SELECT i.clave_acta, i.record_id::text, i.at, st.sitio, i.sha256, i.origen,
           i.digitalizacion, i.replaces IS NOT NULL
    FROM acta_images AS i
    JOIN acta_states AS s ON s.clave_acta = i.clave_acta
    LEFT JOIN stations AS st ON st.id = i.station
    WHERE s.en_catalogo
      AND (s.validada_record IS NOT NULL OR s.estado = 'sin_acta')
    ORDER BY i.clave_acta, i.position
"""
_CAPTURAS = """
    SELECT c.clave_acta, c.kind = 'verificacion', c.ronda, c.slot, c.image_record::text,
           c.at, st.sitio, c.received_at
    FROM acta_captures AS c
    JOIN acta_states AS s ON s.clave_acta = c.clave_acta
    LEFT JOIN stations AS st ON st.id = c.station
    WHERE s.en_catalogo
      AND (s.validada_record IS NOT NULL OR s.estado = 'sin_acta')
    ORDER BY c.clave_acta, c.position
"""
# The cotejos the fold accepted and keeps (revision 0015): the one that confirmed the
# published data, and the one that opened the last correction round with its round.
_COTEJOS = """
    SELECT s.clave_acta, r.at, st.sitio, r.id = s.cotejo_record, r.received_at,
           CASE WHEN r.id = s.correccion_record THEN s.correccion_ronda END
    FROM acta_states AS s
    JOIN records AS r ON r.id IN (s.cotejo_record, s.correccion_record)
    LEFT JOIN stations AS st ON st.id = r.station
    WHERE s.en_catalogo
      AND (s.validada_record IS NOT NULL OR s.estado = 'sin_acta')
      AND (s.cotejo_record IS NOT NULL OR s.correccion_record IS NOT NULL)
    ORDER BY s.clave_acta, r.received_at
"""
# Few rows (one per corte), each with its actas as one text: half a million actas read
# as a few strings instead of half a million rows.
_PUBLICADA_EN = """
    SELECT c.directorio, c.corte_at, string_agg(p.clave_acta, ',')
    FROM actas_publicadas AS p JOIN cortes AS c ON c.id = p.corte_id
    GROUP BY c.id
"""
_REGISTRAR = text("""
    INSERT INTO actas_publicadas (clave_acta, corte_id)
    SELECT unnest(CAST(:claves AS varchar[])), :corte_id
    ON CONFLICT (clave_acta) DO NOTHING
""")


def leer(cur: psycopg.Cursor[Any], estado: Mapping[str, ActaEnCorte],
         verificadas: frozenset[str]) -> Historial:
    """The history of the actas ``estado`` publishes with data, read with ``cur`` inside
    the snapshot's transaction."""
    sitios: dict[str, tuple[str, str]] = {}
    cur.execute(_SITIOS)
    for clave, acopio, sin_acta in cur:
        sitios[clave] = (acopio or SIN_CENTRO, sin_acta or SIN_CENTRO)
    imagenes: dict[str, list[ImagenH]] = {}
    cur.execute(_IMAGENES)
    for clave, record, at, sitio, sha, origen, medio, reemplaza in cur:
        catd = SIN_CENTRO if origen == "CASILLA" or sitio is None else sitio
        imagenes.setdefault(clave, []).append(
            ImagenH(record, at, catd, sha, origen, medio, reemplaza))
    capturas: dict[str, list[CapturaH]] = {}
    cur.execute(_CAPTURAS)
    for clave, verificacion, ronda, slot, imagen, at, sitio, received in cur:
        capturas.setdefault(clave, []).append(
            CapturaH(verificacion, ronda, slot, imagen, at, sitio or SIN_CENTRO, received))
    cotejos: dict[str, list[CotejoH]] = {}
    cur.execute(_COTEJOS)
    for clave, at, sitio, coincide, received, ronda in cur:
        cotejos.setdefault(clave, []).append(
            CotejoH(at, sitio or SIN_CENTRO, bool(coincide), received, ronda))
    cur.execute(_PUBLICADA_EN)
    publicada_en: dict[str, tuple[str, datetime]] = {}
    for directorio, corte_at, claves in cur:
        cuando = (directorio, corte_at)
        publicada_en.update(dict.fromkeys(claves.split(","), cuando))
    actas: dict[str, Trayectoria] = {}
    for clave in estado:
        if not estado[clave].publicada:
            continue
        acopio, sin_acta = sitios.get(clave, (SIN_CENTRO, SIN_CENTRO))
        actas[clave] = Trayectoria(acopio, sin_acta, tuple(imagenes.get(clave, ())),
                                   tuple(capturas.get(clave, ())),
                                   tuple(cotejos.get(clave, ())))
    return Historial(actas, publicada_en, verificadas)


def nuevas(historial: Historial, publicadas: Iterable[str]) -> list[str]:
    """The actas ``publicadas`` (with data in this corte) no earlier corte published."""
    antes = historial.publicada_en
    return [clave for clave in publicadas if clave not in antes]


def registrar(session: Session, claves: list[str], corte_id: int) -> None:
    """Record that corte ``corte_id`` first published ``claves`` (in the transaction
    that records the corte itself)."""
    if claves:
        session.execute(_REGISTRAR, {"claves": claves, "corte_id": corte_id})
