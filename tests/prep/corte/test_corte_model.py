"""What a corte keeps of each acta (prep.corte.model.ActaEnCorte): packed to save half a
national central's memory for its states, it gives back exactly what it was given, is
immutable, compares and hashes by value, and works with dataclasses' fields and replace
as when it was a dataclass."""

from __future__ import annotations

import copy
import pickle
from dataclasses import fields
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from itertools import product

import pytest

from prep.corte.model import ActaEnCorte
from prep.corte.model import Digitalizacion
from prep.corte.model import Origen
from prep.rules import CausaSinActa
from prep.values import Captura

pytestmark = pytest.mark.rapido

T = datetime(2027, 6, 7, 2, 3, 4, 567_891, tzinfo=UTC)


def test_every_field_comes_back_as_given() -> None:
    captura = Captura.of({"PAN": 10, "PRI": 0})
    for origen, digitalizacion, cotejada in product(
            (None, *Origen), (None, *Digitalizacion), (False, True)):
        acta = ActaEnCorte("090010001B01", acopio=T, captura=captura,
                           fecha_captura=T + timedelta(microseconds=1),
                           fecha_verificacion=T + timedelta(days=2, seconds=3),
                           origen=origen, digitalizacion=digitalizacion, sha256="ab" * 32,
                           traslado="F", cotejada=cotejada, tipo_documento="CC")
        assert (acta.clave, acta.acopio, acta.captura, acta.causa_sin_acta) == \
            ("090010001B01", T, captura, None)
        assert acta.fecha_captura == T + timedelta(microseconds=1)
        assert acta.fecha_verificacion == T + timedelta(days=2, seconds=3)
        assert (acta.origen, acta.digitalizacion, acta.cotejada) == \
            (origen, digitalizacion, cotejada)
        assert (acta.sha256, acta.traslado, acta.tipo_documento) == ("ab" * 32, "F", "CC")
        assert acta.publicada
    for causa in CausaSinActa:
        sin = ActaEnCorte("X", causa_sin_acta=causa)
        assert sin.causa_sin_acta is causa and sin.publicada and sin.acopio is None
    assert ActaEnCorte("X", acopio=T).acopio_us == (T - datetime(1970, 1, 1, tzinfo=UTC)) \
        // timedelta(microseconds=1)
    nada = ActaEnCorte("X")
    assert nada.acopio_us is None
    assert not nada.publicada
    assert (nada.acopio, nada.fecha_captura, nada.fecha_verificacion) == (None, None, None)


def test_a_time_in_another_zone_is_the_same_instant_and_one_without_zone_is_refused() -> None:
    mexico = T.astimezone(timezone(timedelta(hours=-6)))
    assert ActaEnCorte("X", acopio=mexico) == ActaEnCorte("X", acopio=T)
    assert ActaEnCorte("X", acopio=mexico).acopio == T
    with pytest.raises(ValueError, match="sin zona"):
        ActaEnCorte("X", acopio=datetime(2027, 6, 7, 2, 3, 4))
    with pytest.raises(ValueError, match="sin acta no puede tener captura"):
        ActaEnCorte("X", captura=Captura.of({"PAN": 1}), causa_sin_acta=next(iter(CausaSinActa)))


def test_immutable_compared_by_value_and_a_dataclass_to_fields_and_replace() -> None:
    acta = ActaEnCorte("X", acopio=T, sha256="cd" * 32, origen=Origen.CATD)
    with pytest.raises(AttributeError):
        acta.sha256 = None
    with pytest.raises(AttributeError):
        acta.clave = "Y"
    otra = ActaEnCorte("X", acopio=T, sha256="cd" * 32, origen=Origen.CATD)
    assert acta == otra and hash(acta) == hash(otra) and acta is not otra
    assert acta != replace(acta, cotejada=True) != replace(acta, origen=Origen.CASILLA)
    assert [f.name for f in fields(acta)] == [
        "clave", "acopio", "captura", "causa_sin_acta", "fecha_captura",
        "fecha_verificacion", "origen", "digitalizacion", "sha256", "traslado", "cotejada",
        "tipo_documento"]
    cambiada = replace(acta, fecha_captura=T + timedelta(hours=1))
    assert cambiada.fecha_captura == T + timedelta(hours=1) and cambiada.acopio == T
    assert pickle.loads(pickle.dumps(acta)) == acta == copy.deepcopy(acta)
    assert "sha256='" + "cd" * 32 + "'" in repr(acta)
