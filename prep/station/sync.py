"""The sync agent: delivers the outbox to the central node in the background.

It runs in its own thread with its own asyncio loop (never on a GUI thread). For each
frozen, undelivered batch in order it uploads the images the batch names, then posts
the batch's stored bytes and, on a receipt signed by the central, marks its records
delivered. Network errors and 5xx answers are retried with exponential backoff and full
jitter; a refusal that retrying cannot fix (a tampering signal) blocks the batch until a
coordinator clears it. The GUI reads :meth:`SyncAgent.state` for its status bar.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError

from prep import __version__
from prep.build_info import current_build
from prep.protocol import GENESIS
from prep.protocol import BatchRef
from prep.protocol import ProtocolError
from prep.protocol import verify_receipt
from prep.records import Kind
from prep.records import without_controls
from prep.station.accounts import bundle_info
from prep.station.accounts import refresh_bundle
from prep.station.batches import FrozenBatch
from prep.station.batches import Outbox
from prep.station.blobs import BlobStore
from prep.station.client import BEYOND_LIST
from prep.station.client import OLD_PRIMARY
from prep.station.client import UNCONFIRMED
from prep.station.client import CentralClient
from prep.station.client import TimelineFence
from prep.station.client import central_error
from prep.station.crash import crash_point
from prep.station.errors import DISABLED_MESSAGE
from prep.station.errors import STATION_DISABLED
from prep.station.errors import StationDisabledError
from prep.station.errors import StationError
from prep.station.errors import SyncError
from prep.station.nodes import node_list
from prep.station.store import BlobRef
from prep.station.store import Store
from prep.station.store import database_error
from prep.station.store import sqlite_code
from prep.station.sync_state import FOUND_CONFIGURED
from prep.station.sync_state import FOUND_LIST
from prep.station.sync_state import FOUND_MDNS
from prep.station.sync_state import Locator
from prep.station.sync_state import SyncOptions
from prep.station.sync_state import SyncState

__all__ = ["FOUND_CONFIGURED", "FOUND_LIST", "FOUND_MDNS", "Locator", "SyncAgent",
           "SyncOptions", "SyncState"]

log = logging.getLogger("prep.station.sync")

_RETRY_STATUSES = frozenset({408, 425, 429})
_NO_CENTRAL = frozenset({"unreachable", "possible_spoof", OLD_PRIMARY, UNCONFIRMED,
                         BEYOND_LIST})
#: At :meth:`SyncAgent.stop`, how long a request in flight may finish before it is
#: cancelled (seconds). Before CPython 3.12.8 a TLS request cancelled mid-way can leave
#: its connection open after the agent's loop is gone (see prep.station.client).
STOP_GRACE = 2.0


class SyncAgent:
    """Background delivery of one station's outbox."""

    def __init__(self, store: Store, outbox: Outbox, blobs: BlobStore,
                 options: SyncOptions | None = None,
                 on_change: Callable[[SyncState], None] | None = None,
                 locator: Locator | None = None) -> None:
        self.store = store
        self.outbox = outbox
        self.blobs = blobs
        self.options = options or SyncOptions()
        self._on_change = on_change
        self._locator = locator
        self._misses = 0
        self._lock = threading.Lock()
        records, size = outbox.backlog()
        held = bundle_info(store)
        self._nodes = node_list(store)
        self._tried: set[str] = set()  # nodes that failed since the last success
        self._disabled = store.disabled_since() is not None  # as last heard, kept on disk
        self._state = SyncState(central_url=self._nodes.home,
                                node=self._nodes.describe(self._nodes.home),
                                found_via=FOUND_LIST if self._nodes.listed else FOUND_CONFIGURED,
                                backlog_records=records,
                                backlog_bytes=size, last_receipt_at=outbox.last_delivery(),
                                bundle_version=held.version if held is not None else None,
                                disabled=self._disabled,
                                last_error=DISABLED_MESSAGE if self._disabled else "",
                                last_error_code=STATION_DISABLED if self._disabled else "")
        self._random = random.Random()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = threading.Event()
        self._next_heartbeat = 0.0
        self._next_bundle = 0.0
        self._next_cursor = 0.0
        self._next_home = 0.0

    # thread-safe API ---------------------------------------------------------------

    def state(self) -> SyncState:
        with self._lock:
            return self._state

    def start(self) -> None:
        """Run the agent in a background thread until :meth:`stop`."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, args=(ready,),
                                        name="prep-sync", daemon=True)
        self._thread.start()
        ready.wait(5)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background thread. A request in flight may finish (up to
        :data:`STOP_GRACE` seconds) and the loop then closes its session; past that it
        is cancelled (an unfinished send is simply resent later)."""
        self._stopping.set()
        self.wake()  # out of its wait between passes at once
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(min(timeout, STOP_GRACE))
            if not thread.is_alive():
                self._thread = None
                return
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass  # the loop finished in between
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """New records: try to deliver now instead of at the next poll."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:
                pass

    def set_central(self, url: str, found_via: str = FOUND_MDNS) -> None:
        """Deliver to ``url`` from now on (discovery found the central there). The TLS pin
        still decides whether it is the central."""
        self._update(central_url=url.rstrip("/"), found_via=found_via,
                     node=self._nodes.describe(url.rstrip("/")),
                     own_node=url.rstrip("/") == self._nodes.home)
        self.wake()

    def run_until_drained(self, timeout: float) -> bool:
        """Deliver everything in the calling thread; ``True`` if the backlog emptied
        within ``timeout`` seconds, ``False`` on timeout or a blocked batch."""
        return asyncio.run(self.run(until_drained=True, deadline=time.monotonic() + timeout))

    # the loop ----------------------------------------------------------------------

    def _thread_main(self, ready: threading.Event) -> None:
        async def main() -> bool:
            self._task = asyncio.current_task()
            ready.set()
            return await self.run()

        try:
            asyncio.run(main())
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # never die silently: the status bar must show it
            log.exception("sync agent stopped")
            self._update(last_error=f"El envío al nodo central se detuvo por un error "
                                    f"interno: {exc}. Reinicie el programa.",
                         last_error_code="internal")
        finally:
            ready.set()
            self._update(running=False)

    async def run(self, until_drained: bool = False, deadline: float | None = None,
                  give_up: bool = False) -> bool:
        """The agent's loop (in the current event loop). Returns ``True`` when drained
        (``until_drained``), ``False`` on deadline, blocked batch or stop, and with
        ``give_up`` at the first failed attempt."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        # The build fingerprint hashes every file of the bundle: once, off the loop,
        # before the first heartbeat needs it (prep.build_info caches it).
        await asyncio.to_thread(current_build)
        self._update(running=True)
        attempt = 0
        client: CentralClient | None = None
        try:
            while not self._stopping.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                url = self.state().central_url
                if client is None or client.url != url \
                        or client.trust_pem != self._nodes.trust_pem:
                    if client is not None:
                        await client.__aexit__(None, None, None)
                    client = await self._client(url).__aenter__()
                delay = self.options.poll_interval
                self._wake.clear()  # a wake during the pass below means "go again"
                try:
                    if self._disabled:  # refused so far: accepted again? (raises if not)
                        await client.cursor()
                    self._maybe_heartbeat()
                    drained = await self._pass(client, until_drained)
                    if not self._stopping.is_set():
                        await self._maybe_refresh_bundle(client)
                    if not self._stopping.is_set() and await self._maybe_check_cursor(client):
                        delay = 0  # batches the central lost: send them now
                    if not self._stopping.is_set() and await self._maybe_return_home():
                        delay = 0
                except SyncError as exc:
                    self._note_error(exc)
                    if (not exc.retry and until_drained) or give_up:
                        return False
                    attempt += 1
                    # Disabled: ask again now and then (each ask is a refusal the central
                    # logs), not at every poll.
                    delay = (self._backoff(attempt) if exc.retry or exc.code == STATION_DISABLED
                             else self.options.poll_interval)
                    if await self._relocated(exc):
                        attempt, delay = 0, 0
                except (StationError, DBAPIError) as exc:
                    # A store write the disk refused or that waited too long for the lock
                    # (a busy station under load): nothing was lost; try again later
                    # instead of stopping the agent.
                    message = store_problem(exc)
                    log.warning("sync: %s", message)
                    self._note_error(SyncError("storage", message, retry=True))
                    if give_up:
                        return False
                    attempt += 1
                    delay = self._backoff(attempt)
                else:
                    attempt = self._misses = 0
                    self._tried.clear()
                    self._note_disabled(False)
                    self._update(online=True, last_error="", last_error_code="", blocked=False)
                    if drained and until_drained:
                        return True
                    if not drained:
                        delay = 0
                self._refresh_backlog()
                await self._sleep(delay, deadline)
            return False
        finally:
            if client is not None:
                await client.__aexit__(None, None, None)
            self._update(running=False)

    def _client(self, url: str) -> CentralClient:
        return CentralClient(self.store.require_identity(), self.outbox.key, url,
                             self.options.request_timeout, self.options.blob_concurrency,
                             self.store.clock, TimelineFence(self.store),
                             self._nodes.trust_pem, len(self._nodes.pins),
                             self._nodes.pin_for(url))

    async def _relocated(self, exc: SyncError) -> bool:
        """After ``locate_after`` consecutive failures to reach the central node: the
        next node of the signed list; once every listed node failed, the locator (mDNS)
        first. ``True`` if the agent moved."""
        self._misses = self._misses + 1 if exc.code in _NO_CENTRAL else 0
        if self._misses < self.options.locate_after:
            return False
        self._misses = 0
        current = self.state().central_url
        self._tried.add(current)
        following = self._nodes.after(current)
        if following is not None and following not in self._tried:
            self._move(following, FOUND_LIST, f"{exc.code} en {current}")
            return True
        self._tried.clear()  # a whole round failed: start another
        found = await self._locator() if self._locator is not None else None
        if found is not None and found[0].rstrip("/") != current:
            self._move(found[0].rstrip("/"), found[1], "encontrado por el localizador")
            return True
        if following is not None:
            self._move(following, FOUND_LIST, f"{exc.code} en {current}")
            return True
        return False

    async def _maybe_return_home(self) -> bool:
        """Working at another node: now and then, whether this station's own node
        answers again; if it does, go back to it (stations spread over the nodes)."""
        home = self._nodes.home
        if self.state().central_url == home or time.monotonic() < self._next_home:
            return False
        self._next_home = time.monotonic() + self.options.home_interval
        try:
            async with self._client(home) as probe:
                status, _ = await probe.cursor()
        except SyncError as exc:
            log.debug("own node %s still not answering: %s", home, exc)
            return False
        if status != 200:
            return False
        self._move(home, FOUND_LIST, "volvió a responder")
        return True

    def _move(self, url: str, found_via: str, why: str) -> None:
        log.warning("central node now %s (%s): %s", url, found_via, why)
        self._update(central_url=url, found_via=found_via, node=self._nodes.describe(url),
                     own_node=url == self._nodes.home)

    def _reload_nodes(self) -> None:
        """A new bundle may bring another node list: trust exactly it from now on."""
        self._nodes = node_list(self.store)
        current = self.state().central_url
        if self._nodes.listed and current not in self._nodes.urls:
            self._move(self._nodes.home, FOUND_LIST, "nueva lista firmada de nodos")
        else:
            self._update(node=self._nodes.describe(current))

    async def _sleep(self, delay: float, deadline: float | None) -> None:
        if deadline is not None:
            delay = min(delay, max(0.0, deadline - time.monotonic()))
        if delay <= 0 or self._wake is None:
            return
        try:
            await asyncio.wait_for(self._wake.wait(), delay)
        except TimeoutError:
            return
        # Woken by new records: let the ones right behind them join the same batch.
        gather = self.options.gather_seconds
        if deadline is not None:
            gather = min(gather, max(0.0, deadline - time.monotonic()))
        if gather > 0 and not self._stopping.is_set():
            await asyncio.sleep(gather)

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base·2^(attempt-1))]."""
        ceiling = min(self.options.backoff_cap,
                      self.options.backoff_base * 2 ** min(attempt - 1, 30))
        return self._random.uniform(0, ceiling)

    async def _pass(self, client: CentralClient, until_drained: bool = False) -> bool:
        """Deliver every pending batch, freezing new ones as the previous are delivered.
        Returns whether nothing is left to deliver.

        Except when draining (``until_drained``), a pass ends after delivering a batch
        that took every record waiting when it was frozen: records written during its
        round trip wait for the next pass, which their wake starts after
        ``gather_seconds``. Under a steady trickle the station then sends one batch per
        round trip *and* gather, not one per round trip (each batch costs the central
        about as much as 15 of its records: ``bench/ingest.py``); a backlog (full
        batches) still goes out back to back."""
        while True:
            pending = self.outbox.pending()
            last_for_now = False
            if not pending:
                frozen = self.outbox.freeze(self.options.batch_records)
                if frozen is None:
                    return True
                pending = [frozen]
                last_for_now = frozen.took_all and not until_drained
            delivered = True
            if any(not batch.blocked for batch in pending):
                # Nothing goes to a node before it proved, signed, a current timeline:
                # a replaced primary gets no batch to receipt (prep.linea).
                await self._confirm_timeline(client)
            for batch in pending:
                if batch.blocked:
                    raise SyncError("blocked", batch.blocked, retry=False)
                await self._upload_blobs(client, batch)
                if not await self._send(client, batch):
                    delivered = False
                    break  # the cursor moved us: list the pending batches again
            if delivered and last_for_now:
                return True
            if self._stopping.is_set():
                return False

    async def _confirm_timeline(self, client: CentralClient) -> None:
        """The node's signed timeline, within what the signed node list allows. A node
        beyond the list held (after a promotion the list was signed on the old
        timeline) is asked for its bundle first, a read that sends nothing: the list
        signed by the promoted node's database allows its timeline."""
        refused: SyncError | None = None
        for retry in (False, True):
            if retry and not await self._refresh_bundle(client):
                break
            try:
                await client.confirm_timeline()
                return
            except SyncError as exc:
                if exc.code != BEYOND_LIST:
                    raise
                refused = exc
        assert refused is not None
        # Still beyond the signed list: a node claiming what the institute's list does
        # not allow (a rogue with a copied key). Logged once per claim, for the audit.
        if str(refused) != self.state().last_error:
            log.error("timeline_beyond_list: %s", refused)
        raise refused

    async def _send(self, client: CentralClient, batch: FrozenBatch) -> bool:
        """Post one batch; ``True`` when delivered, ``False`` after a cursor resync."""
        status, body = await client.post_batch(batch.body)
        self._update(online=True)
        crash_point("after_send_before_receipt")
        if status == 200:
            identity = self.store.require_identity()
            try:
                verify_receipt(body, identity.central_key,
                               BatchRef(identity.station_id, batch.number, batch.sha256))
            except ProtocolError as exc:
                raise self._block(batch, "bad_receipt", (
                    f"El acuse del nodo central para el lote {batch.number} no tiene una firma "
                    f"válida ({exc}): no se marcó como entregado. Avise a su coordinador.")
                ) from exc
            self.outbox.deliver(batch.number, body)
            self._update(last_receipt_at=self.store.now())
            return True
        code, detail = central_error(body)
        if status >= 500 or status in _RETRY_STATUSES or status < 400:
            raise SyncError(code or "server_error", f"El nodo central no pudo recibir el lote "
                            f"{batch.number} (HTTP {status}{_said(detail)}); se reintentará.",
                            retry=True)
        if status == 409 and code == "out_of_order":
            await self._resume_from_cursor(client, batch)
            return False
        raise self._block(batch, code or f"http_{status}", (
            f"El nodo central rechazó el lote {batch.number} (HTTP {status}, "
            f"{code or 'sin código'}{_said(detail)}). La estación dejó de enviar hasta que un "
            f"coordinador lo revise: puede tratarse de datos alterados."))

    async def _resume_from_cursor(self, client: CentralClient, batch: FrozenBatch) -> None:
        status, data = await client.cursor()
        if status != 200 or not isinstance(data, dict) \
                or type(data.get("last_batch")) is not int:
            raise SyncError("out_of_order", f"El nodo central pidió reenviar desde su último "
                            f"lote pero no lo informó (HTTP {status}); se reintentará.",
                            retry=True)
        last_batch: int = data["last_batch"]
        last_sha256 = data.get("last_sha256") or GENESIS
        outcome = self.outbox.apply_cursor(last_batch, str(last_sha256))
        if not outcome.ok:
            raise self._block(batch, "cursor_mismatch", outcome.message)
        log.info("cursor of the central: batch %d; %d marked delivered, %d to resend",
                 last_batch, outcome.marked_delivered, outcome.resent)
        if not outcome.marked_delivered and not outcome.resent:
            raise SyncError("out_of_order", f"El nodo central no acepta aún el lote "
                            f"{batch.number} (su último es el {last_batch}); se reintentará.",
                            retry=True)

    async def _upload_blobs(self, client: CentralClient, batch: FrozenBatch) -> None:
        refs = self.outbox.blobs_to_upload(batch.number)
        if not refs:
            return
        limit = asyncio.Semaphore(max(1, self.options.blob_concurrency))

        async def upload(ref: BlobRef) -> None:
            async with limit:
                await self._upload_blob(client, batch, ref)

        results = await asyncio.gather(*(upload(r) for r in refs), return_exceptions=True)
        # Marked together (one fsync, not one per image); an image uploaded but not
        # marked when the program dies is uploaded again, which the central accepts.
        self.outbox.mark_uploaded([ref.sha256 for ref, result in zip(refs, results, strict=True)
                                   if result is None])
        errors = [r for r in results if isinstance(r, BaseException)]
        for error in errors:
            if not isinstance(error, SyncError):
                raise error
        if errors:
            raise min(errors, key=lambda e: isinstance(e, SyncError) and e.retry)

    async def _upload_blob(self, client: CentralClient, batch: FrozenBatch,
                           ref: BlobRef) -> None:
        try:
            data = self.blobs.read(ref.sha256)
        except OSError as exc:
            raise self._block(batch, "blob_missing", (
                f"La imagen {ref.sha256[:12]}… del lote {batch.number} ya no está en el disco "
                f"de la estación ({exc.strerror}). Avise a su coordinador.")) from exc
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise self._block(batch, "blob_damaged", (
                f"La imagen {ref.sha256[:12]}… del lote {batch.number} está dañada en el disco "
                f"de la estación (su huella cambió). Avise a su coordinador."))
        status, body = await client.put_blob(ref.sha256, data)
        self._update(online=True)
        if status in (200, 201, 204):
            return
        code, detail = central_error(body)
        if status >= 500 or status in _RETRY_STATUSES or status < 400:
            raise SyncError(code or "server_error", f"El nodo central no pudo recibir una "
                            f"imagen (HTTP {status}{_said(detail)}); se reintentará.", retry=True)
        raise self._block(batch, code or f"http_{status}", (
            f"El nodo central rechazó la imagen {ref.sha256[:12]}… del lote {batch.number} "
            f"(HTTP {status}, {code or 'sin código'}{_said(detail)}). La estación dejó de "
            f"enviar hasta que un coordinador lo revise."))

    def _block(self, batch: FrozenBatch, code: str, message: str) -> SyncError:
        log.error("batch %d blocked: %s", batch.number, message)
        self.outbox.block(batch.number, message)
        self._update(blocked=True)
        return SyncError(code, message, retry=False)

    def _maybe_heartbeat(self) -> None:
        interval = self.options.heartbeat_interval
        if interval <= 0 or time.monotonic() < self._next_heartbeat:
            return
        self._next_heartbeat = time.monotonic() + interval
        if self.outbox.has_undelivered(Kind.HEARTBEAT):
            return  # one unsent heartbeat already says the station is alive
        records, size = self.outbox.backlog()
        self.store.append(Kind.HEARTBEAT, {"version": __version__, "backlog": records,
                                           "backlog_bytes": size,
                                           # one line: records refuse control characters
                                           "last_error": without_controls(
                                               self.state().last_error)[:1024],
                                           "build": current_build().label}, "")

    async def _maybe_check_cursor(self, client: CentralClient) -> bool:
        """Now and then, after a successful pass: whether the central still holds the
        last batch it receipted. A central restored to an earlier point, or a standby
        promoted before it received everything, answers with an older cursor: the
        batches after it are marked to send again (with their images), exactly as they
        were signed. Whether any was."""
        if time.monotonic() < self._next_cursor:
            return False
        self._next_cursor = time.monotonic() + self.options.cursor_interval
        ours = self.outbox.last_delivered()
        if ours == 0:
            return False
        status, data = await client.cursor()
        if status != 200 or not isinstance(data, dict) \
                or type(data.get("last_batch")) is not int or data["last_batch"] >= ours:
            return False
        last_batch: int = data["last_batch"]
        outcome = self.outbox.apply_cursor(last_batch, str(data.get("last_sha256") or GENESIS))
        if not outcome.ok:
            raise SyncError("cursor_mismatch", outcome.message, retry=False)
        log.warning("the central holds batch %d of this station, not %d (restored or "
                    "failed over): %d batches to send again", last_batch, ours,
                    outcome.resent)
        self._refresh_backlog()
        return outcome.resent > 0

    async def _maybe_refresh_bundle(self, client: CentralClient) -> None:
        """After a successful pass, now and then: fetch a newer bundle (catalog and
        accounts). Its failure never stops delivery; the status bar shows it."""
        if time.monotonic() < self._next_bundle:
            return
        self._next_bundle = time.monotonic() + self.options.bundle_interval
        await self._refresh_bundle(client)

    async def _refresh_bundle(self, client: CentralClient) -> bool:
        """Fetch and keep a newer bundle; whether one was kept. Its failure is shown in
        the status bar, never raised (but for a refusal of the station itself)."""
        try:
            outcome = await refresh_bundle(client, self.store)
        except StationDisabledError:
            raise  # the station itself is refused, not only its bundle
        except StationError as exc:  # SyncError, BundleRefusedError, a full disk
            level = logging.DEBUG if str(exc) == self.state().bundle_error else logging.WARNING
            log.log(level, "bundle: %s", exc)
            self._update(bundle_error=str(exc))
            return False
        if outcome.changed:
            log.info("bundle version %d received (%d operators)", outcome.info.version,
                     outcome.info.operators)
            self._reload_nodes()
        self._update(bundle_version=outcome.info.version, bundle_error="")
        return outcome.changed

    def _refresh_backlog(self) -> None:
        records, size = self.outbox.backlog()
        self._update(backlog_records=records, backlog_bytes=size)

    def _note_error(self, exc: SyncError) -> None:
        # Once per distinct error: an outage of hours must not flood the log.
        level = logging.DEBUG if str(exc) == self.state().last_error else logging.WARNING
        log.log(level, "sync: %s (%s)", exc, exc.code)
        offline = exc.code in ("unreachable", "possible_spoof")
        disabled = exc.code == STATION_DISABLED
        if disabled:
            self._note_disabled(True)
        self._update(last_error=str(exc), last_error_code=exc.code,
                     online=False if offline else self.state().online,
                     blocked=not exc.retry and not disabled)

    def _note_disabled(self, disabled: bool) -> None:
        """Keep on disk whether the central refuses this station (written only when it
        changes), for ``prep station status`` and the next start."""
        if disabled != self._disabled:
            self.store.note_disabled(disabled)
            self._disabled = disabled
            log.log(logging.ERROR if disabled else logging.INFO,
                    "the central %s this station", "refuses" if disabled else "accepts again")
        self._update(disabled=disabled)

    def _update(self, **changes: object) -> None:
        with self._lock:
            new = dataclasses.replace(self._state, **changes)  # type: ignore[arg-type]
            changed = new != self._state
            self._state = new
        if changed and self._on_change is not None:
            self._on_change(new)


def _said(detail: str) -> str:
    return f": {detail}" if detail else ""


#: What the operator reads when the station's database was busy during a sync pass.
STORE_BUSY_MESSAGE = ("La base de datos de la estación estuvo ocupada; se reintentará el "
                      "envío en unos segundos.")


def store_problem(exc: StationError | DBAPIError) -> str:
    """The operator's message for a sync pass the station's own store interrupted: a
    full disk says so (not that the database was busy), a busy or locked database that
    it will try again, any other write error what failed."""
    if isinstance(exc, StationError):
        return str(exc)
    if sqlite_code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return STORE_BUSY_MESSAGE
    return str(database_error(exc, "el avance del envío"))
