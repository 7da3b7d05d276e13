"""Enrollment: one-time codes made by a coordinator, spent by a station to register its
public key (docs/protocol.md, ``POST /v1/enroll``).

A code is random, shown once and stored only as its SHA-256, tied to a site (a CATD by
number, or the CCV) and a role, and expires. Spending it creates the station with an id
such as ``catd-07-a1b2`` or ``ccv-c3d4``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.audit import audit
from central.db.estaciones import EnrollmentCode
from central.db.estaciones import Station
from central.node.errors import ApiError
from central.node.errors import Refused
from prep.canonical import CanonicalError
from prep.canonical import JsonValue
from prep.canonical import parse_json
from prep.canonical import sha256_hex
from prep.crypto import SignatureError
from prep.crypto import VerifyKey
from prep.records import format_time

ROLES = ("catd", "ccv")
DEFAULT_TTL = timedelta(hours=24)
MAX_CATD = 99

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed by a technician
_GROUPS, _GROUP_LEN = 3, 4  # 12 symbols of 5 bits: 60 bits
_HOSTNAME = re.compile(r"[\w.-]{1,255}")


@dataclass(frozen=True)
class Site:
    """Where a station works: a CATD (by district number) or the CCV."""

    role: str
    sitio: str

    @classmethod
    def of(cls, catd: int | None, role: str) -> Site:
        """Validate a coordinator's choice of site and role."""
        if role not in ROLES:
            raise ValueError(f"rol {role!r} desconocido; use uno de {', '.join(ROLES)}")
        if catd is None:
            if role != "ccv":
                raise ValueError("el rol catd requiere --catd con el número del CATD")
            return cls(role, "CCV")
        if not 1 <= catd <= MAX_CATD:
            raise ValueError(f"el número de CATD debe estar entre 1 y {MAX_CATD}")
        if role != "catd":
            raise ValueError("el rol ccv es solo para el CCV (--ccv)")
        return cls(role, f"{catd:02d}")

    def station_id(self) -> str:
        suffix = secrets.token_hex(2)
        return f"ccv-{suffix}" if self.sitio == "CCV" else f"catd-{self.sitio}-{suffix}"


@dataclass(frozen=True)
class Enrolled:
    """What the central tells a newly enrolled station."""

    station_id: str
    role: str
    sitio: str


def normalize_code(text: str) -> str:
    """The code as stored: upper case, without the dashes and spaces people type."""
    return re.sub(r"[\s-]", "", text).upper()


def code_sha256(code: str) -> str:
    return sha256_hex(normalize_code(code).encode("utf-8"))


def new_code() -> tuple[str, str]:
    """A fresh one-time code as shown to the coordinator (``XXXX-XXXX-XXXX``) and its
    SHA-256, the only form stored."""
    symbols = "".join(secrets.choice(_ALPHABET) for _ in range(_GROUPS * _GROUP_LEN))
    code = "-".join(symbols[i:i + _GROUP_LEN] for i in range(0, len(symbols), _GROUP_LEN))
    return code, code_sha256(code)


def add_code(session: Session, role: str, sitio: str, *, actor: str,
             ttl: timedelta = DEFAULT_TTL) -> tuple[str, str]:
    """Store a new code for ``role`` at ``sitio`` in ``session``'s transaction, audited;
    the code in clear (to show once) and its SHA-256."""
    code, digest = new_code()
    now = datetime.now(UTC)
    session.add(EnrollmentCode(code_sha256=digest, role=role, sitio=sitio,
                               created_at=now, created_by=actor, expires_at=now + ttl))
    audit.emit(session, "enrollment_code_created", actor=actor,
               detail={"role": role, "sitio": sitio, "code_sha256": digest,
                       "expires_at": format_time(now + ttl)})
    return code, digest


def create_code(engine: Engine, site: Site, *, actor: str, ttl: timedelta = DEFAULT_TTL) -> str:
    """Make a one-time code for ``site``; the only time it exists in clear is the return
    value (to show the coordinator once)."""
    with Session(engine) as session, session.begin():
        code, _digest = add_code(session, site.role, site.sitio, actor=actor, ttl=ttl)
    return code


def claim_code(session: Session, code: str, roles: tuple[str, ...], now: datetime, *,
               actor: str, detail: dict[str, JsonValue]) -> EnrollmentCode:
    """The unspent, unexpired code ``code`` for one of ``roles``, locked and marked used
    at ``now`` in ``session``'s transaction; else :class:`Refused` (403, counted as an
    unsigned refusal): a code made for another kind of enrollment is as unknown here as
    one never made."""
    digest = code_sha256(code)
    row = session.scalars(select(EnrollmentCode)
                          .where(EnrollmentCode.code_sha256 == digest)
                          .with_for_update()).one_or_none()
    if row is not None and row.role not in roles:
        row = None
    reason = _refusal_reason(row, now)
    if reason is not None:
        raise Refused(403, reason, _MESSAGES[reason], event="enrollment_refused",
                      actor=actor, detail={"code_sha256": digest, **detail})
    assert row is not None
    row.used_at = now
    return row


def enroll(engine: Engine, code: str, public_key: bytes, hostname: str, *,
           intake: bool = False) -> Enrolled:
    """Spend ``code`` to register ``public_key``; raise :class:`Refused` (403) for a code
    that is unknown, already used or expired. ``intake``: the central enrolling its own
    PREP Casilla intake station, in-process (``POST /v1/enroll`` never sets it): only
    that station's image records may name the intake as operator
    (:mod:`central.pipeline.authorize`)."""
    if not _HOSTNAME.fullmatch(hostname):
        raise ApiError(400, "malformed", "El nombre del equipo no es válido.")
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        row = claim_code(session, code, ROLES, now, actor=f"equipo:{hostname[:100]}",
                         detail={"hostname": hostname})
        digest = row.code_sha256
        if session.scalar(select(Station.id).where(Station.public_key == public_key)):
            raise ApiError(409, "key_in_use", "Esta llave pública ya está dada de alta en "
                                              "otro equipo; genere una nueva.")
        site = Site(row.role, row.sitio)
        station_id = site.station_id()
        while session.get(Station, station_id) is not None:
            station_id = site.station_id()
        session.add(Station(id=station_id, role=site.role, sitio=site.sitio,
                            public_key=public_key, hostname=hostname, enrolled_at=now,
                            intake=intake))
        session.flush()
        row.station_id = station_id
        audit.emit(session, "station_enrolled", actor=station_id,
                   detail={"role": site.role, "sitio": site.sitio, "hostname": hostname,
                           "code_sha256": digest,
                           "public_key_sha256": sha256_hex(public_key)})
    return Enrolled(station_id, site.role, site.sitio)


def _refusal_reason(row: EnrollmentCode | None, now: datetime) -> str | None:
    if row is None:
        return "unknown_code"
    if row.used_at is not None:
        return "used_code"
    if row.expires_at <= now:
        return "expired_code"
    return None


_MESSAGES = {
    "unknown_code": "El código de alta no existe. Revise que lo escribió completo o pida "
                    "uno nuevo al coordinador.",
    "used_code": "Este código de alta ya se usó: cada código sirve una sola vez. Pida uno "
                 "nuevo al coordinador.",
    "expired_code": "El código de alta venció. Pida uno nuevo al coordinador.",
}


def read_enrollment(body: bytes, limit: int, code_field: str,
                    refused: str) -> tuple[str, str, bytes]:
    """``(code, hostname, public key)`` of an enrollment body (a station's, with its code
    in ``code``; a difusor's, in ``codigo``); 400 ``malformed`` with the Spanish
    ``refused`` when it is not that."""
    try:
        data = parse_json(body, limit)
        code, hostname = data[code_field], data["hostname"]
        public_key = VerifyKey.from_b64(data["public_key"]).raw()
        if not isinstance(code, str) or not isinstance(hostname, str):
            raise TypeError(f"{code_field} and hostname are texts")
    except (CanonicalError, SignatureError, ValueError, KeyError, TypeError):
        raise ApiError(400, "malformed", refused) from None
    return code, hostname, public_key
