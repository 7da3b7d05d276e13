"""Operator accounts: made by a coordinator (``prep central operator add``), handed to the
stations of their site in the signed bundle, checked offline there.

A password exists in clear only while its scrypt hash is made (:mod:`prep.passwords`);
it is never logged nor written to the audit log. Every change takes the next
``revision`` under one advisory lock, so revisions are handed out in commit order and
the highest one is a counter that grows with every change (the bundle's
``operators_version``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from central import audit
from central.db.models import OPERATOR_ROLES, Operator
from central.enrollment import MAX_CATD
from prep.bundle import operator_name_key
from prep.passwords import hash_password
from prep.records import format_time

OPERATORS_LOCK = (0x50524550, 2)  # "PREP", 2: serializes operator changes
CCV = "CCV"
CENTRAL = "CENTRAL"
MAX_NAME = 128

# Who may work where: CATD staff do acopio and digitalización; capture and verification
# happen at a CATD or at the CCV; a coordinador may be anywhere, the control room included.
_SITES_OF_ROLE = {
    "acopiador": ("catd",),
    "digitalizador": ("catd", "ccv"),
    "capturista": ("catd", "ccv"),
    "verificador": ("catd", "ccv"),
    "coordinador": ("catd", "ccv", "central"),
}


class OperatorError(ValueError):
    """A coordinator's request about operators that cannot be done (Spanish)."""


@dataclass(frozen=True)
class OperatorInfo:
    """An account as shown to coordinators: never its hash."""

    id: str
    name: str
    role: str
    sitio: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    revision: int

    @classmethod
    def of(cls, row: Operator) -> OperatorInfo:
        return cls(row.id, row.name, row.role, row.sitio, row.enabled, row.created_at,
                   row.updated_at, row.revision)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "sitio": self.sitio,
                "enabled": self.enabled, "created_at": format_time(self.created_at),
                "updated_at": format_time(self.updated_at), "revision": self.revision}


def site_of(catd: int | None, ccv: bool, central: bool) -> str:
    """The ``sitio`` value of a coordinator's ``--catd N``, ``--ccv`` or ``--central``."""
    if sum((catd is not None, ccv, central)) != 1:
        raise OperatorError("indique un solo sitio: --catd N, --ccv o --central")
    if catd is not None:
        if not 1 <= catd <= MAX_CATD:
            raise OperatorError(f"el número de CATD debe estar entre 1 y {MAX_CATD}")
        return f"{catd:02d}"
    return CCV if ccv else CENTRAL


def site_kind(sitio: str) -> str:
    return "ccv" if sitio == CCV else "central" if sitio == CENTRAL else "catd"


def check_role(role: str, sitio: str) -> None:
    if role not in OPERATOR_ROLES:
        raise OperatorError(f"rol {role!r} desconocido; use uno de {', '.join(OPERATOR_ROLES)}")
    allowed = _SITES_OF_ROLE[role]
    if site_kind(sitio) not in allowed:
        donde = {"catd": "un CATD (--catd N)", "ccv": "el CCV (--ccv)",
                 "central": "el nodo central (--central)"}
        raise OperatorError(f"el rol {role} trabaja en " + " o ".join(donde[a] for a in allowed))


def clean_name(name: str) -> str:
    """The name as stored: trimmed, inner runs of spaces made one, NFC."""
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if not name:
        raise OperatorError("el nombre del operador no puede quedar vacío")
    if len(name) > MAX_NAME or not name.isprintable():
        raise OperatorError(f"el nombre debe ser texto imprimible de hasta {MAX_NAME} "
                            "caracteres")
    return name


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and dashes: ``José Pérez`` → ``jose-perez``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def add_operator(engine: Engine, name: str, role: str, sitio: str, password: str, *,
                 actor: str) -> OperatorInfo:
    """Create an account with id ``op-<sitio>-<name slug>`` (a number appended if taken).

    Raises :class:`OperatorError` for a bad role/site or a name already used at that site
    and :class:`prep.passwords.PasswordError` for a password too short.
    """
    name = clean_name(name)
    check_role(role, sitio)
    scrypt = hash_password(password)  # before the lock: it takes a while
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        revision = _next_revision(session)
        # Compared as stations look names up at login, not by the database's collation.
        key = operator_name_key(name)
        taken = next((o.id for o in operators_of_site(session, sitio)
                      if operator_name_key(o.name) == key), None)
        if taken is not None:
            raise OperatorError(f"ya existe un operador «{name}» en ese sitio ({taken})")
        base = f"op-{sitio.lower()}-{slug(name) or 'operador'}"[:58]
        operator_id, n = base, 1
        while session.get(Operator, operator_id) is not None:
            n += 1
            operator_id = f"{base}-{n}"
        row = Operator(id=operator_id, name=name, role=role, sitio=sitio,
                       scrypt_salt=scrypt.salt, scrypt_n=scrypt.n, scrypt_r=scrypt.r,
                       scrypt_p=scrypt.p, scrypt_hash=scrypt.hash, enabled=True,
                       revision=revision, created_at=now, created_by=actor, updated_at=now)
        session.add(row)
        session.flush()
        audit.emit(session, "operator_created", actor=actor, detail={
            "id": operator_id, "name": name, "role": role, "sitio": sitio,
            "revision": revision})
        return OperatorInfo.of(row)


def set_enabled(engine: Engine, operator_id: str, enabled: bool, *,
                actor: str) -> OperatorInfo:
    """Enable or disable an account; stations learn it with their next bundle."""
    with Session(engine) as session, session.begin():
        revision = _next_revision(session)
        row = session.get(Operator, operator_id, with_for_update=True)
        if row is None:
            raise OperatorError(f"no existe el operador {operator_id!r}")
        if row.enabled == enabled:
            return OperatorInfo.of(row)
        row.enabled, row.revision, row.updated_at = enabled, revision, datetime.now(UTC)
        session.flush()
        detail = {"id": row.id, "sitio": row.sitio, "revision": revision}
        if enabled:
            audit.emit(session, "operator_enabled", actor=actor, detail=detail)
        else:
            audit.emit(session, "operator_disabled", actor=actor, detail=detail)
        return OperatorInfo.of(row)


def set_password(engine: Engine, operator_id: str, password: str, *,
                 actor: str) -> OperatorInfo:
    """Give an account a new password (the operator forgot it); stations take the new
    hash with their next bundle, and the old password stops working there."""
    scrypt = hash_password(password)  # before the lock: it takes a while
    with Session(engine) as session, session.begin():
        revision = _next_revision(session)
        row = session.get(Operator, operator_id, with_for_update=True)
        if row is None:
            raise OperatorError(f"no existe el operador {operator_id!r}")
        row.scrypt_salt, row.scrypt_n, row.scrypt_r = scrypt.salt, scrypt.n, scrypt.r
        row.scrypt_p, row.scrypt_hash = scrypt.p, scrypt.hash
        row.revision, row.updated_at = revision, datetime.now(UTC)
        session.flush()
        audit.emit(session, "operator_password_set", actor=actor, detail={
            "id": row.id, "sitio": row.sitio, "revision": revision})
        return OperatorInfo.of(row)


def list_operators(engine: Engine, sitio: str | None = None) -> list[OperatorInfo]:
    with Session(engine) as session:
        query = select(Operator).order_by(Operator.sitio, Operator.id)
        if sitio is not None:
            query = query.where(Operator.sitio == sitio)
        return [OperatorInfo.of(row) for row in session.scalars(query)]


def operators_version(session: Session) -> int:
    """The operators change counter: the highest revision (0 without accounts)."""
    return int(session.scalar(select(func.coalesce(func.max(Operator.revision), 0))) or 0)


def operators_of_site(session: Session, sitio: str) -> list[Operator]:
    return list(session.scalars(select(Operator).where(Operator.sitio == sitio)
                                .order_by(Operator.id)))


def _next_revision(session: Session) -> int:
    session.execute(select(func.pg_advisory_xact_lock(*OPERATORS_LOCK)))
    return operators_version(session) + 1
