"""A node that is not the current primary never receipts nor publishes (issue 62,
docs/continuidad.md, «El primario anterior no debe volver como primario»).

A promoted standby serves a higher PostgreSQL timeline. The replaced primary, restarted
by mistake, cannot see that by itself; it learns it from a statement signed with the
institute's key by the promoted node (:mod:`prep.linea`), which any station that worked
with the promoted node shows on its timeline probe. The node keeps that statement in its
data directory (``linea_superior.json``, 0600), audits ``central_fenced`` once, and from
then on:

- answers its own probe with ``vigente: false`` (stations send it nothing);
- refuses batches and images (409 ``old_primary``: no receipt);
- makes no corte (nor does ``prep central corte`` with its data directory).

The fence holds only while the node's timeline is lower than the one it learned: once
it is rebuilt as a standby and promoted in turn (a higher timeline), it is the primary
again. A corte also refuses a server in recovery (a standby) and, when it can see the
replication state, a primary configured synchronous whose standby is not connected: it
cannot confirm that it is still the primary.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import text

from prep.crypto import VerifyKey
from prep.durable import write_private
from prep.linea import Linea
from prep.linea import LineaError
from prep.linea import verify_linea

FENCE_FILE = "linea_superior.json"
log = logging.getLogger("central.continuity")


def fenced_message(own: int, higher: int) -> str:
    return (f"Este nodo central sirve la línea de tiempo {own} de PostgreSQL y otro nodo ya "
            f"sirve la {higher}: fue reemplazado por un standby promovido. No acusa lotes "
            "ni publica cortes; rehágalo como standby del nodo vigente "
            "(docs/continuidad.md).")


class Fence:
    """What this serve node knows of a higher timeline than its own."""

    def __init__(self, data_root: Path, timeline: int, key: VerifyKey) -> None:
        self.path = data_root / FENCE_FILE
        self.timeline = timeline
        self.key = key
        self._lock = threading.Lock()
        self.higher = known_higher(data_root, key)

    @property
    def fenced(self) -> bool:
        return self.timeline > 0 and self.higher > self.timeline

    def message(self) -> str:
        return fenced_message(self.timeline, self.higher)

    def learn(self, statement: bytes) -> Linea | None:
        """Take ``statement`` (a station's, unverified so far) into account; the statement
        if it newly fences this node (the caller audits it), else None."""
        try:
            linea = verify_linea(statement, self.key)
        except LineaError as exc:
            log.info("línea de tiempo presentada por un equipo rechazada: %s", exc)
            return None
        with self._lock:
            if linea.linea <= max(self.timeline, self.higher) or not linea.vigente:
                return None
            write_private_replace(self.path, statement)
            newly = not self.fenced
            self.higher = linea.linea
        return linea if newly else None


def known_higher(data_root: Path, key: VerifyKey) -> int:
    """The highest timeline a signed statement kept in ``data_root`` names (0: none)."""
    try:
        data = (data_root / FENCE_FILE).read_bytes()
    except FileNotFoundError:
        return 0
    try:
        return verify_linea(data, key).linea
    except LineaError:
        log.warning("%s no es una declaración firmada válida; se ignora", data_root / FENCE_FILE)
        return 0


def write_private_replace(path: Path, data: bytes) -> None:
    """``data`` into ``path`` (0600) in one rename."""
    partial = path.with_name(path.name + ".parcial")
    partial.unlink(missing_ok=True)
    write_private(partial, data)
    partial.replace(path)


def corte_refusal(engine: Engine, data_root: Path | None, key: VerifyKey) -> str | None:
    """Why this node must not publish a corte now (Spanish), or None."""
    with engine.connect() as conn:
        in_recovery = bool(conn.execute(text("SELECT pg_is_in_recovery()")).scalar())
        if in_recovery:
            return ("la base de datos de este nodo es un standby (en recuperación): solo el "
                    "primario publica cortes")
        timeline = int(conn.execute(text(
            "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))"
            "::bit(32)::int")).scalar() or 0)
        names = str(conn.execute(text(
            "SELECT current_setting('synchronous_standby_names')")).scalar() or "")
        if names:
            sync, unknown = conn.execute(text(
                "SELECT count(*) FILTER (WHERE sync_state IN ('sync', 'quorum')), "
                "count(*) FILTER (WHERE sync_state IS NULL) FROM pg_stat_replication")).one()
            if not sync and not unknown:
                return ("este nodo está configurado en modo síncrono y su standby no está "
                        "conectado: no puede confirmar que siga siendo el primario (su "
                        "standby pudo haber sido promovido). Revise «prep central standby "
                        "estado» en ambos nodos antes de publicar (docs/continuidad.md)")
    if data_root is not None:
        higher = known_higher(data_root, key)
        if higher > timeline:
            return fenced_message(timeline, higher)
    return None
