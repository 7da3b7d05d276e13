"""prep.values.CapturaCompacta: the capture a corte's snapshot keeps per acta, its values
as two bytes each, behaves as the Captura of the same fields and values."""

from __future__ import annotations

import copy
import pickle

import pytest

from prep.values import Captura
from prep.values import CapturaCompacta
from prep.values import Marca

pytestmark = pytest.mark.rapido


@pytest.mark.parametrize("valores", [(0, 256, 9999), (3, Marca.ILEGIBLE, 9999),
                                     (Marca.SIN_DATO, Marca.ILEGIBLE, 1)])
def test_a_compact_capture_is_the_capture_of_the_same_values(
        valores: tuple[int | Marca, ...]) -> None:
    campos = ("PAN", "PRI", "TOTAL")
    simple, compacta = Captura(campos, valores), CapturaCompacta(campos, valores)
    assert compacta == simple and simple == compacta and hash(compacta) == hash(simple)
    assert compacta.valores == valores and dict(compacta) == dict(simple)
    assert [compacta[c] for c in campos] == list(valores) and compacta.get("PT") is None
    assert all(type(v) is type(w) for v, w in zip(compacta.valores, valores, strict=True))
    assert compacta.to_json() == simple.to_json()
    assert pickle.loads(pickle.dumps(compacta)) == simple == copy.copy(compacta)
    assert compacta != CapturaCompacta(campos, (*valores[:2], 5))
    assert CapturaCompacta.de_codigos(campos, compacta._codigos) == compacta


def test_a_compact_capture_refuses_what_a_capture_refuses() -> None:
    with pytest.raises(ValueError, match="valor inválido"):
        CapturaCompacta(("A",), (10_000,))
    with pytest.raises(ValueError, match="valor inválido"):
        CapturaCompacta(("A",), (-1,))
    with pytest.raises(ValueError, match="distinta longitud"):
        CapturaCompacta(("A", "B"), (1,))
    with pytest.raises(ValueError, match="repetido"):
        CapturaCompacta(("A", "A"), (1, 2))
    compacta = CapturaCompacta(("A",), (1,))
    with pytest.raises(AttributeError, match="inmutable"):
        compacta.campos = ("B",)  # type: ignore[misc]
