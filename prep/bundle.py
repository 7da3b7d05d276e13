"""The station bundle: the catalog and the operator accounts of one station's site, signed
by the central (docs/protocol.md, ``GET /v1/station/bundle``).

Both sides use this module: the central builds and signs (:func:`sign_bundle`), the
station verifies with the key pinned at enrollment (:func:`read_bundle`) before keeping
anything. ``version`` = catalog version + operators change counter; both parts only grow,
so a station refuses any bundle older than the one it holds (a rollback).

Format 2 adds the central's serve nodes (issue 31): each node's URL and TLS certificate,
under the same signature, so a station pins every listed certificate and moves between
the listed nodes (``prep central nodos``, docs/continuidad.md). The nodes change counter
joins the version; a format-1 bundle (kept by a station before the upgrade) is read as
one without a list.

Format 3 adds ``linea``: the highest PostgreSQL timeline a node of the central may
claim, the timeline of the database that signed the bundle (a promotion raises it: the
promoted node's database is on the new timeline). A station accepts a node's signed
timeline statement (:mod:`prep.linea`) only up to the ``linea`` of the list it holds
(issue 62): the central's key signs both, but a statement alone (one answer, from any
node or backup that carries the key) never raises what a station remembers beyond what
a whole signed bundle allowed (docs/continuidad.md, «Línea de tiempo»).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from prep.canonical import CanonicalError
from prep.canonical import CodedError
from prep.canonical import canonical_bytes
from prep.canonical import canonical_hash
from prep.canonical import parse_json
from prep.catalog.files import FILES
from prep.catalog.files import files_digest
from prep.crypto import SignatureError
from prep.crypto import SigningKey
from prep.crypto import VerifyKey
from prep.crypto import b64decode
from prep.crypto import b64encode
from prep.crypto import pem_fingerprint
from prep.linea import MAX_DIGITS
from prep.passwords import PasswordError
from prep.passwords import ScryptHash
from prep.protocol import SIGNATURE_BYTES
from prep.records import RecordError
from prep.records import format_time
from prep.records import parse_time

BUNDLE_FORMAT = 3
READABLE_FORMATS = (1, 2, 3)
MAX_NODES = 16
MAX_NODE_URL = 200
MAX_CERT_PEM = 16 * 1024
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
class BundleNode:
    """A serve node of the central: where a station may reach it and the certificate it
    must present there (its SHA-256 is what the station pins). ``reserva``: a node
    stations use only when the others fail (a contingency site), never as their own."""

    url: str
    cert_sha256: str
    cert_pem: str
    reserva: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "cert_sha256": self.cert_sha256, "cert_pem": self.cert_pem,
                "reserva": self.reserva}

    @classmethod
    def from_json(cls, raw: Any) -> BundleNode:
        if not isinstance(raw, dict) or set(raw) != {"url", "cert_sha256", "cert_pem",
                                                     "reserva"}:
            raise TypeError("node fields are url, cert_sha256, cert_pem, reserva")
        url, cert_pem = _text(raw["url"]), _text(raw["cert_pem"])
        if not url.startswith("https://") or len(url) > MAX_NODE_URL \
                or len(cert_pem) > MAX_CERT_PEM or type(raw["reserva"]) is not bool:
            raise TypeError(f"node {url[:MAX_NODE_URL]!r}: bad url, certificate or reserva")
        if pem_fingerprint(cert_pem) != raw["cert_sha256"]:
            raise ValueError(f"node {url!r}: the certificate does not match its SHA-256")
        return cls(url, raw["cert_sha256"], cert_pem, raw["reserva"])


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
    nodes_version: int = 0
    nodes: tuple[BundleNode, ...] = ()
    """The central's serve nodes (empty: none registered; the station keeps the one it
    enrolled with)."""
    linea: int = 0
    """The highest timeline a node of the central may claim (format 3; 0 before it)."""

    @property
    def catalog_version(self) -> int:
        return self.catalog.version if self.catalog is not None else 0

    @property
    def version(self) -> int:
        return self.catalog_version + self.operators_version + self.nodes_version

    @property
    def etag(self) -> str:
        """The bundle's content hash (the catalog by its digest, the signing time left
        out): its HTTP ETag. Unlike :attr:`version`, a sum of counters that a restore
        to an earlier point can bring back with other content (issue 62), no two
        different bundles share it."""
        return canonical_hash({
            "station": self.station, "sitio": self.sitio, "node": self.node,
            "catalog": None if self.catalog is None else [self.catalog.version,
                                                          self.catalog.digest],
            "operators_version": self.operators_version,
            "operators": [o.to_json() for o in self.operators],
            "nodes_version": self.nodes_version, "nodes": [n.to_json() for n in self.nodes],
            "linea": self.linea})

    def to_json(self) -> dict[str, Any]:
        catalog = None if self.catalog is None else {
            "version": self.catalog.version, "digest": self.catalog.digest,
            "files": {name: b64encode(data) for name, data in self.catalog.files.items()}}
        return {"v": BUNDLE_FORMAT, "station": self.station, "sitio": self.sitio,
                "node": self.node, "version": self.version,
                "operators_version": self.operators_version, "catalog": catalog,
                "operators": [o.to_json() for o in self.operators],
                "issued_at": format_time(self.issued_at),
                "nodes_version": self.nodes_version,
                "nodes": [n.to_json() for n in self.nodes], "linea": self.linea}


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


def held_etag(body: bytes) -> str | None:
    """The :attr:`Bundle.etag` of a bundle body the station verified when it kept it
    (``None`` if it cannot be read: the central then sends the bundle again)."""
    try:
        data = parse_json(body, MAX_BUNDLE_BYTES)
        return _parse(data["bundle"]).etag if isinstance(data, dict) else None
    except (CanonicalError, KeyError, TypeError, ValueError, RecordError, SignatureError,
            PasswordError):
        return None


def _parse(raw: dict[str, Any]) -> Bundle:
    fields = {"v", "station", "sitio", "node", "version", "operators_version", "catalog",
              "operators", "issued_at"}
    if raw.get("v") not in READABLE_FORMATS:
        raise TypeError(f"bundle format {raw.get('v')!r} not supported")
    if raw["v"] >= 2:
        fields |= {"nodes_version", "nodes"}
    if raw["v"] >= 3:
        fields |= {"linea"}
    if set(raw) != fields:
        raise TypeError(f"bundle fields are {sorted(fields)}")
    nodes = raw.get("nodes", [])
    if not isinstance(nodes, list) or len(nodes) > MAX_NODES:
        raise TypeError(f"nodes must be a list of at most {MAX_NODES}")
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
                    parse_time(raw["issued_at"]), _count(raw.get("nodes_version", 0)),
                    tuple(BundleNode.from_json(n) for n in nodes), _count(raw.get("linea", 0)))
    if bundle.linea >= 10 ** MAX_DIGITS:
        raise ValueError(f"linea {bundle.linea} has more than {MAX_DIGITS} digits")
    if bundle.version != raw["version"]:
        raise ValueError("version is not catalog + operators + nodes version")
    if len({n.url for n in bundle.nodes}) != len(bundle.nodes):
        raise ValueError("a node url is repeated")
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
