"""Captured values and the double-blind reconciliation (DOMAIN.md, "What is captured" and
"The acta lifecycle")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from prep.values import Captura
from prep.values import Marca
from prep.values import Resultado
from prep.values import check_valor
from prep.values import conciliar
from prep.values import diferencias
from prep.values import format_valor
from prep.values import parse_valor

pytestmark = pytest.mark.rapido

CAMPOS = ("PAN", "PRI", "NO_REGISTRADAS", "NULOS")

valores = st.one_of(st.integers(0, 9999), st.sampled_from(list(Marca)))


def cap(*values: int | Marca, campos: tuple[str, ...] = CAMPOS) -> Captura:
    return Captura.of(dict(zip(campos, values, strict=True)))


# --- parse / format -----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("0", 0),
    ("9999", 9999),
    ("  42 ", 42),
    ("007", 7),
    ("Ilegible", Marca.ILEGIBLE),
    ("ILEGIBLE", Marca.ILEGIBLE),
    ("Sin dato", Marca.SIN_DATO),
    ("sin dato", Marca.SIN_DATO),
])
def test_parse_valor_accepts(text: str, expected: int | Marca) -> None:
    assert parse_valor(text) == expected
    assert type(parse_valor(text)) is type(expected)


@pytest.mark.parametrize("text", [
    "10000", "-1", "1.5", "١٢", "１２", "²", "abc", "", " ", "1 2", "0x10", "+5", "1e3",
])
def test_parse_valor_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_valor(text)


def test_published_labels() -> None:
    assert format_valor(Marca.ILEGIBLE) == "Ilegible"
    assert format_valor(Marca.SIN_DATO) == "Sin dato"
    assert format_valor(0) == "0"
    assert format_valor(9999) == "9999"


@given(valores)
def test_format_parse_round_trip(valor: int | Marca) -> None:
    text = format_valor(valor)
    back = parse_valor(text)
    assert back == valor
    assert type(back) is type(valor)
    assert format_valor(back) == text


@given(st.integers(0, 9999))
def test_numbers_format_as_plain_ascii_digits(n: int) -> None:
    text = format_valor(n)
    assert text.isascii() and text.isdigit() and int(text) == n


# --- Captura validation ---------------------------------------------------------------------

@pytest.mark.parametrize("bad", [True, False, -1, 10000, 1.0, "5", "Ilegible", None])
def test_check_valor_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        check_valor(bad)


@pytest.mark.parametrize("bad", [True, False, -1, 10000, 2.0, "7"])
def test_captura_rejects_invalid_values(bad: object) -> None:
    with pytest.raises(ValueError):
        Captura.of({"PAN": 1, "PRI": bad})  # type: ignore[dict-item]


def test_captura_accepts_bounds_and_marcas() -> None:
    c = Captura.of({"PAN": 0, "PRI": 9999, "PRD": Marca.ILEGIBLE, "NULOS": Marca.SIN_DATO})
    assert dict(c) == {"PAN": 0, "PRI": 9999, "PRD": Marca.ILEGIBLE, "NULOS": Marca.SIN_DATO}
    assert list(c) == ["PAN", "PRI", "PRD", "NULOS"]
    assert c["PRI"] == 9999
    with pytest.raises(KeyError):
        c["MC"]


def test_captura_rejects_mismatched_or_repeated_fields() -> None:
    with pytest.raises(ValueError):
        Captura(("PAN", "PRI"), (1,))
    with pytest.raises(ValueError):
        Captura(("PAN", "PAN"), (1, 2))


def test_captura_json_round_trip() -> None:
    c = Captura.of({"PAN": 3, "PRI": Marca.ILEGIBLE, "NULOS": Marca.SIN_DATO})
    assert c.to_json() == {"PAN": 3, "PRI": "Ilegible", "NULOS": "Sin dato"}
    assert Captura.from_json(c.to_json()) == c
    with pytest.raises(ValueError):
        Captura.from_json({"PAN": True})
    with pytest.raises(ValueError):
        Captura.from_json({"PAN": "12.0"})


# --- diferencias ----------------------------------------------------------------------------

def test_diferencias_equal_is_empty() -> None:
    assert diferencias(cap(1, 2, 3, 4), cap(1, 2, 3, 4)) == ()


def test_diferencias_lists_differing_fields_in_order() -> None:
    a = cap(1, 2, 3, 4)
    b = cap(1, 9, 3, Marca.ILEGIBLE)
    assert diferencias(a, b) == ("PRI", "NULOS")
    assert diferencias(b, a) == ("PRI", "NULOS")


def test_diferencias_number_vs_marca_differ() -> None:
    assert diferencias(cap(0, 0, 0, 0), cap(Marca.SIN_DATO, 0, 0, 0)) == ("PAN",)
    assert diferencias(cap(Marca.ILEGIBLE, 0, 0, 0), cap(Marca.SIN_DATO, 0, 0, 0)) == ("PAN",)


def test_diferencias_missing_field_counts() -> None:
    a = Captura.of({"PAN": 1, "PRI": 2})
    b = Captura.of({"PAN": 1, "MC": 2})
    assert diferencias(a, b) == ("PRI", "MC")


# --- conciliar ------------------------------------------------------------------------------

A = cap(10, 20, 0, 3)
B = cap(10, 21, 0, Marca.ILEGIBLE)  # differs from A in PRI and NULOS
C = cap(11, 20, 0, 3)  # differs from A in PAN, from B in PAN, PRI, NULOS


def test_conciliar_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        conciliar([])


def test_conciliar_one_capture_waits_for_second() -> None:
    r = conciliar([A])
    assert r.resultado is Resultado.FALTA_CAPTURA_2
    assert r.captura is None


def test_conciliar_two_equal_validate() -> None:
    r = conciliar([A, cap(10, 20, 0, 3)])
    assert r.resultado is Resultado.VALIDADA
    assert r.captura == A


def test_conciliar_two_different_need_third() -> None:
    r = conciliar([A, B])
    assert r.resultado is Resultado.FALTA_CAPTURA_3
    assert r.captura is None
    assert r.diferencias == ("PRI", "NULOS")


@pytest.mark.parametrize("third, expected", [(A, A), (B, B)], ids=["equals-first",
                                                                  "equals-second"])
def test_conciliar_third_breaks_tie(third: Captura, expected: Captura) -> None:
    r = conciliar([A, B, Captura(third.campos, third.valores)])
    assert r.resultado is Resultado.VALIDADA
    assert r.captura == expected


def test_conciliar_three_different_go_to_verificacion() -> None:
    r = conciliar([A, B, C])
    assert r.resultado is Resultado.VERIFICACION
    assert r.captura is None
    assert set(r.diferencias) == {"PAN", "PRI", "NULOS"}
    assert "NO_REGISTRADAS" not in r.diferencias


capturas_lists = st.integers(1, 5).flatmap(
    lambda n: st.lists(
        # A small value pool so that equal captures are frequent.
        st.lists(st.one_of(st.integers(0, 2), st.sampled_from(list(Marca))),
                 min_size=n, max_size=n).map(
            lambda vs: Captura(tuple(f"F{i}" for i in range(len(vs))), tuple(vs))),
        min_size=2, max_size=3))


@settings(max_examples=200)
@given(capturas_lists)
def test_conciliar_property(capturas: list[Captura]) -> None:
    r = conciliar(capturas)
    first, second = capturas[0], capturas[1]
    if len(capturas) == 2:
        pairs = [(first, second)]
    else:
        third = capturas[2]
        pairs = [(first, second), (first, third), (second, third)]
    agreeing = [p for p in pairs if p[0] == p[1]]
    assert (r.resultado is Resultado.VALIDADA) == bool(agreeing)
    if agreeing:
        assert r.captura is not None
        assert any(r.captura == a for a, _ in agreeing)
    else:
        assert r.captura is None
        expected = Resultado.FALTA_CAPTURA_3 if len(capturas) == 2 else Resultado.VERIFICACION
        assert r.resultado is expected
        assert r.diferencias
        differing = {c for a, b in pairs for c in a if a[c] != b[c]}
        assert set(r.diferencias) == differing
