"""The bundle a station holds (catalog and operator accounts of its site) and offline
login against it.

:func:`save_bundle` keeps a bundle only after its signature verifies with the central
key pinned at enrollment, it names this very station, and it is not older than the one
held (a rollback could revive a disabled account or an outdated catalog): lower
versions are taken only when signed later than the held bundle (the central was
restored from a backup; a replayed old bundle carries its old signing time). Logins then
need no network: :func:`login` checks the password against the cached scrypt hash.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from prep.bundle import Bundle
from prep.bundle import BundleError
from prep.bundle import held_etag
from prep.bundle import operator_name_key
from prep.bundle import read_bundle
from prep.catalog import Catalog
from prep.catalog import CatalogError
from prep.catalog import load_catalog_files
from prep.passwords import PasswordError
from prep.passwords import ScryptHash
from prep.passwords import waste_like_a_check
from prep.records import format_time
from prep.records import parse_time
from prep.station.client import CentralClient
from prep.station.client import central_error
from prep.station.errors import BundleRefusedError
from prep.station.errors import LoginError
from prep.station.errors import NoCatalogError
from prep.station.errors import StationStorageError
from prep.station.errors import SyncError
from prep.station.models import BundleRow
from prep.station.models import LoginFailureRow
from prep.station.models import OperatorRow
from prep.station.nodes import held_nodes
from prep.station.nodes import keep_nodes
from prep.station.store import StationIdentity
from prep.station.store import Store
from prep.station.store import database_error

log = logging.getLogger("prep.station.accounts")

NO_BUNDLE = ("Esta estación aún no tiene el catálogo: conéctela al nodo central una vez "
             "para recibirlo junto con las cuentas de los operadores.")
BAD_CREDENTIALS = "Usuario o contraseña incorrectos."
#: Failed logins allowed for one account before it must wait; each further failure
#: doubles the wait, up to LOCK_MAX.
FREE_FAILURES = 5
LOCK_BASE = timedelta(seconds=30)
LOCK_MAX = timedelta(minutes=15)
DISABLED = "Usuario deshabilitado: pida a su coordinador que revise su cuenta."


@dataclass(frozen=True)
class Operator:
    """Who is logged in at the station."""

    id: str
    name: str
    role: str
    sitio: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "sitio": self.sitio}


@dataclass(frozen=True)
class BundleInfo:
    """The bundle held: its versions and what it brought."""

    version: int
    catalog_version: int
    operators_version: int
    catalog_digest: str | None
    issued_at: str
    received_at: str
    operators: int

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "catalog_version": self.catalog_version,
                "operators_version": self.operators_version,
                "catalog_digest": self.catalog_digest, "issued_at": self.issued_at,
                "received_at": self.received_at, "operators": self.operators}


@dataclass(frozen=True)
class BundleOutcome:
    """What a refresh did: ``changed`` is False when the held bundle was current."""

    info: BundleInfo
    changed: bool


def save_bundle(store: Store, body: bytes) -> BundleOutcome:
    """Verify ``body`` (the central's answer) and keep it in place of the held bundle.

    Raises :class:`BundleRefusedError` (nothing changes) for a bundle that is not the
    central's, not for this station, malformed, or older than the one held.
    """
    bundle = _verified(body, store.require_identity())
    try:
        return _keep(store, bundle, body)
    except DBAPIError as exc:
        raise database_error(exc, "el catálogo y las cuentas recibidos") from exc


def _keep(store: Store, bundle: Bundle, body: bytes) -> BundleOutcome:
    floor = store.highest_timeline()
    with store.write() as session:
        held = session.get(BundleRow, 1)
        if held is not None and held.body == body:
            return BundleOutcome(_info(held, _count_operators(session)), changed=False)
        if bundle.linea < floor:
            # Signed by a node whose database is on an older timeline than one this
            # station already worked with: a replaced primary's list (issue 62).
            raise BundleRefusedError("old_primary", (
                f"El paquete de catálogo y operadores viene de un nodo central de una línea "
                f"de tiempo anterior ({bundle.linea}; esta estación ya trabajó con la "
                f"{floor}): es de un primario que ya fue reemplazado y se descartó. Avise a "
                "su coordinador."))
        if held is not None:
            lower = bundle.catalog_version < held.catalog_version \
                or bundle.operators_version < held.operators_version \
                or bundle.nodes_version < held_nodes(session)[0]
            if lower and format_time(bundle.issued_at) <= held.issued_at:
                raise BundleRefusedError("rollback", (
                    f"El nodo central envió un paquete de catálogo y operadores más antiguo "
                    f"(versión {bundle.version}) que el que tiene esta estación (versión "
                    f"{held.version}): se descartó. Avise a su coordinador."))
            if lower:
                # Lower versions signed later than the held bundle: the central was
                # restored from a backup. An old bundle replayed carries its old
                # signing time and is refused above.
                log.warning("bundle %s (issued %s) replaces %s: central restored",
                            bundle.version, format_time(bundle.issued_at), held.version)
            session.delete(held)
        session.execute(delete(OperatorRow))
        session.flush()
        row = BundleRow(id=1, version=bundle.version, catalog_version=bundle.catalog_version,
                        operators_version=bundle.operators_version,
                        catalog_digest=bundle.catalog.digest if bundle.catalog else None,
                        issued_at=format_time(bundle.issued_at), received_at=store.now(),
                        body=body)
        session.add(row)
        keep_nodes(session, bundle.nodes_version, bundle.nodes, bundle.linea)
        for o in bundle.operators:
            session.add(OperatorRow(
                id=o.id, name=o.name, name_key=operator_name_key(o.name), role=o.role,
                sitio=o.sitio, enabled=o.enabled,
                scrypt=json.dumps(o.scrypt.to_json()) if o.scrypt is not None else None))
    return BundleOutcome(_info(row, len(bundle.operators)), changed=True)


async def refresh_bundle(client: CentralClient, store: Store) -> BundleOutcome:
    """Ask the central for a newer bundle (``If-None-Match``: the content hash held) and keep
    it; the central answers 304 when the held one is current."""
    held = bundle_info(store)
    status, body = await client.bundle(_held_etag(store) if held is not None else None)
    if status == 304 and held is not None:
        return BundleOutcome(held, changed=False)
    if status != 200:
        code, detail = central_error(body)
        raise SyncError(code or f"http_{status}", f"El nodo central no entregó el catálogo y "
                        f"las cuentas (HTTP {status}{': ' + detail if detail else ''}); se "
                        "reintentará.", retry=True)
    return save_bundle(store, body)


def _held_etag(store: Store) -> str | None:
    """The content hash of the bundle held: the central answers 304 only for exactly
    that content (a version number could repeat after a restore, issue 62)."""
    with store.read() as session:
        row = session.get(BundleRow, 1)
        body = None if row is None else row.body
    return None if body is None else held_etag(body)


def bundle_info(store: Store) -> BundleInfo | None:
    """The bundle held, or ``None`` before the first one."""
    with store.read() as session:
        row = session.get(BundleRow, 1)
        return None if row is None else _info(row, _count_operators(session))


def login(store: Store, user: str, password: str) -> Operator:
    """Check ``user`` (operator id or name, case-insensitive) and ``password`` against
    the accounts of the held bundle, offline. Raises :class:`LoginError`. After
    :data:`FREE_FAILURES` wrong passwords in a row for one account, that account must
    wait before the next try (``locked``), so a password cannot be guessed at speed.
    Failures count per account, whether it was named by its id or by its name (a
    name that is no account counts on its own, so both look alike from outside)."""
    user = user.strip()
    row = _find_account(store, user)
    key = (ACCOUNT_KEY_PREFIX + row.id if row is not None
           else operator_name_key(user)[:128])
    _refuse_if_locked(store, key)
    try:
        operator = _check_password(row, password)
    except LoginError as exc:
        if exc.code == "bad_credentials":
            _count_failure(store, key)
        raise
    with store.write() as session:
        session.execute(delete(LoginFailureRow).where(LoginFailureRow.user_key == key))
    return operator


#: Failure rows of a known account are keyed by its id under this prefix. (A name
#: typed that folds to the same key can only add to that account's count, as typing
#: its id would.)
ACCOUNT_KEY_PREFIX = "cuenta:"


def _refuse_if_locked(store: Store, key: str) -> None:
    with store.read() as session:
        row = session.get(LoginFailureRow, key)
    if row is None:
        return
    wait = parse_time(row.locked_until) - store.clock()
    if wait.total_seconds() > 0:
        seconds = math.ceil(wait.total_seconds())
        espere = "1 segundo" if seconds == 1 else f"{seconds} segundos"
        raise LoginError("locked", (
            f"Demasiados intentos fallidos con esa cuenta: espere {espere} y vuelva a "
            "intentarlo. Si olvidó su contraseña, pida a su coordinador que la "
            "restablezca."))


def _count_failure(store: Store, key: str) -> None:
    with store.write() as session:
        row = session.get(LoginFailureRow, key)
        if row is None:
            row = LoginFailureRow(user_key=key, failures=0, locked_until=store.now())
            session.add(row)
        row.failures += 1
        over = row.failures - FREE_FAILURES
        if over >= 0:
            row.locked_until = format_time(store.clock() + min(LOCK_BASE * 2 ** min(over, 10),
                                                               LOCK_MAX))


def _find_account(store: Store, user: str) -> OperatorRow | None:
    """The account ``user`` names (its id, else its name), or ``None``."""
    with store.read() as session:
        if session.get(BundleRow, 1) is None:
            raise LoginError("no_bundle", NO_BUNDLE)
        row = session.get(OperatorRow, user.lower())  # ids are lower-case ASCII
        if row is not None:
            return row
        rows = list(session.scalars(select(OperatorRow)
                                    .where(OperatorRow.name_key == operator_name_key(user))))
    if len(rows) > 1:
        raise LoginError("ambiguous", "Hay más de un operador con ese nombre: "
                                      "escriba su identificador (op-…).")
    return rows[0] if rows else None


def _check_password(row: OperatorRow | None, password: str) -> Operator:
    if row is None:
        waste_like_a_check(password)  # as slow as a real check: no hint the user is unknown
        raise LoginError("bad_credentials", BAD_CREDENTIALS)
    if not row.enabled or row.scrypt is None:
        raise LoginError("disabled", DISABLED)
    try:
        scrypt = ScryptHash.from_json(json.loads(row.scrypt))
    except (ValueError, PasswordError) as exc:
        raise StationStorageError(f"La cuenta {row.id} está dañada en la estación ({exc}); "
                                  "conéctela al nodo central para recibirla de nuevo.") from exc
    if not scrypt.matches(password):
        raise LoginError("bad_credentials", BAD_CREDENTIALS)
    return Operator(row.id, row.name, row.role, row.sitio)


class CatalogCache:
    """The held bundle's catalog, verified and parsed once per digest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._digest: str | None = None
        self._catalog: Catalog | None = None

    def catalog(self, store: Store) -> Catalog:
        # Asked for every scan: the digest says whether the held catalog is still the
        # one parsed; the signed body is read (and verified) only when it is not.
        with store.query_one() as conn:
            digest = conn.scalar(_CATALOG_DIGEST)
        if digest is None:
            raise NoCatalogError(NO_BUNDLE)
        with self._lock:
            if self._digest == digest and self._catalog is not None:
                return self._catalog
        with store.read() as session:  # digest and body of one bundle, read together
            row = session.execute(select(BundleRow.catalog_digest, BundleRow.body)
                                  .where(BundleRow.id == 1)).one_or_none()
        digest, body = (row.catalog_digest, row.body) if row is not None else (None, b"")
        if digest is None:
            raise NoCatalogError(NO_BUNDLE)
        bundle = _verified(body, store.require_identity())
        assert bundle.catalog is not None
        try:
            catalog = load_catalog_files(bundle.catalog.files)
        except CatalogError as exc:
            raise NoCatalogError(f"El catálogo recibido del nodo central no es válido ({exc})."
                                 " Avise a su coordinador.") from exc
        with self._lock:
            self._digest, self._catalog = digest, catalog
        return catalog


_CATALOG_DIGEST = select(BundleRow.catalog_digest).where(BundleRow.id == 1)


def _verified(body: bytes, identity: StationIdentity) -> Bundle:
    try:
        return read_bundle(body, identity.central_key, identity.station_id, identity.sitio)
    except BundleError as exc:
        raise BundleRefusedError(exc.code, str(exc)) from exc


def _info(row: BundleRow, operators: int) -> BundleInfo:
    return BundleInfo(row.version, row.catalog_version, row.operators_version,
                      row.catalog_digest, row.issued_at, row.received_at, operators)


def _count_operators(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(OperatorRow)) or 0)
