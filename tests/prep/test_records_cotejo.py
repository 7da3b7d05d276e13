"""A cotejo record (issue 29): ``{clave_acta, coincide}`` as older stations send it, and
a difference may name the fields that differ (``campos``) and why (``motivo``); both
bounded, names only, no control characters, and never with a confirmation."""

from __future__ import annotations

from typing import Any

import pytest

from prep.records import MAX_COTEJO_CAMPOS
from prep.records import MAX_COTEJO_MOTIVO
from prep.records import Kind
from prep.records import Record
from prep.records import RecordError
from prep.records import new_record

pytestmark = pytest.mark.rapido

STATION = "catd-07-a1b2"
CLAVE = "090001B010001"


@pytest.mark.parametrize("body", [
    {"clave_acta": CLAVE, "coincide": True},  # an older station's, and a confirmation
    {"clave_acta": CLAVE, "coincide": False},  # an older station's difference
    {"clave_acta": CLAVE, "coincide": False, "campos": ["PAN", "NULOS"]},
    {"clave_acta": CLAVE, "coincide": False, "motivo": "El papel dice 12"},
    {"clave_acta": CLAVE, "coincide": False, "campos": ["PAN"],
     "motivo": "x" * MAX_COTEJO_MOTIVO},
    {"clave_acta": CLAVE, "coincide": False,
     "campos": [f"C{i}" for i in range(MAX_COTEJO_CAMPOS)]},
])
def test_accepted(body: dict[str, Any]) -> None:
    record = new_record(STATION, 1, Kind.COTEJO, "op1", body)
    assert Record.from_json(record.to_json()).body == body


@pytest.mark.parametrize("body, code", [
    ({"clave_acta": CLAVE, "coincide": True, "campos": ["PAN"]}, "malformed"),
    ({"clave_acta": CLAVE, "coincide": True, "motivo": "bien"}, "malformed"),
    ({"clave_acta": CLAVE, "coincide": "no"}, "malformed"),
    ({"clave_acta": CLAVE, "coincide": False, "campos": []}, "malformed"),
    ({"clave_acta": CLAVE, "coincide": False, "campos": "PAN"}, "malformed"),
    ({"clave_acta": CLAVE, "coincide": False, "campos": ["PAN", "PAN"]}, "malformed"),
    ({"clave_acta": CLAVE, "coincide": False, "campos": ["pan"]}, "malformed"),
    ({"clave_acta": CLAVE, "coincide": False, "campos": [1]}, "malformed"),
    ({"clave_acta": CLAVE, "coincide": False,
      "campos": [f"C{i}" for i in range(MAX_COTEJO_CAMPOS + 1)]}, "malformed"),
    ({"clave_acta": CLAVE, "coincide": False, "motivo": ""}, "malformed"),
    ({"clave_acta": CLAVE, "coincide": False, "motivo": "x" * (MAX_COTEJO_MOTIVO + 1)},
     "malformed"),
    ({"clave_acta": CLAVE, "coincide": False, "motivo": "dos\nlíneas"},
     "control_character"),
    ({"clave_acta": CLAVE, "coincide": False, "otro": 1}, "malformed"),
])
def test_refused(body: dict[str, Any], code: str) -> None:
    with pytest.raises(RecordError) as refused:
        new_record(STATION, 1, Kind.COTEJO, "op1", body)
    assert refused.value.code == code
