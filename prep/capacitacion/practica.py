"""The practice set of a training station: synthetic actas with their true values and
images, the practice accounts, and the station store they live in.

A practice directory is a station data directory of its own (``<data-dir>/capacitacion``,
never the real station's store), prepared once by :func:`prepare` (``prep capacitacion
preparar``). Its identity names no central: the URL is :data:`CENTRAL_URL`, which no
HTTP client can open, and it holds no station key, so nothing it records can even be
signed for a central. The catalog and the trainees' accounts arrive the way a real
station's do, as a bundle, signed here by a practice key made for this directory only.

The actas come from the drill's generator (:mod:`prep.sintetico`): the catalog of
``prep catalog generate``, the true values of :func:`prep.sintetico.plan.truth` and the
scanned images of :func:`prep.sintetico.acta_image.render_acta_image`, so a trainee sees
what the night will look like. Each acta also carries the mistake a second capturista
makes on it, for the verificadores' practice.
"""

from __future__ import annotations

import json
import random
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from prep.bundle import OPERATOR_ROLES
from prep.bundle import Bundle
from prep.bundle import BundleCatalog
from prep.bundle import BundleOperator
from prep.bundle import sign_bundle
from prep.catalog import Acta
from prep.catalog import Catalog
from prep.catalog import catalog_files
from prep.catalog import files_digest
from prep.catalog import generate_catalog
from prep.catalog.files import write_catalog
from prep.crypto import SigningKey
from prep.durable import fsync_dir
from prep.passwords import hash_password
from prep.qr import ENTIDAD_CAPACITACION
from prep.records import format_time
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import render_acta_image
from prep.sintetico.capturas import Simulacion
from prep.sintetico.plan import OMITIDO
from prep.sintetico.plan import TRANSPUESTO
from prep.sintetico.plan import truth
from prep.sintetico.plan import typed
from prep.station.accounts import save_bundle
from prep.station.blobs import BlobStore
from prep.station.store import BLOB_DIR
from prep.station.store import DB_NAME
from prep.station.store import StationIdentity
from prep.station.store import Store
from prep.station.store import key_path
from prep.values import format_valor

#: The practice store inside a station's data directory.
PRACTICE_DIR = "capacitacion"
MANIFEST = "capacitacion.json"
PRACTICE_KEY = "practica.key"
#: The copies of the practice actas' images, for the digitalizadores' hot folder.
IMAGES_DIR = "actas"
NODE = "capacitacion"
#: Where a training station's identity says its central is: no scheme an HTTP client
#: opens, so even a client built by mistake would reach nothing.
CENTRAL_URL = "capacitacion:sin-nodo-central"
CATALOG_SCALE = 0.02
DEFAULT_ACTAS = 24
MAX_ACTAS = 500
MAX_ALUMNOS = 200
LEASE_MINUTES = 10
CCV = "CCV"
#: The practice catalog's entidad name (its id is ENTIDAD_CAPACITACION).
ENTIDAD_NOMBRE = "CAPACITACIÓN"


class PracticeError(ValueError):
    """A practice set that cannot be prepared or opened; the message is Spanish."""


@dataclass(frozen=True)
class ActaPractica:
    """One practice acta: its true values (as typed), its image, and the field a second
    capturista gets wrong on it (shown to verificadores)."""

    clave: str
    eleccion: str
    campos: tuple[str, ...]
    verdad: dict[str, str]
    imagen_sha256: str
    imagen_bytes: int
    media_type: str
    error_campo: str
    error_valor: str


@dataclass(frozen=True)
class Alumno:
    """A trainee's practice account."""

    id: str
    nombre: str
    rol: str


@dataclass(frozen=True)
class Practica:
    """What :func:`prepare` wrote (``capacitacion.json``)."""

    station_id: str
    role: str  # "catd" or "ccv"
    sitio: str
    semilla: int
    preparada: str
    alumnos: tuple[Alumno, ...]
    actas: tuple[ActaPractica, ...]

    def acta(self, clave: str) -> ActaPractica | None:
        return next((a for a in self.actas if a.clave == clave), None)

    def to_json(self) -> dict[str, Any]:
        return {"capacitacion": True, **asdict(self)}

    @classmethod
    def load(cls, directory: Path) -> Practica:
        """Read the practice set of ``directory``; :class:`PracticeError` if there is
        none (the message says how to prepare one), or if its actas carry no training
        mark (prepared before issue 62: real-format actas)."""
        practica = cls._read(directory)
        marca = f"{ENTIDAD_CAPACITACION:02d}"
        if any(not a.clave.startswith(marca) for a in practica.actas):
            raise PracticeError(
                f"La práctica de {directory} se preparó sin la marca de CAPACITACIÓN (sus "
                "actas tienen el formato de actas reales): prepárela de nuevo en otro "
                "directorio con «prep capacitacion preparar».")
        return practica

    @classmethod
    def _read(cls, directory: Path) -> Practica:
        path = directory / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("capacitacion") is not True:
                raise ValueError("sin marca de capacitación")
            return cls(
                station_id=str(data["station_id"]), role=str(data["role"]),
                sitio=str(data["sitio"]), semilla=int(data["semilla"]),
                preparada=str(data["preparada"]),
                alumnos=tuple(Alumno(**a) for a in data["alumnos"]),
                actas=tuple(ActaPractica(**{**a, "campos": tuple(a["campos"])})
                            for a in data["actas"]))
        except FileNotFoundError:
            raise PracticeError(
                f"No hay una práctica preparada en {directory}. El capacitador la prepara "
                "con «prep capacitacion preparar --data-dir …».") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PracticeError(f"La práctica de {directory} está dañada ({exc}); "
                                "prepárela de nuevo en otro directorio.") from None


def practice_dir(data_dir: Path) -> Path:
    """The practice store of the station data directory ``data_dir``."""
    return data_dir / PRACTICE_DIR


def parse_alumno(text: str) -> tuple[str, str]:
    """``"Nombre Apellido:rol"`` → (name, role); :class:`PracticeError` if malformed."""
    nombre, _, rol = text.rpartition(":")
    nombre, rol = " ".join(nombre.split()), rol.strip().lower()
    if not nombre or rol not in OPERATOR_ROLES or len(nombre) > 120:
        raise PracticeError(f"Alumno «{text}»: escriba «Nombre:rol», con rol uno de "
                            f"{', '.join(OPERATOR_ROLES)}.")
    return nombre, rol


def prepare(directory: Path, alumnos: Sequence[tuple[str, str]], password: str, *,
            role: str = "catd", catd: int | None = None, actas: int = DEFAULT_ACTAS,
            semilla: int = 2027) -> Practica:
    """Prepare a practice set in ``directory`` (new or empty): ``actas`` synthetic actas
    (of CATD ``catd``, by default the distrito with most actas; any distrito for a CCV)
    and one account per ``(name, role)`` in ``alumnos``, all with ``password``."""
    if role not in ("catd", "ccv"):
        raise PracticeError("La práctica es de una estación CATD o CCV.")
    if not 1 <= actas <= MAX_ACTAS:
        raise PracticeError(f"El número de actas de práctica va de 1 a {MAX_ACTAS}.")
    if not 1 <= len(alumnos) <= MAX_ALUMNOS:
        raise PracticeError(f"Indique de 1 a {MAX_ALUMNOS} alumnos.")
    if (directory / MANIFEST).exists() or (directory / DB_NAME).exists():
        raise PracticeError(f"{directory} ya tiene una práctica o una estación; use otro "
                            "directorio de datos.")
    catalog = practice_catalog(semilla)
    sim = truth(catalog, semilla)
    chosen = _choose_actas(catalog, sim, role, catd, actas)
    sitio = CCV if role == "ccv" else f"{chosen[0].casilla.distrito_id:02d}"
    key = SigningKey.generate()
    station_id = f"capacitacion-{uuid.uuid4().hex[:8]}"
    store = Store(directory)
    try:
        key.save(directory / PRACTICE_KEY)
        fsync_dir(directory)
        store.save_identity(StationIdentity(
            station_id=station_id, role=role, sitio=sitio, node=NODE,
            central_url=CENTRAL_URL, central_key=key.public, cert_pem="",
            cert_sha256="", key_path=key_path(directory)))
        cuentas = tuple(Alumno(f"alumno-{i:02d}", nombre, rol)
                        for i, (nombre, rol) in enumerate(alumnos, start=1))
        scrypt = hash_password(password)
        save_bundle(store, sign_bundle(key, Bundle(
            station=station_id, sitio=sitio, node=NODE, operators_version=1,
            catalog=_bundle_catalog(catalog),
            operators=tuple(BundleOperator(a.id, a.nombre, a.rol, sitio, True, scrypt)
                            for a in cuentas),
            issued_at=datetime.now(UTC))))
        practica = Practica(station_id, role, sitio, semilla, format_time(datetime.now(UTC)),
                            cuentas, tuple(_render(directory, catalog, sim, chosen, semilla)))
    finally:
        store.close()
    path = directory / MANIFEST
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(practica.to_json(), ensure_ascii=False, indent=1),
                         encoding="utf-8")
    temporary.replace(path)
    fsync_dir(directory)
    return practica


def practice_catalog(semilla: int) -> Catalog:
    """The drill generator's catalog moved to the practice entidad
    (:data:`prep.qr.ENTIDAD_CAPACITACION`, no entidad of Mexico): no practice
    CLAVE_ACTA is ever a real acta's, and every practice acta's QR carries the training
    mark (:func:`prep.sintetico.acta_image.acta_qr_text`)."""
    catalog = generate_catalog(semilla, CATALOG_SCALE)
    return replace(catalog, entidad_id=ENTIDAD_CAPACITACION, entidad=ENTIDAD_NOMBRE,
                   casillas=tuple(replace(c, entidad_id=ENTIDAD_CAPACITACION)
                                  for c in catalog.casillas))


def _choose_actas(catalog: Catalog, sim: Simulacion, role: str, catd: int | None,
                  count: int) -> list[Acta]:
    capturables = [a for a in catalog.iter_actas()
                   if (e := sim.estado.get(a.clave)) is not None and e.captura is not None]
    if role == "catd":
        by_distrito: dict[int, list[Acta]] = {}
        for acta in capturables:
            by_distrito.setdefault(acta.casilla.distrito_id, []).append(acta)
        if catd is None:
            catd = max(sorted(by_distrito), key=lambda d: len(by_distrito[d]))
        capturables = by_distrito.get(catd, [])
        if not capturables:
            raise PracticeError(f"El catálogo de práctica no tiene actas del CATD {catd}.")
    # Elections interleaved, so every trainee meets every form early.
    by_eleccion: dict[str, list[Acta]] = {}
    for acta in capturables:
        by_eleccion.setdefault(acta.eleccion.codigo, []).append(acta)
    mixed = [a for group in zip(*by_eleccion.values(), strict=False) for a in group]
    mixed += [a for a in capturables if a not in mixed]
    return mixed[:count]


def _bundle_catalog(catalog: Catalog) -> BundleCatalog:
    with tempfile.TemporaryDirectory(prefix="capacitacion-catalogo-") as tmp:
        write_catalog(catalog, Path(tmp))
        files = catalog_files(Path(tmp))
    return BundleCatalog(1, files_digest(files), files)


def _render(directory: Path, catalog: Catalog, sim: Simulacion, actas: Sequence[Acta],
            semilla: int) -> list[ActaPractica]:
    """Each acta's image into the store's blobs (where leases find it) and a copy in
    ``actas/`` (for the digitalizadores' scanner folder)."""
    blobs = BlobStore(directory / BLOB_DIR)
    images = directory / IMAGES_DIR
    images.mkdir(exist_ok=True)
    rng = random.Random(f"prep-capacitacion:{semilla}")
    out = []
    for i, acta in enumerate(actas):
        captura = sim.estado[acta.clave].captura
        assert captura is not None
        data = render_acta_image(acta, captura, ActaImageOptions(
            seed=semilla + i, skew_degrees=rng.uniform(-0.6, 0.6)), catalog)
        sha256 = blobs.put(data)
        (images / f"{acta.clave}.jpg").write_bytes(data)
        verdad = {c: format_valor(v) for c, v in captura.items()}
        campo, valor = _mistake(rng, verdad)
        out.append(ActaPractica(acta.clave, acta.eleccion.codigo, tuple(verdad), verdad,
                                sha256, len(data), "image/jpeg", campo, valor))
    return out


def _mistake(rng: random.Random, verdad: dict[str, str]) -> tuple[str, str]:
    """A field and what a tired capturista typed there instead of the truth."""
    transponibles = [c for c, v in verdad.items()
                     if v.isdigit() and len(v) >= 2 and v[0] != v[1]]
    if transponibles:
        campo = rng.choice(transponibles)
        return campo, typed(verdad[campo], TRANSPUESTO)
    campo = rng.choice([c for c, v in verdad.items() if v != "Sin dato"] or list(verdad))
    return campo, typed(verdad[campo], OMITIDO) if verdad[campo] != "Sin dato" else "0"
