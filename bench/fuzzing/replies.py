"""Fuzz targets of what a station reads from the central, and of the operator file a
coordinator imports: the signed receipt of a batch, the signed bundle (catalog and
operators), the enrollment answer, an error answer, and ``operadores.csv``.

A station trusts its pinned central, but the network between them is not trusted and a
central may be an impostor; whatever comes back must end as an accepted value or a
documented refusal (never an unhandled exception that stops the sync agent).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
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
from prep.crypto import SigningKey
from prep.crypto import b64encode
from prep.protocol import BatchRef
from prep.protocol import ProtocolError
from prep.protocol import Receipt
from prep.protocol import verify_receipt

STATION = "catd-07-a1b2"
SITIO = "07"
RECEIPT_CODES = frozenset({"bad_receipt"})
BUNDLE_CODES = frozenset({"malformed", "bad_signature", "wrong_station", "bad_digest"})
ENROLL_CODES = frozenset({"bad_answer", "possible_spoof"})
CERT_SHA = "ef" * 32


@functools.cache
def _central_key() -> SigningKey:
    return SigningKey.from_raw(bytes(range(1, 33)))


def _receipt_raw() -> dict[str, Any]:
    return Receipt(STATION, 4, "cd" * 32, 12, 11, datetime(2027, 6, 7, 2, 9, tzinfo=UTC),
                   "central-1").to_json()


def _bundle_raw() -> dict[str, Any]:
    from prep.bundle import Bundle
    from prep.bundle import BundleOperator
    from prep.passwords import hash_password

    operators = (
        BundleOperator("op-07-ana", "Ana Pérez", "capturista", SITIO, True,
                       hash_password("contraseña segura 1", n=2 ** 4)),
        BundleOperator("op-07-beto", "Beto", "verificador", SITIO, False, None))
    return Bundle(STATION, SITIO, "central-1", 3, None, operators,
                  datetime(2027, 6, 7, 2, 0, tzinfo=UTC)).to_json()


def _signed(wrapper: str, raw: Any) -> bytes:
    """``raw`` under ``wrapper`` signed by the pinned central key, so the parser is
    tested past the signature."""
    try:
        signature = b64encode(_central_key().sign(canonical_bytes(raw)))
    except CanonicalError:
        signature = "x"
    return json.dumps({wrapper: raw, "signature": signature}, ensure_ascii=False,
                      default=str).encode("utf-8", "surrogatepass")


def _enroll_seed() -> dict[str, Any]:
    return {"station_id": STATION, "role": "catd", "sitio": SITIO, "node": "central-1",
            "central_key": _central_key().public.b64(), "cert_sha256": CERT_SHA}


def _strategy(_: Any) -> st.SearchStrategy[tuple[str, Any]]:
    receipt, bundle = _receipt_raw(), _bundle_raw()
    receipt_body, bundle_body = _signed("receipt", receipt), _signed("bundle", bundle)
    error_seed = json.dumps({"error": "stale_batch", "message": "El lote ya llegó"}).encode()
    return st.one_of(
        st.tuples(st.just("receipt"), st.one_of(
            json_mutated([receipt], max_edits=2).map(lambda r: _signed("receipt", r)),
            mutated([receipt_body]))),
        st.tuples(st.just("bundle"), st.one_of(
            json_mutated([bundle], max_edits=2).map(lambda b: _signed("bundle", b)),
            mutated([bundle_body]))),
        st.tuples(st.just("error"), st.one_of(mutated([error_seed]), st.binary(max_size=200))),
        st.tuples(st.just("enroll"), json_mutated([_enroll_seed()], max_edits=2)),
        st.tuples(st.just("enroll"), st.sampled_from([None, [], "", 0, *HOSTILE_TEXTS[:5]])))


def _check(_: Any, case: tuple[str, Any]) -> None:
    which, data = case
    if which == "receipt":
        try:
            receipt = verify_receipt(data, _central_key().public, _batch_ref())
        except ProtocolError as exc:
            if exc.code not in RECEIPT_CODES:
                raise Violation(f"receipt refused with code {exc.code!r}") from None
            return
        if receipt.station != STATION or receipt.number != 4:
            raise Violation("a receipt for another batch was accepted")
    elif which == "bundle":
        from prep.bundle import BundleError
        from prep.bundle import read_bundle

        try:
            bundle = read_bundle(data, _central_key().public, STATION, SITIO)
        except BundleError as exc:
            if exc.code not in BUNDLE_CODES or not spanish(str(exc)):
                raise Violation(f"bundle refused with code {exc.code!r} or not in "
                                f"Spanish: {exc}") from None
            return
        if bundle.station != STATION or any(o.sitio != SITIO for o in bundle.operators):
            raise Violation("a bundle for another station or site was accepted")
    elif which == "error":
        from prep.station.client import central_error

        code, message = central_error(data)
        if not isinstance(code, str) or not isinstance(message, str):
            raise Violation("central_error answered something other than two texts")
    else:
        from prep.station.enroll import _parse_answer
        from prep.station.errors import EnrollmentError

        try:
            enrollment = _parse_answer(data, "https://10.0.0.5:8443", "PEM", CERT_SHA)
        except EnrollmentError as exc:
            if exc.code not in ENROLL_CODES or not spanish(str(exc)):
                raise Violation(f"enrollment answer refused with code {exc.code!r} or "
                                f"not in Spanish: {exc}") from None
            return
        if enrollment.cert_sha256 != CERT_SHA:
            raise Violation("an enrollment pinned another certificate")


@functools.cache
def _batch_ref() -> Any:
    return BatchRef(STATION, 4, "cd" * 32)


RESPONSES = Target("responses", "what a station reads from the central: prep.protocol."
                   "verify_receipt, prep.bundle.read_bundle, the enrollment answer "
                   "(prep.station.enroll) and error answers (central_error); signed "
                   "mutated receipts and bundles, mutated bytes", _strategy, _check)


# operadores.csv ------------------------------------------------------------------------

_OPERATORS_SEED = ("nombre,rol,sitio\r\nAna Pérez,capturista,07\r\n"
                   "\"Beto, el de la tarde\",verificador,07\r\nCarla,coordinador,07\r\n"
                   "Dora,capturista,CCV\r\n").encode()


def _operators_strategy(_: Any) -> st.SearchStrategy[bytes]:
    cell = st.one_of(st.sampled_from(HOSTILE_TEXTS), st.text(max_size=20))
    rows = st.lists(st.tuples(cell, st.sampled_from(["capturista", "verificador",
                                                      "coordinador", "x", ""]),
                              st.sampled_from(["07", "CCV", "99", "", "7"])), max_size=6)
    return st.one_of(
        mutated([_OPERATORS_SEED, b"\xef\xbb\xbf" + _OPERATORS_SEED]),
        rows.map(lambda rs: ("nombre,rol,sitio\n" + "".join(
            f"\"{n.replace(chr(34), chr(34) * 2)}\",{r},{s}\n" for n, r, s in rs)).encode(
                "utf-8", "surrogatepass")),
        st.binary(max_size=300))


def _operators_check(_: Any, data: bytes) -> None:
    from central.stations.operators import OperatorFileError
    from central.stations.operators import parse_operator_file

    try:
        rows = parse_operator_file(data)
    except OperatorFileError as exc:
        if not exc.problems or not all(spanish(p) for p in exc.problems):
            raise Violation(f"operator file refused without Spanish problems: {exc}") from None
        return
    for row in rows:
        for value in (row.name, row.role, row.sitio):
            if not isinstance(value, str) or not value.strip() or "\x00" in value:
                raise Violation(f"an operator row was accepted with an empty or control "
                                f"value: {row!r}")
            value.encode("utf-8")


@contextmanager
def _imported() -> Iterator[None]:
    import central.stations.operators  # noqa: F401  (its import is not a case's time)

    yield


OPERATORS = Target("operators", "central.stations.operators.parse_operator_file (operadores.csv of "
                   "«prep central operator import»): mutated and generated files",
                   _operators_strategy, _operators_check, setup=_imported)
