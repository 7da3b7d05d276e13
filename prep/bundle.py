"""The station bundle: the catalog and the operator accounts of one station's site, signed
by the central (docs/protocol.md, ``GET /v1/station/bundle``).

Both sides use this module: the central builds and signs (:func:`sign_bundle`), the
station verifies with the key pinned at enrollment (:func:`read_bundle`) before keeping
anything. ``version`` = catalog version + operators change counter; both parts only grow,
so a station refuses any bundle older than the one it holds (a rollback).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prep.canonical import CanonicalError, CodedError, canonical_bytes, parse_json
from prep.catalog.files import FILES, files_digest
from prep.crypto import SignatureError, SigningKey, VerifyKey, b64decode, b64encode
from prep.passwords import PasswordError, ScryptHash
from prep.protocol import SIGNATURE_BYTES
from prep.records import RecordError, format_time, parse_time

BUNDLE_FORMAT = 1
BUNDLE_PATH = "/v1/station/bundle"
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
OPERATOR_ROLES = ("acopiador", "digitalizador", "capturista", "verificador", "coordinador")


class BundleError(CodedError):
    """A bundle the station must not use; codes ``malformed``, ``bad_signature``,
    ``wrong_station``, ``bad_digest``, ``rollback``; the message is Spanish."""


@dataclass(frozen=True)
class BundleOperator:
    """An account as a station holds it: a disabled one travels without its hash."""

    id: str
    name: str
    role: str
    sitio: str
    enabled: bool
    scrypt: ScryptHash | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "sitio": self.sitio,
                "enabled": self.enabled,
                "scrypt": self.scrypt.to_json() if self.scrypt is not None else None}

    @classmethod
    def from_json(cls, raw: Any) -> BundleOperator:
        if not isinstance(raw, dict) or set(raw) != {"id", "name", "role", "sitio",
                                                     "enabled", "scrypt"}:
            raise TypeError("operator fields are id, name, role, sitio, enabled, scrypt")
        enabled = raw["enabled"]
        if type(enabled) is not bool or raw["role"] not in OPERATOR_ROLES:
            raise TypeError(f"operator {raw['id']!r}: bad role or enabled flag")
        scrypt = ScryptHash.from_json(raw["scrypt"]) if enabled else None
        return cls(_text(raw["id"]), _text(raw["name"]), str(raw["role"]),
                   _text(raw["sitio"]), enabled, scrypt)


@dataclass(frozen=True)
class BundleCatalog:
    """One catalog version's files (exact bytes) and their digest."""

    version: int
    digest: str
    files: Mapping[str, bytes] = field(repr=False)


@dataclass(frozen=True)
class Bundle:
    """What a station needs to work offline, for exactly one station."""

    station: str
    sitio: str
    node: str
    operators_version: int
    catalog: BundleCatalog | None
    operators: tuple[BundleOperator, ...]
    issued_at: datetime

    @property
    def catalog_version(self) -> int:
        return self.catalog.version if self.catalog is not None else 0

    @property
    def version(self) -> int:
        return self.catalog_version + self.operators_version

    def to_json(self) -> dict[str, Any]:
        catalog = None if self.catalog is None else {
            "version": self.catalog.version, "digest": self.catalog.digest,
            "files": {name: b64encode(data) for name, data in self.catalog.files.items()}}
        return {"v": BUNDLE_FORMAT, "station": self.station, "sitio": self.sitio,
                "node": self.node, "version": self.version,
                "operators_version": self.operators_version, "catalog": catalog,
                "operators": [o.to_json() for o in self.operators],
                "issued_at": format_time(self.issued_at)}


def operator_name_key(name: str) -> str:
    """How operator names compare (unique per site at the central, looked up at login):
    NFC, runs of spaces made one, case folded."""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


def sign_bundle(key: SigningKey, bundle: Bundle) -> bytes:
    """The response body: ``{"bundle": …, "signature": base64 Ed25519 of canonical
    bundle}``."""
    raw = bundle.to_json()
    return canonical_bytes({"bundle": raw, "signature": b64encode(key.sign(
        canonical_bytes(raw)))})


def read_bundle(body: bytes, key: VerifyKey, station: str, sitio: str) -> Bundle:
    """Verify and parse a bundle for ``station`` at ``sitio``; raise :class:`BundleError`.

    The signature is checked before anything else of the content is trusted.
    """
    try:
        data = parse_json(body, MAX_BUNDLE_BYTES)
        if not isinstance(data, dict) or set(data) != {"bundle", "signature"}:
            raise TypeError("body must be {bundle, signature}")
        raw, signature = data["bundle"], b64decode(data["signature"], SIGNATURE_BYTES)
        if not isinstance(raw, dict):
            raise TypeError("bundle must be an object")
    except (CanonicalError, SignatureError, TypeError) as exc:
        raise BundleError("malformed", f"El paquete de catálogo y operadores llegó mal "
                                       f"formado ({exc}).") from None
    try:
        key.verify(signature, canonical_bytes(raw))
    except SignatureError:
        raise BundleError("bad_signature", "El paquete de catálogo y operadores no trae una "
                                           "firma válida del nodo central: se descartó. Avise "
                                           "a su coordinador (posible alteración).") from None
    try:
        bundle = _parse(raw)
    except (KeyError, TypeError, ValueError, RecordError, SignatureError,
            PasswordError) as exc:
        raise BundleError("malformed", f"El paquete de catálogo y operadores firmado por el "
                                       f"nodo central no se pudo leer ({exc}).") from None
    if bundle.station != station or bundle.sitio != sitio or any(
            o.sitio != sitio for o in bundle.operators):
        raise BundleError("wrong_station", f"El paquete de catálogo y operadores es para otra "
                                           f"estación ({bundle.station}, sitio "
                                           f"{bundle.sitio}): se descartó.")
    if bundle.catalog is not None and files_digest(bundle.catalog.files) != \
            bundle.catalog.digest:
        raise BundleError("bad_digest", "Los archivos del catálogo no coinciden con su huella: "
                                        "se descartó el paquete.")
    return bundle


def _parse(raw: dict[str, Any]) -> Bundle:
    fields = {"v", "station", "sitio", "node", "version", "operators_version", "catalog",
              "operators", "issued_at"}
    if set(raw) != fields:
        raise TypeError(f"bundle fields are {sorted(fields)}")
    if raw["v"] != BUNDLE_FORMAT:
        raise TypeError(f"bundle format {raw['v']!r} not supported")
    catalog = None
    if raw["catalog"] is not None:
        c = raw["catalog"]
        if not isinstance(c, dict) or set(c) != {"version", "digest", "files"} \
                or not isinstance(c["files"], dict) \
                or set(c["files"]) != set(FILES):
            raise TypeError("catalog fields are version, digest, files (every catalog file)")
        catalog = BundleCatalog(_count(c["version"]), _text(c["digest"]),
                                {str(n): b64decode(_text(t)) for n, t in c["files"].items()})
    operators = raw["operators"]
    if not isinstance(operators, list):
        raise TypeError("operators must be a list")
    bundle = Bundle(_text(raw["station"]), _text(raw["sitio"]), _text(raw["node"]),
                    _count(raw["operators_version"]), catalog,
                    tuple(BundleOperator.from_json(o) for o in operators),
                    parse_time(raw["issued_at"]))
    if bundle.version != raw["version"]:
        raise ValueError("version is not catalog version + operators version")
    if len({o.id for o in bundle.operators}) != len(bundle.operators):
        raise ValueError("an operator id is repeated")
    return bundle


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{value!r} is not a non-empty text")
    return value


def _count(value: object) -> int:
    if type(value) is not int or value < 0:
        raise TypeError(f"{value!r} is not a non-negative integer")
    return value
