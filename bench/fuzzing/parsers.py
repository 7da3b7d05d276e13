"""Fuzz targets of the in-memory parsers: acta codes, canonical JSON, records, batches,
PREP Casilla file names, the rules TOML and the station's scanner settings."""

from __future__ import annotations

import functools
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from bench.fuzzing.core import HOSTILE_TEXTS
from bench.fuzzing.core import Target
from bench.fuzzing.core import Violation
from bench.fuzzing.core import json_mutated
from bench.fuzzing.core import mutated
from bench.fuzzing.core import spanish
from prep.canonical import CanonicalError
from prep.canonical import canonical_bytes
from prep.canonical import parse_json
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.crypto import SigningKey
from prep.protocol import GENESIS
from prep.protocol import MAX_BATCH_BYTES
from prep.protocol import ProtocolError
from prep.protocol import make_batch
from prep.protocol import read_signed_batch
from prep.qr import ActaCodec
from prep.qr import CodeRejected
from prep.qr import is_acta_code
from prep.qr import label_payload
from prep.qr import parse_code
from prep.records import Kind
from prep.records import Record
from prep.records import RecordError
from prep.records import new_record

_CLAVE = re.compile(r"[0-9]{6}[A-Z][0-9]{6}")
SHA = "ab" * 32
LEASE = "2b1c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b"
STATION = "catd-07-a1b2"
RECORD_CODES = frozenset({"malformed", "control_character"})
BATCH_CODES = RECORD_CODES | {"version", "batch_size", "foreign_record"}


@functools.cache
def small_catalog() -> Catalog:
    """The seed catalog of every target that needs one (91 casillas, 271 actas)."""
    return generate_catalog(2027, 0.001)


# QR / CLAVE_ACTA ----------------------------------------------------------------------

def _qr_seeds(catalog: Catalog) -> list[str]:
    from prep.sintetico.acta_image import acta_qr_text

    actas = list(catalog.iter_actas())[:20]
    return [text for acta in actas for text in (
        acta.clave, label_payload(acta), acta_qr_text(acta), f"'{acta.clave}'",
        acta_qr_text(acta).replace("|", "Ç"), acta.clave.lower())]


def _qr_strategy(catalog: Catalog) -> st.SearchStrategy[str]:
    seeds = _qr_seeds(catalog)
    as_bytes = [s.encode("utf-8") for s in seeds]
    return st.one_of(
        st.text(max_size=300),
        st.sampled_from(HOSTILE_TEXTS),
        mutated(as_bytes).map(lambda b: b.decode("utf-8", "replace")),
        st.builds(lambda s, t, i: s[:i % (len(s) + 1)] + t + s[i % (len(s) + 1):],
                  st.sampled_from(seeds), st.text(max_size=4), st.integers(0, 100)))


def _qr_check(catalog: Catalog, raw: str) -> None:
    accepted = is_acta_code(raw)
    if not isinstance(accepted, bool):
        raise Violation("is_acta_code must answer a bool")
    try:
        parsed = parse_code(raw)
    except CodeRejected as exc:
        if accepted or not spanish(exc.mensaje):
            raise Violation("parse_code refused a code is_acta_code accepted, or in "
                            "English") from None
    else:
        if not accepted:
            raise Violation("is_acta_code refused a code parse_code read")
        if not _CLAVE.fullmatch(parsed.clave_acta):
            raise Violation("a code parsed to a CLAVE_ACTA that is not 13 ASCII "
                            "characters")
    codec = ActaCodec(catalog)
    try:
        acta = codec.decode(raw)
    except CodeRejected as exc:
        if exc.clave_leida is not None and not _CLAVE.fullmatch(exc.clave_leida):
            raise Violation("clave_leida is not a CLAVE_ACTA") from None
        if not spanish(exc.mensaje):
            raise Violation("decode refusal not in Spanish") from None
        return
    if codec.decode(label_payload(acta)) != acta:
        raise Violation("the label of a decoded acta names another acta")


QR = Target("qr", "prep.qr: parse_code, is_acta_code and ActaCodec.decode of scanned text",
            _qr_strategy, _qr_check, setup=lambda: _given(small_catalog()))


@contextmanager
def _given(value: Any) -> Iterator[Any]:
    yield value


# canonical JSON -----------------------------------------------------------------------

def _json_seeds() -> list[bytes]:
    records = [r.to_json() for r in sample_records()]
    return [canonical_bytes(r) for r in records] + [
        b'{"a":[1,2,{"b":null}],"c":"\\u00e9"}', b"[" * 40 + b"]" * 40, b'"\\ud800"',
        b'{"a":1,"a":2}', b"9" * 30, b"1.5", b"NaN", b'"\\u0000"', b"\xef\xbb\xbf{}"]


def _canonical_strategy(_: None) -> st.SearchStrategy[bytes]:
    nested = st.builds(lambda n, open_, close: open_ * n + close * n,
                       st.integers(1, 100_000), st.sampled_from([b"[", b'{"a":']),
                       st.sampled_from([b"]", b"}"]))
    return st.one_of(mutated(_json_seeds()), st.binary(max_size=200), nested,
                     st.builds(lambda n: b"1" * n, st.integers(1, 100_000)),
                     st.text(max_size=100).map(lambda t: json.dumps(t).encode()))


def _canonical_check(_: None, data: bytes) -> None:
    try:
        value = parse_json(data, MAX_BATCH_BYTES)
    except CanonicalError as exc:
        if exc.code not in RECORD_CODES:
            raise Violation(f"parse_json refused with code {exc.code!r}") from None
        return
    try:
        again = canonical_bytes(value)
    except CanonicalError:
        raise Violation("parse_json accepted a value with no canonical form") from None
    if canonical_bytes(parse_json(again, MAX_BATCH_BYTES)) != again:
        raise Violation("canonical bytes do not parse back to themselves")


CANONICAL = Target("canonical", "prep.canonical.parse_json (every JSON request body) and "
                   "canonical_bytes of what it accepts", _canonical_strategy, _canonical_check)


# records and batches ------------------------------------------------------------------

def sample_records() -> list[Record]:
    """One valid record of each kind (and the optional forms)."""
    at = datetime(2027, 6, 7, 2, 7, 11, 123456, UTC)
    clave = "090123B010001"
    work = {"clave_acta": clave, "imagen_sha256": SHA, "lease": LEASE}
    bodies: list[tuple[Kind, dict[str, Any]]] = [
        (Kind.ACOPIO, {"clave_acta": clave}),
        (Kind.ACOPIO, {"clave_acta": clave, "traslado": "cryt_fijo",
                       "tipo_documento": "copia_aec"}),
        (Kind.ACOPIO, {"codigo_leido": "PREP1|090123B010001", "eleccion": "01",
                       "fuera_de_catalogo": True}),
        (Kind.SIN_ACTA, {"clave_acta": clave, "causa": "casilla_no_instalada"}),
        (Kind.IMAGEN, {"clave_acta": clave, "sha256": SHA, "bytes": 1234,
                       "media_type": "image/png", "origen": "CATD",
                       "digitalizacion": "Escáner"}),
        (Kind.CAPTURA, {**work, "valores": {"PAN": 12, "PRI": "Ilegible", "NULOS": "Sin dato"}}),
        (Kind.VERIFICACION, {**work, "valores": {"PAN": 12}, "motivo": "se leyó bien"}),
        (Kind.ILEGIBLE, {**work, "motivo": "borrosa"}),
        (Kind.COTEJO, {"clave_acta": clave, "coincide": True}),
        (Kind.COTEJO, {"clave_acta": clave, "coincide": False, "campos": ["PAN", "NULOS"],
                       "motivo": "difiere"}),
        (Kind.HEARTBEAT, {"version": "0.1.0", "backlog": 3, "backlog_bytes": 4096,
                          "last_error": "", "build": "f" * 64}),
    ]
    return [new_record(STATION, seq, kind, "op-07-ana", body, at=at,
                       replaces=LEASE if seq == 3 else None)
            for seq, (kind, body) in enumerate(bodies, 1)]


def _records_strategy(_: None) -> st.SearchStrategy[Any]:
    seeds = [r.to_json() for r in sample_records()]
    return st.one_of(json_mutated(seeds), json_mutated(seeds, max_edits=1))


def _records_check(_: None, data: Any) -> None:
    try:
        record = Record.from_json(data)
    except RecordError as exc:
        if exc.code not in RECORD_CODES:
            raise Violation(f"record refused with code {exc.code!r}") from None
        return
    # What the central accepts it stores and hashes as it re-encodes it: that must be
    # exactly what the station signed.
    if canonical_bytes(record.to_json()) != canonical_bytes(data):
        raise Violation("an accepted record re-encodes to other bytes than it came as")


RECORDS = Target("records", "prep.records.Record.from_json of every Kind (central ingest "
                 "and the station's own validation)", _records_strategy, _records_check)


@functools.cache
def _batch_key() -> SigningKey:
    return SigningKey.from_raw(bytes(range(32)))


def sample_batch() -> tuple[dict[str, Any], bytes]:
    batch, body = make_batch(_batch_key(), STATION, 1, GENESIS, sample_records(),
                             created=datetime(2027, 6, 7, 2, 8, tzinfo=UTC))
    return batch.to_json(), body


def _signed(raw: Any) -> bytes:
    """A request body carrying ``raw`` as its batch, correctly signed (so the parser
    is tested past the signature)."""
    from prep.crypto import b64encode

    try:
        canonical = canonical_bytes(raw)
    except CanonicalError:
        return json.dumps({"batch": raw, "signature": "x"}, default=str).encode()
    return json.dumps({"batch": raw, "signature": b64encode(_batch_key().sign(canonical))},
                      ensure_ascii=False).encode("utf-8", "surrogatepass")


def _batch_strategy(_: None) -> st.SearchStrategy[bytes]:
    raw, body = sample_batch()
    return st.one_of(json_mutated([raw], max_edits=2).map(_signed), mutated([body]))


def _batch_check(_: None, body: bytes) -> None:
    try:
        signed = read_signed_batch(body)
        batch = signed.batch()
    except ProtocolError as exc:
        if exc.code not in BATCH_CODES:
            raise Violation(f"batch refused with code {exc.code!r}") from None
        return
    if batch.canonical() != signed.canonical:
        raise Violation("an accepted batch re-encodes to other bytes than were signed")


BATCHES = Target("batches", "prep.protocol.read_signed_batch + SignedBatch.batch (central "
                 "ingest's parse step), signed mutated batches", _batch_strategy, _batch_check)


# PREP Casilla file names ---------------------------------------------------------------

def _names_strategy(catalog: Catalog) -> st.SearchStrategy[str]:
    claves = [a.clave for a in list(catalog.iter_actas())[:30]]
    return st.one_of(
        st.text(max_size=80),
        st.builds(lambda a, c, b, e: f"{a}{c}{b}{e}", st.text(max_size=8),
                  st.sampled_from(claves), st.text(max_size=8),
                  st.sampled_from(["", ".jpg", ".JPEG", ".png", ".txt", ".jpg.exe", "."])),
        st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape")))


def _names_check(catalog: Catalog, name: str) -> None:
    from central.pipeline.intake import _clave_in_name
    from prep.image_check import EXTENSIONS
    from prep.image_check import declared_by_name
    from prep.station.scan.hotfolder import readable

    shown = readable(name)  # what the anomaly stores and the screens show
    try:
        shown.encode("utf-8")
    except UnicodeEncodeError:
        raise Violation("a file name cannot be stored or shown as text") from None
    if name and not shown:
        raise Violation("a file name shows as nothing")
    declared = declared_by_name(name)
    if declared not in (None, "", *EXTENSIONS.values()):
        raise Violation("declared_by_name answered an unknown type")
    clave = _clave_in_name(name, catalog)
    if clave is not None and (not _CLAVE.fullmatch(clave) or catalog.acta(clave) is None):
        raise Violation("a file name resolved to no catalog acta")


def _names_setup() -> Any:
    import central.pipeline.intake  # noqa: F401  (its import is not a case's time)

    return _given(small_catalog())


NAMES = Target("casilla_names", "central.pipeline.intake._clave_in_name, prep.image_check."
               "declared_by_name and the name stored and shown (hotfolder.readable) of PREP "
               "Casilla file names (str, and bytes that are not UTF-8 as os.listdir gives "
               "them)", _names_strategy, _names_check, setup=_names_setup)


# the rules TOML and the scanner settings ------------------------------------------------

_RULES_SEED = (b'participacion = "S_CS"\nexcede_suma_representantes = true\n'
               b'separador = ", "\ninconsistencias = ["excede", "ilegible"]\n'
               b'[sin_acta]\ncasilla_no_instalada = "Casilla no instalada"\n')
_SETTINGS_SEED = json.dumps({"carpeta": "/srv/escaner"}).encode()


def _settings_strategy(_: Any) -> st.SearchStrategy[tuple[str, bytes]]:
    toml_values = st.sampled_from([b"[]", b"{}", b"1", b"true", b'"x"', b"[1, [2]]",
                                   b"1979-05-27", b"{ a = [] }", b'"\\u0000"'])
    rules = st.one_of(
        mutated([_RULES_SEED]),
        st.builds(lambda k, v: k + b" = " + v + b"\n", st.sampled_from(
            [b"participacion", b"inconsistencias", b"sin_acta", b"contabiliza_ilegible",
             b"ilegible", b"separador", b"x"]),
            toml_values))
    settings = st.one_of(
        mutated([_SETTINGS_SEED]),
        st.builds(lambda n: b"[" * n + b"]" * n, st.integers(1, 30_000)),
        st.text(max_size=30).map(lambda t: json.dumps({"carpeta": t}).encode()))
    return st.one_of(st.tuples(st.just("reglas"), rules),
                     st.tuples(st.just("escaner"), settings))


@contextmanager
def _temporary_dir() -> Iterator[Path]:
    import prep.rules  # their import is not a case's time
    import prep.station.digitalizacion  # noqa: F401

    with tempfile.TemporaryDirectory(prefix="fuzz-settings-") as tmp:
        yield Path(tmp)


def _settings_check(directory: Path, case: tuple[str, bytes]) -> None:
    which, data = case
    if which == "reglas":
        from prep.rules import RuleSet

        path = directory / "reglas.toml"
        path.write_bytes(data)
        try:
            RuleSet.from_toml(path)
        except ValueError as exc:
            if not spanish(str(exc)) or "reglas" not in str(exc):
                raise Violation(f"reglas refused without a Spanish message naming the file: "
                                f"{exc}") from None
        return
    from prep.station.digitalizacion import SETTINGS_FILE
    from prep.station.digitalizacion import ScannerSettings

    (directory / SETTINGS_FILE).write_bytes(data)
    settings = ScannerSettings.load(directory)
    folder = str(settings.folder)
    if "\x00" in folder:
        raise Violation("the scanner folder holds U+0000 (no path can)")
    try:
        folder.encode("utf-8")
    except UnicodeEncodeError:
        raise Violation("the scanner folder cannot be written back as UTF-8") from None


SETTINGS = Target("settings", "prep.rules.RuleSet.from_toml (reglas.toml of prep/central) "
                  "and catd's ScannerSettings.load (digitalizacion.json in the station's "
                  "data dir)", _settings_strategy, _settings_check, setup=_temporary_dir)
