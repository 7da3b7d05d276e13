"""The headless station: what a CATD/CCV workstation or a virtual operator calls.

:class:`Station` records facts locally (acopio, sin acta, imagen, captura…) and never
waits for the network; its sync agent delivers them in the background. Every method
that writes is synchronous and quick (one SQLite transaction, plus an fsync'd file for
an image) but a GUI still calls it from a worker, never from its own thread. Errors
meant for the operator are :class:`~prep.station.errors.StationError` with a Spanish
message.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import bindparam
from sqlalchemy import select

from prep.catalog import Catalog
from prep.crypto import SigningKey
from prep.durable import fsync_dir
from prep.image_check import sniff_media_type
from prep.paquete import TipoDocumento
from prep.paquete import Traslado
from prep.qr import ActaCodec
from prep.qr import CodeRejected
from prep.qr import is_acta_code
from prep.qr import printable_code
from prep.records import CLAVE_ACTA
from prep.records import Kind
from prep.records import Record
from prep.rules import CausaSinActa
from prep.station.accounts import BundleInfo
from prep.station.accounts import BundleOutcome
from prep.station.accounts import CatalogCache
from prep.station.accounts import Operator
from prep.station.accounts import bundle_info
from prep.station.accounts import login
from prep.station.accounts import refresh_bundle
from prep.station.batches import Outbox
from prep.station.blobs import BlobStore
from prep.station.client import CentralClient
from prep.station.client import WorkApi
from prep.station.enroll import NOT_CONFIRMED
from prep.station.enroll import enroll
from prep.station.errors import DISABLED_MESSAGE
from prep.station.errors import EnrollmentError
from prep.station.errors import StationError
from prep.station.errors import StationInputError
from prep.station.models import RecordRow
from prep.station.nodes import node_list
from prep.station.store import BLOB_DIR
from prep.station.store import BlobRef
from prep.station.store import Clock
from prep.station.store import Guard
from prep.station.store import StationIdentity
from prep.station.store import Store
from prep.station.store import default_data_dir
from prep.station.store import key_path
from prep.station.store import system_clock
from prep.station.sync import Locator
from prep.station.sync import SyncAgent
from prep.station.sync import SyncOptions
from prep.station.sync import SyncState

if TYPE_CHECKING:
    from prep.station.discovery import Interfaces
    from prep.station.enroll_mdns import MdnsChoice

_STALE_TEMPORARY_SECONDS = 3600.0

log = logging.getLogger("prep.station")



@dataclass(frozen=True)
class StationStatus:
    """Everything ``prep station status`` prints (JSON-ready)."""

    data_dir: str
    enrolled: bool
    station_id: str | None
    role: str | None
    sitio: str | None
    node: str | None
    central_url: str | None
    cert_sha256: str | None
    records: int
    last_seq: int
    backlog_records: int
    backlog_bytes: int
    batches: int
    batches_delivered: int
    blocked: str | None
    last_receipt_at: str | None
    sync: SyncState | None
    bundle: dict[str, Any] | None = None
    disabled: str | None = None
    """Why nothing is sent, when the central refuses this station (a coordinator
    disabled it): the Spanish message; ``None`` while it is accepted."""
    disabled_since: str | None = None
    capacitacion: bool = False
    """A training station (``prep.capacitacion``): it has no central and sends nothing."""
    nodo_en_uso: str | None = None
    """The central node the station talks to (or will, when its agent starts), in
    Spanish: its URL and whether it is the station's own node, another one of the
    central's signed list, or a reserve."""
    nodos: list[dict[str, Any]] | None = None
    """The central's serve nodes this station accepts: URL, certificate SHA-256, reserva."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Station:
    """One station data directory: identity, local records and the sync agent."""

    def __init__(self, store: Store, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs
        self._key: SigningKey | None = None
        self._agent: SyncAgent | None = None
        self._catalogs = CatalogCache()

    @classmethod
    def open(cls, data_dir: Path | None = None, clock: Clock = system_clock) -> Station:
        """Open (creating if needed) the station kept in ``data_dir`` (default: the
        platform's user data directory for ``prep-station``)."""
        data_dir = data_dir or default_data_dir()
        store = Store(data_dir, clock)
        blobs = BlobStore(data_dir / BLOB_DIR)
        blobs.remove_temporaries(older_than=_STALE_TEMPORARY_SECONDS)
        return cls(store, blobs)

    def close(self) -> None:
        self.stop_sync()
        self.store.close()

    def __enter__(self) -> Station:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def data_dir(self) -> Path:
        return self.store.data_dir

    @property
    def identity(self) -> StationIdentity | None:
        return self.store.identity()

    # enrollment --------------------------------------------------------------------

    def enroll(self, url: str, code: str, expected_cert_sha256: str,
               hostname: str | None = None) -> StationIdentity:
        """Enroll with a one-time code, sent only to a server presenting the certificate
        ``expected_cert_sha256`` (the full fingerprint the central's console shows, or
        the one the technician saw and confirmed); pins it (see
        :mod:`prep.station.enroll`)."""
        self._refuse_if_enrolled()
        key = self.key(create=True)
        answer = enroll(url, code, key, expected_cert_sha256, hostname or socket.gethostname())
        identity = StationIdentity(
            station_id=answer.station_id, role=answer.role, sitio=answer.sitio,
            node=answer.node, central_url=answer.url, central_key=answer.central_key,
            cert_pem=answer.cert_pem, cert_sha256=answer.cert_sha256,
            key_path=key_path(self.data_dir))
        self.store.save_identity(identity)
        try:  # enrollment hands over the catalog and accounts; the agent retries if not
            self.fetch_bundle(timeout=10.0)
        except StationError as exc:
            log.warning("bundle not received at enrollment: %s", exc)
        return identity

    def enroll_mdns(self, code: str, expected_cert_prefix: str | None = None, *,
                    timeout: float = 3.0, interfaces: Interfaces | None = None,
                    hostname: str | None = None,
                    confirm: Callable[[MdnsChoice], bool] | None = None
                    ) -> tuple[StationIdentity, MdnsChoice]:
        """Enroll with the central found on the local network with mDNS (browsing
        ``timeout`` seconds on ``interfaces``, default all): the one whose certificate
        fingerprint starts with ``expected_cert_prefix`` (the first digits the central's
        console shows), or, without a prefix, the only one found once ``confirm`` (the
        technician comparing its fingerprint) says yes. Its handshake must present the
        advertised certificate before the code is sent (:mod:`prep.station.enroll_mdns`).
        Returns the identity and what was found.

        Raises :class:`EnrollmentError` ``fingerprint_required`` (neither a prefix nor a
        way to confirm: nothing is browsed) or ``not_confirmed``; the code is then never
        sent: anyone on the LAN can advertise a central."""
        from zeroconf import InterfaceChoice

        from prep.station.enroll_mdns import PREFIX_REQUIRED
        from prep.station.enroll_mdns import locate_for_enrollment
        from prep.station.enroll_mdns import normalize_prefix

        self._refuse_if_enrolled()
        prefix = None if expected_cert_prefix is None else normalize_prefix(expected_cert_prefix)
        if prefix is None and confirm is None:
            raise EnrollmentError("fingerprint_required", PREFIX_REQUIRED)
        choice = asyncio.run(locate_for_enrollment(
            prefix, timeout,
            interfaces=InterfaceChoice.All if interfaces is None else interfaces))
        if not choice.by_prefix and (confirm is None or not confirm(choice)):
            raise EnrollmentError("not_confirmed", NOT_CONFIRMED)
        identity = self.enroll(choice.chosen.url, code, choice.chosen.cert_sha256, hostname)
        return identity, choice

    def _refuse_if_enrolled(self) -> None:
        if self.store.identity() is not None:
            raise EnrollmentError("already_enrolled", "La estación ya está dada de alta; para "
                                  "darla de alta de nuevo use otro directorio de datos.")

    def key(self, create: bool = False) -> SigningKey:
        """The station's Ed25519 key (file ``station.key``, mode 0600)."""
        if self._key is None:
            path = key_path(self.data_dir)
            if not path.exists():
                if not create:
                    self.store.require_identity()
                    raise EnrollmentError("no_key", f"Falta la llave de la estación ({path}); "
                                          "sin ella no puede firmar. Avise a su coordinador.")
                SigningKey.generate().save(path)
                fsync_dir(path.parent)  # the key must outlive a power cut, like the DB
            self._key = SigningKey.load(path)
        return self._key

    # catalog and operators (the central's bundle) ---------------------------------

    def fetch_bundle(self, timeout: float = 30.0) -> BundleOutcome:
        """Ask the central for a newer bundle now and keep it (see
        :mod:`prep.station.accounts`); raises :class:`SyncError` when the central cannot
        be reached and :class:`BundleRefusedError` for a bundle not to be trusted."""
        identity = self.store.require_identity()
        nodes = node_list(self.store)
        url = self._agent.state().central_url if self._agent is not None else nodes.home

        async def fetch() -> BundleOutcome:
            async with CentralClient(identity, self.key(), url, timeout,
                                     clock=self.store.clock, trust_pem=nodes.trust_pem,
                                     pins=len(nodes.pins),
                                     leaf_sha256=nodes.pin_for(url)) as client:
                return await refresh_bundle(client, self.store)
        return asyncio.run(fetch())

    def work_client(self, timeout: float, url: str | None = None) -> WorkApi:
        """A session with the central for an operator's work (leases, their images, the
        CCV intake counts) at ``url`` (default: the node the sync agent uses now, else the
        station's own node of the signed list), trusting every listed node's certificate;
        not opened yet."""
        identity = self.store.require_identity()
        nodes = node_list(self.store)
        if url is None:  # the node the sync agent uses now, else the station's own
            url = self._agent.state().central_url if self._agent is not None else nodes.home
        return CentralClient(identity, self.key(), url, timeout, clock=self.store.clock,
                             trust_pem=nodes.trust_pem, pins=len(nodes.pins),
                             leaf_sha256=nodes.pin_for(url))

    def bundle_info(self) -> BundleInfo | None:
        """The bundle held (versions, catalog digest, accounts), or ``None``."""
        return bundle_info(self.store)

    def login(self, user: str, password: str) -> Operator:
        """Check an operator's id or name and password offline, against the accounts
        of the held bundle; raises :class:`LoginError` with the Spanish message."""
        return login(self.store, user, password)

    def catalog(self) -> Catalog:
        """The catalog of the held bundle; :class:`NoCatalogError` before the first."""
        return self._catalogs.catalog(self.store)

    # records -----------------------------------------------------------------------

    def acopio(self, clave_acta: str, operator: str, traslado: Traslado | None = None,
               tipo_documento: TipoDocumento | None = None) -> Record:
        """An acta arrived (read from its QR), brought by ``traslado`` (the mechanism
        the paquete came by) and being ``tipo_documento`` (the Acta PREP or another
        copy); either left out, the record says nothing of it (``prep.paquete``)."""
        _check_clave(clave_acta)
        return self._append(Kind.ACOPIO, _acopio_body(clave_acta, traslado, tipo_documento),
                            operator, guard=_first_arrival(clave_acta))

    def acopio_fuera_de_catalogo(self, codigo_leido: str, eleccion: str,
                                 operator: str) -> Record:
        """An acta whose code is not in the catalog (registered as read). Refused
        (:class:`StationInputError`) unless the code is written as an acta code
        (:func:`prep.qr.is_acta_code`): a misread is no acta; and refused for an acta the
        held catalog has (it takes a plain acopio)."""
        if not is_acta_code(codigo_leido):
            raise StationInputError(
                f"El código «{printable_code(codigo_leido)}» no es un QR de acta ni una "
                "CLAVE_ACTA: no se puede registrar fuera de catálogo. Vuelva a escanear el QR "
                "o escriba la clave impresa en el acta.")
        if self.bundle_info() is not None and self._in_catalog(codigo_leido):
            raise StationInputError(
                f"El acta {printable_code(codigo_leido)} está en el catálogo: regístrela con "
                "un acopio normal, no fuera de catálogo.")
        return self._append(Kind.ACOPIO, {"codigo_leido": codigo_leido, "eleccion": eleccion,
                                          "fuera_de_catalogo": True}, operator)

    def _in_catalog(self, code: str) -> bool:
        try:
            ActaCodec(self.catalog()).decode(code)
        except CodeRejected:
            return False
        return True

    def acopio_tras_sin_acta(self, clave_acta: str, operator: str, sin_acta_record: str,
                             traslado: Traslado | None = None,
                             tipo_documento: TipoDocumento | None = None) -> Record:
        """The acta of a package registered *sin acta* here turned up after all: an
        acopio that ``replaces`` that sin acta record, which the central takes as the
        sin acta corrected (no anomaly). Refused unless that record is this acta's only
        arrival at this station."""
        _check_clave(clave_acta)
        return self._append(Kind.ACOPIO, _acopio_body(clave_acta, traslado, tipo_documento),
                            operator, replaces=sin_acta_record,
                            guard=_only_sin_acta(clave_acta, sin_acta_record))

    def sin_acta(self, clave_acta: str, causa: str | CausaSinActa, operator: str) -> Record:
        """The package came without its acta (``causa``: see :class:`CausaSinActa`)."""
        _check_clave(clave_acta)
        if str(causa) not in {c.value for c in CausaSinActa}:
            raise StationInputError(f"Causa de sin acta «{causa}» desconocida; use una de: "
                                    + ", ".join(c.value for c in CausaSinActa) + ".")
        return self._append(Kind.SIN_ACTA, {"clave_acta": clave_acta, "causa": str(causa)},
                            operator, guard=_first_arrival(clave_acta))

    def imagen(self, clave_acta: str, image_bytes: bytes, media_type: str, operator: str,
               origen: str = "CATD", digitalizacion: str = "Escáner",
               replaces: str | None = None) -> Record:
        """An acta's image: stored durably first, then its record (``replaces``: the
        id of the image record a re-scan supersedes)."""
        _check_clave(clave_acta)
        sniffed = sniff_media_type(image_bytes)
        if sniffed != media_type:
            raise StationInputError(
                f"El archivo no es una imagen {media_type.removeprefix('image/').upper()} "
                f"válida" + (f" (parece {sniffed})" if sniffed else "")
                + ": vuelva a digitalizar el acta.")
        placeholder = {"clave_acta": clave_acta, "sha256": "0" * 64, "bytes": 1,
                       "media_type": media_type, "origen": origen,
                       "digitalizacion": digitalizacion}
        self.store.validate(Kind.IMAGEN, placeholder, operator)
        sha256 = self.blobs.put(image_bytes)
        body = {**placeholder, "sha256": sha256, "bytes": len(image_bytes)}
        ref = BlobRef(sha256, len(image_bytes), media_type, self.blobs.relative(sha256))
        return self._append(Kind.IMAGEN, body, operator, replaces, blob=ref)

    def captura(self, clave_acta: str, valores: Mapping[str, int | str], operator: str,
                imagen_sha256: str, lease: str | None, replaces: str | None = None,
                guard: Guard | None = None) -> Record:
        """Values typed by a capturista from the image ``imagen_sha256`` under the work
        lease ``lease`` (``"Ilegible"``/``"Sin dato"`` allowed). ``guard`` runs in the
        record's transaction (``prep.station.work`` marks the lease done there)."""
        _check_clave(clave_acta)
        return self._append(Kind.CAPTURA, _work_body(clave_acta, imagen_sha256, lease,
                                                     valores=dict(valores)),
                            operator, replaces, guard=guard)

    def verificacion(self, clave_acta: str, valores: Mapping[str, int | str], operator: str,
                     imagen_sha256: str, lease: str | None, motivo: str,
                     replaces: str | None = None, guard: Guard | None = None) -> Record:
        """Values settled by a verificador, and why."""
        _check_clave(clave_acta)
        return self._append(Kind.VERIFICACION, _work_body(clave_acta, imagen_sha256, lease,
                                                          valores=dict(valores),
                                                          motivo=motivo),
                            operator, replaces, guard=guard)

    def ilegible(self, clave_acta: str, operator: str, imagen_sha256: str,
                 lease: str | None, motivo: str, guard: Guard | None = None) -> Record:
        """The operator cannot read the image: the acta goes back to digitalización."""
        _check_clave(clave_acta)
        return self._append(Kind.ILEGIBLE, _work_body(clave_acta, imagen_sha256, lease,
                                                      motivo=motivo), operator, guard=guard)

    def cotejo(self, clave_acta: str, coincide: bool, operator: str,
               campos: Sequence[str] = (), motivo: str = "",
               guard: Guard | None = None) -> Record:
        """Whether the published data matches the paper acta; if not, which fields
        differ (``campos``, the acta's capture fields) and why (``motivo``): the central
        opens a correction round. A confirmation carries neither."""
        _check_clave(clave_acta)
        body: dict[str, Any] = {"clave_acta": clave_acta, "coincide": coincide}
        if not coincide and campos:
            body["campos"] = list(campos)
        if not coincide and motivo.strip():
            body["motivo"] = motivo.strip()
        return self._append(Kind.COTEJO, body, operator, guard=guard)

    def _append(self, kind: Kind, body: Mapping[str, Any], operator: str,
                replaces: str | None = None, blob: BlobRef | None = None,
                guard: Guard | None = None) -> Record:
        record = self.store.append(kind, body, operator, replaces, blob, guard)
        if self._agent is not None:
            self._agent.wake()
        return record

    # sync --------------------------------------------------------------------------

    def outbox(self) -> Outbox:
        return Outbox(self.store, self.key())

    def agent(self, options: SyncOptions | None = None,
              on_change: Callable[[SyncState], None] | None = None,
              locator: Locator | None = None) -> SyncAgent:
        """A sync agent for this station (not started)."""
        return SyncAgent(self.store, self.outbox(), self.blobs, options, on_change, locator)

    def start_sync(self, options: SyncOptions | None = None,
                   on_change: Callable[[SyncState], None] | None = None,
                   discover: bool = False) -> SyncAgent:
        """Start delivering in the background (idempotent); ``on_change`` is called from
        the agent's thread with each new state. With ``discover``, a central that stops
        answering at its configured URL is looked for with mDNS."""
        if self._agent is None:
            locator = mdns_locator(self.store) if discover else None
            self._agent = self.agent(options, on_change, locator)
        self._agent.start()
        return self._agent

    def stop_sync(self) -> None:
        if self._agent is not None:
            self._agent.stop()
            self._agent = None

    def sync_until_drained(self, timeout: float, options: SyncOptions | None = None) -> bool:
        """Deliver everything now, in this thread; ``True`` if the backlog emptied."""
        return self.agent(options).run_until_drained(timeout)

    def unblock(self) -> int:
        """A coordinator reviewed a refused batch: let the agent try it again."""
        count = self.outbox().unblock()
        if self._agent is not None:
            self._agent.wake()
        return count

    def status(self) -> StationStatus:
        identity = self.store.identity()
        summary = self.outbox().summary() if identity is not None else None
        records, last_seq = self.store.counts()
        backlog = self.outbox().backlog() if identity is not None else (0, 0)
        disabled_since = self.store.disabled_since() if identity is not None else None
        nodes = node_list(self.store) if identity is not None else None
        agent = self._agent.state() if self._agent is not None else None
        return StationStatus(
            data_dir=str(self.data_dir), enrolled=identity is not None,
            station_id=identity.station_id if identity else None,
            role=identity.role if identity else None,
            sitio=identity.sitio if identity else None,
            node=identity.node if identity else None,
            central_url=identity.central_url if identity else None,
            cert_sha256=identity.cert_sha256 if identity else None,
            records=records, last_seq=last_seq,
            backlog_records=backlog[0], backlog_bytes=backlog[1],
            batches=summary.batches if summary else 0,
            batches_delivered=summary.delivered if summary else 0,
            blocked=summary.blocked if summary else None,
            last_receipt_at=summary.last_receipt_at if summary else None,
            sync=self._agent.state() if self._agent is not None else None,
            bundle=held.to_json() if (held := bundle_info(self.store)) else None,
            disabled=DISABLED_MESSAGE if disabled_since else None,
            disabled_since=disabled_since,
            nodo_en_uso=(agent.node if agent is not None and agent.node
                         else nodes.describe(nodes.home) if nodes is not None else None),
            nodos=[{"url": n.url, "cert_sha256": n.cert_sha256, "reserva": n.reserva}
                   for n in nodes.nodes] if nodes is not None else None)


def mdns_locator(store: Store, timeout: float = 3.0) -> Locator:
    """A locator that tries the station's own node, then mDNS candidates advertising a
    certificate it accepts: the one pinned at enrollment, or any of the central's
    signed node list (:func:`prep.station.discovery.find_central`)."""
    async def locate() -> tuple[str, str] | None:
        from prep.station.discovery import find_central

        nodes = node_list(store)
        found = await find_central(nodes.home, nodes.pins, timeout)
        return None if found is None else (found.url, found.source)
    return locate


def _acopio_body(clave_acta: str, traslado: Traslado | None,
                 tipo_documento: TipoDocumento | None) -> dict[str, str]:
    body = {"clave_acta": clave_acta}
    if traslado is not None:
        body["traslado"] = Traslado(traslado).value
    if tipo_documento is not None:
        body["tipo_documento"] = TipoDocumento(tipo_documento).value
    return body


def _work_body(clave_acta: str, imagen_sha256: str, lease: str | None,
               **rest: Any) -> dict[str, Any]:
    return {"clave_acta": clave_acta, "imagen_sha256": imagen_sha256, "lease": lease, **rest}


def _check_clave(clave_acta: str) -> None:
    if not isinstance(clave_acta, str) or not CLAVE_ACTA.fullmatch(clave_acta):
        raise StationInputError(f"La clave de acta «{clave_acta}» no es válida: son 13 "
                                "caracteres, 6 dígitos, una letra mayúscula y 6 dígitos "
                                "(por ejemplo 090001B010001).")


_EARLIER_ARRIVAL = (select(RecordRow.seq, RecordRow.kind, RecordRow.created)
                    .where(RecordRow.clave_acta == bindparam("clave"),
                           RecordRow.kind.in_((Kind.ACOPIO.value, Kind.SIN_ACTA.value)))
                    .limit(1))


def _first_arrival(clave_acta: str) -> Guard:
    """A guard refusing a second acopio/sin acta of the same acta at this station."""
    def guard(conn: Connection) -> None:
        earlier = conn.execute(_EARLIER_ARRIVAL, {"clave": clave_acta}).first()
        if earlier is not None:
            que = "en acopio" if earlier.kind == Kind.ACOPIO.value else "como sin acta"
            raise StationInputError(f"El acta {clave_acta} ya se registró {que} en esta "
                                    f"estación ({earlier.created}, registro {earlier.seq}).")
    return guard


_ARRIVALS = (select(RecordRow.id, RecordRow.kind)
             .where(RecordRow.clave_acta == bindparam("clave"),
                    RecordRow.kind.in_((Kind.ACOPIO.value, Kind.SIN_ACTA.value)))
             .order_by(RecordRow.seq))


def _only_sin_acta(clave_acta: str, sin_acta_record: str) -> Guard:
    """A guard for the acopio correcting a sin acta: that sin acta must be the acta's
    one arrival here (not corrected already, not another record)."""
    def guard(conn: Connection) -> None:
        arrivals = [tuple(row) for row in conn.execute(_ARRIVALS, {"clave": clave_acta})]
        if arrivals != [(sin_acta_record, Kind.SIN_ACTA.value)]:
            raise StationInputError(f"El acta {clave_acta} no está registrada como sin acta "
                                    "en esta estación (o ya se corrigió): no se registró el "
                                    "acopio.")
    return guard


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes (for tests and tools)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
