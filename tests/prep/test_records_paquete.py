"""An acopio record may say how the paquete came and which document arrived (issue 28):
only the documented tokens, nothing else in the body, and a record without them (an
older station's) is still accepted. Values of the wrong JSON type are refused as
malformed, never as a crash."""

from __future__ import annotations

from typing import Any

import pytest

from prep.crypto import SigningKey
from prep.paquete import TipoDocumento
from prep.paquete import Traslado
from prep.protocol import GENESIS
from prep.protocol import ProtocolError
from prep.protocol import make_batch
from prep.protocol import read_batch
from prep.records import Kind
from prep.records import Record
from prep.records import RecordError
from prep.records import new_record

pytestmark = pytest.mark.rapido

STATION = "catd-07-a1b2"
CLAVE = "090001B010001"


@pytest.mark.parametrize("traslado", list(Traslado))
@pytest.mark.parametrize("documento", list(TipoDocumento))
def test_every_token_is_accepted(traslado: Traslado, documento: TipoDocumento) -> None:
    body = {"clave_acta": CLAVE, "traslado": traslado.value,
            "tipo_documento": documento.value}
    record = new_record(STATION, 1, Kind.ACOPIO, "op1", body)
    assert Record.from_json(record.to_json()).body == body


@pytest.mark.parametrize("body", [
    {"clave_acta": CLAVE},  # a station older than the fields
    {"clave_acta": CLAVE, "traslado": "cryt_itinerante"},
    {"clave_acta": CLAVE, "tipo_documento": "copia_aec"},
])
def test_either_field_may_be_left_out(body: dict[str, Any]) -> None:
    assert new_record(STATION, 1, Kind.ACOPIO, "op1", body).body == body


@pytest.mark.parametrize("field, value", [
    ("traslado", "D"),  # the published code is not the record's token
    ("traslado", "DAT"),
    ("traslado", ""),
    ("traslado", None),
    ("traslado", 3),
    ("traslado", ["dat"]),
    ("traslado", {"dat": True}),
    ("traslado", "dat" * 3000),
    ("tipo_documento", "Acta PREP"),
    ("tipo_documento", "acta_prep "),
    ("tipo_documento", True),
    ("tipo_documento", ["copia_aec"]),
])
def test_a_value_outside_the_domain_is_refused(field: str, value: object) -> None:
    with pytest.raises(RecordError, match=f"{field} must be one of"):
        new_record(STATION, 1, Kind.ACOPIO, "op1", {"clave_acta": CLAVE, field: value})


@pytest.mark.parametrize("body", [
    {"clave_acta": CLAVE, "traslado": "dat", "mecanismo": "dat"},
    {"codigo_leido": "099999B010001", "eleccion": "01", "fuera_de_catalogo": True,
     "traslado": "dat"},
    {"traslado": "dat", "tipo_documento": "acta_prep"},
])
def test_no_other_field_travels_with_them(body: dict[str, Any]) -> None:
    with pytest.raises(RecordError, match="exactly"):
        new_record(STATION, 1, Kind.ACOPIO, "op1", body)


def test_a_sin_acta_says_nothing_of_the_paquete() -> None:
    with pytest.raises(RecordError, match="exactly"):
        new_record(STATION, 1, Kind.SIN_ACTA, "op1", {
            "clave_acta": CLAVE, "causa": "paquete_sin_sobre", "traslado": "dat"})


@pytest.mark.parametrize("field, value", [("kind", ["acopio"]), ("body", None)])
def test_unhashable_kinds_and_causes_are_malformed_not_a_crash(field: str,
                                                                value: object) -> None:
    """A list where a token belongs raised TypeError out of the validator (a 500 at
    the central instead of 400 ``malformed``)."""
    data = new_record(STATION, 1, Kind.SIN_ACTA, "op1",
                      {"clave_acta": CLAVE, "causa": "casilla_no_instalada"}).to_json()
    if field == "kind":
        data["kind"] = value  # type: ignore[assignment]
    else:
        data["body"] = {"clave_acta": CLAVE, "causa": ["casilla_no_instalada"]}
    with pytest.raises(RecordError):
        Record.from_json(data)


@pytest.mark.parametrize("kind, body, token", [
    (Kind.ACOPIO, {"clave_acta": CLAVE, "traslado": "dat"}, b'"dat"'),
    (Kind.SIN_ACTA, {"clave_acta": CLAVE, "causa": "casilla_no_instalada"},
     b'"casilla_no_instalada"'),
])
def test_a_batch_carrying_a_list_for_a_token_is_refused_as_malformed(
        kind: Kind, body: dict[str, Any], token: bytes) -> None:
    """What the central reads from the wire (``read_batch``): a list where the token
    was is a 400 ``malformed``, not an exception out of the validator."""
    _, raw = make_batch(SigningKey.generate(), STATION, 1, GENESIS,
                        [new_record(STATION, 1, kind, "op1", body)])
    tampered = raw.replace(token, b"[" + token + b"]")
    assert tampered != raw
    with pytest.raises(ProtocolError) as refused:
        read_batch(tampered)
    assert refused.value.code == "malformed"
