"""Signed station requests: ``X-Prep-Station`` and ``X-Prep-Signature`` over
:func:`prep.protocol.request_message` (docs/protocol.md, "Endpoints")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.db.models import Station
from central.errors import ApiError, Refused
from prep.crypto import SignatureError, VerifyKey, b64decode
from prep.protocol import SIGNATURE_BYTES, request_message

STATION_HEADER = "X-Prep-Station"
SIGNATURE_HEADER = "X-Prep-Signature"

_STATION_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")


def authenticate(engine: Engine, station_id: str | None, signature: str | None, method: str,
                 path: str, body_sha256: str) -> str:
    """Return the id of the enrolled, enabled station that signed this request.

    Missing or malformed headers → 401 ``unauthenticated``; an unknown or disabled station
    → 403 ``unknown_station``; a signature that does not verify → 401 ``bad_signature``.
    The last two leave an audit event and an anomaly.
    """
    if not station_id or not signature or not _STATION_ID.fullmatch(station_id):
        raise ApiError(401, "unauthenticated", "La solicitud no viene firmada por un equipo "
                                               "dado de alta.")
    with Session(engine) as session, session.begin():
        station = session.get(Station, station_id)
        if station is None or not station.enabled:
            raise _refused(403, "unknown_station", "Este equipo no está dado de alta en el "
                           "nodo central o fue deshabilitado. Avise al coordinador.",
                           station_id, method, path)
        try:
            VerifyKey.from_raw(station.public_key).verify(
                b64decode(signature, SIGNATURE_BYTES),
                request_message(method, path, body_sha256))
        except SignatureError:
            raise _refused(401, "bad_signature", "La firma de la solicitud no corresponde a la "
                           "llave de este equipo. Avise al coordinador.",
                           station_id, method, path) from None
        station.last_seen_at = datetime.now(UTC)
    return station_id


def _refused(status: int, code: str, message: str, station_id: str, method: str,
             path: str) -> Refused:
    return Refused(status, code, message, event="request_refused", actor=station_id,
                   detail={"method": method, "path": path}, anomaly=True, station=station_id)
