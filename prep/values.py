"""Captured values: what an operator types for each field of an acta.

A field is a number 0–9999, **Ilegible** (cannot be read in letter nor number) or
**Sin dato** (not written in letter nor number). A capture is the whole set of fields of
one acta as one operator typed them; comparing captures says which fields differ, which
drives the double-blind reconciliation (DOMAIN.md, "The acta lifecycle").
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


#: A value as :class:`CapturaCompacta` keeps it: 0–9999 itself, a mark past them.
_CODIGOS: dict[Valor, int] = {**{n: n for n in range(MAX_VALOR + 1)},
                              **{m: MAX_VALOR + 1 + i for i, m in enumerate(Marca)}}
#: Each code's value: the same int objects (0–9999) and marks every time.
_VALORES: tuple[Valor, ...] = tuple(sorted(_CODIGOS, key=_CODIGOS.__getitem__))
_FORMAS: dict[int, struct.Struct] = {}


def _forma(n: int) -> struct.Struct:
    forma = _FORMAS.get(n)
    if forma is None:
        forma = _FORMAS[n] = struct.Struct(f"<{n}H")
    return forma


class CapturaCompacta(Captura):
    """A :class:`Captura` that keeps its values as two bytes each (:data:`_CODIGOS`; one
    byte more when one is a mark):
    what a corte's snapshot holds for each acta with data. Half a million of them live
    in a national central between its cortes: the values as a tuple were 200 bytes an
    acta (tracemalloc), as bytes 80. Equal to (and hashed as) a :class:`Captura` of the
    same fields and values; ``valores`` gives them back as a tuple of the same objects
    each time it is read (made then: read it once where it is used many times)."""

    __slots__ = ("_codigos",)
    _codigos: bytes

    def __init__(self, campos: tuple[str, ...], valores: Sequence[Valor]) -> None:
        object.__setattr__(self, "campos", campos)
        object.__setattr__(self, "_codigos", empacar_valores(valores))
        if len(set(campos)) != len(campos):
            raise ValueError("campo repetido en la captura")
        if len(campos) != len(self._codigos) // 2:
            raise ValueError("campos y valores de distinta longitud")

    @classmethod
    def de_codigos(cls, campos: tuple[str, ...], codigos: bytes) -> CapturaCompacta:
        """One from values already packed (:func:`empacar_valores`), not checked again."""
        captura = object.__new__(cls)
        object.__setattr__(captura, "campos", campos)
        object.__setattr__(captura, "_codigos", codigos)
        return captura

    @property
    def valores(self) -> tuple[Valor, ...]:
        codigos = self._codigos
        numeros: tuple[int, ...] = _forma(len(codigos) // 2).unpack_from(codigos)
        if len(codigos) & 1:  # with a mark (empacar_valores): each code to its value
            return tuple(map(_VALORES.__getitem__, numeros))
        return numeros

    def __getitem__(self, campo: str) -> Valor:
        try:
            i = self.campos.index(campo)
        except ValueError:
            raise KeyError(campo) from None
        return _VALORES[int.from_bytes(self._codigos[2 * i:2 * i + 2], "little")]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CapturaCompacta):
            return self.campos == other.campos and self._codigos == other._codigos
        if isinstance(other, Captura):
            return self.campos == other.campos and self.valores == other.valores
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.campos, self.valores))  # as a frozen dataclass's

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"una captura es inmutable: no se puede asignar {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return Captura, (self.campos, self.valores)


def empacar_valores(valores: Sequence[Valor]) -> bytes:
    """Values as :class:`CapturaCompacta` keeps them (ValueError: one is not 0–9999,
    Ilegible nor Sin dato)."""
    try:
        codigos = list(map(_CODIGOS.__getitem__, valores))
    except (KeyError, TypeError):
        for v in valores:
            check_valor(v)
        raise
    empacados = _forma(len(codigos)).pack(*codigos)
    # One byte more says that a value is a mark: reading the rest needs no look-up.
    return empacados + b"\x01" if codigos and max(codigos) > MAX_VALOR else empacados


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
