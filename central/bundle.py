"""``GET /v1/station/bundle``: the signed catalog and operator accounts for one station.

The bundle also carries the central's serve nodes (:mod:`central.nodes`), under the
same signature. A station sends the version it holds in ``If-None-Match``; the same version as now
gets ``304`` without a body. Catalog, accounts and the version are read in one
REPEATABLE READ snapshot, so a bundle never carries content newer or older than its
version says.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central import catalog_store
from central.config import Identity
from central.db.models import Operator
from central.db.models import Station
from central.health import note_bundle
from central.nodes import active_nodes
from central.nodes import nodes_version
from central.operators import operators_of_site
from central.operators import operators_version
from prep.bundle import Bundle
from prep.bundle import BundleCatalog
from prep.bundle import BundleOperator
from prep.bundle import sign_bundle
from prep.passwords import ScryptHash


@dataclass(frozen=True)
class BundleAnswer:
    """The version now current and, unless the station already holds it, the body."""

    version: int
    body: bytes | None


def parse_etag(header: str | None) -> int | None:
    """The version in ``If-None-Match: "17"`` (``None`` if absent or unreadable)."""
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    return int(text) if text.isdigit() and len(text) <= 18 else None


def etag(version: int) -> str:
    return f'"{version}"'


def station_bundle(engine: Engine, identity: Identity, station_id: str,
                   held: int | None) -> BundleAnswer:
    """The bundle for ``station_id`` (authenticated already), or only its version when
    the station holds it (``held``)."""
    snapshot = engine.execution_options(isolation_level="REPEATABLE READ")
    with Session(snapshot) as session, session.begin():
        station = session.get(Station, station_id)
        assert station is not None
        stored = catalog_store.stored_files(session)
        ops_version = operators_version(session)
        node_version = nodes_version(session)
        version = (stored.version if stored is not None else 0) + ops_version + node_version
        body = None
        if held != version:
            catalog = None if stored is None else BundleCatalog(
                stored.version, stored.digest,
                {name: base64.b64decode(text) for name, text in stored.files_b64.items()})
            body = sign_bundle(identity.key, Bundle(
                station=station.id, sitio=station.sitio, node=identity.node,
                operators_version=ops_version, catalog=catalog,
                operators=tuple(_operator(o) for o in operators_of_site(session,
                                                                        station.sitio)),
                issued_at=datetime.now(UTC), nodes_version=node_version,
                nodes=tuple(active_nodes(session))))
    note_bundle(engine, station_id, version)
    return BundleAnswer(version, body)


def _operator(row: Operator) -> BundleOperator:
    # A disabled account travels without its hash: nothing to guess offline.
    scrypt = ScryptHash(row.scrypt_salt, row.scrypt_n, row.scrypt_r, row.scrypt_p,
                        row.scrypt_hash) if row.enabled else None
    return BundleOperator(row.id, row.name, row.role, row.sitio, row.enabled, scrypt)
