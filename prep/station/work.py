"""An operator's capture or verification work at a station (``docs/pipeline.md``, "Work
leases").

The central hands work out as leases (``POST /v1/work/next``). A :class:`WorkQueue`
keeps an operator's leases in the station's SQLite store and their images in its blob
store, up to ``prefetch`` ahead, so the operator goes on capturing through an outage
shorter than the lease time and across a restart of the station program. Work done is
a record written locally like any other (the outbox delivers it); the lease is marked
done in the record's own transaction, so a crash never leaves an acta captured twice
by one operator nor a capture without its mark.

Network calls happen only in :meth:`WorkQueue.refill` and :meth:`WorkQueue.send_releases`
(call them from a worker thread, never the GUI thread); everything else reads and writes
the local store. The queue keeps one pinned HTTPS session between calls (an operator asks
for work every few seconds; a TLS handshake each time costs the station and the central
more than the request); :meth:`WorkQueue.close` ends it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import uuid
import weakref
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from prep.protocol import MAX_BLOB_BYTES
from prep.protocol import MAX_ESPERA
from prep.records import Record
from prep.records import format_time
from prep.records import parse_time
from prep.station.client import WorkApi
from prep.station.client import central_error
from prep.station.errors import STATION_DISABLED
from prep.station.errors import SyncError
from prep.station.models import WorkLeaseRow
from prep.station.station import Station
from prep.station.store import Guard
from prep.station.store import StationIdentity
from prep.values import check_valor
from prep.values import parse_valor

log = logging.getLogger("prep.station.work")

KINDS = ("captura", "verificacion", "cotejo")
_VERBOS = {"captura": "capturar", "verificacion": "verificar", "cotejo": "cotejar"}
MAX_PREFETCH = 10
#: The code of the :class:`SyncError` a call gets after :meth:`WorkQueue.abort`.
ABORTED = "aborted"
#: At most this many finished leases are named to the central per request (its limit).
MAX_DONE = 32
#: A held lease is renewed when less than this is left of it.
RENEW_BEFORE = timedelta(minutes=4)

PENDING, DONE, RELEASING, RELEASED, EXPIRED = (
    "pending", "done", "releasing", "released", "expired")
#: Given back unfinished because the operator left the screen: the central is told
#: ``volver`` (the acta may be offered to this operator again), then ``released``.
RETURNING = "returning"

T = TypeVar("T")

# Built once: asked before every acta and at every refill.
_MINE = (WorkLeaseRow.operator == bindparam("operator"), WorkLeaseRow.kind == bindparam("kind"))
_PENDING = (select(WorkLeaseRow.lease_id, WorkLeaseRow.expires_at)
            .where(*_MINE, WorkLeaseRow.state == PENDING).order_by(WorkLeaseRow.received_at))
_LEASE_TEXT = select(WorkLeaseRow.lease).where(WorkLeaseRow.lease_id == bindparam("lease"))
_HELD_OR_LEAVING = (select(WorkLeaseRow.lease_id, WorkLeaseRow.state, WorkLeaseRow.expires_at)
                    .where(*_MINE, WorkLeaseRow.state.in_((PENDING, RELEASING, RETURNING))))
_DONE_RUNNING = (select(WorkLeaseRow.lease_id)
                 .where(*_MINE, WorkLeaseRow.state == DONE,
                        WorkLeaseRow.expires_at > bindparam("now"))
                 .order_by(WorkLeaseRow.received_at.desc()).limit(MAX_DONE))
_KEEP_LEASE = sqlite_insert(WorkLeaseRow).on_conflict_do_nothing(
    index_elements=[WorkLeaseRow.lease_id])
_SET_STATE = (update(WorkLeaseRow)
              .where(WorkLeaseRow.lease_id == bindparam("lease_wanted"),
                     WorkLeaseRow.state == bindparam("expected"))
              .values(state=bindparam("new_state")))


class WorkError(Exception):
    """The central refused the work request, or sent something unusable; the message
    (Spanish) says what to do."""


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One leased acta, as the capture or verification screen needs it."""

    lease_id: str
    clave_acta: str
    kind: str  # "captura", "verificacion" or "cotejo"
    slot: int  # the capture it is for (1-3); 0 for a verification or a cotejo
    expires_at: datetime
    eleccion: str
    campos: tuple[str, ...]
    image_sha256: str
    media_type: str
    capturas: tuple[Mapping[str, Any], ...] = ()  # verification: this round's captures
    diferencias: tuple[str, ...] = ()  # verification: the fields where they differ
    valores: Mapping[str, Any] | None = None  # cotejo: the published data

    @classmethod
    def from_lease(cls, data: Mapping[str, Any]) -> WorkItem:
        """Read a lease object of ``POST /v1/work/next``; :class:`WorkError` if it is
        not one."""
        try:
            image = data["image"]
            item = cls(
                lease_id=str(data["lease_id"]), clave_acta=str(data["clave_acta"]),
                kind=str(data["kind"]), slot=int(data["slot"]),
                expires_at=parse_time(str(data["expires_at"])),
                eleccion=str(data["eleccion"]), campos=tuple(str(c) for c in data["campos"]),
                image_sha256=str(data["image_sha256"]), media_type=str(image["media_type"]),
                capturas=tuple(dict(c) for c in data.get("capturas", ())),
                diferencias=tuple(str(d) for d in data.get("diferencias", ())),
                valores=dict(data["valores"]) if data.get("valores") is not None else None)
        except (KeyError, TypeError, ValueError) as exc:
            raise WorkError(f"El nodo central envió una asignación ilegible ({exc}). "
                            "Avise a su coordinador.") from None
        if item.kind not in KINDS or not item.campos or image["sha256"] != item.image_sha256:
            raise WorkError("El nodo central envió una asignación incompleta. "
                            "Avise a su coordinador.")
        return item


@dataclass(frozen=True, slots=True)
class RefillOutcome:
    """What :meth:`WorkQueue.refill` achieved."""

    online: bool
    granted: int  # leases received now that were not held before
    pending: int  # leases ready to work on (image at hand, not expired)
    message: str  # Spanish, for the status line
    ready: tuple[WorkItem, ...] = ()  # those leases, oldest first (as :meth:`pending`)


class WorkQueue:
    """An operator's prefetched work of one kind at this station."""

    def __init__(self, station: Station, operator: str, kind: str = "captura",
                 prefetch: int = 3, timeout: float = 10.0) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self.station = station
        self.operator = operator
        self.kind = kind
        self.prefetch = max(1, min(prefetch, MAX_PREFETCH))
        self.timeout = timeout
        self._session = _Session()
        self._items: dict[tuple[str, str], WorkItem] = {}  # (lease, expiry) -> parsed
        # A queue dropped without close() (a test, a crash path) still ends its session.
        weakref.finalize(self, self._session.close)

    # local ---------------------------------------------------------------------------

    def pending(self) -> list[WorkItem]:
        """The leases ready to work on, oldest first: not done, not given back, not
        expired by the station's clock, their image at hand."""
        now = self.station.store.clock()
        with self.station.store.query_one() as conn:
            # Asked before every acta (and by the screen every few seconds): the ids and
            # times, not whole rows; a lease's text is read once (:meth:`_item`), and
            # never changes, so it needs no snapshot shared with the first read.
            rows = conn.execute(_PENDING, {"operator": self.operator,
                                           "kind": self.kind}).all()
            items = [self._item(conn, r.lease_id, r.expires_at) for r in rows]
        return [i for i in items if i.expires_at > now
                and self.station.blobs.path_for(i.image_sha256).exists()]

    def _item(self, conn: Connection, lease_id: str, expires_at: str) -> WorkItem:
        """The lease ``lease_id``, parsed once (a lease's text never changes), expiring
        when its row says (a renewal moves the row's time, not the text's)."""
        key = (lease_id, expires_at)
        item = self._items.get(key)
        if item is None:
            text = conn.scalar(_LEASE_TEXT, {"lease": lease_id})
            item = WorkItem.from_lease(json.loads(text or "null"))
            item = replace(item, expires_at=parse_time(expires_at))
            if len(self._items) >= 4 * MAX_PREFETCH:
                self._items.clear()
            self._items[key] = item
        return item

    def current(self) -> WorkItem | None:
        """The acta to show now, if any."""
        ready = self.pending()
        return ready[0] if ready else None

    def image(self, item: WorkItem) -> bytes:
        """The original bytes of ``item``'s image (as scanned, never re-encoded)."""
        return self.station.blobs.read(item.image_sha256)

    def submit(self, item: WorkItem, valores: Mapping[str, int | str],
               motivo: str = "") -> Record:
        """Record the operator's capture (or verification, with the verificador's
        ``motivo``) of ``item``; the lease is marked done in the same transaction.
        Raises ``StationInputError`` for values the central would refuse (nothing
        written).

        Work on a lease that ran out while the operator typed (a long outage) is still
        recorded: the central counts it if the acta still waits for it (the states
        follow the records, not the leases), so typed values are never thrown away."""
        if item.kind == "cotejo":
            raise WorkError("Un cotejo se registra con cotejo(), no con submit().")
        self._check_values(item, valores)
        guard = self._mark(item, DONE)
        if item.kind == "captura":
            return self.station.captura(item.clave_acta, valores, self.operator,
                                        item.image_sha256, item.lease_id, guard=guard)
        if not motivo.strip():
            raise WorkError("Escriba el motivo de la decisión.")
        return self.station.verificacion(item.clave_acta, valores, self.operator,
                                         item.image_sha256, item.lease_id, motivo.strip(),
                                         guard=guard)

    def cotejo(self, item: WorkItem, coincide: bool, campos: Sequence[str] = (),
               motivo: str = "") -> Record:
        """Record the cotejo of ``item`` (a cotejo lease): the published data matches
        the paper acta, or which of its fields differ and why (the central opens a
        correction round); the lease is marked done in the same transaction."""
        if item.kind != "cotejo":
            raise WorkError("Esa asignación no es de cotejo.")
        ajenos = [c for c in campos if c not in item.campos]
        if ajenos:
            raise WorkError("Estos campos no son del acta: " + ", ".join(ajenos))
        return self.station.cotejo(item.clave_acta, coincide, self.operator, campos,
                                   motivo, guard=self._mark(item, DONE))

    def ilegible(self, item: WorkItem, motivo: str) -> Record:
        """The image cannot be read: the acta goes back to digitalización."""
        return self.station.ilegible(item.clave_acta, self.operator, item.image_sha256,
                                     item.lease_id, motivo.strip() or "Imagen ilegible",
                                     guard=self._mark(item, DONE))

    def release(self, item: WorkItem, volver: bool = False) -> None:
        """Give ``item`` back: it stops showing at once, and the central hears at the
        next :meth:`refill` (until then the lease just runs out). ``volver``: the
        operator leaves it unfinished (logout, another screen) and may be offered it
        again; without it the central never offers it to this operator again."""
        with self.station.store.write() as session:
            self._set_state(session, item.lease_id, RETURNING if volver else RELEASING,
                            expected=PENDING)

    def release_all(self) -> None:
        """Give back every pending lease, unfinished (logout, another screen): each may
        come back to this operator later."""
        for item in self.pending():
            self.release(item, volver=True)

    # network -------------------------------------------------------------------------

    def refill(self, espera: int = 0) -> RefillOutcome:
        """Talk to the central: send the releases, renew leases running out, top the
        queue up to ``prefetch`` and fetch the images. Offline it changes nothing and
        says so; the work already held goes on. With ``espera`` (seconds, at most
        ``MAX_ESPERA``), an operator with nothing to do waits at the central until work
        comes or that time passes, instead of asking again and again. Blocking: call it
        from a worker (:meth:`abort` ends it from another thread)."""
        look = self._look()
        if look.ran_out:
            self._expire_local()

        async def talk(client: WorkApi) -> int:
            await self._send_releases(client, look.leaving)
            await self._renew(client, look.renew)
            return await self._top_up(client, look.done, max(0, min(espera, MAX_ESPERA)))
        try:
            granted = self._talk(talk)
        except SyncError as exc:
            ready = tuple(self.pending())
            message = (str(exc) if exc.code in (ABORTED, STATION_DISABLED)
                       else _offline_message(exc, len(ready)))
            return RefillOutcome(False, 0, len(ready), message, ready)
        ready = tuple(self.pending())
        verbo = _VERBOS[self.kind]
        message = (f"1 acta por {verbo}, lista." if len(ready) == 1
                   else f"{len(ready)} actas por {verbo}, listas." if ready
                   else f"No hay actas por {verbo} en este momento.")
        return RefillOutcome(True, granted, len(ready), message, ready)

    def send_releases(self) -> bool:
        """Tell the central now about the leases given back (logout), asking for no new
        work; ``False`` offline (the next :meth:`refill` sends them). Blocking."""
        try:
            self._talk(self._send_releases)
        except SyncError:
            return False
        return True

    def close(self) -> None:
        """End the HTTPS session (the operator left). A later call opens a new one."""
        self._session.close()

    def abort(self) -> None:
        """From any thread: end the call in flight (a refill waiting at the central)
        and refuse later ones, as if offline (the program is stopping)."""
        self._session.abort()

    def _talk(self, work: Callable[[WorkApi], Awaitable[T]]) -> T:
        identity = self.station.store.require_identity()
        return self._session.run(
            identity, lambda: self.station.work_client(self.timeout), work)

    async def _top_up(self, client: WorkApi, done: Sequence[str], espera: int = 0) -> int:
        # A fresh nonce per ask: the central refuses the same signed ask twice (a replay
        # must never get new leases); a retry after a lost answer is a new ask and gets
        # the leases held again.
        ask: dict[str, Any] = {"operator": self.operator, "kind": self.kind,
                               "prefetch": self.prefetch, "done": list(done),
                               "nonce": str(uuid.uuid4())}
        if espera:
            ask["espera"] = espera
        status, answer = await client.work("/v1/work/next", ask, longer=espera)
        if status != 200 or not isinstance(answer, dict):
            raise WorkError(_refusal(status, answer))
        items = [WorkItem.from_lease(lease) for lease in answer.get("leases", ())]
        granted = self._keep(items, answer.get("leases", ()))
        for item in items:
            if not self.station.blobs.path_for(item.image_sha256).exists():
                await self._fetch_image(client, item)
        return granted

    async def _fetch_image(self, client: WorkApi, item: WorkItem) -> None:
        status, data = await client.get_blob(item.image_sha256)
        if status != 200:
            raise WorkError(f"No se pudo descargar la imagen del acta {item.clave_acta} "
                            f"({_refusal(status, data)}).")
        if len(data) > MAX_BLOB_BYTES or hashlib.sha256(data).hexdigest() != item.image_sha256:
            log.error("image of %s does not match its hash", item.clave_acta)
            raise WorkError(f"La imagen recibida del acta {item.clave_acta} no coincide con "
                            "su código de integridad; no se usará. Avise a su coordinador.")
        self.station.blobs.put(data)

    async def _renew(self, client: WorkApi, due: Sequence[str]) -> None:
        for lease_id in due:
            status, answer = await client.work(f"/v1/work/{lease_id}/renew")
            with self.station.store.write() as session:
                if status == 200 and isinstance(answer, dict):
                    session.execute(update(WorkLeaseRow).where(
                        WorkLeaseRow.lease_id == lease_id).values(
                        expires_at=format_time(parse_time(str(answer["expires_at"])))))
                elif status in (404, 409):  # ended at the central: someone else has it
                    self._set_state(session, lease_id, EXPIRED, expected=PENDING)

    async def _send_releases(self, client: WorkApi,
                             leaving: Sequence[tuple[str, str]] | None = None) -> None:
        if leaving is None:
            leaving = self._look().leaving
        for lease_id, state in leaving:
            status, _ = await client.work(f"/v1/work/{lease_id}/release",
                                          {"volver": True} if state == RETURNING else None)
            if status in (200, 404):
                with self.station.store.write() as session:
                    self._set_state(session, lease_id, RELEASED, expected=state)

    def _keep(self, items: Sequence[WorkItem], raw: Sequence[Mapping[str, Any]]) -> int:
        """Store the leases not held yet; a lease held already keeps its local state
        (``next`` answers the held leases again). Nothing new: no write at all."""
        ids = [item.lease_id for item in items]
        if not ids:
            return 0
        with self.station.store.query_one() as conn:
            known = set(conn.scalars(select(WorkLeaseRow.lease_id)
                                     .where(WorkLeaseRow.lease_id.in_(ids))))
        if known.issuperset(ids):
            return 0
        now = self.station.store.now()
        new = 0
        with self.station.store.write_plain() as conn:
            for item, data in zip(items, raw, strict=True):
                if item.lease_id in known:
                    continue
                # Kept meanwhile by another of this operator's calls: left as it is.
                new += conn.execute(_KEEP_LEASE, {
                    "lease_id": item.lease_id, "operator": self.operator, "kind": item.kind,
                    "clave_acta": item.clave_acta, "expires_at": format_time(item.expires_at),
                    "lease": json.dumps(dict(data)), "state": PENDING,
                    "received_at": now}).rowcount
        return new

    def _look(self) -> _Look:
        """What a refill has to do, read in one go (asked every few seconds, so the
        write lock and its fsync are taken only when there is something to write)."""
        clock = self.station.store.clock()
        now, soon = format_time(clock), format_time(clock + RENEW_BEFORE)
        mine = {"operator": self.operator, "kind": self.kind}
        with self.station.store.query() as conn:
            rows = conn.execute(_HELD_OR_LEAVING, mine).all()
            pending = [(r.lease_id, r.expires_at) for r in rows if r.state == PENDING]
            leaving = [(r.lease_id, r.state) for r in rows if r.state != PENDING]
            # Finished here, maybe not yet at the central (the outbox delivers the
            # record): named so the central does not count them as still to do.
            done = conn.scalars(_DONE_RUNNING, {**mine, "now": now}).all()
        return _Look(ran_out=any(expires <= now for _, expires in pending),
                     leaving=tuple(leaving),
                     renew=tuple(lid for lid, expires in pending if now < expires < soon),
                     done=tuple(done))

    def _expire_local(self) -> None:
        now = self.station.store.now()
        with self.station.store.write() as session:
            session.execute(update(WorkLeaseRow).where(
                WorkLeaseRow.operator == self.operator, WorkLeaseRow.state == PENDING,
                WorkLeaseRow.expires_at <= now).values(state=EXPIRED))

    # helpers -------------------------------------------------------------------------

    def _mark(self, item: WorkItem, state: str) -> Guard:
        def guard(conn: Connection) -> None:
            if not self._set_state(conn, item.lease_id, state, expected=PENDING) \
                    and not self._set_state(conn, item.lease_id, state, expected=EXPIRED):
                raise WorkError(f"El acta {item.clave_acta} ya no está asignada a usted "
                                "(ya se registró o se devolvió).")
        return guard

    @staticmethod
    def _set_state(session: Session | Connection, lease_id: str, state: str, *,
                   expected: str) -> bool:
        conn = session.connection() if isinstance(session, Session) else session
        done = conn.execute(_SET_STATE, {"lease_wanted": lease_id, "expected": expected,
                                         "new_state": state})
        return bool(getattr(done, "rowcount", 0))

    @staticmethod
    def _check_values(item: WorkItem, valores: Mapping[str, int | str]) -> None:
        missing = [c for c in item.campos if c not in valores]
        extra = [c for c in valores if c not in item.campos]
        if missing or extra:
            raise WorkError("La captura no corresponde a los campos del acta "
                            f"(faltan: {', '.join(missing) or 'ninguno'}; sobran: "
                            f"{', '.join(extra) or 'ninguno'}).")
        for campo, valor in valores.items():
            try:
                parse_valor(valor) if isinstance(valor, str) else check_valor(valor)
            except ValueError as exc:
                raise WorkError(f"{campo}: {exc}") from None


@dataclass(frozen=True, slots=True)
class _Look:
    """The local state a refill acts on (:meth:`WorkQueue._look`)."""

    ran_out: bool  # some pending lease expired by the station's clock
    leaving: tuple[tuple[str, str], ...]  # given back (id, state), the central not told yet
    renew: tuple[str, ...]  # pending, less than RENEW_BEFORE left
    done: tuple[str, ...]  # finished here while the lease still runs


class _Session:
    """One event loop and pinned HTTPS session kept between a queue's network calls,
    used by one call at a time (from whichever worker thread makes it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: WorkApi | None = None
        self._target: tuple[str, str] | None = None  # (url, pinned certificate)
        self._call: asyncio.Task[Any] | None = None  # the call in flight
        self._aborted = False

    def run(self, identity: StationIdentity, connect: Callable[[], WorkApi],
            work: Callable[[WorkApi], Awaitable[T]]) -> T:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            if self._aborted:
                raise SyncError(ABORTED, _ABORTED, retry=False)
            call = self._loop.create_task(self._over(identity, connect, work))
            self._call = call
            if self._aborted:  # abort() came between the check above and now
                call.cancel()
            try:
                return self._loop.run_until_complete(call)
            except asyncio.CancelledError:
                raise SyncError(ABORTED, _ABORTED, retry=False) from None
            finally:
                self._call = None

    def abort(self) -> None:
        """Cancel the call in flight, from any thread, and refuse the next ones."""
        self._aborted = True
        loop, call = self._loop, self._call
        if loop is not None and call is not None and not loop.is_closed():
            loop.call_soon_threadsafe(call.cancel)

    async def _over(self, identity: StationIdentity, connect: Callable[[], WorkApi],
                    work: Callable[[WorkApi], Awaitable[T]]) -> T:
        target = (identity.central_url, identity.cert_sha256)
        if self._client is not None and self._target != target:
            await self._drop()  # re-enrolled, or the central moved
        # A kept connection the central closed (it restarted, or the link blinked) gets
        # one more try on a new one before the operator hears the central is away. The
        # calls are safe to repeat (``next`` answers held leases again).
        tries = 2 if self._client is not None else 1
        for attempt in range(1, tries + 1):
            if self._client is None:
                self._client = await connect().__aenter__()
                self._target = target
            try:
                return await work(self._client)
            except SyncError:
                await self._drop()
                if attempt == tries:
                    raise
        raise AssertionError("unreachable")

    async def _drop(self) -> None:
        client, self._client, self._target = self._client, None, None
        if client is not None:
            await client.__aexit__(None, None, None)

    def close(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._close()
            return
        # Called (by the garbage collector) inside some other event loop: close on a
        # thread of its own, where this loop may run.
        closer = threading.Thread(target=self._close, name="prep-work-close")
        closer.start()
        closer.join()

    def _close(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
            if loop is None:
                return
            try:
                loop.run_until_complete(self._drop())
            finally:
                loop.close()


_ABORTED = "La solicitud de trabajo se canceló porque el programa se está cerrando."


def _refusal(status: int, answer: object) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("message"), str):
        return str(answer["message"])
    if isinstance(answer, bytes | bytearray) and (message := central_error(bytes(answer))[1]):
        return message
    return f"el nodo central respondió {status}"


def _offline_message(exc: SyncError, ready: int) -> str:
    if ready:
        actas = "1 acta descargada" if ready == 1 else f"{ready} actas descargadas"
        return (f"Sin conexión con el nodo central; siga trabajando: tiene {actas}. Lo que "
                "registre se enviará al volver la conexión.")
    return f"Sin conexión con el nodo central y sin actas descargadas. {exc}"
