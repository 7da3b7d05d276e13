"""Work leases: capture, verification and cotejo handed to one operator at one station at
a time (``POST /v1/work/next``, ``…/{lease}/renew``, ``…/release``; ``docs/pipeline.md``).

Cotejo work is a validated acta, not yet cotejada nor in a correction round, of the
asking CATD station's own distritos (the paper acta is there), oldest validation first,
for a verificador or coordinador who never captured, verified or held a lease on it.

An acta is handed out with ``SELECT … FOR UPDATE SKIP LOCKED``: a CATD station gets its
own CATD's actas first, a CCV station any; oldest acopio first. PostgreSQL itself keeps
the two promises: at most one active lease per acta (a partial unique index) and never
the same operator twice on one acta (a unique index over acta and operator), unless
they gave it back unfinished on leaving the screen (a release that says ``volver``: the
lease ends ``returned``, the acta may come back to them; at a CATD with one verificador
nobody else could take it). Nor the
same station twice in one image round: a capture lease never goes to a station whose
capture of the acta already counts in its current round, and a verification only to a
station that made none of them, so one stolen station key and two of its site's
accounts cannot decide an acta through the queue (ingest enforces it too, for a race
lost here: :mod:`central.pipeline.authorize`). A lease
lasts ``lease_time`` (``serve --lease-minutes``, default 10); past it, the acta goes back
to the queue, and the lease stays good until someone else is given the acta (so a
capture typed during a short outage still counts if nobody took over). A capture,
verification or *ilegible* record ends the lease it names when ingested
(:mod:`central.pipeline.apply`); leases hand work out, the acta states never read them.

``next`` is safe to retry: it returns the operator's unexpired leases at that station
first and only tops them up to ``prefetch``. A station names in ``done`` the leases its
operator has finished but whose records may not have reached the central yet: those
are neither answered again nor counted against ``prefetch``, so an operator who
finished the prefetched actas gets the next ones at once instead of waiting for the
station's outbox (their leases still hold the actas until the records arrive).

Nobody hoards the queue: an operator holds at most :data:`MAX_LEASES_PER_OPERATOR`
unexpired leases at a station and a station at most :data:`MAX_LEASES_PER_STATION`,
finished or not (``done`` frees ``prefetch``, never the caps), and a lease is renewed
at most up to :data:`MAX_LIFE_FACTOR` lease times after it was granted. Each ``next``
carries a nonce the station signs with it; the same signed request sent again is
refused (``solicitud_repetida``), never answered with new leases.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Generic
from typing import NamedTuple
from typing import TypeVar
from typing import cast

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import Row
from sqlalchemy import Table
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from central.audit.anomalies import add_anomaly
from central.db.actas import ActaCapture
from central.db.actas import ActaImage
from central.db.actas import ActaStateRow
from central.db.actas import Lease
from central.db.auditoria import Anomaly
from central.node.errors import ApiError
from central.node.metrics import instruments as metrics
from central.pipeline.apply import current_lookup
from central.pipeline.state import CAPTURA
from central.pipeline.state import SLOT
from central.pipeline.state import VERIFICACION
from central.pipeline.state import Estado
from central.pipeline.state import Lookup
from central.stations.auth import STATION_ROW
from central.stations.auth import SignedRequest
from central.stations.auth import verified_station
from central.stations.catd_distritos import assigned
from central.stations.catd_distritos import distritos_of
from prep.canonical import CanonicalError
from prep.canonical import parse_json
from prep.protocol import MAX_ESPERA
from prep.records import format_time
from prep.values import Captura
from prep.values import conciliar

DEFAULT_LEASE_TIME = timedelta(minutes=10)
MAX_PREFETCH = 10
#: At most this many finished leases named per request; more (a station whose outbox is
#: far behind) still count against ``prefetch``, which slows that operator down.
MAX_DONE = 32
#: Unexpired leases one operator may hold at one station, finished (named in ``done``)
#: or not: a full prefetch to work on plus as many finished whose records are still on
#: their way. A person types an acta in about 90 s, so a full prefetch is 15 minutes of
#: work; the outbox delivers in seconds.
MAX_LEASES_PER_OPERATOR = 2 * MAX_PREFETCH
#: Unexpired leases one station may hold, all its operators together: a workstation
#: has one operator at a time (two or three at a handover, or in the drill's virtual
#: stations, which run a CATD's operators in one process).
MAX_LEASES_PER_STATION = 4 * MAX_PREFETCH
#: A lease is renewed at most up to this many lease times after it was granted (40
#: minutes with the default 10): enough for a verificador's full prefetch at 3 minutes
#: an acta; then it runs out and its acta goes back to the queue.
MAX_LIFE_FACTOR = 4
#: A replayed ``next`` raises the anomaly ``solicitud_repetida`` once per station in
#: this time (the refusal itself is answered every time).
REPLAY_ANOMALY_EVERY = timedelta(hours=1)
REPLAYED = "solicitud_repetida"
MAX_REQUEST_BYTES = 4096
COTEJO = "cotejo"
#: The roles that may take each kind of work (central.pipeline.authorize.ROLES agrees).
ROLES = {CAPTURA: frozenset({"capturista"}), VERIFICACION: frozenset({"verificador"}),
         COTEJO: frozenset({"verificador", "coordinador"})}
_ROLE_NAMES = {CAPTURA: "capturista", VERIFICACION: "verificador",
               COTEJO: "verificador o coordinador"}

LEASES = cast(Table, Lease.__table__)
IMAGES = cast(Table, ActaImage.__table__)
CAPTURES = cast(Table, ActaCapture.__table__)
STATES = cast(Table, ActaStateRow.__table__)

FIELDS_EVERY = 2.0
T = TypeVar("T")

_QUEUE = {CAPTURA: "a.estado IN ('digitalizada', 'captura_1', 'captura_2')",
          VERIFICACION: "a.estado = 'verificacion'",
          COTEJO: "a.estado = 'validada' AND a.cotejo_record IS NULL"}
#: The queue order: acopio time for capture and verification, the validation's arrival
#: (the oldest published data first) for cotejo.
_ORDER = {CAPTURA: "a.orden_at", VERIFICACION: "a.orden_at", COTEJO: "a.validada_received_at"}
#: The one-station rule (capture and verification): never a station whose capture
#: already counts in the acta's current round. A cotejo is made where the paper is, at
#: the CATD whose stations captured it: the rule is about captures, not about it.
_OTHER_STATION = """
          AND NOT EXISTS (SELECT 1 FROM acta_captures AS ours
                          WHERE ours.clave_acta = a.clave_acta AND ours.ronda = a.ronda
                            AND ours.kind = 'captura' AND ours.station = :station)"""
_IMAGE_COLUMNS = "i.sha256, i.bytes, i.media_type, i.origen, i.digitalizacion, i.received_at"
_SLOT_SQL = "CASE c.estado " + " ".join(
    f"WHEN '{estado.value}' THEN {slot}" for estado, slot in SLOT.items()) + " ELSE 0 END"
# One statement per grant: pick the candidates (oldest acopio first, skipping actas
# another transaction holds), lease those without a leftover lease, and answer every
# candidate with its image. A candidate still holding a live lease has an expired one
# (the WHERE excludes unexpired ones): it comes back with ``reclaim`` and no lease, and
# _reclaim_and_grant ends the old lease first. A race lost to another grant (committed
# after this statement's snapshot) comes back with neither: the unique indexes skipped
# it, they never double it.
_GRANT_SQL = """
    WITH candidate AS (
        SELECT a.clave_acta, a.estado, a.ronda, a.imagen_actual, {order} AS orden_at,
               EXISTS (SELECT 1 FROM leases AS old WHERE old.clave_acta = a.clave_acta
                       AND old.status = 'active') AS reclaim
        FROM acta_states AS a
        WHERE {queue} {distrito}
          AND a.clave_acta <> ALL(CAST(:taken AS varchar[]))
          AND NOT EXISTS (SELECT 1 FROM leases AS mine
                          WHERE mine.clave_acta = a.clave_acta AND mine.operator = :operator
                            AND mine.status <> 'returned')
          AND NOT EXISTS (SELECT 1 FROM acta_captures AS done
                          WHERE done.clave_acta = a.clave_acta AND done.operator = :operator)
          AND a.correccion_operator IS DISTINCT FROM :operator {station}
          AND NOT EXISTS (SELECT 1 FROM leases AS live
                          WHERE live.clave_acta = a.clave_acta AND live.status = 'active'
                            AND live.expires_at > :now)
        ORDER BY {order}, a.clave_acta
        LIMIT :limit
        FOR UPDATE OF a SKIP LOCKED
    ), granted AS (
        INSERT INTO leases (id, clave_acta, kind, slot, ronda, image_record, operator,
                            station, granted_at, expires_at, status)
        SELECT gen_random_uuid(), c.clave_acta, :kind, {slot}, c.ronda, c.imagen_actual,
               :operator, :station, clock_timestamp(), clock_timestamp() + :lease_time,
               'active'
        FROM candidate AS c WHERE NOT c.reclaim
        ON CONFLICT DO NOTHING
        RETURNING id, clave_acta, slot, expires_at
    )
    SELECT c.clave_acta, c.estado, c.ronda, c.imagen_actual, c.reclaim, g.id, g.slot,
           g.expires_at, {image}
    FROM candidate AS c LEFT JOIN granted AS g ON g.clave_acta = c.clave_acta
    LEFT JOIN acta_images AS i ON i.record_id = c.imagen_actual
    ORDER BY c.orden_at, c.clave_acta
"""
# (kind, own CATD only?) → statement; the texts are constants, so the partial indexes
# on the queue states apply.
_GRANT = {(kind, own): text(_GRANT_SQL.format(
    queue=queue, image=_IMAGE_COLUMNS, slot=_SLOT_SQL, order=_ORDER[kind],
    station="" if kind == COTEJO else _OTHER_STATION,
    distrito="AND a.distrito = ANY(CAST(:distritos AS integer[]))" if own else ""))
    for kind, queue in _QUEUE.items() for own in (True, False)}
_RECLAIM = text("""
    UPDATE leases SET status = 'expired', ended_at = clock_timestamp()
    WHERE clave_acta = ANY(CAST(:claves AS varchar[])) AND status = 'active'
      AND expires_at <= :now
""")
_HELD = text(f"""
    SELECT l.id, l.clave_acta, l.kind, l.slot, l.ronda, l.expires_at, {_IMAGE_COLUMNS}
    FROM leases AS l LEFT JOIN acta_images AS i ON i.record_id = l.image_record
    WHERE l.operator = :operator AND l.station = :station AND l.kind = :kind
      AND l.status = 'active' AND l.expires_at > :now
    ORDER BY l.granted_at
""")  # noqa: S608 - constant column list
# How many unexpired leases the station holds, and how many of them the operator.
_ACTIVE = text("""
    SELECT count(*) AS station, count(*) FILTER (WHERE operator = :operator) AS operator
    FROM leases WHERE station = :station AND status = 'active' AND expires_at > :now
""")
# One grant at a time per station, so two asks at once cannot both pass its cap (a
# key of its own, not the station's ingest lock).
_GRANT_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:station, 1))")
_CLAIM_NONCE = text("""
    INSERT INTO work_nonces (station, nonce, at) VALUES (:station, :nonce, :now)
    ON CONFLICT DO NOTHING RETURNING nonce
""")
# Extend an active lease by a lease time, never past its maximum life.
_RENEW = text("""
    UPDATE leases
    SET expires_at = GREATEST(expires_at,
                              LEAST(clock_timestamp() + :lease_time, granted_at + :max_life))
    WHERE id = :lease AND station = :station AND status = 'active'
      AND granted_at + :max_life > clock_timestamp()
    RETURNING expires_at
""")
_STATION_OPERATOR = text("""
    SELECT s.public_key, s.enabled, s.last_seen_at, s.role, s.sitio, o.role AS operator_role,
           o.sitio AS operator_sitio, o.enabled AS operator_enabled
    FROM stations AS s LEFT JOIN operators AS o ON o.id = :operator
    WHERE s.id = :station
""")
_ATTEMPTS = 3  # candidates lost to concurrent grants are replaced this many times
# A lease's history times are the database's clock when its row changes, taken while the
# acta is locked, so one acta's leases never seem to overlap; expiry is judged against
# the request's time (``:now``).
_CLOCK = func.clock_timestamp()


@dataclass(frozen=True)
class WorkRequest:
    """The body of ``POST /v1/work/next``."""

    operator: str
    kind: str
    prefetch: int = 1
    done: frozenset[str] = frozenset()  # leases finished at the station (lease ids)
    espera: int = 0  # seconds to wait at the central if there is no work now
    nonce: str = ""  # a UUID the station makes for each ask (replays are refused)

    @classmethod
    def parse(cls, body: bytes) -> WorkRequest:
        try:
            data = parse_json(body, MAX_REQUEST_BYTES)
        except CanonicalError:
            raise _malformed() from None
        if not isinstance(data, dict) or not {"operator", "kind"} <= set(data):
            raise _malformed()
        operator, kind, prefetch = data["operator"], data["kind"], data.get("prefetch", 1)
        done = _lease_ids(data.get("done", []))
        espera = data.get("espera", 0)
        if not isinstance(operator, str) or not 0 < len(operator) <= 64 \
                or not isinstance(kind, str) or kind not in ROLES \
                or type(prefetch) is not int \
                or not 1 <= prefetch <= MAX_PREFETCH or done is None \
                or type(espera) is not int or not 0 <= espera <= MAX_ESPERA:
            raise _malformed()
        if "nonce" not in data:
            raise ApiError(400, "nonce_missing", "La solicitud de trabajo no trae «nonce»: "
                           "el programa de la estación es anterior a este nodo central. "
                           "Actualícelo antes de seguir capturando.")
        nonce = _lease_ids([data["nonce"]])
        if not nonce:
            raise _malformed()
        return cls(operator, kind, prefetch, done, espera, next(iter(nonce)))


class NextWork(NamedTuple):
    """What ``next`` answers, and the asking station's ``(role, sitio)`` (an ask that
    finds nothing waits among that site's operators: central.api.work_wait). ``capped``:
    the operator or the station holds all the leases it may; waiting would not help
    until its records arrive."""

    leases: list[dict[str, Any]]
    site: tuple[str, str]
    capped: bool = False


def next_work(engine: Engine, signed: SignedRequest, request: WorkRequest,
              lease_time: timedelta = DEFAULT_LEASE_TIME, *, first: bool = True) -> NextWork:
    """The operator's leases at the signing station (held ones first, topped up to
    ``prefetch`` within the caps), described for the station (:func:`describe`).
    ``first``: the first look of this request (its nonce is spent then; a request
    waiting for work looks again without spending it)."""
    with Session(engine) as session, session.begin():
        conn = session.connection()
        now = datetime.now(UTC)
        row = conn.execute(_STATION_OPERATOR, {"station": signed.station_id(),
                                               "operator": request.operator}).one_or_none()
        station = verified_station(conn, signed, row, now)
        assert row is not None
        replayed = first and conn.scalar(_CLAIM_NONCE, {
            "station": station, "nonce": request.nonce, "now": now}) is None
        if replayed:
            _note_replay(session, station, now)
        else:
            _check_operator(row, request)
            conn.execute(_GRANT_LOCK, {"station": station})
            held = [h for h in conn.execute(_HELD, {"operator": request.operator,
                                                    "station": station,
                                                    "kind": request.kind, "now": now})
                    if str(h.id) not in request.done]
            active = conn.execute(_ACTIVE, {"station": station, "now": now,
                                            "operator": request.operator}).one()
            room = min(MAX_LEASES_PER_OPERATOR - active.operator,
                       MAX_LEASES_PER_STATION - active.station)
            wanted = min(request.prefetch - len(held), room)
            granted = _grant(conn, station, row, request, wanted, now, lease_time)
            metrics.leases_granted(request.kind, len(granted))
            return NextWork(describe(conn, [*held, *granted], _fields_lookup(session)),
                            (str(row.role), str(row.sitio)), capped=room <= 0)
    raise ApiError(409, REPLAYED, "Esta solicitud de trabajo ya se había recibido (la "
                   "misma solicitud firmada, otra vez); no se asigna trabajo con ella. "
                   "Pida trabajo de nuevo; si se repite, avise al coordinador.")


def _note_replay(session: Session, station: str, now: datetime) -> None:
    """The anomaly of a replayed ``next``, at most once per station per
    :data:`REPLAY_ANOMALY_EVERY` (a replay loop must not flood the coordinator)."""
    recent = session.scalar(select(Anomaly.id).where(
        Anomaly.type == REPLAYED, Anomaly.station == station,
        Anomaly.at > now - REPLAY_ANOMALY_EVERY).limit(1))
    if recent is None:
        add_anomaly(session, REPLAYED, station, {"path": "/v1/work/next"})


def renew(engine: Engine, signed: SignedRequest, lease_id: str,
          lease_time: timedelta = DEFAULT_LEASE_TIME) -> dict[str, Any]:
    """Extend an active lease by ``lease_time`` from now, never past
    :data:`MAX_LIFE_FACTOR` lease times after it was granted (at that limit it keeps
    its expiry; past it, 409 ``lease_max_life``)."""
    max_life = lease_time * MAX_LIFE_FACTOR
    with engine.begin() as conn:
        station = _signing_station(conn, signed)
        row = conn.execute(_RENEW, {"lease": _uuid(lease_id), "station": station,
                                    "lease_time": lease_time,
                                    "max_life": max_life}).one_or_none()
        if row is None:
            if _status(conn, station, lease_id) == "active":
                minutes = round(max_life.total_seconds() / 60)
                raise ApiError(409, "lease_max_life", "Esa asignación de trabajo llegó a su "
                               f"duración máxima ({minutes} minutos) y ya no se renueva; "
                               "pida trabajo nuevo.")
            raise _ended(conn, station, lease_id)
    return {"lease_id": lease_id, "status": "active",
            "expires_at": format_time(row.expires_at)}


def release(engine: Engine, signed: SignedRequest, lease_id: str,
            volver: bool = False) -> dict[str, Any]:
    """Give the acta back to the queue now. Releasing a lease that already ended (its
    capture arrived, it expired) is not an error: the answer says how it ended.
    ``volver``: the operator left the screen with the acta unfinished; the lease ends
    ``returned`` and the acta may be offered to them again (a plain release, a skip,
    ends ``released``: never to them again)."""
    with engine.begin() as conn:
        station = _signing_station(conn, signed)
        row = conn.execute(update(LEASES).where(
            LEASES.c.id == _uuid(lease_id), LEASES.c.station == station,
            LEASES.c.status == "active").values(
                status="returned" if volver else "released", ended_at=_CLOCK)
            .returning(LEASES.c.status)).one_or_none()
        status = row.status if row is not None else _status(conn, station, lease_id)
    return {"lease_id": lease_id, "status": status}


class _Recent(Generic[T]):
    """A value read again at most every :data:`FIELDS_EVERY` seconds, shared by the
    request threads (two threads may both read it when it is stale: no harm)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: tuple[float, T] | None = None

    def get(self, read: Callable[[], T]) -> T:
        with self._lock:
            held = self._held
        if held is not None and held[0] > time.monotonic():
            return held[1]
        value = read()
        with self._lock:
            self._held = (time.monotonic() + FIELDS_EVERY, value)
        return value


_recent_lookup: _Recent[Lookup] = _Recent()
_recent_assigned: _Recent[dict[int, int]] = _Recent()


def _fields_lookup(session: Session) -> Lookup:
    """The current catalog's lookup for describing leases, read at most every
    :data:`FIELDS_EVERY` seconds (one query less per ``next``; a catalog changes once or
    twice a night, and a capture is checked against the current catalog at ingest)."""
    return _recent_lookup.get(lambda: current_lookup(session))


def _assigned(conn: Connection) -> dict[int, int]:
    """The distritos away from their own CATD (central.stations.catd_distritos), read at most
    every :data:`FIELDS_EVERY` seconds: they only order the queue here (ingest reads
    them in its own transaction), and change once a night if ever."""
    return _recent_assigned.get(lambda: assigned(conn))


def _signing_station(conn: Connection, signed: SignedRequest) -> str:
    """The station that signed a lease request, checked."""
    row = conn.execute(STATION_ROW, {"station": signed.station_id()}).one_or_none()
    return verified_station(conn, signed, row, datetime.now(UTC))


def _grant(conn: Connection, station: str, row: Row[Any], request: WorkRequest, wanted: int,
           now: datetime, lease_time: timedelta) -> list[_Leased]:
    """Lease up to ``wanted`` more actas to the operator; the new leases with their
    images (the :data:`_HELD` columns)."""
    granted: list[_Leased] = []
    taken: list[str] = []
    if wanted <= 0:
        return granted
    own_distritos = distritos_of(int(row.sitio), _assigned(conn)) if row.role == "catd" \
        else None
    # A cotejo compares with the paper acta, which stays at its CATD: its own only.
    owns = (True,) if request.kind == COTEJO else (True, False) if own_distritos else (False,)
    params: dict[str, Any] = {
        "operator": request.operator, "station": station, "kind": request.kind, "now": now,
        "lease_time": lease_time, "distritos": own_distritos}
    for _ in range(_ATTEMPTS):
        found = 0
        for own in owns:
            need = wanted - len(granted)
            if need <= 0:
                break
            rows = list(conn.execute(_GRANT[request.kind, own],
                                     {**params, "limit": need, "taken": taken}))
            found += len(rows)
            taken += [r.clave_acta for r in rows]
            granted += [_leased(r, r.id, r.slot, request.kind, r.expires_at)
                        for r in rows if r.id is not None]
            stale = [r for r in rows if r.reclaim]
            if stale:
                granted += _reclaim_and_grant(conn, stale, params)
        if len(granted) >= wanted or not found:
            break
    return granted


def _reclaim_and_grant(conn: Connection, stale: list[Row[Any]],
                       params: dict[str, Any]) -> list[_Leased]:
    """The candidates whose previous lease expired: end it, then lease them."""
    ended = conn.execute(_RECLAIM, {"claves": [r.clave_acta for r in stale],
                                    "now": params["now"]}).rowcount
    metrics.leases_expired(params["kind"], ended)
    rows = [{"id": str(uuid.uuid4()), "clave_acta": r.clave_acta, "kind": params["kind"],
             "slot": SLOT.get(Estado(r.estado), 0), "ronda": r.ronda,
             "image_record": r.imagen_actual, "operator": params["operator"],
             "station": params["station"], "granted_at": _CLOCK,
             "expires_at": _CLOCK + params["lease_time"], "status": "active"} for r in stale]
    won = {row.clave_acta: row.expires_at for row in conn.execute(
        insert(LEASES).values(rows).on_conflict_do_nothing()
        .returning(LEASES.c.clave_acta, LEASES.c.expires_at))}
    return [_leased(r, lease["id"], lease["slot"], params["kind"], won[r.clave_acta])
            for r, lease in zip(stale, rows, strict=True) if r.clave_acta in won]


def _leased(r: Row[Any], lease_id: object, slot: int, kind: str,
            expires_at: datetime) -> _Leased:
    """A granted candidate (a :data:`_GRANT` row) as the lease it now is."""
    return _Leased(str(lease_id), r.clave_acta, kind, slot, r.ronda, expires_at, r.sha256,
                   r.bytes, r.media_type, r.origen, r.digitalizacion, r.received_at)


class _Leased(NamedTuple):
    """A lease just granted, shaped like a :data:`_HELD` row."""

    id: str
    clave_acta: str
    kind: str
    slot: int
    ronda: int
    expires_at: datetime
    sha256: str | None
    bytes: int | None
    media_type: str | None
    origen: str | None
    digitalizacion: str | None
    received_at: datetime | None


def describe(conn: Connection, leases: Sequence[Any], lookup: Lookup) -> list[dict[str, Any]]:
    """What a station needs to work on each lease offline: the acta's image (fetch its
    bytes with ``GET /v1/blobs/{sha256}``) and fields; for a verification, also every
    image and this round's captures with the fields where they differ. A capture lease
    shows no other capture: captures are blind."""
    out = []
    for lease in leases:
        info = lookup(lease.clave_acta)
        image = _image_json(lease) if lease.sha256 is not None else None
        item: dict[str, Any] = {
            "lease_id": str(lease.id), "clave_acta": lease.clave_acta, "kind": lease.kind,
            "slot": lease.slot, "expires_at": format_time(lease.expires_at),
            "eleccion": info.eleccion if info else lease.clave_acta[-2:],
            "campos": list(info.campos) if info else [],
            "image_sha256": lease.sha256, "image": image}
        if lease.kind == VERIFICACION:
            item.update(_verification(conn, lease))
        elif lease.kind == COTEJO:  # the published data, to compare with the paper
            item["valores"] = conn.scalar(select(STATES.c.validada_valores).where(
                STATES.c.clave_acta == lease.clave_acta))
        out.append(item)
    return out


def _verification(conn: Connection, lease: Any) -> dict[str, Any]:
    captures = list(conn.execute(select(CAPTURES.c.slot, CAPTURES.c.valores).where(
        CAPTURES.c.clave_acta == lease.clave_acta, CAPTURES.c.kind == CAPTURA,
        CAPTURES.c.ronda == lease.ronda).order_by(CAPTURES.c.position)))
    images = conn.execute(select(IMAGES).where(IMAGES.c.clave_acta == lease.clave_acta)
                          .order_by(IMAGES.c.position))
    diferencias: tuple[str, ...] = ()
    if captures:
        diferencias = conciliar([Captura.from_json(c.valores) for c in captures]).diferencias
    return {"capturas": [{"slot": c.slot, "valores": c.valores} for c in captures],
            "diferencias": list(diferencias), "imagenes": [_image_json(i) for i in images]}


def _image_json(image: Any) -> dict[str, Any]:
    return {"sha256": image.sha256, "bytes": image.bytes, "media_type": image.media_type,
            "origen": image.origen, "digitalizacion": image.digitalizacion,
            "received_at": format_time(image.received_at)}


def _check_operator(row: Row[Any], request: WorkRequest) -> None:
    if row.operator_role is None or not row.operator_enabled:
        raise ApiError(403, "unknown_operator", f"El operador {request.operator} no existe o "
                       "está deshabilitado. Avise al coordinador.")
    if row.operator_sitio != row.sitio:
        raise ApiError(403, "operator_other_site", f"El operador {request.operator} no "
                       "pertenece al sitio de este equipo.")
    if row.operator_role not in ROLES[request.kind]:
        raise ApiError(403, "operator_role", f"El operador {request.operator} no tiene el "
                       f"rol de {_ROLE_NAMES[request.kind]}.")
    if request.kind == COTEJO and row.role != "catd":
        raise ApiError(403, "cotejo_solo_catd", "El cotejo se hace en el CATD que tiene el "
                       "acta en papel; este equipo no es de un CATD.")


def _uuid(lease_id: str) -> str:
    try:
        return str(uuid.UUID(lease_id))
    except ValueError:
        raise ApiError(404, "unknown_lease", "No existe esa asignación de trabajo.") from None


def _status(conn: Connection, station_id: str, lease_id: str) -> str:
    status = conn.scalar(select(LEASES.c.status).where(
        LEASES.c.id == _uuid(lease_id), LEASES.c.station == station_id))
    if status is None:
        raise ApiError(404, "unknown_lease", "No existe esa asignación de trabajo en este "
                                             "equipo.")
    return str(status)


def _ended(conn: Connection, station_id: str, lease_id: str) -> ApiError:
    status = _status(conn, station_id, lease_id)
    return ApiError(409, "lease_ended", f"Esa asignación de trabajo ya terminó ({status}); "
                                        "pida trabajo nuevo.")


def release_volver(body: bytes) -> bool:
    """Whether a release's body (``{}``, or none: a plain release) says
    ``{"volver": true}``: the operator left the screen and may get the acta again."""
    if not body.strip():
        return False
    try:
        data = parse_json(body, MAX_REQUEST_BYTES)
    except CanonicalError:
        raise _malformed_release() from None
    if not isinstance(data, dict) or not set(data) <= {"volver"} \
            or not isinstance(data.get("volver", False), bool):
        raise _malformed_release()
    return bool(data.get("volver", False))


def _malformed_release() -> ApiError:
    return ApiError(400, "malformed", "La devolución de trabajo está mal formada: su cuerpo "
                    "es {} o {\"volver\": true}.")


def _lease_ids(value: object) -> frozenset[str] | None:
    """``done`` of a work request, as canonical lease ids; ``None`` if it is not a list
    of at most :data:`MAX_DONE` UUIDs."""
    if not isinstance(value, list) or len(value) > MAX_DONE \
            or not all(isinstance(v, str) and len(v) <= 36 for v in value):
        return None
    try:
        return frozenset(str(uuid.UUID(v)) for v in value)
    except ValueError:
        return None


def _malformed() -> ApiError:
    return ApiError(400, "malformed", "La solicitud de trabajo está incompleta o mal formada: "
                    "operator, kind (captura, verificacion o cotejo), "
                    f"prefetch (1 a {MAX_PREFETCH}), "
                    "nonce (un UUID nuevo en cada solicitud) y, si van, done (hasta "
                    f"{MAX_DONE} asignaciones terminadas) y espera "
                    f"(0 a {MAX_ESPERA} segundos).")
