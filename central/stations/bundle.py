"""``GET /v1/station/bundle``: the signed catalog and operator accounts for one station.

The bundle also carries the central's serve nodes (:mod:`central.stations.nodes`), under the
same signature. Its ETag is its content hash (:attr:`prep.bundle.Bundle.etag`): a
station sends the one it holds in ``If-None-Match`` and gets ``304`` without a body
only when the content now is exactly that. (It was the bundle's version, a sum of
counters: after a restore to an earlier point other content could reach the same sum,
and a station kept an operator the central had disabled, issue 62.) Catalog, accounts
and the ETag are read in one REPEATABLE READ snapshot.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from dataclasses import replace
from datetime import UTC
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.catalog import catalog_store
from central.db.estaciones import Operator
from central.db.estaciones import Station
from central.node.config import Identity
from central.stations.health import note_bundle
from central.stations.nodes import active_nodes
from central.stations.nodes import nodes_version
from central.stations.operators import operators_of_site
from central.stations.operators import operators_version
from prep.bundle import Bundle
from prep.bundle import BundleCatalog
from prep.bundle import BundleOperator
from prep.bundle import sign_bundle
from prep.passwords import ScryptHash


@dataclass(frozen=True)
class BundleAnswer:
    """The version and ETag now current and, unless the station already holds that
    content, the body."""

    version: int
    body: bytes | None
    etag: str = ""


def parse_etag(header: str | None) -> str | None:
    """The content hash in ``If-None-Match: "<64 hex>"`` (``None`` if absent or not
    one: a station of an earlier version sends a number, and gets the bundle)."""
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    return text if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else None


def etag(value: str) -> str:
    return f'"{value}"'


def station_bundle(engine: Engine, identity: Identity, station_id: str,
                   held: str | None, linea: int = 0) -> BundleAnswer:
    """The bundle for ``station_id`` (authenticated already), or only its ETag when the
    station holds that content (``held``). ``linea``: the timeline of this node's
    database, the highest a node may claim to the station (:class:`prep.bundle.Bundle`;
    a promotion raises it)."""
    snapshot = engine.execution_options(isolation_level="REPEATABLE READ")
    with Session(snapshot) as session, session.begin():
        station = session.get(Station, station_id)
        assert station is not None
        stored = catalog_store.stored_files(session)
        # Everything but the catalog's files (hashed by their digest) and the time:
        # enough for the ETag, without decoding the catalog for a 304.
        bundle = Bundle(
            station=station.id, sitio=station.sitio, node=identity.node,
            operators_version=operators_version(session),
            catalog=None if stored is None else BundleCatalog(stored.version,
                                                              stored.digest, {}),
            operators=tuple(_operator(o) for o in operators_of_site(session,
                                                                    station.sitio)),
            issued_at=datetime.now(UTC), nodes_version=nodes_version(session),
            nodes=tuple(active_nodes(session)), linea=linea)
        body = None
        if held != bundle.etag:
            catalog = None if stored is None else BundleCatalog(
                stored.version, stored.digest,
                {name: base64.b64decode(text) for name, text in stored.files_b64.items()})
            body = sign_bundle(identity.key, replace(bundle, catalog=catalog))
    note_bundle(engine, station_id, bundle.version)
    return BundleAnswer(bundle.version, body, bundle.etag)


def _operator(row: Operator) -> BundleOperator:
    # A disabled account travels without its hash: nothing to guess offline.
    scrypt = ScryptHash(row.scrypt_salt, row.scrypt_n, row.scrypt_r, row.scrypt_p,
                        row.scrypt_hash) if row.enabled else None
    return BundleOperator(row.id, row.name, row.role, row.sitio, row.enabled, scrypt)
