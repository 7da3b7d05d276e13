"""The catalog as the central keeps it: numbered versions in ``catalog_versions``.

``prep central catalog load DIR`` validates a catalog directory, stores its files'
exact bytes with their digest (:func:`prep.catalog.catalog_digest`) as the next version
and audits it; stations get the current version in their bundle. Versions are never
edited (append-only table). :func:`current` gives the current :class:`Catalog`, parsed
once and kept in memory by digest (so a load whose transaction rolled back can never
leave a wrong catalog behind a version number).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.audit import audit
from central.catalog import catalog_change
from central.db.catalogo import CatalogVersion
from prep.catalog import Catalog
from prep.catalog import CatalogError
from prep.catalog import catalog_files
from prep.catalog import files_digest
from prep.catalog import load_catalog_files
from prep.qr import ENTIDAD_CAPACITACION

CATALOG_LOCK = (0x50524550, 3)  # "PREP", 3: one catalog load at a time
_CACHE_SIZE = 2

_cache: dict[str, Catalog] = {}  # digest → catalog, the most recent last
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class LoadedCatalog:
    """The outcome of :func:`load`: the version now current and whether it is new
    (``False``: the same files were already the current version; nothing stored)."""

    version: int
    digest: str
    catalog: Catalog
    new: bool


@dataclass(frozen=True)
class StoredCatalog:
    """One stored version's files (name → base64, as stations receive them)."""

    version: int
    digest: str
    files_b64: Mapping[str, str]


def load(session: Session, directory: Path, *, actor: str, confirmed: bool = False,
         force_reason: str | None = None) -> LoadedCatalog:
    """Validate the catalog in ``directory`` and store it as the next version, inside
    ``session``'s transaction (so whoever calls can do more in the same commit).

    Over a central that holds results the change must be ``confirmed``, and one that
    would take published actas out of the catalog needs a ``force_reason``
    (:mod:`central.catalog.catalog_change`).

    Raises :class:`prep.catalog.CatalogError` (Spanish, naming file and line), or its
    subclass :class:`central.catalog.catalog_change.CatalogChangeRefused`.
    """
    files = catalog_files(directory)
    catalog = load_catalog_files(files)  # the very bytes stored are the ones validated
    if catalog.entidad_id == ENTIDAD_CAPACITACION:
        # A practice catalog is never a central's (issue 62): its actas are training
        # material, refused by every real station and by ingest.
        raise CatalogError(f"el catálogo de {directory} es de CAPACITACIÓN (entidad "
                           f"{ENTIDAD_CAPACITACION}): un nodo central no carga actas de "
                           "práctica. Cargue el catálogo de la elección")
    digest = files_digest(files)
    session.execute(select(func.pg_advisory_xact_lock(*CATALOG_LOCK)))
    latest = session.execute(select(CatalogVersion.version, CatalogVersion.digest)
                             .order_by(CatalogVersion.version.desc()).limit(1)).one_or_none()
    if latest is not None and latest.digest == digest:
        _remember(digest, catalog)
        return LoadedCatalog(latest.version, digest, catalog, new=False)
    previous = current(session)
    impact = catalog_change.assess(session, catalog,
                                   previous[1] if previous is not None else None)
    catalog_change.check_allowed(impact, confirmed=confirmed, force_reason=force_reason)
    version = (latest.version if latest is not None else 0) + 1
    session.add(CatalogVersion(
        version=version, digest=digest, loaded_at=datetime.now(UTC), loaded_by=actor,
        files={name: base64.b64encode(data).decode("ascii") for name, data in files.items()}))
    session.flush()
    audit.emit(session, "catalog_loaded", actor=actor, detail={
        "version": version, "digest": digest, "source": str(directory),
        "distritos": len(catalog.distritos), "casillas": len(catalog.casillas),
        "actas": catalog.total_actas,
        "bytes": {name: len(data) for name, data in files.items()},
        "impact": impact.to_json(), "confirmed": confirmed, "force_reason": force_reason})
    _remember(digest, catalog)
    return LoadedCatalog(version, digest, catalog, new=True)


def unknown_catds(session: Session, sitios: Iterable[str]) -> list[str]:
    """The CATD sites among ``sitios`` (``"07"``; CCV and CENTRAL are not CATDs) that
    the current catalog has no distrito for; none before any catalog is loaded (the
    accounts and codes of a central being prepared may come first)."""
    loaded = current(session)
    if loaded is None:
        return []
    distritos = {d.id for d in loaded[1].distritos}
    return sorted({s for s in sitios if s.isdigit() and int(s) not in distritos})


def describe_catds(session: Session) -> str:
    """«los distritos 1 a 33 del catálogo versión 2», for a message."""
    loaded = current(session)
    if loaded is None:
        return "ningún catálogo cargado"
    ids = sorted(d.id for d in loaded[1].distritos)
    span = (f"los distritos {ids[0]} a {ids[-1]}" if ids == list(range(ids[0], ids[-1] + 1))
            else "los distritos " + ", ".join(map(str, ids)))
    return f"{span} del catálogo versión {loaded[0]}"


def current_version(session: Session) -> int:
    """The current catalog version (0 before any load)."""
    return int(session.scalar(select(func.coalesce(func.max(CatalogVersion.version), 0)))
               or 0)


def current(session: Session) -> tuple[int, Catalog] | None:
    """The current catalog and its version, or ``None`` before any load."""
    latest = session.execute(select(CatalogVersion.version, CatalogVersion.digest)
                             .order_by(CatalogVersion.version.desc()).limit(1)).one_or_none()
    if latest is None:
        return None
    return latest.version, _catalog(session, latest.version, latest.digest)


def get(session: Session, version: int) -> Catalog:
    """The catalog of ``version``; :class:`KeyError` if there is no such version."""
    digest = session.scalar(select(CatalogVersion.digest)
                            .where(CatalogVersion.version == version))
    if digest is None:
        raise KeyError(f"no catalog version {version}")
    return _catalog(session, version, digest)


def _catalog(session: Session, version: int, digest: str) -> Catalog:
    with _cache_lock:
        cached = _cache.get(digest)
    if cached is not None:
        return cached
    stored = stored_files(session, version)
    assert stored is not None and stored.digest == digest
    files = {name: base64.b64decode(text) for name, text in stored.files_b64.items()}
    if files_digest(files) != digest:
        raise CatalogError(f"la versión {version} del catálogo no coincide con su huella")
    catalog = load_catalog_files(files)
    _remember(digest, catalog)
    return catalog


def stored_files(session: Session, version: int | None = None) -> StoredCatalog | None:
    """The files of ``version`` (default: the current one), or ``None``."""
    query = select(CatalogVersion.version, CatalogVersion.digest, CatalogVersion.files)
    query = (query.where(CatalogVersion.version == version) if version is not None
             else query.order_by(CatalogVersion.version.desc()).limit(1))
    row = session.execute(query).one_or_none()
    if row is None:
        return None
    return StoredCatalog(row.version, row.digest, {str(k): str(v) for k, v in row.files.items()})


def _remember(digest: str, catalog: Catalog) -> None:
    with _cache_lock:
        _cache.pop(digest, None)
        _cache[digest] = catalog
        for old in list(_cache)[:-_CACHE_SIZE]:
            del _cache[old]
