"""Acta states in PostgreSQL: rows ↔ :class:`~central.pipeline.state.ActaState`.

An acta is one ``acta_states`` row plus its ``acta_images`` and ``acta_captures`` rows;
images and counted captures are only ever added, so saving a state writes its row and
inserts whatever images or captures it gained.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from typing import cast

from sqlalchemy import BindParameter
from sqlalchemy import Row
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from central.db.actas import ActaCapture
from central.db.actas import ActaImage
from central.db.actas import ActaStateRow
from central.db.actas import FueraDeCatalogoRow
from central.pipeline.state import Acopio
from central.pipeline.state import ActaInfo
from central.pipeline.state import ActaState
from central.pipeline.state import Contribucion
from central.pipeline.state import Correccion
from central.pipeline.state import Cotejado
from central.pipeline.state import Cotejo
from central.pipeline.state import Estado
from central.pipeline.state import Fuera
from central.pipeline.state import Imagen
from central.pipeline.state import Lookup
from central.pipeline.state import SinActa
from central.pipeline.state import Validacion
from central.pipeline.state import initial
from prep.catalog import Catalog

STATES = cast(Table, ActaStateRow.__table__)
IMAGES = cast(Table, ActaImage.__table__)
CAPTURES = cast(Table, ActaCapture.__table__)
FUERA = cast(Table, FueraDeCatalogoRow.__table__)

def _claves() -> BindParameter[list[str]]:
    return bindparam("claves", expanding=True)


# The statements every batch runs, built once: building them (the upsert's ``excluded``
# columns above all) and computing their cache keys was a good part of an ingest's CPU.
_LOCK_STATES = (select(STATES).where(STATES.c.clave_acta.in_(_claves()))
                .order_by(STATES.c.clave_acta).with_for_update())
_IMAGES_OF = (select(IMAGES).where(IMAGES.c.clave_acta.in_(_claves()))
              .order_by(IMAGES.c.clave_acta, IMAGES.c.position))
_CAPTURES_OF = (select(CAPTURES).where(CAPTURES.c.clave_acta.in_(_claves()))
                .order_by(CAPTURES.c.clave_acta, CAPTURES.c.position))
_UPSERT = insert(STATES)
_SAVE_STATES = _UPSERT.on_conflict_do_update(
    index_elements=[STATES.c.clave_acta],
    # cambio: the trigger of revision 0024 sets it on every write.
    set_={c.name: _UPSERT.excluded[c.name] for c in STATES.columns
          if c.name not in ("clave_acta", "cambio")})
_INSERT_IMAGES = insert(IMAGES)
_INSERT_CAPTURES = insert(CAPTURES)


def catalog_lookup(catalog: Catalog | None) -> Lookup:
    """The :data:`~central.pipeline.state.Lookup` of ``catalog`` (nothing is in the
    catalog while none is loaded)."""
    if catalog is None:
        return lambda clave: None

    def lookup(clave: str) -> ActaInfo | None:
        acta = catalog.acta(clave)
        if acta is None:
            return None
        return ActaInfo(acta.casilla.distrito_id, acta.eleccion.codigo, acta.layout.campos)
    return lookup


# --- loading -----------------------------------------------------------------------

def lock_actas(session: Session, claves: Collection[str],
               lookup: Lookup) -> dict[str, ActaState]:
    """Lock the rows of ``claves`` (creating the missing ones in their initial state)
    and return their states.

    Rows are locked in key order, existing ones first and then the new ones, so two
    transactions touching the same actas never wait on each other in a circle.
    """
    ordered = sorted(claves)
    rows = {r.clave_acta: r for r in session.execute(_LOCK_STATES, {"claves": ordered})}
    missing = [c for c in ordered if c not in rows]
    created: dict[str, ActaState] = {}
    if missing:
        fresh = {c: initial(c, lookup(c)) for c in missing}
        inserted = set(session.scalars(_INSERT_INITIAL, {
            "claves": missing, "en_catalogo": [s.en_catalogo for s in fresh.values()],
            "distritos": [s.distrito for s in fresh.values()],
            "elecciones": [s.eleccion for s in fresh.values()],
            "estados": [s.estado.value for s in fresh.values()]}))
        created = {c: fresh[c] for c in inserted}
        raced = [c for c in missing if c not in inserted]  # inserted meanwhile elsewhere
        if raced:
            rows.update({r.clave_acta: r for r in session.execute(
                _LOCK_STATES, {"claves": raced})})
    states = _with_children(session, rows.values())
    states.update(created)
    return states


# An initial state (state.initial) has nothing but these columns; one statement with
# arrays, whatever the number of actas.
_INSERT_INITIAL = text("""
    INSERT INTO acta_states (clave_acta, en_catalogo, distrito, eleccion, estado, ronda)
    SELECT clave, en_catalogo, distrito, eleccion, estado, 0
    FROM unnest(CAST(:claves AS varchar[]), CAST(:en_catalogo AS boolean[]),
                CAST(:distritos AS integer[]), CAST(:elecciones AS varchar[]),
                CAST(:estados AS varchar[])) AS v(clave, en_catalogo, distrito, eleccion, estado)
    ON CONFLICT (clave_acta) DO NOTHING
    RETURNING clave_acta
""")


def load_all(session: Session) -> dict[str, ActaState]:
    """Every acta state as stored (for ``rebuild-state``)."""
    rows = session.execute(select(STATES).order_by(STATES.c.clave_acta)).all()
    images = _group(session.execute(select(IMAGES).order_by(IMAGES.c.clave_acta,
                                                             IMAGES.c.position)))
    captures = _group(session.execute(select(CAPTURES).order_by(CAPTURES.c.clave_acta,
                                                                 CAPTURES.c.position)))
    return {r.clave_acta: state_from_rows(r, images.get(r.clave_acta, ()),
                                 captures.get(r.clave_acta, ())) for r in rows}


def load_fuera(session: Session) -> dict[str, Fuera]:
    return {str(r.record_id): Fuera(str(r.record_id), r.station, r.operator, r.codigo_leido,
                                    r.eleccion, r.at, r.received_at)
            for r in session.execute(select(FUERA))}


def _with_children(session: Session, rows: Iterable[Row[Any]]) -> dict[str, ActaState]:
    rows = list(rows)
    if not rows:
        return {}
    claves = [r.clave_acta for r in rows]
    images = _group(session.execute(_IMAGES_OF, {"claves": claves}))
    captures = _group(session.execute(_CAPTURES_OF, {"claves": claves}))
    return {r.clave_acta: state_from_rows(r, images.get(r.clave_acta, ()),
                                 captures.get(r.clave_acta, ())) for r in rows}


def _group(rows: Iterable[Row[Any]]) -> dict[str, list[Row[Any]]]:
    out: dict[str, list[Row[Any]]] = {}
    for row in rows:
        out.setdefault(row.clave_acta, []).append(row)
    return out


def state_from_rows(r: Any, images: Iterable[Any], captures: Iterable[Any]) -> ActaState:
    """An acta state from its ``acta_states`` row and its image and capture rows (in
    position order)."""
    acopio = None if r.acopio_record is None else Acopio(
        str(r.acopio_record), r.acopio_station, r.acopio_operator, r.acopio_at,
        r.acopio_received_at, r.acopio_traslado, r.acopio_tipo_documento)
    sin_acta = None if r.sin_acta_record is None else SinActa(
        str(r.sin_acta_record), r.sin_acta_causa, r.sin_acta_station, r.sin_acta_at)
    validacion = None if r.validada_record is None else Validacion(
        r.validada_fuente, str(r.validada_record), r.validada_at, r.validada_received_at,
        dict(r.validada_valores), _str(r.validada_imagen), r.validada_origen,
        r.validada_digitalizacion)
    cotejo = None if r.cotejo_record is None else Cotejo(
        str(r.cotejo_record), r.cotejo_station, r.cotejo_operator, r.cotejo_at,
        r.cotejo_received_at)
    correccion = None if r.correccion_record is None else Correccion(
        str(r.correccion_record), r.correccion_station, r.correccion_operator,
        r.correccion_at, r.correccion_received_at, tuple(r.correccion_campos or ()),
        r.correccion_motivo, r.correccion_ronda)
    return ActaState(
        clave=r.clave_acta, en_catalogo=r.en_catalogo, distrito=r.distrito,
        eleccion=r.eleccion, estado=Estado(r.estado), orden_at=r.orden_at, ronda=r.ronda,
        imagen_actual=_str(r.imagen_actual), acopio=acopio, sin_acta=sin_acta,
        validacion=validacion,
        imagenes=tuple(Imagen(str(i.record_id), i.sha256, i.bytes, i.media_type, i.origen,
                              i.digitalizacion, i.station, i.operator, i.at, i.received_at,
                              _str(i.replaces)) for i in images),
        contribuciones=tuple(Contribucion(str(c.record_id), c.kind, c.ronda, c.slot,
                                          _str(c.lease_id), c.operator, c.station,
                                          dict(c.valores), _str(c.image_record), c.at,
                                          c.received_at) for c in captures),
        cotejo=cotejo, correccion=correccion,
        cotejos=tuple(Cotejado(str(record), ronda) for record, ronda in r.cotejos or ()))


def _str(value: object) -> str | None:
    return None if value is None else str(value)


# --- saving ------------------------------------------------------------------------

def save(session: Session, before: Mapping[str, ActaState],
         after: Mapping[str, ActaState]) -> int:
    """Write what changed from ``before`` to ``after`` (same actas, rows locked);
    return how many actas changed."""
    changed = [a for clave, a in after.items() if a != before.get(clave)]
    if not changed:
        return 0
    rows = [state_row(a) for a in changed if _scalars(a) != _scalars(before.get(a.clave))]
    if rows:
        session.execute(_SAVE_STATES, rows)
    images, captures = [], []
    for acta in changed:
        old = before.get(acta.clave)
        known_images = {i.record for i in old.imagenes} if old else set()
        images += [image_row(acta.clave, n, i) for n, i in enumerate(acta.imagenes, 1)
                   if i.record not in known_images]
        known = {c.record for c in old.contribuciones} if old else set()
        captures += [capture_row(acta.clave, n, c)
                     for n, c in enumerate(acta.contribuciones, 1) if c.record not in known]
    if images:
        session.execute(_INSERT_IMAGES, images)
    if captures:
        session.execute(_INSERT_CAPTURES, captures)
    return len(changed)


def save_fuera(session: Session, fuera: Iterable[Fuera]) -> None:
    rows = [fuera_row(f) for f in fuera]
    if rows:
        session.execute(insert(FUERA).on_conflict_do_nothing(), rows)


def _scalars(acta: ActaState | None) -> ActaState | None:
    return None if acta is None else replace(acta, imagenes=(), contribuciones=())


def state_row(a: ActaState) -> dict[str, Any]:
    acopio, sin_acta, v, cotejo, fix = a.acopio, a.sin_acta, a.validacion, a.cotejo, \
        a.correccion
    return {
        "clave_acta": a.clave, "en_catalogo": a.en_catalogo, "distrito": a.distrito,
        "eleccion": a.eleccion, "estado": a.estado.value, "orden_at": a.orden_at,
        "ronda": a.ronda, "imagen_actual": a.imagen_actual,
        "acopio_record": acopio and acopio.record, "acopio_station": acopio and acopio.station,
        "acopio_operator": acopio and acopio.operator, "acopio_at": acopio and acopio.at,
        "acopio_received_at": acopio and acopio.received_at,
        "acopio_traslado": acopio and acopio.traslado,
        "acopio_tipo_documento": acopio and acopio.tipo_documento,
        "sin_acta_record": sin_acta and sin_acta.record,
        "sin_acta_causa": sin_acta and sin_acta.causa,
        "sin_acta_station": sin_acta and sin_acta.station,
        "sin_acta_at": sin_acta and sin_acta.at,
        "validada_fuente": v and v.fuente, "validada_record": v and v.record,
        "validada_at": v and v.at, "validada_received_at": v and v.received_at,
        "validada_valores": v and v.valores, "validada_imagen": v and v.imagen,
        "validada_origen": v and v.origen, "validada_digitalizacion": v and v.digitalizacion,
        "cotejo_record": cotejo and cotejo.record, "cotejo_station": cotejo and cotejo.station,
        "cotejo_operator": cotejo and cotejo.operator, "cotejo_at": cotejo and cotejo.at,
        "cotejo_received_at": cotejo and cotejo.received_at,
        "correccion_record": fix and fix.record, "correccion_station": fix and fix.station,
        "correccion_operator": fix and fix.operator, "correccion_at": fix and fix.at,
        "correccion_received_at": fix and fix.received_at,
        "correccion_campos": None if fix is None else list(fix.campos),
        "correccion_motivo": fix and fix.motivo, "correccion_ronda": fix and fix.ronda,
        "cotejos": [[c.record, c.ronda] for c in a.cotejos],
    }


def image_row(clave: str, position: int, i: Imagen) -> dict[str, Any]:
    return {"record_id": i.record, "clave_acta": clave, "position": position,
            "sha256": i.sha256, "bytes": i.bytes, "media_type": i.media_type,
            "origen": i.origen, "digitalizacion": i.digitalizacion, "station": i.station,
            "operator": i.operator, "at": i.at, "received_at": i.received_at,
            "replaces": i.replaces}


def capture_row(clave: str, position: int, c: Contribucion) -> dict[str, Any]:
    return {"record_id": c.record, "clave_acta": clave, "position": position,
            "kind": c.kind, "ronda": c.ronda, "slot": c.slot, "lease_id": c.lease,
            "operator": c.operator, "station": c.station, "valores": c.valores,
            "image_record": c.image, "at": c.at, "received_at": c.received_at}


def fuera_row(f: Fuera) -> dict[str, Any]:
    return {"record_id": f.record, "station": f.station, "operator": f.operator,
            "codigo_leido": f.codigo_leido, "eleccion": f.eleccion, "at": f.at,
            "received_at": f.received_at}
