"""Signed station requests: ``X-Prep-Station`` and ``X-Prep-Signature`` over
:func:`prep.protocol.request_message` (docs/protocol.md, "Endpoints")."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import Row
from sqlalchemy import text

from central.node.errors import ApiError
from central.node.errors import Refused
from central.node.errors import bounded
from prep.crypto import SignatureError
from prep.crypto import VerifyKey
from prep.crypto import b64decode
from prep.protocol import SIGNATURE_BYTES
from prep.protocol import request_message

STATION_HEADER = "X-Prep-Station"
SIGNATURE_HEADER = "X-Prep-Signature"

_STATION_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
SEEN_EVERY = timedelta(seconds=10)  # how stale ``stations.last_seen_at`` may get
KEY_CACHE_SECONDS = 2.0  # an image upload's station key, read again after (RecentKeys)
MAX_RECENT_KEYS = 1024
STATION_ROW = text("SELECT public_key, enabled, last_seen_at FROM stations WHERE id = :station")
_SEEN = text("UPDATE stations SET last_seen_at = GREATEST(last_seen_at, :now) "
             "WHERE id = :station")


@dataclass(frozen=True)
class SignedRequest:
    """A station request's signature headers and what its signature covers."""

    station: str | None
    signature: str | None
    method: str
    path: str
    body_sha256: str

    def station_id(self) -> str:
        """The station the headers name; missing or malformed headers → 401
        ``unauthenticated``."""
        if not self.station or not self.signature or not _STATION_ID.fullmatch(self.station):
            raise ApiError(401, "unauthenticated", "La solicitud no viene firmada por un "
                                                   "equipo dado de alta.")
        return self.station

    def verify(self, public_key: bytes | None, enabled: bool) -> str:
        """Check the signature with the named station's key (``None``: no such station);
        an unknown or disabled station → 403 ``unknown_station``, a signature that does
        not verify → 401 ``bad_signature``, both counted by source address
        (:mod:`central.api.refusals`), never attributed to the station named."""
        station_id = self.station_id()
        if public_key is None or not enabled:
            raise _refused(403, "unknown_station", "Este equipo no está dado de alta en el "
                           "nodo central o fue deshabilitado. Avise al coordinador.",
                           station_id, self.method, self.path)
        try:
            VerifyKey.from_raw(public_key).verify(
                b64decode(self.signature or "", SIGNATURE_BYTES),
                request_message(self.method, self.path, self.body_sha256))
        except SignatureError:
            raise _refused(401, "bad_signature", "La firma de la solicitud no corresponde a la "
                           "llave de este equipo. Avise al coordinador.",
                           station_id, self.method, self.path) from None
        return station_id


def authenticate(engine: Engine, station_id: str | None, signature: str | None, method: str,
                 path: str, body_sha256: str) -> str:
    """Return the id of the enrolled, enabled station that signed this request (see
    :meth:`SignedRequest.verify`) and note when it was last seen."""
    request = SignedRequest(station_id, signature, method, path, body_sha256)
    with engine.begin() as conn:
        row = conn.execute(STATION_ROW, {"station": request.station_id()}).one_or_none()
        return verified_station(conn, request, row, datetime.now(UTC))


def authenticated_key(engine: Engine, signed: SignedRequest) -> bytes:
    """Like :func:`authenticate`: the verified station's public key (its id is
    ``signed.station_id()``), for :class:`RecentKeys`."""
    with engine.begin() as conn:
        row = conn.execute(STATION_ROW, {"station": signed.station_id()}).one_or_none()
        verified_station(conn, signed, row, datetime.now(UTC))
        assert row is not None  # verified_station refuses an unknown station
        return bytes(row.public_key)


class RecentKeys:
    """The keys of stations the database found enrolled and enabled in the last
    ``seconds``, for image uploads only: an upload is one request per image, tens of
    thousands a night, and asking the database each time was a worker thread and a
    transaction per image. An image alone changes no count (the batch naming it is
    checked against the database as ever), and a station disabled meanwhile is refused
    at most ``seconds`` later. Used from the event loop only."""

    def __init__(self, seconds: float = KEY_CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._keys: dict[str, tuple[float, bytes]] = {}

    def get(self, station_id: str) -> bytes | None:
        entry = self._keys.get(station_id)
        if entry is None or self.clock() - entry[0] > self.seconds:
            return None
        return entry[1]

    def put(self, station_id: str, public_key: bytes, read_at: float) -> None:
        """``public_key`` as the database gave it at ``read_at`` (``clock()`` taken
        before asking: a slow answer shortens the entry's life, never lengthens it)."""
        if len(self._keys) >= MAX_RECENT_KEYS:  # only verified stations get here
            now = self.clock()
            self._keys = {k: v for k, v in self._keys.items() if now - v[0] <= self.seconds}
            if len(self._keys) >= MAX_RECENT_KEYS:
                self._keys.clear()
        self._keys[station_id] = (read_at, public_key)


def verified_station(conn: Connection, signed: SignedRequest, station: Row[Any] | None,
                     now: datetime) -> str:
    """The signing station (``station``: its :data:`STATION_ROW`), checked
    (:meth:`SignedRequest.verify`), its last contact noted at most every
    :data:`SEEN_EVERY`: a write per request would be a committed, flushed transaction
    per image, batch or lease (≈150,000 in a full-scale night) and would serialize a
    station's requests on its row."""
    station_id = signed.verify(station.public_key if station is not None else None,
                               station is not None and station.enabled)
    assert station is not None
    if station.last_seen_at is None or station.last_seen_at < now - SEEN_EVERY:
        conn.execute(_SEEN, {"station": station_id, "now": now})
    return station_id


def _refused(status: int, code: str, message: str, station_id: str, method: str,
             path: str) -> Refused:
    """An unsigned refusal (:data:`~central.node.errors.UNSIGNED_CODES`): ``station_id`` is
    only the station the request claims to come from."""
    return Refused(status, code, message, event="request_refused", actor=station_id,
                   detail={"method": method, "path": bounded(path)}, anomaly=True,
                   station=station_id, unsigned=True)
