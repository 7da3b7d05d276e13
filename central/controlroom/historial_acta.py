"""One acta's history for the coordinators, with who did each step (issue 29).

The public history (HISTORIAL.csv, the site's timeline:
:mod:`central.publication.snapshot_historial`) names only the CATD of each step; «a
coordinator sees them in the dashboard». This is that history read for one CLAVE_ACTA,
with the station id and the operator's account and name added. It reads only what
``prep_lectura`` may read, in one REPEATABLE READ, READ ONLY transaction (the same
instant for every step):

- acopio / sin acta: ``acta_states`` (the acopio the fold kept: a second acopio is an
  anomaly, not a step; a *sin acta* keeps no operator column, so it shows none);
- images: ``acta_images``; captures and verifications: ``acta_captures`` (the ones that
  counted, with their round and slot);
- cotejos: ``acta_states.cotejos`` (every cotejo the fold accepted). Their station and
  operator come from ``acta_states`` for the last confirming cotejo and the last one
  that opened a correction, and otherwise from the cotejo lease the record completed
  (``leases.record_id``): the dashboard's role never reads ``records``;
- the corte that first published the acta: ``actas_publicadas`` with ``cortes``; each
  correction a corte published: ``correcciones_publicadas`` with ``cortes``.

Qt-free: :mod:`dashboard.historial` shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from prep.records import CLAVE_ACTA

#: Longer input is not echoed whole in a message.
_ECO = 20


class ClaveInvalida(ValueError):
    """The text typed is not a CLAVE_ACTA (its message is the coordinator's)."""


def validar_clave(texto: str) -> str:
    """``texto`` as a CLAVE_ACTA (spaces around it dropped, letters upper-cased), or
    :class:`ClaveInvalida` saying why not."""
    clave = texto.strip().upper()
    if not clave:
        raise ClaveInvalida("Escriba la clave del acta (CLAVE_ACTA), por ejemplo "
                            "090123B010001, y pulse Intro.")
    if not CLAVE_ACTA.fullmatch(clave):
        eco = clave if len(clave) <= _ECO else clave[:_ECO] + "…"
        raise ClaveInvalida(f"«{eco}» no es una clave de acta: son 13 caracteres, seis "
                            "dígitos, una letra y seis dígitos (por ejemplo "
                            "090123B010001).")
    return clave


def no_existe(clave: str) -> str:
    """The message for a well-formed key no acta has."""
    return (f"No hay un acta con la clave {clave} en el nodo central (ni en el catálogo "
            "ni en ningún registro recibido).")


@dataclass(frozen=True)
class Paso:
    """One step of an acta's history.

    ``evento``: ``acopio``, ``sin_acta``, ``imagen``, ``captura``, ``verificacion``,
    ``cotejo_coincide``, ``cotejo_diferencia``, ``publicada`` or
    ``correccion_publicada``. ``at``: the station's time of its record (the corte's time
    for the last two); ``recibido``: when the central received it, where known.
    ``ronda``/``slot``: a capture's round and place (``ronda``: also the round a cotejo
    opened; ``slot``: an image's position). ``detalle``: what the step says (origin and
    medium of an image, fields and reason of a correction, the corte's name)."""

    at: datetime | None
    evento: str
    detalle: str
    sitio: str | None
    estacion: str | None
    operador: str | None
    nombre: str | None
    ronda: int | None = None
    slot: int | None = None
    recibido: datetime | None = None


@dataclass(frozen=True)
class HistorialActa:
    """One acta's history, in time order, as read at ``leido_at``."""

    clave: str
    estado: str
    en_catalogo: bool
    pasos: tuple[Paso, ...]
    leido_at: datetime


_ESTADO = """
    SELECT estado, en_catalogo, now() FROM acta_states WHERE clave_acta = %(clave)s
"""
# Each step with its station and operator; ``orden`` keeps steps of the same instant in
# the order of the night (acopio, image, capture, cotejo, corte).
_PASOS = """
WITH s AS (SELECT * FROM acta_states WHERE clave_acta = %(clave)s),
pasos AS (
    SELECT s.acopio_at AS at, 0 AS orden, 'acopio' AS evento, s.acopio_station AS station,
           s.acopio_operator AS operator, CAST(NULL AS text) AS detalle,
           CAST(NULL AS integer) AS ronda, CAST(NULL AS integer) AS slot,
           s.acopio_received_at AS recibido
    FROM s WHERE s.acopio_record IS NOT NULL
    UNION ALL
    SELECT s.sin_acta_at, 0, 'sin_acta', s.sin_acta_station, NULL, s.sin_acta_causa,
           NULL, NULL, NULL
    FROM s WHERE s.sin_acta_record IS NOT NULL
    UNION ALL
    SELECT i.at, 1, 'imagen', i.station, i.operator,
           i.origen || ' · ' || i.digitalizacion
               || CASE WHEN i.replaces IS NULL THEN '' ELSE ' · reemplaza una anterior' END,
           NULL, i.position, i.received_at
    FROM acta_images AS i WHERE i.clave_acta = %(clave)s
    UNION ALL
    SELECT c.at, 2, c.kind, c.station, c.operator, NULL, c.ronda, c.slot, c.received_at
    FROM acta_captures AS c WHERE c.clave_acta = %(clave)s
    UNION ALL
    SELECT coalesce(CASE WHEN k.rec = s.cotejo_record THEN s.cotejo_at END,
                    CASE WHEN k.rec = s.correccion_record THEN s.correccion_at END,
                    l.ended_at),
           3, CASE WHEN k.e->1 = 'null' THEN 'cotejo_coincide' ELSE 'cotejo_diferencia' END,
           coalesce(CASE WHEN k.rec = s.cotejo_record THEN s.cotejo_station END,
                    CASE WHEN k.rec = s.correccion_record THEN s.correccion_station END,
                    l.station),
           coalesce(CASE WHEN k.rec = s.cotejo_record THEN s.cotejo_operator END,
                    CASE WHEN k.rec = s.correccion_record THEN s.correccion_operator END,
                    l.operator),
           CASE WHEN k.rec = s.correccion_record
                THEN json_build_array(s.correccion_campos, s.correccion_motivo)::text
                WHEN cp.cotejo_record IS NOT NULL
                THEN json_build_array(cp.campos, cp.motivo)::text END,
           CAST(k.e->>1 AS integer), NULL,
           coalesce(CASE WHEN k.rec = s.cotejo_record THEN s.cotejo_received_at END,
                    CASE WHEN k.rec = s.correccion_record THEN s.correccion_received_at END)
    FROM s
    CROSS JOIN LATERAL (SELECT e, CAST(e->>0 AS uuid) AS rec
                        FROM jsonb_array_elements(s.cotejos) AS e) AS k
    LEFT JOIN leases AS l ON l.record_id = k.rec AND l.kind = 'cotejo'
    LEFT JOIN correcciones_publicadas AS cp ON cp.clave_acta = s.clave_acta
                                           AND cp.cotejo_record = k.rec
    UNION ALL
    SELECT c.corte_at, 4, 'publicada', NULL, NULL, c.directorio, NULL, NULL, NULL
    FROM actas_publicadas AS p JOIN cortes AS c ON c.id = p.corte_id
    WHERE p.clave_acta = %(clave)s
    UNION ALL
    SELECT c.corte_at, 5, 'correccion_publicada', NULL, NULL,
           json_build_array(c.directorio, p.campos, p.motivo)::text, NULL, NULL, NULL
    FROM correcciones_publicadas AS p JOIN cortes AS c ON c.id = p.corte_id
    WHERE p.clave_acta = %(clave)s
)
SELECT p.at, p.evento, p.detalle, st.sitio, p.station, p.operator, o.name, p.ronda,
       p.slot, p.recibido
FROM pasos AS p
LEFT JOIN stations AS st ON st.id = p.station
LEFT JOIN operators AS o ON o.id = p.operator
ORDER BY p.at NULLS LAST, p.orden, p.recibido NULLS LAST, p.slot NULLS FIRST
"""


def read_historial_acta(conn: psycopg.Connection[Any], clave: str) -> HistorialActa | None:
    """The history of acta ``clave`` (already :func:`validar_clave`-ed), or ``None`` if
    the central has no acta with that key. One read-only snapshot; the connection is
    left outside any transaction."""
    conn.rollback()
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    try:
        with conn.cursor() as cur:
            cur.execute(_ESTADO, {"clave": clave})
            row = cur.fetchone()
            if row is None:
                return None
            estado, en_catalogo, now = row
            cur.execute(_PASOS, {"clave": clave})
            pasos = tuple(_paso(*r) for r in cur.fetchall())
    finally:
        conn.rollback()
    return HistorialActa(clave, estado, bool(en_catalogo), pasos, now)


def _paso(at: datetime | None, evento: str, detalle: str | None, sitio: str | None,
          estacion: str | None, operador: str | None, nombre: str | None,
          ronda: int | None, slot: int | None, recibido: datetime | None) -> Paso:
    return Paso(at, evento, _detalle(evento, detalle), sitio, estacion, operador, nombre,
                ronda, slot, recibido)


def _detalle(evento: str, detalle: str | None) -> str:
    """What the step says, in words (the corrections' JSON made a sentence)."""
    if detalle is None:
        return ""
    if evento == "sin_acta":
        return f"causa: {detalle.replace('_', ' ')}"
    if evento == "cotejo_diferencia":
        campos, motivo = json.loads(detalle)
        return _correccion(campos, motivo)
    if evento == "correccion_publicada":
        directorio, campos, motivo = json.loads(detalle)
        return f"corte {directorio}: {_correccion(campos, motivo)}"
    if evento == "publicada":
        return f"corte {detalle}"
    return detalle


def _correccion(campos: list[Any] | None, motivo: str | None) -> str:
    texto = "campos señalados: " + (", ".join(str(c) for c in campos or ()) or "—")
    return texto + (f"; motivo: {motivo}" if motivo else "")
