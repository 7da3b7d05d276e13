"""Operator accounts: made by a coordinator (``prep central operator add``, or a whole
state's from a CSV with ``operator import``), handed to the stations of their site in the
signed bundle, checked offline there.

A password exists in clear only while its scrypt hash is made (:mod:`prep.passwords`);
it is never logged nor written to the audit log. Every change takes the next
``revision`` under one advisory lock, so revisions are handed out in commit order and
the highest one is a counter that grows with every change (the bundle's
``operators_version``).
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import unicodedata
from collections.abc import Mapping
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.audit import audit
from central.catalog import catalog_store
from central.db.estaciones import OPERATOR_ROLES
from central.db.estaciones import Operator
from central.stations.enrollment import MAX_CATD
from prep.bundle import operator_name_key
from prep.catalog.cells import spreadsheet_safe
from prep.passwords import ScryptHash
from prep.passwords import hash_password
from prep.records import format_time

OPERATORS_LOCK = (0x50524550, 2)  # "PREP", 2: serializes operator changes
CCV = "CCV"
CENTRAL = "CENTRAL"
MAX_NAME = 128
MAX_FILE_BYTES = 1 << 20  # an operator file: a state has a few thousand accounts
MAX_FILE_ROWS = 5000
FILE_COLUMNS = ("nombre", "rol", "sitio")
CREDENTIALS_COLUMNS = ("id", "nombre", "rol", "sitio", "contrasena")

# Who may work where: CATD staff do acopio and digitalización; capture and verification
# happen at a CATD or at the CCV; a coordinador may be anywhere, the control room included.
_SITES_OF_ROLE = {
    "acopiador": ("catd",),
    "digitalizador": ("catd", "ccv"),
    "capturista": ("catd", "ccv"),
    "verificador": ("catd", "ccv"),
    "coordinador": ("catd", "ccv", "central"),
}
# How each kind of site is named to whoever chose it: by command-line option, or by the
# ``sitio`` column of an operator file.
_OPTION_PLACES = {"catd": "un CATD (--catd N)", "ccv": "el CCV (--ccv)",
                  "central": "el nodo central (--central)"}
_FILE_PLACES = {"catd": "un CATD (su número)", "ccv": "el CCV (CCV)",
                "central": "el nodo central (CENTRAL)"}
# Generated passwords are read off a printed envelope and typed at a station: lower case
# (no Shift), without i/l/1 nor o/0. Twelve symbols of 31: about 59 bits.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_PASSWORD_GROUPS, _PASSWORD_GROUP_LEN = 3, 4
_MAX_PROBLEMS_SHOWN = 20


class OperatorError(ValueError):
    """A coordinator's request about operators that cannot be done (Spanish)."""


class OperatorFileError(OperatorError):
    """An operator file refused as a whole: every problem found, each naming its line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:_MAX_PROBLEMS_SHOWN]
        if len(self.problems) > len(shown):
            shown.append(f"… y {len(self.problems) - len(shown)} problemas más")
        super().__init__("\n".join(shown))


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


def parse_site(text: str) -> str:
    """The ``sitio`` of an operator file's column: a CATD number (``7`` or ``07``), ``CCV``
    or ``CENTRAL`` in any case."""
    text = text.strip()
    if text.upper() in (CCV, CENTRAL):
        return text.upper()
    if re.fullmatch(r"[0-9]{1,3}", text):
        return site_of(int(text), False, False)
    raise OperatorError(f"sitio «{text}» no válido; use el número del CATD, CCV o CENTRAL")


def check_sites(engine: Engine, sitios: Sequence[str]) -> None:
    """Raise :class:`OperatorError` for a CATD the loaded catalog does not have."""
    with Session(engine) as session:
        _check_catds(session, sitios)


def _check_catds(session: Session, sitios: Sequence[str]) -> None:
    """Refuse a CATD the loaded catalog does not have (``--catd 99`` of 33 distritos)."""
    if unknown := catalog_store.unknown_catds(session, sitios):
        raise OperatorError(f"el CATD {', '.join(unknown)} no existe: el catálogo tiene "
                            f"{catalog_store.describe_catds(session)}")


def site_kind(sitio: str) -> str:
    return "ccv" if sitio == CCV else "central" if sitio == CENTRAL else "catd"


def check_role(role: str, sitio: str, *, places: Mapping[str, str] = _OPTION_PLACES) -> None:
    """Refuse an unknown role, or a site where that role does not work."""
    if role not in OPERATOR_ROLES:
        raise OperatorError(f"rol «{role}» desconocido; use uno de: {', '.join(OPERATOR_ROLES)}")
    allowed = _SITES_OF_ROLE[role]
    if site_kind(sitio) not in allowed:
        raise OperatorError(f"el rol {role} trabaja en " + " o ".join(places[a] for a in allowed))


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


@dataclass(frozen=True)
class OperatorRow:
    """One account to create from an operator file: name cleaned, role allowed at its site."""

    line: int
    name: str
    role: str
    sitio: str

    @classmethod
    def of(cls, line: int, nombre: str, rol: str, sitio: str) -> OperatorRow:
        """Check and normalize one line's cells; the error names the line."""
        try:
            site = parse_site(sitio)
            role = rol.strip().casefold()
            check_role(role, site, places=_FILE_PLACES)
            return cls(line, clean_name(nombre), role, site)
        except OperatorError as exc:
            raise OperatorError(f"Línea {line}: {exc}") from None


def read_operator_file(path: Path) -> list[OperatorRow]:
    """Read and check a coordinator's CSV of accounts (``nombre,rol,sitio``).

    Raises :class:`OperatorFileError` listing every bad line, or for a file over
    :data:`MAX_FILE_BYTES` or :data:`MAX_FILE_ROWS`.
    """
    with path.open("rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OperatorFileError([f"el archivo pasa de {MAX_FILE_BYTES // 1024} KiB; "
                                 "divídalo en varios"])
    return parse_operator_file(data)


def parse_operator_file(data: bytes) -> list[OperatorRow]:
    """The rows of an operator file's bytes (UTF-8, a BOM allowed); see
    :func:`read_operator_file`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise OperatorFileError([f"Línea {line}: el archivo no es texto UTF-8 (guárdelo como "
                                 "«CSV UTF-8»)"]) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns: list[str] | None = None
    rows: list[OperatorRow] = []
    problems: list[tuple[int, str]] = []
    line = 1
    try:
        for cells in reader:
            # A quoted field may span lines: a record is named by the line it starts on.
            line_here, line = line, reader.line_num + 1
            while cells and not cells[-1].strip():  # spreadsheets add empty columns
                cells.pop()
            if not cells:
                continue
            if columns is None:
                columns = _columns(cells, line_here)
                continue
            if len(rows) + len(problems) >= MAX_FILE_ROWS:
                raise OperatorFileError([f"Línea {line_here}: el archivo pasa de "
                                         f"{MAX_FILE_ROWS} operadores; divídalo en varios"])
            if len(cells) != len(columns):
                problems.append((line_here, f"Línea {line_here}: se esperaban 3 columnas "
                                            f"(nombre, rol, sitio) y hay {len(cells)}"))
                continue
            value = dict(zip(columns, cells, strict=True))
            try:
                rows.append(OperatorRow.of(line_here, value["nombre"], value["rol"],
                                           value["sitio"]))
            except OperatorError as exc:
                problems.append((line_here, str(exc)))
    except csv.Error:
        problems.append((line, f"Línea {line}: CSV mal formado (revise las comillas)"))
    if columns is None or not (rows or problems):
        raise OperatorFileError(["el archivo no tiene operadores: se espera el encabezado "
                                 "nombre,rol,sitio y una línea por operador"])
    problems.extend(_repeated(rows))
    if problems:
        raise OperatorFileError([text for _, text in sorted(problems)])
    return rows


def credentials_rows(created: Sequence[tuple[OperatorInfo, str]]) -> list[tuple[str, ...]]:
    """The rows of the envelopes file (``operator import --credenciales``) under
    :data:`CREDENTIALS_COLUMNS`. It is opened in a spreadsheet to print envelopes, and a
    name comes from whoever wrote the operator file: one that would start a formula
    (``=``, ``+``, ``-``, ``@``) is written with a leading apostrophe, so it is shown,
    never run (docs/catalogo.md)."""
    return [(info.id, spreadsheet_safe(info.name), info.role, info.sitio, password)
            for info, password in created]


def new_password() -> str:
    """A random password for a sealed envelope, such as ``k7mp-x3qd-w9ta``."""
    symbols = "".join(secrets.choice(_PASSWORD_ALPHABET)
                      for _ in range(_PASSWORD_GROUPS * _PASSWORD_GROUP_LEN))
    return "-".join(symbols[i:i + _PASSWORD_GROUP_LEN]
                    for i in range(0, len(symbols), _PASSWORD_GROUP_LEN))


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
        _check_catds(session, [sitio])
        revision = _next_revision(session)
        taken = _names_of_site(session, sitio).get(operator_name_key(name))
        if taken is not None:
            raise OperatorError(f"ya existe un operador «{name}» en ese sitio ({taken})")
        row = _insert(session, name, role, sitio, scrypt, revision=revision, now=now,
                      actor=actor)
        return OperatorInfo.of(row)


def import_operators(engine: Engine, rows: Sequence[OperatorRow], *,
                     actor: str) -> list[tuple[OperatorInfo, str]]:
    """Create every account of ``rows`` in one transaction, each with a new random
    password; return them with their passwords (in clear only here, for the envelopes).

    All or nothing: a name repeated in ``rows`` or already used at its site raises
    :class:`OperatorFileError` naming the lines, and creates no account. Each account
    takes its own revision, as if added one after another, and is audited as
    ``operator_created``; stations see them all in the same bundle, or none.
    """
    if not rows:
        raise OperatorError("no hay operadores que dar de alta")
    if repeated := _repeated(rows):
        raise OperatorFileError([text for _, text in repeated])
    passwords = [new_password() for _ in rows]
    scrypts = _hash_all(passwords)  # before the lock: ~50 ms each
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        if unknown := set(catalog_store.unknown_catds(session, [r.sitio for r in rows])):
            raise OperatorFileError([f"Línea {row.line}: el CATD {row.sitio} no existe; el "
                                     f"catálogo tiene {catalog_store.describe_catds(session)}"
                                     for row in rows if row.sitio in unknown])
        revision = _next_revision(session)
        names = {sitio: _names_of_site(session, sitio) for sitio in {r.sitio for r in rows}}
        taken = [(row, names[row.sitio][key]) for row in rows
                 if (key := operator_name_key(row.name)) in names[row.sitio]]
        if taken:
            raise OperatorFileError([f"Línea {row.line}: ya existe un operador «{row.name}» "
                                     f"en {_place(row.sitio)} ({operator_id})"
                                     for row, operator_id in taken])
        created = [_insert(session, row.name, row.role, row.sitio, scrypt,
                           revision=revision + i, now=now, actor=actor)
                   for i, (row, scrypt) in enumerate(zip(rows, scrypts, strict=True))]
        return [(OperatorInfo.of(row), password)
                for row, password in zip(created, passwords, strict=True)]


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


def _insert(session: Session, name: str, role: str, sitio: str, scrypt: ScryptHash, *,
            revision: int, now: datetime, actor: str) -> Operator:
    """Add one checked account under the operators lock, and audit it."""
    base = f"op-{sitio.lower()}-{slug(name) or 'operador'}"[:58]
    operator_id, n = base, 1
    # Ids only: the dashboard's role (prep_coordinador) may not read password hashes.
    while session.scalar(select(Operator.id).where(Operator.id == operator_id)) is not None:
        n += 1
        operator_id = f"{base}-{n}"
    row = Operator(id=operator_id, name=name, role=role, sitio=sitio,
                   scrypt_salt=scrypt.salt, scrypt_n=scrypt.n, scrypt_r=scrypt.r,
                   scrypt_p=scrypt.p, scrypt_hash=scrypt.hash, enabled=True,
                   revision=revision, created_at=now, created_by=actor, updated_at=now)
    session.add(row)
    session.flush()  # later ids of the same transaction see this one
    audit.emit(session, "operator_created", actor=actor, detail={
        "id": operator_id, "name": name, "role": role, "sitio": sitio, "revision": revision})
    return row


def _names_of_site(session: Session, sitio: str) -> dict[str, str]:
    """The ids of a site's accounts by name, compared as stations look names up at
    login (:func:`prep.bundle.operator_name_key`), not by the database's collation."""
    rows = session.execute(select(Operator.name, Operator.id).where(Operator.sitio == sitio)
                           .order_by(Operator.id))
    return {operator_name_key(name): operator_id for name, operator_id in rows}


def _repeated(rows: Sequence[OperatorRow]) -> list[tuple[int, str]]:
    """A problem for each row whose name an earlier row already has at the same site."""
    first: dict[tuple[str, str], int] = {}
    problems = []
    for row in rows:
        line = first.setdefault((row.sitio, operator_name_key(row.name)), row.line)
        if line != row.line:
            problems.append((row.line, f"Línea {row.line}: «{row.name}» ya aparece en la "
                                       f"línea {line} para {_place(row.sitio)}"))
    return problems


def _columns(cells: list[str], line: int) -> list[str]:
    """The header's column names, in the order they come."""
    names = [cell.strip().casefold() for cell in cells]
    if sorted(names) != sorted(FILE_COLUMNS):
        shown = ",".join(cells)[:80]
        raise OperatorFileError([f"Línea {line}: el encabezado debe ser «nombre,rol,sitio» "
                                 f"(dice «{shown}»)"])
    return names


def _place(sitio: str) -> str:
    return {"ccv": "el CCV", "central": "el nodo central"}.get(site_kind(sitio),
                                                               f"el CATD {sitio}")


def _hash_all(passwords: Sequence[str]) -> list[ScryptHash]:
    # hashlib.scrypt releases the GIL: a thread per core makes a state's thousands of
    # hashes in a fraction of the time (each takes 16 MiB while it runs).
    workers = min(len(passwords), os.cpu_count() or 1, 8)
    if workers <= 1:
        return [hash_password(p) for p in passwords]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(hash_password, passwords))


def _next_revision(session: Session) -> int:
    session.execute(select(func.pg_advisory_xact_lock(*OPERATORS_LOCK)))
    return operators_version(session) + 1
