"""What AVANCE_CATD.csv needs from the database, read in the corte's snapshot (issue 29).

Read in the same REPEATABLE READ transaction as the rest of the corte
(:func:`leer`, called by :func:`central.publication.snapshot.read_snapshot`), so its
figures are the CSVs' own instant. The counts the election CSVs also give (esperadas,
acopiadas, publicadas) are taken from the corte's tables by
:func:`prep.corte.salud_catd.filas_catd`; this module reads only what they do not say:

- which CATD receives each distrito (``catd_distritos``, :mod:`central.stations.catd_distritos`);
- the actas with an image (``acta_images``) and with a capture that counted
  (``acta_captures``) or validated data: one text of keys each, not one row per acta;
- the centres online: an enabled station of the sitio whose last contact (the later of
  ``stations.last_seen_at``, refreshed by every signed request, and
  ``station_health.last_seen``, by every accepted batch: heartbeats included) is within
  :data:`~prep.corte.salud_catd.EN_LINEA_MINUTOS` minutes of the snapshot;
- the centres whose status a coordinator hid (``catd_estado_oculto``, revision 0017),
  changed only by ``prep central catd-estado`` (:mod:`central.commands.catd_estado`),
  each change audited with its reason.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Mapping
from typing import Any

import psycopg

from central.publication.snapshot_historial import arreglo
from central.publication.snapshot_historial import las_mismas
from prep.corte.salud_catd import EN_LINEA_MINUTOS
from prep.corte.salud_catd import Claves
from prep.corte.salud_catd import LecturaCatd

_ASIGNADOS = "SELECT distrito, catd FROM catd_distritos"
# One text of keys each (a few hundred KB nationally), not one row per acta.
_DIGITALIZADAS = """
    SELECT string_agg(s.clave_acta, ',') FROM acta_states AS s
    WHERE s.en_catalogo
      AND EXISTS (SELECT 1 FROM acta_images AS i WHERE i.clave_acta = s.clave_acta)
"""
# A validated acta counts even without its capture rows (validated data is captured
# data; an acta validated before the fold kept every capture).
_CON_CAPTURA = """
    SELECT string_agg(s.clave_acta, ',') FROM acta_states AS s
    WHERE s.en_catalogo
      AND (s.validada_record IS NOT NULL
           OR EXISTS (SELECT 1 FROM acta_captures AS c WHERE c.clave_acta = s.clave_acta))
"""
# The same two facts, of the actas a running central's corte reads again only.
_DE_CAMBIADAS = """
    SELECT s.clave_acta,
           EXISTS (SELECT 1 FROM acta_images AS i WHERE i.clave_acta = s.clave_acta),
           s.validada_record IS NOT NULL
           OR EXISTS (SELECT 1 FROM acta_captures AS c WHERE c.clave_acta = s.clave_acta)
    FROM acta_states AS s
    WHERE s.en_catalogo AND s.clave_acta = ANY(CAST(%(claves)s AS text[]))
"""
_EN_LINEA = """
    SELECT DISTINCT st.sitio
    FROM stations AS st LEFT JOIN station_health AS h ON h.station = st.id
    WHERE st.enabled
      AND greatest(st.last_seen_at, h.last_seen) > now() - make_interval(mins => %s)
"""
_OCULTOS = "SELECT sitio FROM catd_estado_oculto"


def leer(cur: psycopg.Cursor[Any], actas: Mapping[str, Any] | None = None,
         previa: LecturaCatd | None = None,
         cambiadas: Collection[str] | None = None) -> LecturaCatd:
    """Read with ``cur`` inside the snapshot's transaction (``now()`` is the corte).
    ``actas``: the catalog's actas by CLAVE_ACTA, whose strings the sets hold rather
    than a second copy (half a million actas per set nationally), and which they are
    kept against (:class:`~prep.corte.salud_catd.Claves`). With ``previa`` and
    ``cambiadas`` (a running central's corte, :mod:`central.publication.memo_corte`), only
    the actas ``cambiadas`` are read again; the others keep what ``previa`` said."""
    cur.execute(_ASIGNADOS)
    asignados = {int(d): int(c) for d, c in cur}
    claves: list[Claves] = []
    if previa is not None and cambiadas is not None:
        imagenes = dict.fromkeys(cambiadas, False)
        capturas = dict.fromkeys(cambiadas, False)
        cur.execute(_DE_CAMBIADAS, {"claves": arreglo(cambiadas)})
        for clave, imagen, captura in cur:
            imagenes[clave], capturas[clave] = bool(imagen), bool(captura)
        for antes, cambios in ((previa.digitalizadas, imagenes),
                               (previa.con_captura, capturas)):
            claves.append(antes.cambiada(cambios) if isinstance(antes, Claves)
                          else Claves(antes, actas).cambiada(cambios))
    else:
        for sql in (_DIGITALIZADAS, _CON_CAPTURA):
            cur.execute(sql)
            row = cur.fetchone()
            texto = row[0] if row is not None else None
            leidas = texto.split(",") if texto else []
            claves.append(Claves(leidas if actas is None else las_mismas(leidas, actas),
                                 actas))
    cur.execute(_EN_LINEA, (EN_LINEA_MINUTOS,))
    en_linea = frozenset(str(r[0]) for r in cur)
    cur.execute(_OCULTOS)
    ocultos = frozenset(str(r[0]) for r in cur)
    return LecturaCatd(asignados, claves[0], claves[1], en_linea, ocultos)
