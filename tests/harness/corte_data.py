"""Acta states for cortes, written set-based straight into a central's PostgreSQL
(tests of the publication and ``bench/corte_db.py``).

The states come from the drill's simulation (:func:`prep.sintetico.capturas.simulate`:
every publication category, PREP Casilla and CATD images, verifications, sin acta,
pending actas, fuera de catálogo) and are written the way the pipeline stores them:
``acta_states`` with the validated values and the image they were captured on,
``acta_images``, the captures of verified actas in ``acta_captures``, and
``fuera_de_catalogo``. Everything goes through COPY, so half a million actas load in
seconds.

A *delta* (:func:`plan_delta`) is what reaches the central between two cortes of the
night: actas validated meanwhile (held back by :func:`write_states`, which leaves them
*acopiada*) and a few already published actas changed (a new image, a cotejo that
confirms the data, a correction round that validated new values).
:func:`stage_delta` makes its rows with the real fold (:func:`central.pipeline.state.fold`
over the stored states, :func:`central.pipeline.store.lock_actas`, written with the
store's own row shapes) and COPYs them into the schema ``corte_delta``, apart;
:func:`apply_delta` moves them into the central's tables in one transaction, as ingest
would have.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import uuid
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path
from typing import cast

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from central.catalog import catalog_store
from central.db import make_engine
from central.db import upgrade
from central.db.estaciones import Station
from central.db.lotes import StoredBatch
from central.db.lotes import StoredRecord
from central.pipeline.state import ActaState
from central.pipeline.state import RecordEvent
from central.pipeline.state import fold
from central.pipeline.store import CAPTURES
from central.pipeline.store import IMAGES
from central.pipeline.store import STATES
from central.pipeline.store import capture_row
from central.pipeline.store import catalog_lookup
from central.pipeline.store import image_row
from central.pipeline.store import lock_actas
from central.pipeline.store import state_row
from prep.canonical import canonical_bytes
from prep.catalog import Casilla
from prep.catalog import Catalog
from prep.catalog import write_catalog
from prep.corte.anexo import TZ
from prep.corte.historial import Historial
from prep.corte.model import ActaEnCorte
from prep.corte.model import FueraDeCatalogo
from prep.corte.model import Origen
from prep.corte.trayectoria import CapturaH
from prep.corte.trayectoria import ImagenH
from prep.corte.trayectoria import Trayectoria
from prep.paquete import codigo_traslado
from prep.records import Kind
from prep.records import Record
from prep.rules import CausaSinActa
from prep.sintetico.capturas import Simulacion
from prep.values import MAX_VALOR
from prep.values import Captura

STATION = "catd-01-pruebas"
OPERATOR = "op-01-pruebas"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

_STATE_COLUMNS = (
    "clave_acta", "en_catalogo", "distrito", "eleccion", "estado", "orden_at", "ronda",
    "imagen_actual", "acopio_record", "acopio_station", "acopio_operator", "acopio_at",
    "acopio_received_at", "sin_acta_record", "sin_acta_causa", "sin_acta_station",
    "sin_acta_at", "validada_fuente", "validada_record", "validada_at",
    "validada_received_at", "validada_valores", "validada_imagen", "validada_origen",
    "validada_digitalizacion")
_IMAGE_COLUMNS = ("record_id", "clave_acta", "position", "sha256", "bytes", "media_type",
                  "origen", "digitalizacion", "station", "operator", "at", "received_at")
_CAPTURE_COLUMNS = ("record_id", "clave_acta", "position", "kind", "ronda", "slot",
                    "lease_id", "operator", "station", "valores", "image_record", "at",
                    "received_at")
_FUERA_COLUMNS = ("record_id", "station", "operator", "codigo_leido", "eleccion", "at",
                  "received_at")


def day_after(catalog: Catalog, hora: time) -> datetime:
    """``hora`` (Mexico City) of the day after ``catalog``'s election, in UTC: the night's
    cortes are made then."""
    jornada = datetime.fromisoformat(catalog.fecha_eleccion).date()
    return datetime.combine(jornada + timedelta(days=1), hora, TZ).astimezone(UTC)


def image_bytes(clave: str, version: int = 1) -> bytes:
    """The 'image' of an acta (PNG magic and distinct bytes per acta and version)."""
    return PNG_MAGIC + hashlib.sha256(f"{clave}:{version}".encode()).digest() * 4


def image_sha256(clave: str, version: int = 1) -> str:
    return hashlib.sha256(image_bytes(clave, version)).hexdigest()


def prepare_database(dsn: str, catalog: Catalog) -> int:
    """Migrate the schema and store ``catalog`` as the current version; its number."""
    engine = make_engine(dsn, pool_size=1)
    try:
        upgrade(engine)
        with tempfile.TemporaryDirectory(prefix="catalogo-") as tmp, \
                Session(engine) as session, session.begin():
            write_catalog(catalog, Path(tmp))
            return catalog_store.load(session, Path(tmp), actor="pruebas").version
    finally:
        engine.dispose()


@dataclass
class Written:
    """What :func:`write_states` stored (for expectations)."""

    estado: dict[str, ActaEnCorte]
    fuera: list[FueraDeCatalogo]


def write_states(dsn: str, catalog: Catalog, sim: Simulacion,
                 blobs: Path | None = None, delta: PlanDelta | None = None) -> Written:
    """Seed every catalog acta and write the simulated states; with ``blobs``, also put
    each image in the blob store directory (``ab/cdef…``). The actas ``delta`` holds
    back (:attr:`PlanDelta.nuevas`) are written as only received (*acopiada*): their
    images and captures come with the delta (:func:`stage_delta`)."""
    retenidas = frozenset() if delta is None else delta.nuevas
    actas = catalog.actas_por_clave
    estado: dict[str, ActaEnCorte] = {}
    states: list[dict[str, object]] = []
    images: list[dict[str, object]] = []
    captures: list[dict[str, object]] = []
    for clave, acta in actas.items():
        est = sim.estado.get(clave)
        row: dict[str, object] = {"clave_acta": clave, "en_catalogo": True,
                                  "distrito": acta.casilla.distrito_id,
                                  "eleccion": acta.eleccion.codigo, "estado": "esperada",
                                  "ronda": 0}
        if est is not None:
            if clave in retenidas:
                est = ActaEnCorte(clave, acopio=est.acopio)
            est = _fill(row, images, captures, est, blobs, acta.casilla)
            estado[clave] = est
        states.append(row)
    fuera_rows = [{"record_id": str(uuid.uuid4()), "station": STATION, "operator": OPERATOR,
                   "codigo_leido": f.codigo_leido, "eleccion": f.eleccion, "at": f.acopio,
                   "received_at": f.acopio} for f in sim.fuera]
    with psycopg.connect(dsn) as conn:
        conn.execute("DELETE FROM acta_states")
        _copy(conn, "acta_states", _STATE_COLUMNS, states)
        _copy(conn, "acta_images", _IMAGE_COLUMNS, images)
        _copy(conn, "acta_captures", _CAPTURE_COLUMNS, captures)
        _copy(conn, "fuera_de_catalogo", _FUERA_COLUMNS, fuera_rows)
    return Written(estado, list(sim.fuera))


def _fill(row: dict[str, object], images: list[dict[str, object]],
          captures: list[dict[str, object]], est: ActaEnCorte,
          blobs: Path | None, casilla: Casilla) -> ActaEnCorte:
    """Write ``est`` into ``row`` (and its images and captures); what the corte must
    publish for it: the catalog's mechanism where it applies (no acopio here says
    otherwise) and, for every validated acta, when it was validated."""
    clave = est.clave
    if est.causa_sin_acta is not None:
        row.update(estado="sin_acta", sin_acta_record=str(uuid.uuid4()),
                   sin_acta_causa=est.causa_sin_acta.value, sin_acta_station=STATION,
                   sin_acta_at=est.acopio, orden_at=est.acopio)
        sin_sobre = est.causa_sin_acta is CausaSinActa.PAQUETE_SIN_SOBRE
        return replace(est, traslado=codigo_traslado(casilla, None) if sin_sobre else None)
    if est.acopio is not None:
        row.update(estado="acopiada", acopio_record=str(uuid.uuid4()),
                   acopio_station=STATION, acopio_operator=OPERATOR, acopio_at=est.acopio,
                   acopio_received_at=est.acopio, orden_at=est.acopio)
    if est.captura is None:
        return est
    data = image_bytes(clave)
    sha = hashlib.sha256(data).hexdigest()
    if blobs is not None:
        path = blobs / sha[:2] / sha[2:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    image = str(uuid.uuid4())
    assert est.fecha_captura is not None and est.origen and est.digitalizacion
    images.append({"record_id": image, "clave_acta": clave, "position": 1, "sha256": sha,
                   "bytes": len(data), "media_type": "image/png", "origen": est.origen.value,
                   "digitalizacion": est.digitalizacion.value, "station": STATION,
                   "operator": OPERATOR, "at": est.acopio, "received_at": est.acopio})
    verificada = est.fecha_verificacion is not None
    record = str(uuid.uuid4())
    for slot in (1, 2, 3) if verificada else (1, 2):
        captures.append({
            "record_id": record if slot == 2 and not verificada else str(uuid.uuid4()),
            "clave_acta": clave, "position": slot, "kind": "captura", "ronda": 1,
            "slot": slot, "lease_id": str(uuid.uuid4()), "operator": f"{OPERATOR}-{slot}",
            "station": STATION, "valores": Jsonb(est.captura.to_json()),
            "image_record": image, "at": est.fecha_captura, "received_at": est.fecha_captura})
    valid_at: datetime = est.fecha_verificacion or est.fecha_captura
    row.update(estado="validada", ronda=1, imagen_actual=image,
               validada_fuente="verificacion" if verificada else "captura",
               validada_record=record, validada_at=valid_at, validada_received_at=valid_at,
               validada_valores=Jsonb(est.captura.to_json()), validada_imagen=image,
               validada_origen=est.origen.value,
               validada_digitalizacion=est.digitalizacion.value)
    return replace(est, sha256=sha, fecha_verificacion=valid_at,
                   traslado=codigo_traslado(casilla, None))


def _copy(conn: psycopg.Connection, table: str, columns: tuple[str, ...],
          rows: Iterable[Mapping[str, object]]) -> None:
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # constant names only
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(tuple(row.get(c) for c in columns))


def historial_simulado(estado: Mapping[str, ActaEnCorte], catd: str = "01") -> Historial:
    """The history a central would hold for simulated states (site tests): each acta
    with data acopiada at ``catd`` (if it has an acopio), its one image digitized then,
    captured twice (three times and verified when the simulation verified it)."""
    actas: dict[str, Trayectoria] = {}
    verificadas: set[str] = set()
    for clave, est in estado.items():
        if est.captura is None or est.fecha_captura is None or est.sha256 is None:
            if est.publicada:
                actas[clave] = Trayectoria(catd, catd)
            continue
        en_catd = est.origen is None or est.origen.value == "CATD"
        lugar = catd if en_catd else ""
        imagen = ImagenH(f"img-{clave}", est.acopio or est.fecha_captura, lugar, est.sha256,
                         est.origen.value if est.origen else "CATD",
                         est.digitalizacion.value if est.digitalizacion else "Escáner")
        verificada = est.fecha_verificacion is not None and \
            est.fecha_verificacion != est.fecha_captura
        capturas = [CapturaH(False, 1, slot, imagen.record, est.fecha_captura, catd,
                             est.fecha_captura) for slot in ((1, 2, 3) if verificada else (1, 2))]
        if verificada:
            assert est.fecha_verificacion is not None
            verificadas.add(clave)
            capturas.append(CapturaH(True, 1, 0, imagen.record, est.fecha_verificacion, "CCV",
                                     est.fecha_verificacion))
        actas[clave] = Trayectoria(catd, catd, (imagen,), tuple(capturas))
    return Historial(actas, {}, frozenset(verificadas))


# --- the delta: what reaches the central between two cortes ----------------------------

#: Shares of a delta's actas that are already published actas changed (the rest are
#: newly validated actas): a new image, a cotejo that confirms the data, a correction.
DELTA_CAMBIOS = {"imagenes": 0.05, "cotejadas": 0.08, "corregidas": 0.02}
DELTA_SCHEMA = "corte_delta"  # where stage_delta keeps the rows until apply_delta
CCV_STATION = "ccv-01-pruebas"
CCV_OPERATOR = "op-ccv-pruebas"
VERIFICADOR = "op-ver-pruebas"
MOTIVO_CORRECCION = "El valor capturado no coincide con el acta en papel"
PASO = timedelta(seconds=20)  # between one acta's successive records in a delta
STATIONS = cast(Table, Station.__table__)
BATCHES = cast(Table, StoredBatch.__table__)
RECORDS = cast(Table, StoredRecord.__table__)
_JSONB = {t.name: frozenset(c.name for c in t.columns if isinstance(c.type, JSONB))
          for t in (STATES, IMAGES, CAPTURES, RECORDS)}


@dataclass(frozen=True)
class PlanDelta:
    """Which actas a delta touches (disjoint sets of CLAVE_ACTA)."""

    #: Validated in the simulation; held back by :func:`write_states` (written only
    #: *acopiada*), validated by the delta: an image, two captures (three differing ones
    #: and a verificador's decision for the simulation's verified actas).
    nuevas: frozenset[str]
    #: Published: one more image (the CATD scan of an acta published from its PREP
    #: Casilla photo; otherwise a CATD re-scan replacing the image); the data stays.
    imagenes: frozenset[str]
    #: Published: a cotejo confirms the data (COTEJADA becomes 1).
    cotejadas: frozenset[str]
    #: Published: a cotejo found one field different; two new blind captures validate the
    #: corrected value (diferencias.json «modificadas» with its «correccion»).
    corregidas: frozenset[str]

    @property
    def claves(self) -> frozenset[str]:
        return self.nuevas | self.imagenes | self.cotejadas | self.corregidas

    @property
    def actas(self) -> int:
        return len(self.claves)

    def to_json(self) -> dict[str, int]:
        return {"nuevas": len(self.nuevas), "imagenes": len(self.imagenes),
                "cotejadas": len(self.cotejadas), "corregidas": len(self.corregidas)}


def plan_delta(catalog: Catalog, sim: Simulacion, share: float, seed: int = 0) -> PlanDelta:
    """``share`` of ``catalog``'s actas to change between two cortes: mostly newly
    validated ones, :data:`DELTA_CAMBIOS` of them published actas that change (at least
    one of each kind when any). Only actas the simulation validated are chosen; the
    changed ones among those validated without a verificador."""
    total = round(share * catalog.total_actas)
    if total <= 0:
        return PlanDelta(frozenset(), frozenset(), frozenset(), frozenset())
    rng = random.Random(f"corte-delta:{seed}")
    orden = sorted(c for c, e in sim.estado.items() if e.captura is not None)
    rng.shuffle(orden)
    cuantas = {k: max(1, round(total * p)) for k, p in DELTA_CAMBIOS.items()}
    nuevas = orden[:max(0, total - sum(cuantas.values()))]
    verificada = {c for c in orden if sim.estado[c].fecha_verificacion is not None}
    if nuevas and not verificada & set(nuevas):  # at least one verification, if any
        nuevas[-1] = next((c for c in orden[len(nuevas):] if c in verificada), nuevas[-1])
    tomadas = set(nuevas)
    resto = [c for c in orden if c not in tomadas and c not in verificada]
    partes: dict[str, frozenset[str]] = {}
    for kind, n in cuantas.items():
        partes[kind], resto = frozenset(resto[:n]), resto[n:]
    return PlanDelta(frozenset(nuevas), **partes)


def write_delta(dsn: str, catalog: Catalog, sim: Simulacion, plan: PlanDelta,
                desde: datetime, hasta: datetime | None = None,
                blobs: Path | None = None) -> dict[str, ActaEnCorte]:
    """:func:`stage_delta` then :func:`apply_delta`; what the next corte must publish
    for the delta's actas."""
    esperado = stage_delta(dsn, catalog, sim, plan, desde, hasta, blobs)
    apply_delta(dsn)
    return esperado


def stage_delta(dsn: str, catalog: Catalog, sim: Simulacion, plan: PlanDelta,
                desde: datetime, hasta: datetime | None = None,
                blobs: Path | None = None) -> dict[str, ActaEnCorte]:
    """Make the delta's records (times between ``desde`` and ``hasta``, five minutes
    later by default), fold them over the stored states of their actas with the
    pipeline's own fold and COPY the resulting rows into :data:`DELTA_SCHEMA` (nothing
    the corte reads changes yet). Returns what a corte after :func:`apply_delta` must
    publish for those actas. Raises ``ValueError`` if the fold refuses any record."""
    hasta = hasta or desde + timedelta(minutes=5)
    lookup = catalog_lookup(catalog)
    claves = sorted(plan.claves)
    engine = make_engine(dsn, pool_size=1)
    try:
        with Session(engine) as session, session.begin():
            antes = lock_actas(session, claves, lookup)  # all exist: nothing inserted
    finally:
        engine.dispose()
    rng = random.Random(f"corte-delta:{desde.isoformat()}")
    margen = max(1.0, (hasta - desde - 6 * PASO).total_seconds())
    events: list[RecordEvent] = []
    esperado: dict[str, ActaEnCorte] = {}
    for clave in claves:
        acta = catalog.actas_por_clave[clave]
        est = sim.estado[clave]
        start = desde + timedelta(seconds=rng.uniform(1.0, margen))
        if clave in plan.nuevas:
            esperado[clave] = _nueva(events, est, acta.casilla, start, blobs)
        else:
            esperado[clave] = _cambio(events, plan, antes[clave], est, acta.casilla, start,
                                      blobs)
    folded = fold(events, lookup, antes)
    if folded.notes:
        raise ValueError(f"the fold refused {len(folded.notes)} delta records: "
                         f"{folded.notes[:3]}")
    states, images, captures = [], [], []
    for clave in claves:
        old, new = antes[clave], folded.actas[clave]
        if new == old:
            raise ValueError(f"{clave}: the delta does not change it")
        states.append(state_row(new))
        known = {i.record for i in old.imagenes}
        images += [image_row(clave, n, i) for n, i in enumerate(new.imagenes, 1)
                   if i.record not in known]
        contributed = {c.record for c in old.contribuciones}
        captures += [capture_row(clave, n, c) for n, c in enumerate(new.contribuciones, 1)
                     if c.record not in contributed]
    stations, batches, records = cotejo_records(
        [e for e in events if e.kind is Kind.COTEJO], desde, hasta)
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
            sql.Identifier(DELTA_SCHEMA)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(DELTA_SCHEMA)))
        for table, rows in ((STATIONS, stations), (BATCHES, batches), (RECORDS, records),
                            (STATES, states), (IMAGES, images), (CAPTURES, captures)):
            conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
                sql.Identifier(DELTA_SCHEMA, table.name), sql.Identifier(table.name)))
            # What the pipeline writes (a row's ``cambio`` is set by a trigger).
            columns = tuple(c.name for c in table.columns if c.name != "cambio")
            jsonb = _JSONB.get(table.name, frozenset())
            _copy(conn, f"{DELTA_SCHEMA}.{table.name}", columns,
                  ({k: Jsonb(v) if k in jsonb and v is not None else v
                    for k, v in row.items()} for row in rows))
    return esperado


# Into the central's tables, in the order their foreign keys want; one transaction.
_APPLY_ORDER = (STATIONS, BATCHES, RECORDS, IMAGES, CAPTURES)


def apply_delta(dsn: str) -> int:
    """Move the rows :func:`stage_delta` kept apart into the central's tables, in one
    transaction (a corte sees all of the delta or none of it); how many actas changed.
    Once per database: the staged records cannot be inserted twice."""
    with psycopg.connect(dsn) as conn:
        for table in _APPLY_ORDER:
            columns = sql.SQL(", ").join(sql.Identifier(c.name) for c in table.columns)
            conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
                sql.Identifier(table.name), columns, columns,
                sql.Identifier(DELTA_SCHEMA, table.name)))
        names = [c.name for c in STATES.columns if c.name != "clave_acta"]
        changed = conn.execute(sql.SQL(
            "UPDATE acta_states AS s SET ({}) = ({}) FROM {} AS d "
            "WHERE s.clave_acta = d.clave_acta").format(
                sql.SQL(", ").join(sql.Identifier(n) for n in names),
                sql.SQL(", ").join(sql.Identifier("d", n) for n in names),
                sql.Identifier(DELTA_SCHEMA, STATES.name))).rowcount
    return changed


def _event(events: list[RecordEvent], kind: Kind, at: datetime, body: dict[str, object],
           station: str = STATION, operator: str = OPERATOR,
           replaces: str | None = None) -> RecordEvent:
    """A record as ingest stores it (arrived the instant it was made), appended."""
    event = RecordEvent(str(uuid.uuid4()), station, operator, kind, at, at, body, replaces)
    events.append(event)
    return event


def _image(events: list[RecordEvent], clave: str, version: int, at: datetime,
           origen: str, digitalizacion: str, blobs: Path | None,
           replaces: str | None = None) -> str:
    data = image_bytes(clave, version)
    sha = hashlib.sha256(data).hexdigest()
    if blobs is not None:
        path = blobs / sha[:2] / sha[2:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    _event(events, Kind.IMAGEN, at, {
        "clave_acta": clave, "sha256": sha, "bytes": len(data), "media_type": "image/png",
        "origen": origen, "digitalizacion": digitalizacion}, replaces=replaces)
    return sha


def _captures(events: list[RecordEvent], clave: str, sha: str,
              valores: Sequence[Mapping[str, int | str]], operators: Sequence[str],
              at: datetime) -> RecordEvent:
    """Blind captures of ``sha``, one per ``PASO`` after ``at``; the last one."""
    last = None
    for n, (values, operator) in enumerate(zip(valores, operators, strict=True), 1):
        last = _event(events, Kind.CAPTURA, at + n * PASO, {
            "clave_acta": clave, "valores": dict(values), "imagen_sha256": sha,
            "lease": str(uuid.uuid4())}, operator=operator)
    assert last is not None
    return last


def otro_valor(valores: Mapping[str, int | str], k: int) -> dict[str, int | str]:
    """``valores`` with its first field read differently (``k`` = 1, 2…: distinct)."""
    out = dict(valores)
    campo = next(iter(out))
    valor = out[campo]
    out[campo] = (valor + k) % (MAX_VALOR + 1) if isinstance(valor, int) else k
    return out


def _nueva(events: list[RecordEvent], est: ActaEnCorte, casilla: Casilla, start: datetime,
           blobs: Path | None) -> ActaEnCorte:
    """An acta received before and validated in the delta: digitized, captured twice
    (three differing captures and a verification when the simulation verified it)."""
    assert est.captura is not None and est.origen and est.digitalizacion
    clave = est.clave
    sha = _image(events, clave, 1, start, est.origen.value, est.digitalizacion.value, blobs)
    valores = est.captura.to_json()
    verificada = est.fecha_verificacion is not None
    capturas = [valores, otro_valor(valores, 1), otro_valor(valores, 2)] if verificada \
        else [valores, valores]
    last = _captures(events, clave, sha, capturas,
                     [f"{OPERATOR}-{n}" for n in range(1, len(capturas) + 1)], start)
    validada = last.received_at
    if verificada:
        validada = _event(events, Kind.VERIFICACION, last.at + PASO, {
            "clave_acta": clave, "valores": valores, "imagen_sha256": sha,
            "lease": str(uuid.uuid4()), "motivo": "Se leyó el acta"},
            operator=VERIFICADOR).at
    # Published from its PREP Casilla photo: FECHA_HORA_ACOPIO is the photo's (issue 61).
    acopio = start if est.origen is Origen.CASILLA else est.acopio
    return replace(est, acopio=acopio, fecha_captura=last.at, fecha_verificacion=validada,
                   sha256=sha, traslado=codigo_traslado(casilla, None))


def _cambio(events: list[RecordEvent], plan: PlanDelta, acta: ActaState,
            est: ActaEnCorte, casilla: Casilla, start: datetime,
            blobs: Path | None) -> ActaEnCorte:
    """A published acta (validated by two captures) changed by the delta."""
    clave, v = acta.clave, acta.validacion
    imagen = acta.imagen(acta.imagen_actual)
    assert v is not None and imagen is not None and est.captura is not None
    publicada = replace(est, fecha_captura=v.at, fecha_verificacion=v.received_at,
                        sha256=imagen.sha256, traslado=codigo_traslado(
                            casilla, acta.acopio.traslado if acta.acopio else None))
    if clave in plan.imagenes:
        movil = v.origen == Origen.CASILLA.value  # the CATD's scan comes after the photo
        _image(events, clave, 2, start, Origen.CATD.value, "Escáner", blobs,
               replaces=None if movil else acta.imagen_actual)
        return publicada
    if clave in plan.cotejadas:
        _event(events, Kind.COTEJO, start, {"clave_acta": clave, "coincide": True},
               station=CCV_STATION, operator=CCV_OPERATOR)
        return replace(publicada, cotejada=True)
    publicados = est.captura.to_json()  # in the catalog's order (JSONB keeps its own)
    assert publicados == v.valores, clave
    campo = next(iter(publicados))
    _event(events, Kind.COTEJO, start, {"clave_acta": clave, "coincide": False,
                                        "campos": [campo], "motivo": MOTIVO_CORRECCION},
           station=CCV_STATION, operator=CCV_OPERATOR)
    corregidos = otro_valor(publicados, 1)
    last = _captures(events, clave, imagen.sha256, [corregidos, corregidos],
                     [f"{OPERATOR}-4", f"{OPERATOR}-5"], start)
    # Corrected from the paper acta and validated: cotejada (COTEJADA 1, issue 61).
    return replace(publicada, captura=Captura.from_json(corregidos), fecha_captura=last.at,
                   fecha_verificacion=last.received_at, cotejada=True)


def cotejo_records(cotejos: list[RecordEvent], desde: datetime, hasta: datetime,
                   numero: int = 1, seq: int = 0) -> tuple[list[dict[str, object]], ...]:
    """The CCV station (with its first batch only), its batch ``numero`` and its records
    of ``cotejos`` (numbered after ``seq``): the corte's history reads a cotejo's time
    and centre from its record (the other kinds it reads from the acta tables, and the
    fill writes no records for them)."""
    if not cotejos:
        return [], [], []
    records = [Record(e.id, e.station, seq + n, e.kind, e.operator, e.at, e.body)
               for n, e in enumerate(cotejos, 1)]
    body = canonical_bytes([r.to_json() for r in records])
    batch = hashlib.sha256(body).hexdigest()
    station = {"id": CCV_STATION, "role": "ccv", "sitio": "CCV",
               "public_key": hashlib.sha256(CCV_STATION.encode()).digest(),
               "hostname": "ccv-pruebas", "enabled": True,
               "enrolled_at": desde - timedelta(days=1), "last_seen_at": None,
               "last_batch": 1, "last_batch_sha256": batch, "last_seq": len(records),
               "intake": False}
    return [station] if numero == 1 else [], [
        {"station": CCV_STATION, "number": numero, "sha256": batch, "body": body,
         "receipt": b"", "records": len(records), "received_at": hasta}], [
        {"id": r.id, "station": r.station, "seq": r.seq, "kind": r.kind.value,
         "operator": r.operator, "at": r.at, "replaces": None, "body": dict(r.body),
         "sha256": r.sha256, "batch_number": numero, "received_at": e.received_at}
        for r, e in zip(records, cotejos, strict=True)]
