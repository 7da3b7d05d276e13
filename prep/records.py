"""Records: the immutable facts a station reports (docs/protocol.md, "Records").

A record is never edited: a correction is a new record whose ``replaces`` names the
record it corrects. Its identity is a UUID; its place in the station's history is a
gap-free ``seq``; its integrity is the SHA-256 of its canonical JSON.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from prep.build_info import LABEL as BUILD_LABEL
from prep.canonical import CanonicalError
from prep.canonical import JsonValue
from prep.canonical import canonical_bytes
from prep.canonical import sha256_hex
from prep.paquete import TipoDocumento
from prep.paquete import Traslado
from prep.rules import CausaSinActa
from prep.values import MAX_VALOR
from prep.values import check_valor
from prep.values import parse_valor

RECORD_VERSION = 1
MAX_RECORD_BYTES = 64 * 1024
#: The largest integer a record may carry (seq, an image's bytes, a heartbeat's backlog):
#: PostgreSQL's bigint, where the central stores them. A larger one made the central's
#: INSERT fail and answer 503 to a batch it could never store (a poison batch: the
#: station would resend it forever); found by bench/fuzz.py's http target.
MAX_INTEGER = 2**63 - 1

#: A CLAVE_ACTA: entidad and distrito, the casilla's type, its sección and number.
CLAVE_ACTA = re.compile(r"\d{6}[A-Z]\d{6}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
STATION_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
_CAMPO = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
#: C0 and C1 controls (with DEL) and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class RecordError(ValueError):
    """A record that is malformed or not allowed; the message says which field and
    which rule, never the value (it reaches logs and the audit log). ``code`` is the
    stable refusal code: ``malformed``, or ``control_character`` for a text holding
    a control character."""

    def __init__(self, message: str, code: str = "malformed") -> None:
        super().__init__(message)
        self.code = code


class Kind(enum.StrEnum):
    """What a record reports."""

    ACOPIO = "acopio"
    SIN_ACTA = "sin_acta"
    IMAGEN = "imagen"
    CAPTURA = "captura"
    VERIFICACION = "verificacion"
    ILEGIBLE = "ilegible"
    COTEJO = "cotejo"
    HEARTBEAT = "heartbeat"


def format_time(when: datetime) -> str:
    """UTC instant as ``2027-06-07T02:07:11.123456Z`` (always microseconds)."""
    if when.tzinfo is None:
        raise RecordError("times must be timezone-aware")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """The instant :func:`format_time` wrote as ``text``; only its exact spelling:
    strptime also takes ``02:7:11`` or ``.5``, which :func:`format_time` writes back
    otherwise, and a record or batch is hashed and signed as it is spelled."""
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except (ValueError, TypeError):
        raise RecordError("a time is not YYYY-MM-DDTHH:MM:SS.ffffffZ") from None
    if format_time(when) != text:
        raise RecordError("a time is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    return when


@dataclass(frozen=True, slots=True)
class Record:
    """One immutable fact from one station."""

    id: str
    station: str
    seq: int
    kind: Kind
    operator: str
    at: datetime
    body: Mapping[str, JsonValue]
    replaces: str | None = None

    def to_json(self) -> dict[str, JsonValue]:
        return {"v": RECORD_VERSION, "id": self.id, "station": self.station, "seq": self.seq,
                "kind": self.kind.value, "operator": self.operator,
                "at": format_time(self.at), "replaces": self.replaces,
                "body": dict(self.body)}

    def canonical(self) -> bytes:
        return canonical_bytes(self.to_json())

    @property
    def sha256(self) -> str:
        return sha256_hex(self.canonical())

    @classmethod
    def from_json(cls, data: object) -> Record:
        """Validate an untrusted record object (as found inside a batch)."""
        if not isinstance(data, dict):
            raise RecordError("a record must be a JSON object")
        expected = {"v", "id", "station", "seq", "kind", "operator", "at", "replaces", "body"}
        if set(data) != expected:
            raise RecordError(f"record fields must be exactly {sorted(expected)}")
        if type(data["v"]) is not int or data["v"] != RECORD_VERSION:  # true == 1
            raise RecordError(f"record version not supported (only {RECORD_VERSION})")
        record = cls(
            id=_uuid(data["id"], "id"),
            station=_station(data["station"]),
            seq=_positive(data["seq"], "seq"),
            kind=_kind(data["kind"]),
            operator=_text(data["operator"], "operator", 64, allow_empty=True),
            at=parse_time(data["at"]),
            body=_object(data["body"]),
            replaces=None if data["replaces"] is None else _uuid(data["replaces"], "replaces"),
        )
        validate_body(record.kind, record.body)
        try:
            size = len(record.canonical())
        except CanonicalError as exc:
            raise RecordError(str(exc)) from None
        check_size(size)
        return record


def check_size(size: int) -> None:
    """A record's canonical bytes must fit :data:`MAX_RECORD_BYTES`."""
    if size > MAX_RECORD_BYTES:
        raise RecordError(f"record of {size} bytes exceeds {MAX_RECORD_BYTES}")


def new_record(station: str, seq: int, kind: Kind, operator: str, body: Mapping[str, Any],
               at: datetime | None = None, replaces: str | None = None) -> Record:
    """A new record with a fresh UUID, validated as the central will validate it."""
    record = Record(str(uuid.uuid4()), station, seq, kind, operator,
                    at or datetime.now(UTC), dict(body), replaces)
    return Record.from_json(record.to_json())


def validate_body(kind: Kind, body: Mapping[str, JsonValue]) -> None:
    """Check a record body against its kind's schema (docs/protocol.md, "Bodies")."""
    _BODIES[kind](body)


def _acopio(b: Mapping[str, JsonValue]) -> None:
    if b.get("fuera_de_catalogo") is True:
        _exact(b, {"codigo_leido", "eleccion", "fuera_de_catalogo"})
        _text(b["codigo_leido"], "codigo_leido", 256)
        _text(b["eleccion"], "eleccion", 2, allow_empty=True)
        return
    # "traslado" and "tipo_documento" are optional: stations older than them send a
    # bare CLAVE_ACTA, and the corte then publishes the catalog's default mechanism and
    # the Acta PREP (prep.paquete).
    _exact(b, {"clave_acta"} | (_ACOPIO_OPCIONALES & set(b)))
    _clave(b["clave_acta"])
    for name, domain in (("traslado", _TRASLADOS), ("tipo_documento", _DOCUMENTOS)):
        if name in b:
            _one_of(b[name], name, domain)


_ACOPIO_OPCIONALES = frozenset({"traslado", "tipo_documento"})
_TRASLADOS = frozenset(t.value for t in Traslado)
_DOCUMENTOS = frozenset(d.value for d in TipoDocumento)


def _sin_acta(b: Mapping[str, JsonValue]) -> None:
    _exact(b, {"clave_acta", "causa"})
    _clave(b["clave_acta"])
    if not isinstance(b["causa"], str) or b["causa"] not in _CAUSAS:
        raise RecordError("causa unknown")


_CAUSAS = frozenset(c.value for c in CausaSinActa)


def _imagen(b: Mapping[str, JsonValue]) -> None:
    _exact(b, {"clave_acta", "sha256", "bytes", "media_type", "origen", "digitalizacion"})
    _clave(b["clave_acta"])
    _sha256(b["sha256"], "sha256")
    _positive(b["bytes"], "bytes")
    if b["media_type"] not in ("image/jpeg", "image/png", "image/tiff"):
        raise RecordError("media_type must be image/jpeg, image/png or image/tiff")
    if b["origen"] not in ("CATD", "CASILLA"):
        raise RecordError("origen must be CATD or CASILLA")
    if b["digitalizacion"] not in ("Escáner", "Móvil"):
        raise RecordError("digitalizacion must be Escáner or Móvil")


def _work(b: Mapping[str, JsonValue]) -> None:
    """What every record made under a work lease names: the acta, the image the operator
    looked at and the lease (``null`` for work done without one)."""
    _clave(b["clave_acta"])
    _sha256(b["imagen_sha256"], "imagen_sha256")
    if b["lease"] is not None:
        _uuid(b["lease"], "lease")


def _captura(b: Mapping[str, JsonValue]) -> None:
    _exact(b, {"clave_acta", "valores", "imagen_sha256", "lease"})
    _valores(b)


def _verificacion(b: Mapping[str, JsonValue]) -> None:
    """A verificador's decision: the values and why (the decision is the record)."""
    _exact(b, {"clave_acta", "valores", "imagen_sha256", "lease", "motivo"})
    _valores(b)
    _text(b["motivo"], "motivo", 500)


def _valores(b: Mapping[str, JsonValue]) -> None:
    _work(b)
    valores = b["valores"]
    if not isinstance(valores, dict) or not valores or len(valores) > 64:
        raise RecordError("valores must be an object of 1 to 64 fields")
    for campo, valor in valores.items():
        if not _CAMPO.fullmatch(campo):
            raise RecordError("a field name of valores is invalid")
        try:
            parse_valor(valor) if isinstance(valor, str) else check_valor(valor)
        except ValueError:
            raise RecordError(f"{campo}: no es un número de 0 a {MAX_VALOR}, Ilegible ni "
                              "Sin dato") from None


def _ilegible(b: Mapping[str, JsonValue]) -> None:
    _exact(b, {"clave_acta", "imagen_sha256", "lease", "motivo"})
    _work(b)
    _text(b["motivo"], "motivo", 500)


#: At most this many fields named by one cotejo (a difference in every field of the
#: largest acta layout fits; records check the names' form, the central the catalog's).
MAX_COTEJO_CAMPOS = 64
#: The longest reason a cotejo may give for a difference.
MAX_COTEJO_MOTIVO = 300
_COTEJO_OPCIONALES = frozenset({"campos", "motivo"})


def _cotejo(b: Mapping[str, JsonValue]) -> None:
    """The published data checked against the paper acta: ``coincide`` true confirms
    it; false opens a correction, optionally saying which fields differ (``campos``,
    capture fields of the acta's election: the central checks them against its
    catalog) and why (``motivo``). Stations older than those two send neither."""
    _exact(b, {"clave_acta", "coincide"} | (_COTEJO_OPCIONALES & set(b)))
    _clave(b["clave_acta"])
    if not isinstance(b["coincide"], bool):
        raise RecordError("coincide must be true or false")
    if b["coincide"] and _COTEJO_OPCIONALES & set(b):
        raise RecordError("campos and motivo go only with coincide false")
    if "campos" in b:
        campos = b["campos"]
        if not isinstance(campos, list) or not 1 <= len(campos) <= MAX_COTEJO_CAMPOS \
                or not all(isinstance(c, str) and _CAMPO.fullmatch(c) for c in campos) \
                or len(set(campos)) != len(campos):
            raise RecordError(f"campos must be a list of 1 to {MAX_COTEJO_CAMPOS} "
                              "distinct field names")
    if "motivo" in b:
        _text(b["motivo"], "motivo", MAX_COTEJO_MOTIVO)


def _heartbeat(b: Mapping[str, JsonValue]) -> None:
    # "build" (the build fingerprint, prep.build_info) is optional: stations older than
    # it send none, and the central flags those as unaudited.
    required = {"version", "backlog", "backlog_bytes", "last_error"}
    _exact(b, required | ({"build"} & set(b)))
    if "build" in b:
        build = b["build"]
        if not isinstance(build, str) or not BUILD_LABEL.fullmatch(build):
            raise RecordError("build must be a build fingerprint (64 hex digits, "
                              "optionally prefixed with 'desarrollo:')")
    _text(b["version"], "version", 64)
    _non_negative(b["backlog"], "backlog")
    _non_negative(b["backlog_bytes"], "backlog_bytes")
    _text(b["last_error"], "last_error", 1024, allow_empty=True)


_BODIES: dict[Kind, Callable[[Mapping[str, JsonValue]], None]] = {
    Kind.ACOPIO: _acopio, Kind.SIN_ACTA: _sin_acta, Kind.IMAGEN: _imagen,
    Kind.CAPTURA: _captura, Kind.VERIFICACION: _verificacion, Kind.ILEGIBLE: _ilegible,
    Kind.COTEJO: _cotejo,
    Kind.HEARTBEAT: _heartbeat,
}


def _exact(b: Mapping[str, JsonValue], keys: set[str]) -> None:
    if set(b) != keys:
        raise RecordError(f"body fields must be exactly {sorted(keys)}")


def _clave(value: object) -> None:
    if not isinstance(value, str) or not CLAVE_ACTA.fullmatch(value):
        raise RecordError("clave_acta is not a 13-character CLAVE_ACTA")


def _one_of(value: object, name: str, domain: frozenset[str]) -> None:
    if not isinstance(value, str) or value not in domain:
        raise RecordError(f"{name} must be one of {', '.join(sorted(domain))}")


def _sha256(value: object, name: str) -> None:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise RecordError(f"{name} must be 64 lower-case hex digits")


def _uuid(value: object, name: str) -> str:
    try:
        parsed = uuid.UUID(str(value))
    except ValueError:
        raise RecordError(f"{name} is not a UUID") from None
    if str(parsed) != value:
        raise RecordError(f"{name} must be a lower-case hyphenated UUID")
    return str(parsed)


def _station(value: object) -> str:
    if not isinstance(value, str) or not STATION_ID.fullmatch(value):
        raise RecordError("station id invalid")
    return value


def _kind(value: object) -> Kind:
    if not isinstance(value, str) or value not in _KINDS:  # a list is unhashable
        raise RecordError("kind unknown")
    return Kind(str(value))


_KINDS = frozenset(k.value for k in Kind)


def _positive(value: object, name: str) -> int:
    if type(value) is not int or not 1 <= value <= MAX_INTEGER:
        raise RecordError(f"{name} must be a positive integer (at most {MAX_INTEGER})")
    return value


def _non_negative(value: object, name: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_INTEGER:
        raise RecordError(f"{name} must be a non-negative integer (at most {MAX_INTEGER})")
    return value


def _text(value: object, name: str, max_len: int, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > max_len or (not value and not allow_empty):
        raise RecordError(f"{name} must be a text of up to {max_len} characters")
    if _CONTROL.search(value):
        # U+0000 cannot be stored by PostgreSQL at all, and line breaks or terminal
        # escapes in a name or a reason forge lines in logs and reports: refused here,
        # where both the station (before storing) and the central check every record.
        raise RecordError(f"el campo {name} contiene caracteres de control (saltos de "
                          "línea, tabuladores u otros invisibles); escríbalo en una sola "
                          "línea, solo con letras, números y signos",
                          code="control_character")
    return value


def without_controls(text: str) -> str:
    """``text`` with each control character (and line or paragraph separator) turned
    into a space: for a station's own texts, such as its last error in a heartbeat,
    which must fit :func:`_text`."""
    return _CONTROL.sub(" ", text)


def _object(value: object) -> dict[str, JsonValue]:
    if not isinstance(value, dict):
        raise RecordError("body must be a JSON object")
    return value
