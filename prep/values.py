"""Captured values: what an operator types for each field of an acta.

A field is a number 0–9999, **Ilegible** (cannot be read in letter nor number) or
**Sin dato** (not written in letter nor number). A capture is the whole set of fields of
one acta as one operator typed them; comparing captures says which fields differ, which
drives the double-blind reconciliation (DOMAIN.md, "The acta lifecycle").
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

MAX_VALOR = 9999


class Marca(enum.StrEnum):
    """A field that holds no number, as published."""

    ILEGIBLE = "Ilegible"
    SIN_DATO = "Sin dato"


Valor = int | Marca


def parse_valor(text: str) -> Valor:
    """Parse a value as typed or published (``"12"``, ``"Ilegible"``, ``"Sin dato"``)."""
    t = text.strip()
    low = t.lower()
    if low == "ilegible":
        return Marca.ILEGIBLE
    if low in ("sin dato", "sin_dato", "sindato"):
        return Marca.SIN_DATO
    if not t.isascii() or not t.isdigit():
        raise ValueError(f"«{text}» no es un número, Ilegible ni Sin dato")
    number = int(t)
    if number > MAX_VALOR:
        raise ValueError(f"{number} excede el máximo de {MAX_VALOR}")
    return number


_TEXTOS: dict[Valor, str] = {**{n: str(n) for n in range(MAX_VALOR + 1)},
                             **{m: m.value for m in Marca}}

#: The published text of a value: digits, ``Ilegible`` or ``Sin dato``. A table lookup,
#: 3× faster than ``str()``, which matters for the ~800,000 values of a full corte.
format_valor: Callable[[Valor], str] = _TEXTOS.__getitem__


def check_valor(valor: object) -> Valor:
    """Accept only a valid value (for data coming from outside, e.g. a record body)."""
    if isinstance(valor, Marca):
        return valor
    if type(valor) is int and 0 <= valor <= MAX_VALOR:
        return valor
    raise ValueError(f"valor inválido {valor!r}: se espera 0–{MAX_VALOR}, Ilegible o Sin dato")


@dataclass(frozen=True, slots=True)
class Captura(Mapping[str, Valor]):
    """One operator's capture of an acta: field name → value, in the acta's field order.

    Fields that do not exist on the casilla's acta (an asociación that does not compete
    there) are simply absent.
    """

    campos: tuple[str, ...]
    valores: tuple[Valor, ...]

    def __post_init__(self) -> None:
        if len(self.campos) != len(self.valores):
            raise ValueError("campos y valores de distinta longitud")
        if len(set(self.campos)) != len(self.campos):
            raise ValueError("campo repetido en la captura")
        for v in self.valores:
            check_valor(v)

    @classmethod
    def of(cls, values: Mapping[str, Valor]) -> Captura:
        return cls(tuple(values), tuple(values.values()))

    def __getitem__(self, campo: str) -> Valor:
        try:
            return self.valores[self.campos.index(campo)]
        except ValueError:
            raise KeyError(campo) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.campos)

    def __len__(self) -> int:
        return len(self.campos)

    def to_json(self) -> dict[str, int | str]:
        return {c: (v.value if isinstance(v, Marca) else v)
                for c, v in zip(self.campos, self.valores, strict=True)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Captura:
        def conv(v: object) -> Valor:
            return parse_valor(v) if isinstance(v, str) else check_valor(v)
        return cls(tuple(data), tuple(conv(v) for v in data.values()))


def diferencias(a: Captura, b: Captura) -> tuple[str, ...]:
    """The fields where two captures of the same acta disagree, in ``a``'s order.

    A field present in one capture and not the other counts as a difference.
    """
    out = [c for c in a.campos if c not in b or a[c] != b[c]]
    out += [c for c in b.campos if c not in a]
    return tuple(out)


class Resultado(enum.StrEnum):
    """Where an acta stands after its captures so far."""

    FALTA_CAPTURA_2 = "falta_captura_2"
    FALTA_CAPTURA_3 = "falta_captura_3"
    VALIDADA = "validada"
    VERIFICACION = "verificacion"


@dataclass(frozen=True, slots=True)
class Conciliacion:
    """The outcome of reconciling captures; ``captura`` is the agreed one if validada."""

    resultado: Resultado
    captura: Captura | None = None
    diferencias: tuple[str, ...] = ()


def conciliar(capturas: Sequence[Captura]) -> Conciliacion:
    """Two equal captures validate; otherwise a third; 2 of 3 equal validate; else verify."""
    if not capturas:
        raise ValueError("no hay capturas que conciliar")
    if len(capturas) == 1:
        return Conciliacion(Resultado.FALTA_CAPTURA_2)
    first, second = capturas[0], capturas[1]
    diff = diferencias(first, second)
    if not diff:
        return Conciliacion(Resultado.VALIDADA, first)
    if len(capturas) == 2:
        return Conciliacion(Resultado.FALTA_CAPTURA_3, None, diff)
    third = capturas[2]
    for candidate in (first, second):
        if not diferencias(candidate, third):
            return Conciliacion(Resultado.VALIDADA, candidate, diff)
    campos = set(diff) | set(diferencias(first, third)) | set(diferencias(second, third))
    ordered = tuple(c for c in (*first.campos, *second.campos, *third.campos) if c in campos)
    return Conciliacion(Resultado.VERIFICACION, None, tuple(dict.fromkeys(ordered)))
