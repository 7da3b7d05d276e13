"""The audit chain's copy outside the database: its head and every revocation, in
append-only files of the central's data directory (``<data-dir>/ancla/``, issue 62).

Whoever owns the database can rewrite it, and a restore to an earlier point undoes
what came after: a station disabled for a stolen key, a disabled operator, a difusor
taken off the list would come back without anyone noticing. So every command of
``prep central`` (on its way out) and every ``serve`` (every few seconds) copies here
the chain's head and each event that revokes or gives back trust, with its place in
the chain and its hash::

    {"tipo": "cabeza", "eventos": 1234, "id": 1240, "sha256": "…", "anotado": "…"}
    {"tipo": "evento", "eventos": 1200, "id": 1206, "sha256": "…", "at": "…",
     "actor": "…", "event": "station_disabled", "detail": {…}}

``bitacora.jsonl`` is the file being written; when the database no longer holds the
head it last wrote (restored to an earlier point, or rewritten), it is closed as
``bitacora-<AAAAMMDDTHHMMSSZ>.jsonl`` and a new one starts: nothing here is rewritten.
Backups copy the directory (:mod:`central.continuity.backup`); ``restore`` and the first
``serve`` after it list the revocations the database no longer has
(:func:`pendientes`), and ``prep central revocaciones`` re-applies or confirms them.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import bindparam
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import TEXT
from sqlalchemy.orm import Session

from central.db.estaciones import CentralNodeRow
from central.db.estaciones import Difusor
from central.db.estaciones import Operator
from central.db.estaciones import Station
from prep.cadena import Cabeza
from prep.cadena import Publicada
from prep.records import format_time
from prep.records import parse_time

log = logging.getLogger("central.ancla")

ACTUAL = "bitacora.jsonl"
_CANDADO = ".candado"
STAMP = "%Y%m%dT%H%M%SZ"
#: How often a running ``serve`` copies the head and the new revocations.
CADA_SEGUNDOS = 10.0

#: The events kept here: event → (kind of subject, its key in ``detail``, revokes).
EVENTOS: dict[str, tuple[str, str, bool]] = {
    "station_disabled": ("equipo", "station", True),
    "station_enabled": ("equipo", "station", False),
    "operator_disabled": ("operador", "id", True),
    "operator_enabled": ("operador", "id", False),
    "operator_password_set": ("contraseña", "id", True),
    "difusor_baja": ("difusor", "difusor", True),
    "central_node_removed": ("nodo", "url", True),
    "central_node_added": ("nodo", "url", False),
}

_CABEZA = text("""
    WITH ultimo AS (SELECT id, sha256 FROM audit_log ORDER BY id DESC LIMIT 1)
    SELECT (SELECT count(*) FROM audit_log WHERE id <= ultimo.id), ultimo.id, ultimo.sha256
    FROM ultimo
""")
_CONTIENE = text("""
    SELECT (SELECT sha256 FROM audit_log WHERE id = :id),
           (SELECT count(*) FROM audit_log WHERE id <= :id)
""")
_NUEVAS = text("""
    SELECT id, sha256, at, actor, event, detail, n FROM (
        SELECT id, sha256, at, actor, event, detail, row_number() OVER (ORDER BY id) AS n
        FROM audit_log WHERE id > :desde) AS t
    WHERE event = ANY(:eventos) ORDER BY id
""").bindparams(bindparam("eventos", type_=ARRAY(TEXT)))
_EN_BASE = text("SELECT sha256 FROM audit_log WHERE sha256 = ANY(:shas)").bindparams(
    bindparam("shas", type_=ARRAY(TEXT)))
_CONFIRMADAS = text("""
    SELECT detail->>'evento_sha256' FROM audit_log WHERE event = 'revocacion_confirmada'
""")
_CLAVE_NUEVA = text("""
    SELECT max(at) FROM audit_log
    WHERE event = 'operator_password_set' AND detail->>'id' = :id
""")


def cabeza(session: Session) -> Cabeza | None:
    """The chain's head now (``None``: no event yet), read in one statement."""
    row = session.execute(_CABEZA).one_or_none()
    return None if row is None else Cabeza(int(row[0]), int(row[1]), str(row[2]))


def contiene(session: Session, c: Cabeza) -> bool:
    """The database's chain holds ``c`` at its place."""
    row = session.execute(_CONTIENE, {"id": c.id}).one()
    return row[0] == c.sha256 and int(row[1]) == c.eventos


@contextmanager
def _candado(directorio: Path) -> Iterator[None]:
    """One writer at a time (a command and ``serve`` on the same data directory)."""
    fd = os.open(directorio / _CANDADO, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def sincronizar(engine: Engine, directorio: Path) -> Cabeza | None:
    """Append to ``directorio``'s current file the revocations since the head it last
    wrote and the head now; the head now. A file whose last head the database no longer
    holds is closed first (its contents are what :func:`pendientes` and
    ``verify-audit`` compare the database with)."""
    directorio.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _candado(directorio):
        actual = directorio / ACTUAL
        ultima = _ultima_cabeza(actual)
        snapshot = engine.execution_options(isolation_level="REPEATABLE READ")
        with Session(snapshot) as session, session.begin():
            if ultima is not None and not contiene(session, ultima):
                cerrado = _cerrar(directorio)
                log.warning("la bitácora de la base de datos ya no contiene la cabeza %s "
                            "(restaurada o reescrita); el ancla anterior queda en %s",
                            ultima.to_json(), cerrado.name)
                ultima = None
            desde_id, desde_n = (ultima.id, ultima.eventos) if ultima else (0, 0)
            nuevas = session.execute(_NUEVAS, {"desde": desde_id,
                                               "eventos": list(EVENTOS)}).all()
            ahora = cabeza(session)
        lineas = [{"tipo": "evento", "eventos": desde_n + int(n), "id": int(id_),
                   "sha256": sha, "at": format_time(at), "actor": actor, "event": event,
                   "detail": detail} for id_, sha, at, actor, event, detail, n in nuevas]
        if ahora is not None and ahora != ultima:
            lineas.append({"tipo": "cabeza", **ahora.to_json(),
                           "anotado": format_time(datetime.now(UTC))})
        if lineas:
            _agregar(actual, lineas)
        return ahora


def sincronizar_sin_fallar(engine: Engine, directorio: Path) -> None:
    """:func:`sincronizar` where a failure must not undo what was done (a command's
    end, the serving loop): logged, and the next one writes what this one missed."""
    try:
        sincronizar(engine, directorio)
    except Exception as exc:
        log.warning("no se pudo copiar la cabeza de la bitácora a %s: %s", directorio, exc)


def _agregar(path: Path, lineas: list[dict[str, Any]]) -> None:
    data = "".join(json.dumps(linea, ensure_ascii=False, sort_keys=True) + "\n"
                   for linea in lineas).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _cerrar(directorio: Path) -> Path:
    stamp = datetime.now(UTC).strftime(STAMP)
    destino = directorio / f"bitacora-{stamp}.jsonl"
    n = 1
    while destino.exists():
        n += 1
        destino = directorio / f"bitacora-{stamp}-{n}.jsonl"
    os.rename(directorio / ACTUAL, destino)
    return destino


def archivos(directorio: Path) -> list[Path]:
    """The anchor's files, oldest first (closed ones by their stamp, the current last)."""
    if not directorio.is_dir():
        return []
    cerrados = sorted(p for p in directorio.glob("bitacora-*.jsonl") if p.is_file())
    actual = directorio / ACTUAL
    return [*cerrados, *([actual] if actual.is_file() else [])]


def leer(path: Path) -> Iterator[dict[str, Any]]:
    """The lines of one anchor file; a torn last line (a crash mid-write) is skipped."""
    with path.open("rb") as f:
        for raw in f:
            try:
                linea = json.loads(raw)
            except ValueError:
                continue
            if isinstance(linea, dict):
                yield linea


def _ultima_cabeza(path: Path) -> Cabeza | None:
    if not path.is_file():
        return None
    ultima = None
    for linea in leer(path):
        if linea.get("tipo") == "cabeza":
            try:
                ultima = Cabeza.from_json(linea)
            except ValueError:
                continue
    return ultima


def cabezas(directorio: Path) -> list[Publicada]:
    """Every head the anchor wrote (and every event it kept, as the head it was), to
    check the database's chain against (``verify-audit``)."""
    out: list[Publicada] = []
    for path in archivos(directorio):
        for linea in leer(path):
            try:
                c = Cabeza.from_json(linea)
            except ValueError:
                continue
            cuando = linea.get("anotado") or linea.get("at") or ""
            out.append(Publicada(c, f"el ancla {path.name} ({cuando})"))
    return out


@dataclass(frozen=True)
class Revocacion:
    """A revocation the anchor kept: what it revoked, when and by whom."""

    tipo: str
    sujeto: str
    event: str
    sha256: str
    at: str
    actor: str
    detail: dict[str, Any]

    def describir(self) -> str:
        """One Spanish line for the coordinator."""
        d = self.detail
        cuando = f"el {self.at} por {self.actor}"
        if self.tipo == "equipo":
            return (f"equipo {self.sujeto} (sitio {d.get('sitio')}) deshabilitado {cuando}: "
                    f"«{d.get('reason', '')}»")
        if self.tipo == "operador":
            return f"operador {self.sujeto} (sitio {d.get('sitio')}) deshabilitado {cuando}"
        if self.tipo == "contraseña":
            return (f"contraseña del operador {self.sujeto} cambiada {cuando} (la anterior "
                    "vuelve a valer)")
        if self.tipo == "difusor":
            return (f"difusor {self.sujeto} ({d.get('nombre')}) dado de baja {cuando}: "
                    f"«{d.get('motivo', '')}»")
        return f"nodo {self.sujeto} quitado de la lista {cuando}: «{d.get('motivo', '')}»"

    def to_json(self) -> dict[str, Any]:
        return {"tipo": self.tipo, "sujeto": self.sujeto, "evento": self.event,
                "evento_sha256": self.sha256, "at": self.at, "actor": self.actor}


def revocaciones(directorio: Path) -> list[Revocacion]:
    """Each subject's last event in the anchor, when it is a revocation (a station
    disabled and then enabled again is not one)."""
    ultimos: dict[tuple[str, str], tuple[dict[str, Any], bool]] = {}
    vistos: set[str] = set()
    for path in archivos(directorio):
        for linea in leer(path):
            spec = EVENTOS.get(str(linea.get("event")))
            sha, detail = linea.get("sha256"), linea.get("detail")
            if linea.get("tipo") != "evento" or spec is None or not isinstance(sha, str) \
                    or sha in vistos or not isinstance(detail, dict):
                continue
            vistos.add(sha)
            tipo, campo, revoca = spec
            ultimos[(tipo, str(detail.get(campo)))] = (linea, revoca)
    return [Revocacion(tipo, sujeto, str(linea["event"]), str(linea["sha256"]),
                       str(linea.get("at")), str(linea.get("actor")), dict(linea["detail"]))
            for (tipo, sujeto), (linea, revoca) in ultimos.items() if revoca]


def pendientes(session: Session, directorio: Path) -> list[Revocacion]:
    """The revocations the anchor kept that the database no longer has in force: not in
    its chain, not in force now (re-applied) and not confirmed by a coordinator."""
    candidatas = revocaciones(directorio)
    if not candidatas:
        return []
    en_base = set(session.scalars(_EN_BASE, {"shas": [r.sha256 for r in candidatas]}))
    confirmadas = set(session.scalars(_CONFIRMADAS))
    return [r for r in candidatas if r.sha256 not in en_base
            and r.sha256 not in confirmadas and not _en_vigor(session, r)]


def _en_vigor(session: Session, r: Revocacion) -> bool:
    """The database has the revocation's effect now (or no longer has its subject)."""
    if r.tipo == "equipo":
        station = session.get(Station, r.sujeto)
        return station is None or not station.enabled
    if r.tipo == "operador":
        operator = session.get(Operator, r.sujeto)
        return operator is None or not operator.enabled
    if r.tipo == "contraseña":
        if session.get(Operator, r.sujeto) is None:
            return True
        nueva = session.scalar(_CLAVE_NUEVA, {"id": r.sujeto})
        return nueva is not None and nueva >= parse_time(r.at)
    if r.tipo == "difusor":
        difusor = session.get(Difusor, r.sujeto)
        return difusor is None or not difusor.enabled
    node = session.get(CentralNodeRow, r.sujeto)
    return node is None or node.removed


def aviso(pendientes_: list[Revocacion], data_dir: Path) -> str:
    """What ``restore`` and ``serve`` say when revocations were undone (Spanish)."""
    lineas = [f"ATENCIÓN: la base de datos no tiene en vigor {len(pendientes_)} "
              "revocaciones que la bitácora registró (su copia fuera de la base de datos, "
              f"en {data_dir / 'ancla'}). Lo más probable es que se haya restaurado un "
              "respaldo anterior a ellas:"]
    lineas += [f"  - {r.describir()}" for r in pendientes_]
    lineas.append(
        "Un coordinador debe volver a aplicarlas:\n"
        f"  prep central revocaciones reaplicar --data-dir {data_dir} --motivo \"…\"\n"
        "o, solo si la institución decidió que ya no proceden, confirmarlo:\n"
        f"  prep central revocaciones confirmar --data-dir {data_dir} --motivo \"…\"\n"
        "«prep central serve» no atiende a los equipos mientras haya revocaciones "
        "pendientes (docs/continuidad.md, «Después de restaurar»).")
    return "\n".join(lineas)


class Vigia:
    """A running ``serve``'s copy of the head and revocations every
    :data:`CADA_SEGUNDOS` (what the dashboard or another node changed is kept too)."""

    def __init__(self, engine: Engine, directorio: Path,
                 cada: float = CADA_SEGUNDOS) -> None:
        self.engine, self.directorio, self.cada = engine, directorio, cada
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="central-ancla", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        sincronizar_sin_fallar(self.engine, self.directorio)

    def _run(self) -> None:
        while not self._stop.wait(self.cada):
            sincronizar_sin_fallar(self.engine, self.directorio)
