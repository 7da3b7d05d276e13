"""Acta states for cortes, written set-based straight into a central's PostgreSQL
(tests of the publication and ``bench/corte_db.py``).

The states come from the drill's simulation (:func:`prep.sintetico.capturas.simulate`:
every publication category, PREP Casilla and CATD images, verifications, sin acta,
pending actas, fuera de catálogo) and are written the way the pipeline stores them:
``acta_states`` with the validated values and the image they were captured on,
``acta_images``, the captures of verified actas in ``acta_captures``, and
``fuera_de_catalogo``. Everything goes through COPY, so half a million actas load in
seconds. :func:`expected_estado` is what a corte must publish for them.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from central import catalog_store
from central.db import make_engine
from central.db import upgrade
from prep.catalog import Casilla
from prep.catalog import Catalog
from prep.catalog import write_catalog
from prep.corte.anexo import TZ
from prep.corte.historial import CapturaH
from prep.corte.historial import Historial
from prep.corte.historial import ImagenH
from prep.corte.historial import Trayectoria
from prep.corte.model import ActaEnCorte
from prep.corte.model import FueraDeCatalogo
from prep.paquete import codigo_traslado
from prep.rules import CausaSinActa
from prep.sintetico.capturas import Simulacion

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
                 blobs: Path | None = None) -> Written:
    """Seed every catalog acta and write the simulated states; with ``blobs``, also put
    each image in the blob store directory (``ab/cdef…``)."""
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
