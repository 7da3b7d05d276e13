"""Integers in a record stop at PostgreSQL's bigint (prep.records.MAX_INTEGER): a larger
seq, image size or heartbeat backlog is refused as malformed where the record is read
(the central's ingest, the station's own validation). The central used to take such a
signed record, fail its INSERT and answer 503, so the station would have resent that
batch forever (found by bench/fuzz.py's http target, 100,389 cases)."""

from __future__ import annotations

from typing import Any

import pytest

from prep.records import MAX_INTEGER
from prep.records import Kind
from prep.records import Record
from prep.records import RecordError
from prep.records import new_record

pytestmark = pytest.mark.rapido

STATION = "catd-07-a1b2"
SHA = "ab" * 32


def _image(size: int) -> dict[str, Any]:
    return {"clave_acta": "090001B010001", "sha256": SHA, "bytes": size,
            "media_type": "image/png", "origen": "CATD", "digitalizacion": "Escáner"}


def _heartbeat(backlog: int) -> dict[str, Any]:
    return {"version": "0.1.0", "backlog": backlog, "backlog_bytes": 0, "last_error": ""}


@pytest.mark.parametrize(("kind", "body", "field"), [
    (Kind.IMAGEN, _image, "bytes"), (Kind.HEARTBEAT, _heartbeat, "backlog")])
def test_an_integer_past_bigint_is_refused_as_malformed(kind: Kind, body: Any,
                                                        field: str) -> None:
    largest = new_record(STATION, 1, kind, "op1", body(MAX_INTEGER))
    assert Record.from_json(largest.to_json()).body[field] == MAX_INTEGER
    raw = largest.to_json()
    raw["body"] = body(MAX_INTEGER + 1)  # as a station that skipped its checks signs it
    with pytest.raises(RecordError) as refused:
        Record.from_json(raw)
    assert refused.value.code == "malformed" and field in str(refused.value)


def test_a_seq_past_bigint_is_refused_as_malformed() -> None:
    raw = new_record(STATION, 1, Kind.HEARTBEAT, "op1", _heartbeat(0)).to_json()
    raw["seq"] = MAX_INTEGER + 1
    with pytest.raises(RecordError, match="seq"):
        Record.from_json(raw)
