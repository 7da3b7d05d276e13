"""The publication rules: what an acta's captured values mean for the count.

Issuers differ in details (labels, which base the participation uses), so the rules are
data: :class:`RuleSet` with the defaults of DOMAIN.md, loadable from a TOML file
(``resources/reglas.toml`` documents every key). :func:`evaluate` turns one acta's
captured values into the published TOTAL_VOTOS_CALCULADO, OBSERVACIONES and CONTABILIZADA,
and whether the acta counts in PORCENTAJE_ACTAS_INCONSISTENCIAS.

Where the Consejo's rules are silent, the defaults are what INE's own public CSV
generator does: every acta with any OBSERVACIONES (sin acta included) is an
inconsistencia, and the último corte's participación uses TOTAL_VOTOS_C_CS (with the
casillas especiales); every other corte uses TOTAL_VOTOS_S_CS.
"""

from __future__ import annotations

import enum
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import fields
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from prep.catalog.model import Casilla
from prep.catalog.model import Eleccion
from prep.catalog.model import Layout
from prep.values import Captura
from prep.values import Marca
from prep.values import Valor


class CausaSinActa(enum.StrEnum):
    """Why a casilla's acta never arrived (registered at acopio)."""

    PAQUETE_NO_ENTREGADO = "paquete_no_entregado"
    CASILLA_NO_INSTALADA = "casilla_no_instalada"
    PAQUETE_SIN_SOBRE = "paquete_sin_sobre"
    #: The urna electrónica could not print its acta (only casillas de tipo U, issue 28).
    CONTINGENCIA_URNA_ELECTRONICA = "contingencia_urna_electronica"

    def aplica_a(self, tipo_casilla: str) -> bool:
        """Whether this cause can be registered for a casilla of ``tipo_casilla``."""
        return self is not CausaSinActa.CONTINGENCIA_URNA_ELECTRONICA or tipo_casilla == "U"


class Base(enum.StrEnum):
    """Which vote total the participation percentage is computed from."""

    SIN_ESPECIALES = "S_CS"
    CON_ESPECIALES = "C_CS"


#: The kinds of OBSERVACIONES, named by the key of their label in :class:`RuleSet` (and in
#: reglas.toml); ``sin_acta`` stands for every cause. ``RuleSet.inconsistencias`` picks
#: the ones that count in PORCENTAJE_ACTAS_INCONSISTENCIAS.
CATEGORIAS: tuple[str, ...] = ("ilegible", "sin_dato", "excede", "todos_ilegibles",
                               "todos_vacios", "todos_ilegibles_o_sin_dato", "sin_acta")
_TODAS = frozenset(CATEGORIAS)

_DEFAULT_SIN_ACTA = MappingProxyType({
    CausaSinActa.PAQUETE_NO_ENTREGADO: "Sin Acta por paquete no entregado",
    CausaSinActa.CASILLA_NO_INSTALADA: "Sin Acta por casilla no instalada",
    CausaSinActa.PAQUETE_SIN_SOBRE: "Sin Acta por paquete entregado sin sobre",
    CausaSinActa.CONTINGENCIA_URNA_ELECTRONICA: "Sin Acta por contingencia en urna electrónica",
})


@dataclass(frozen=True)
class RuleSet:
    """The rules as data; defaults are those of DOMAIN.md."""

    ilegible: str = "Ilegible"
    sin_dato: str = "Sin dato"
    excede: str = "Excede Lista Nominal"
    todos_ilegibles: str = "Todos los campos ilegibles"
    todos_vacios: str = "Todos los campos vacíos"
    todos_ilegibles_o_sin_dato: str = "Todos los campos ilegibles o sin dato"
    fuera_de_catalogo: str = "Fuera de catálogo"
    #: Added (after the separator) to the OBSERVACIONES of a fuera-de-catálogo acta whose
    #: election nobody could tell: it is listed in every election's file (issue 28).
    eleccion_no_identificada: str = "Elección no identificada"
    separador: str = ", "
    #: Excede compares the calculated total with lista nominal + representantes; set
    #: False for issuers that compare with the lista nominal alone.
    excede_suma_representantes: bool = True
    #: Whether Ilegible / Sin dato fields keep an acta from being counted.
    contabiliza_ilegible: bool = True
    contabiliza_sin_dato: bool = True
    participacion: Base = Base.SIN_ESPECIALES
    #: INE's generator divides TOTAL_VOTOS_C_CS at the último corte (casillas especiales
    #: included); S_CS keeps the base of every other corte.
    participacion_ultimo_corte: Base = Base.CON_ESPECIALES
    #: The OBSERVACIONES (:data:`CATEGORIAS`) that make an acta an inconsistencia. INE's
    #: generator counts every acta with any observation; an issuer may leave out, e.g.,
    #: ``sin_acta`` (no acta arrived, so no data can be inconsistent).
    inconsistencias: frozenset[str] = _TODAS
    sin_acta: Mapping[CausaSinActa, str] = field(default_factory=lambda: _DEFAULT_SIN_ACTA)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.inconsistencias) - _TODAS)
        if unknown:
            raise ValueError(f"reglas: inconsistencias desconocidas {unknown} (válidas: "
                             f"{', '.join(CATEGORIAS)})")
        if self.separador:
            # Anyone recomputing PORCENTAJE_ACTAS_INCONSISTENCIAS splits OBSERVACIONES
            # on the separator: no label may contain it.
            for key, label in self._categoria_de_etiqueta_items():
                if self.separador in label:
                    raise ValueError(f"reglas: la etiqueta de {key} ({label!r}) contiene "
                                     f"el separador {self.separador!r}")

    def _categoria_de_etiqueta_items(self) -> list[tuple[str, str]]:
        items = [(key, getattr(self, key)) for key in CATEGORIAS if key != "sin_acta"]
        return items + [("sin_acta", label) for label in self.sin_acta.values()]

    @functools.cached_property
    def _categoria_de_etiqueta(self) -> dict[str, str]:
        return {label: key for key, label in self._categoria_de_etiqueta_items()}

    def inconsistente(self, observaciones: str) -> bool:
        """Whether an acta published with ``observaciones`` (as the CSV says it, ``""``
        or ``-`` for none) counts in PORCENTAJE_ACTAS_INCONSISTENCIAS. Reads the
        published text, so that anyone recomputing the summary from the rows agrees
        with the corte; a label these rules do not know counts, as INE counts every
        observation."""
        if not observaciones or observaciones == "-":
            return False
        if self.inconsistencias == _TODAS:
            return True
        labels = observaciones.split(self.separador) if self.separador else [observaciones]
        categorias = self._categoria_de_etiqueta
        return any(categorias.get(label) in self.inconsistencias
                   or label not in categorias for label in labels)

    @classmethod
    def from_toml(cls, path: Path) -> RuleSet:
        """The rules of a TOML file; a file that is not UTF-8 or not TOML is a
        :class:`ValueError` naming it and where (Spanish, for whoever edits it)."""
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"reglas: {path.name} no es texto UTF-8 (byte {exc.start}); "
                             "guárdelo como UTF-8") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"reglas: {path.name} no es TOML válido ({exc})") from None
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RuleSet:
        """Rules from a mapping (a parsed TOML file); anything unknown or mistyped is an
        error that names the key (Spanish, for whoever edits the file)."""
        defaults = cls()
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in _FIELDS:
                raise ValueError(f"reglas: clave desconocida {key!r}")
            default = getattr(defaults, key)
            if key == "inconsistencias":
                values[key] = _inconsistencias(value)
            elif isinstance(default, Base):
                if not isinstance(value, str) or value not in {b.value for b in Base}:
                    raise ValueError(f"reglas: {key} debe ser \"S_CS\" o \"C_CS\", no {value!r}")
                values[key] = Base(value)
            elif key == "sin_acta":
                values[key] = _sin_acta_labels(value)
            elif type(value) is not type(default):
                kind = "true o false" if isinstance(default, bool) else "un texto"
                raise ValueError(f"reglas: {key} debe ser {kind}, no {value!r}")
            else:
                values[key] = value
        return replace(defaults, **values)


def _sin_acta_labels(value: object) -> Mapping[CausaSinActa, str]:
    causas = ", ".join(c.value for c in CausaSinActa)
    if not isinstance(value, Mapping):
        raise ValueError(f"reglas: [sin_acta] debe ser una tabla con las causas {causas}")
    labels = dict(_DEFAULT_SIN_ACTA)
    for causa, label in value.items():
        if causa not in {c.value for c in CausaSinActa}:
            raise ValueError(f"reglas: causa sin acta desconocida {causa!r} (válidas: {causas})")
        if not isinstance(label, str):
            raise ValueError(f"reglas: [sin_acta] {causa} debe ser un texto")
        labels[CausaSinActa(causa)] = label
    return MappingProxyType(labels)


def _inconsistencias(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("reglas: inconsistencias debe ser una lista de textos, p. ej. "
                         '["excede", "ilegible"]')
    unknown = sorted(set(value) - _TODAS)
    if unknown:
        raise ValueError(f"reglas: inconsistencias desconocidas {unknown} (válidas: "
                         f"{', '.join(CATEGORIAS)})")
    return frozenset(value)


_FIELDS = frozenset(f.name for f in fields(RuleSet))


DEFAULT_RULES = RuleSet()


@dataclass(frozen=True, slots=True)
class ActaResult:
    """What the rules say about one acta, as published."""

    total_calculado: int | None
    observaciones: str
    contabilizada: bool
    #: Counts in PORCENTAJE_ACTAS_INCONSISTENCIAS (``RuleSet.inconsistencias``).
    inconsistente: bool


def evaluate(eleccion: Eleccion, casilla: Casilla, captura: Captura,
             rules: RuleSet = DEFAULT_RULES, layout: Layout | None = None) -> ActaResult:
    """Apply the rules to a captured acta (DOMAIN.md, "Rules").

    ``layout`` is the acta's (``Acta.layout``), passed by callers that have it at hand.
    """
    if layout is None:
        layout = eleccion.layout_de(casilla)
    if captura.campos is layout.campos or captura.campos == layout.campos:
        votos: tuple[Valor, ...] = layout.votos(captura.valores)
    else:  # a capture laid out some other way: pick the vote fields by name
        votos = tuple(v for c, v in zip(captura.campos, captura.valores, strict=True)
                      if c in eleccion.campos_voto_set)
    try:
        # The common case, every vote field a number; a Marca raises TypeError.
        total: int = sum(votos)  # type: ignore[arg-type]
        ilegibles = vacios = 0
    except TypeError:
        numeros = [v for v in votos if type(v) is int]
        total = sum(numeros)
        ilegibles = sum(1 for v in votos if v is Marca.ILEGIBLE)
        vacios = len(votos) - len(numeros) - ilegibles
        if not numeros:
            if not vacios:
                key = "todos_ilegibles"
            elif not ilegibles:
                key = "todos_vacios"
            else:
                key = "todos_ilegibles_o_sin_dato"
            return ActaResult(total, getattr(rules, key), False,
                              key in rules.inconsistencias)
    ceiling = casilla.max_votos if rules.excede_suma_representantes or casilla.especial \
        else casilla.lista_nominal
    parts: list[str] = []
    inconsistente = False
    contabilizada = True
    if total > ceiling:
        parts.append(rules.excede)
        inconsistente = "excede" in rules.inconsistencias
        contabilizada = False
    elif not ilegibles and not vacios:
        # A clean acta (the vast majority): no observation under any rules.
        return _LIMPIAS.get(total) or _limpia(total)
    if ilegibles:
        parts.append(rules.ilegible)
        inconsistente = inconsistente or "ilegible" in rules.inconsistencias
        contabilizada = contabilizada and rules.contabiliza_ilegible
    if vacios:
        parts.append(rules.sin_dato)
        inconsistente = inconsistente or "sin_dato" in rules.inconsistencias
        contabilizada = contabilizada and rules.contabiliza_sin_dato
    return ActaResult(total, rules.separador.join(parts), contabilizada, inconsistente)


#: The result of a clean acta (every vote a number, within its ceiling) by its total:
#: the same under any rules, and immutable, so one object per total serves every acta
#: (a corte keeps tens of thousands of results; fewer objects, less for the collector).
#: Totals within a ceiling are bounded by the largest casilla, and so is this table.
_LIMPIAS: dict[int, ActaResult] = {}


def _limpia(total: int) -> ActaResult:
    result = _LIMPIAS[total] = ActaResult(total, "", True, False)
    return result


def sin_acta(causa: CausaSinActa, rules: RuleSet = DEFAULT_RULES) -> ActaResult:
    """The published result of an acta registered as *sin acta*."""
    return ActaResult(None, rules.sin_acta[causa], False, "sin_acta" in rules.inconsistencias)
