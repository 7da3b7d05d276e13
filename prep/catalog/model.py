"""The electoral catalog: the geography, the casillas and the elections being counted.

Everything here is immutable: a catalog is loaded once (from files an institute fills in,
see ``docs/catalogo.md``) and shared by every part of the suite. Indexes that many callers
need (acta by CLAVE_ACTA, actas of an election in publication order) are built once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from functools import cached_property
from operator import itemgetter
from typing import Any

#: Publication order of casilla types inside a sección (DOMAIN.md: B, C, E, S, then the rest).
TIPO_CASILLA_ORDER: tuple[str, ...] = ("B", "C", "E", "S", "A", "P", "M", "U")

TIPOS_CASILLA: Mapping[str, str] = {
    "B": "Básica",
    "C": "Contigua",
    "E": "Extraordinaria",
    "S": "Especial",
    "A": "Voto anticipado",
    "P": "Prisión preventiva",
    "M": "Mexicanos en el extranjero",
    "U": "Urna electrónica",
}

MAX_LISTA_NOMINAL_CASILLA = 750

#: MECANISMOS_TRASLADO: how a casilla's paquete reaches the CATD. The codes are INE's
#: (D, F, I, published in its PREP files) plus ``E`` for a paquete delivered directly,
#: which INE leaves empty: here an empty cell would read as "no data yet".
MECANISMOS_TRASLADO: Mapping[str, str] = {
    "F": "Centro de Recepción y Traslado (CRyT) fijo",
    "I": "Centro de Recepción y Traslado (CRyT) itinerante",
    "D": "Dispositivo de Apoyo para el Traslado de presidencias de mesa directiva (DAT)",
    "E": "Entrega directa en la sede, sin mecanismo de traslado",
}
#: The mechanism of a casilla for which the Consejo approved none.
TRASLADO_DIRECTO = "E"
#: Mesas whose votes are counted where the PREP receives them (voto anticipado, prisión
#: preventiva, mexicanos en el extranjero): no paquete travels from a casilla, so
#: MECANISMOS_TRASLADO does not apply, nor, unless the catalog gives it, UBICACION_CASILLA.
TIPOS_SIN_TRASLADO = frozenset({"A", "P", "M"})
#: The same mesas: they belong to no sección (DOMAIN.md), so the CSV publishes their SECCION
#: as ``N/A`` and the site counts them only in their contest (the entity for an election
#: decided there, their distrito or demarcación for one decided per distrito or
#: demarcación), never in the territories below it.
TIPOS_MESA = TIPOS_SIN_TRASLADO
#: What a mesa's acta does not have: its votes come in envelopes, not from boletas handed
#: out at a casilla (no boletas sobrantes), and no representantes vote there.
CAMPOS_SIN_MESA = frozenset({"TOTAL_BOLETAS_SOBRANTES", "TOTAL_REP_PARTIDO_CI_VOTARON"})
#: UBICACION_CASILLA of a mesa that is not in one place of a sección (published N/A).
UBICACION_NO_APLICA = 0


class Ambito(enum.StrEnum):
    """The territory an election's candidaturas compete in."""

    ENTIDAD = "entidad"
    DISTRITO = "distrito"
    DEMARCACION = "demarcacion"


#: Whether an election's office has a suplente when its catalog does not say: CDMX's
#: Jefatura de Gobierno (entidad) and alcaldías (demarcación) have none; its diputaciones
#: de mayoría relativa (distrito) register a propietaria and a suplente.
SUPLENTE_POR_AMBITO: Mapping[Ambito, bool] = {
    Ambito.ENTIDAD: False,
    Ambito.DISTRITO: True,
    Ambito.DEMARCACION: False,
}


class TipoAsociacion(enum.StrEnum):
    """What a vote column on the acta stands for."""

    PARTIDO = "partido"
    COALICION = "coalicion"  # a combination of parties of one coalition (PAN_PRI, ...)
    INDEPENDIENTE = "independiente"


@dataclass(frozen=True, slots=True)
class Demarcacion:
    """An alcaldía (municipio elsewhere)."""

    id: int
    nombre: str


@dataclass(frozen=True, slots=True)
class Distrito:
    """A distrito local electoral; each has one CATD."""

    id: int
    cabecera: str
    demarcacion_id: int


@dataclass(frozen=True, slots=True)
class Casilla:
    """A polling station. Especiales have ``lista_nominal == 0`` and a ``boletas`` ceiling."""

    entidad_id: int
    distrito_id: int
    demarcacion_id: int
    seccion: int
    tipo: str
    id_casilla: int
    ext_contigua: int
    lista_nominal: int
    representantes: int
    boletas: int
    #: 1 urbana, 2 no urbana (the published UBICACION_CASILLA); 0 (published ``N/A``)
    #: only for the mesas of :data:`TIPOS_SIN_TRASLADO`.
    ubicacion: int
    #: The default MECANISMOS_TRASLADO code (:data:`MECANISMOS_TRASLADO`), overridable at
    #: acopio; ``None`` only where it does not apply (:data:`TIPOS_SIN_TRASLADO`). Left
    #: ``None`` for any other casilla it becomes :data:`TRASLADO_DIRECTO`.
    traslado: str | None = None
    #: The codes of the elections this casilla has an acta of; ``None``: every election
    #: (a mesa of voto en el extranjero counts only the elections the law gives it).
    elecciones: frozenset[str] | None = None
    #: CLAVE_CASILLA: entidad(2) sección(4) tipo(1) id(2) ext(2), e.g. ``090123B0100``.
    clave: str = field(init=False, compare=False, repr=False)

    #: The ceiling above which the acta is *Excede Lista Nominal*: lista nominal plus
    #: representantes, or the boletas of a casilla especial.
    max_votos: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "clave", clave_casilla(
            self.entidad_id, self.seccion, self.tipo, self.id_casilla, self.ext_contigua))
        object.__setattr__(self, "max_votos", self.boletas if self.tipo == "S"
                           else self.lista_nominal + self.representantes)
        if self.tipo in TIPOS_SIN_TRASLADO:
            if self.traslado is not None:
                raise ValueError(f"{self.clave}: MECANISMOS_TRASLADO no aplica a una casilla "
                                 f"de tipo {self.tipo}")
        elif self.traslado is None:
            object.__setattr__(self, "traslado", TRASLADO_DIRECTO)
        elif self.traslado not in MECANISMOS_TRASLADO:
            raise ValueError(f"{self.clave}: MECANISMOS_TRASLADO {self.traslado!r} no es "
                             f"uno de {', '.join(MECANISMOS_TRASLADO)}")

    def tiene_acta(self, eleccion: str) -> bool:
        """Whether this casilla has an acta of the election with code ``eleccion``."""
        return self.elecciones is None or eleccion in self.elecciones

    @property
    def especial(self) -> bool:
        return self.tipo == "S"

    @property
    def mesa(self) -> bool:
        """A mesa of voto anticipado, prisión preventiva or en el extranjero
        (:data:`TIPOS_MESA`): in no sección, without boletas nor representantes."""
        return self.tipo in TIPOS_MESA

    def sort_key(self) -> tuple[int, int, int, int, int]:
        """Publication order: distrito, sección, tipo, id, ext."""
        return (self.distrito_id, self.seccion, tipo_rank(self.tipo), self.id_casilla,
                self.ext_contigua)


@dataclass(frozen=True, slots=True)
class Asociacion:
    """One vote column of an election: a party, a coalition combination, an independent.

    ``ambitos`` limits where it competes (distrito or demarcación ids, per the election's
    ámbito); ``None`` means everywhere. Where it does not compete its column is ``N/A``.
    """

    clave: str
    nombre: str
    tipo: TipoAsociacion
    partidos: tuple[str, ...] = ()
    ambitos: frozenset[int] | None = None

    def compite_en(self, ambito_id: int) -> bool:
        return self.ambitos is None or ambito_id in self.ambitos


@dataclass(frozen=True, slots=True)
class Candidatura:
    """A candidacy registered for an election in one ámbito (0 for the entidad)."""

    eleccion: str
    ambito_id: int
    asociacion: str
    propietaria: str
    suplente: str


@dataclass(frozen=True)
class Eleccion:
    """An election counted by the PREP (one acta per casilla)."""

    codigo: str  # two digits; CLAVE_ACTA = CLAVE_CASILLA + codigo
    nombre: str  # as printed on line 1 of the CSV, e.g. "JEFATURA DE GOBIERNO"
    tipo_acta: str
    ambito: Ambito
    asociaciones: tuple[Asociacion, ...]
    #: (TIPO_CASILLA, TIPO_ACTA) where a kind of casilla uses another form than
    #: ``tipo_acta`` (the especiales' acta, the one an urna electrónica prints).
    tipos_acta: tuple[tuple[str, str], ...] = ()
    #: Whether the office has a suplente (a candidatura then registers two persons);
    #: ``None`` becomes the default of the election's ámbito (:data:`SUPLENTE_POR_AMBITO`),
    #: so after construction it is always a bool.
    suplente: bool | None = None

    def __post_init__(self) -> None:
        if self.suplente is None:
            object.__setattr__(self, "suplente", SUPLENTE_POR_AMBITO[self.ambito])

    def tipo_acta_de(self, tipo_casilla: str) -> str:
        """The TIPO_ACTA of this election's acta in a casilla of ``tipo_casilla``."""
        return self._tipos_acta.get(tipo_casilla, self.tipo_acta)

    @cached_property
    def _tipos_acta(self) -> dict[str, str]:
        return dict(self.tipos_acta)

    def ambito_id(self, casilla: Casilla) -> int:
        if self.ambito is Ambito.DISTRITO:
            return casilla.distrito_id
        if self.ambito is Ambito.DEMARCACION:
            return casilla.demarcacion_id
        return 0

    @cached_property
    def campos_voto(self) -> tuple[str, ...]:
        """Vote fields: every asociación, then NO_REGISTRADAS and NULOS."""
        return (*(a.clave for a in self.asociaciones), "NO_REGISTRADAS", "NULOS")

    @cached_property
    def campos_voto_set(self) -> frozenset[str]:
        return frozenset(self.campos_voto)

    @cached_property
    def campos_captura(self) -> tuple[str, ...]:
        """Every field typed from the acta, in the order of the published CSV."""
        return (*CAMPOS_PREVIOS, *self.campos_voto, "TOTAL_VOTOS_ASENTADO")

    def campos_aplicables(self, casilla: Casilla) -> tuple[str, ...]:
        """The captured fields that exist on this casilla's acta."""
        return self.layout_de(casilla).campos

    def layout_de(self, casilla: Casilla) -> Layout:
        """The field layout of this election's acta in ``casilla``."""
        return self.layout(self.ambito_id(casilla), casilla.mesa)

    def campos_en_ambito(self, ambito_id: int) -> tuple[str, ...]:
        """The captured fields of an acta in ``ambito_id`` (computed once per ámbito)."""
        return self.layout(ambito_id).campos

    def layout(self, ambito_id: int, mesa: bool = False) -> Layout:
        """The field layout of the actas of ``ambito_id`` (of a mesa's,
        :data:`CAMPOS_SIN_MESA` left out), built once per ámbito."""
        cached = self._layouts.get((ambito_id, mesa))
        if cached is None:
            campos = tuple(c for c in self.campos_captura
                           if (c not in self._por_clave or self._por_clave[c].compite_en(
                               ambito_id)) and not (mesa and c in CAMPOS_SIN_MESA))
            cached = Layout(campos, self.campos_captura, self.campos_voto_set)
            self._layouts[(ambito_id, mesa)] = cached
        return cached

    @cached_property
    def _layouts(self) -> dict[tuple[int, bool], Layout]:
        return {}

    @cached_property
    def _por_clave(self) -> dict[str, Asociacion]:
        return {a.clave: a for a in self.asociaciones}

    def coaliciones(self, ambito_id: int) -> tuple[tuple[Asociacion, ...], ...]:
        """The coalitions (or candidaturas comunes) competing in ``ambito_id``, each as its
        asociaciones in ballot order: its parties and every combination column of them.

        Parties joined by any combination column that competes there are one coalition:
        one candidatura, which registers one person for the contest."""
        padre: dict[str, str] = {}

        def raiz(p: str) -> str:
            while padre.setdefault(p, p) != p:
                p = padre[p]
            return p

        combinaciones = [a for a in self.asociaciones if a.tipo is TipoAsociacion.COALICION
                         and a.partidos and a.compite_en(ambito_id)]
        for a in combinaciones:
            primero = raiz(a.partidos[0])
            for p in a.partidos[1:]:
                otro = raiz(p)
                if otro != primero:
                    padre[otro] = primero
        grupos: dict[str, list[Asociacion]] = {}
        for a in self.asociaciones:
            if not a.compite_en(ambito_id):
                continue
            if a.tipo is TipoAsociacion.PARTIDO and a.clave in padre:
                grupos.setdefault(raiz(a.clave), []).append(a)
            elif a.tipo is TipoAsociacion.COALICION and a.partidos:
                grupos.setdefault(raiz(a.partidos[0]), []).append(a)
        return tuple(tuple(g) for g in grupos.values())


class Layout:
    """Which captured fields an acta has, in order, with C-level pickers over its values.

    Every capture of one ámbito has the same layout, so anything that walks thousands of
    captures (rules, the CSV writer) looks positions up here instead of by field name.
    """

    __slots__ = ("campos", "columnas", "votos")

    def __init__(self, campos: tuple[str, ...], todos: tuple[str, ...],
                 votos: frozenset[str]) -> None:
        self.campos = campos
        #: values → the vote fields' values (always ≥ 2: NO_REGISTRADAS, NULOS).
        self.votos: Callable[[Sequence[Any]], tuple[Any, ...]] = itemgetter(
            *(i for i, c in enumerate(campos) if c in votos))
        index = {c: i for i, c in enumerate(campos)}
        #: values + [filler] → one item per field of ``todos``, the filler (the last item)
        #: where this layout lacks the field.
        self.columnas: Callable[[Sequence[Any]], tuple[Any, ...]] = itemgetter(
            *(index.get(c, -1) for c in todos))


CAMPOS_PREVIOS: tuple[str, ...] = (
    "TOTAL_BOLETAS_SOBRANTES",
    "TOTAL_PERSONAS_VOTARON",
    "TOTAL_REP_PARTIDO_CI_VOTARON",
    "TOTAL_VOTOS_SACADOS",
)


@dataclass(frozen=True, slots=True)
class Acta:
    """One acta: a casilla's tally sheet for one election."""

    casilla: Casilla
    eleccion: Eleccion
    #: CLAVE_ACTA = CLAVE_CASILLA + election code.
    clave: str = field(init=False, compare=False, repr=False)
    #: The fields this acta has (its election's fields that compete in its ámbito).
    layout: Layout = field(init=False, compare=False, repr=False)
    #: TIPO_ACTA: the form of this election used by this kind of casilla.
    tipo_acta: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "clave", self.casilla.clave + self.eleccion.codigo)
        object.__setattr__(self, "tipo_acta", self.eleccion.tipo_acta_de(self.casilla.tipo))
        object.__setattr__(self, "layout", self.eleccion.layout_de(self.casilla))


@dataclass(frozen=True)
class Catalog:
    """A whole election catalog with the indexes the suite needs."""

    entidad_id: int
    entidad: str
    fecha_eleccion: str  # ISO date of the jornada electoral
    demarcaciones: tuple[Demarcacion, ...]
    distritos: tuple[Distrito, ...]
    casillas: tuple[Casilla, ...]
    elecciones: tuple[Eleccion, ...]
    candidaturas: tuple[Candidatura, ...] = field(default=())

    @cached_property
    def casillas_ordenadas(self) -> tuple[Casilla, ...]:
        return tuple(sorted(self.casillas, key=Casilla.sort_key))

    @cached_property
    def actas_por_clave(self) -> dict[str, Acta]:
        return {a.clave: a for a in self.iter_actas()}

    @cached_property
    def eleccion_por_codigo(self) -> dict[str, Eleccion]:
        return {e.codigo: e for e in self.elecciones}

    @cached_property
    def distrito_por_id(self) -> dict[int, Distrito]:
        return {d.id: d for d in self.distritos}

    @cached_property
    def demarcacion_por_id(self) -> dict[int, Demarcacion]:
        return {d.id: d for d in self.demarcaciones}

    @cached_property
    def secciones(self) -> frozenset[tuple[int, int]]:
        """(distrito, sección) pairs."""
        return frozenset((c.distrito_id, c.seccion) for c in self.casillas)

    def actas(self, eleccion: Eleccion) -> tuple[Acta, ...]:
        """The actas of one election in publication order."""
        return self._actas_por_eleccion[eleccion.codigo]

    @cached_property
    def _actas_por_eleccion(self) -> dict[str, tuple[Acta, ...]]:
        return {e.codigo: _actas(e, self.casillas_ordenadas) for e in self.elecciones}

    def iter_actas(self) -> Iterator[Acta]:
        for e in self.elecciones:
            yield from self.actas(e)

    def actas_de_casilla(self, casilla: Casilla) -> tuple[Acta, ...]:
        """Every acta of ``casilla``, one per election it has (in election order): what a
        fact about the casilla (no instalada, paquete no entregado) applies to."""
        por_clave = self.actas_por_clave
        return tuple(a for e in self.elecciones
                     if (a := por_clave.get(casilla.clave + e.codigo)) is not None)

    @cached_property
    def total_actas(self) -> int:
        return sum(len(self.actas(e)) for e in self.elecciones)

    def acta(self, clave_acta: str) -> Acta | None:
        return self.actas_por_clave.get(clave_acta)


def tipo_rank(tipo: str) -> int:
    try:
        return TIPO_CASILLA_ORDER.index(tipo)
    except ValueError:
        return len(TIPO_CASILLA_ORDER)


_NUEVA = object.__new__
_PONER_ACTA = {name: Acta.__dict__[name].__set__
               for name in ("casilla", "eleccion", "clave", "layout", "tipo_acta")}
assert set(_PONER_ACTA) == set(Acta.__slots__), "Acta fields _actas does not set"


def _actas(eleccion: Eleccion, casillas: Sequence[Casilla]) -> tuple[Acta, ...]:
    """``Acta(c, eleccion)`` for each of ``casillas`` that has one, in their order, with
    its slots set directly: what ``Acta.__post_init__`` works out per acta depends only
    on the casilla's tipo and ámbito, so it is worked out once for each (a national
    catalog has half a million actas, built by its first corte)."""
    codigo = eleccion.codigo
    poner_casilla, poner_eleccion, poner_clave, poner_layout, poner_tipo = (
        _PONER_ACTA["casilla"], _PONER_ACTA["eleccion"], _PONER_ACTA["clave"],
        _PONER_ACTA["layout"], _PONER_ACTA["tipo_acta"])
    tipos: dict[str, str] = {}
    layouts: dict[tuple[int, bool], Layout] = {}
    out: list[Acta] = []
    for c in casillas:
        if not c.tiene_acta(codigo):
            continue
        tipo = tipos.get(c.tipo)
        if tipo is None:
            tipo = tipos[c.tipo] = eleccion.tipo_acta_de(c.tipo)
        ambito = (eleccion.ambito_id(c), c.mesa)
        layout = layouts.get(ambito)
        if layout is None:
            layout = layouts[ambito] = eleccion.layout(*ambito)
        acta: Acta = _NUEVA(Acta)
        poner_casilla(acta, c)
        poner_eleccion(acta, eleccion)
        poner_clave(acta, c.clave + codigo)
        poner_layout(acta, layout)
        poner_tipo(acta, tipo)
        out.append(acta)
    return tuple(out)


def clave_casilla(entidad: int, seccion: int, tipo: str, id_casilla: int, ext: int) -> str:
    return f"{entidad:02d}{seccion:04d}{tipo}{id_casilla:02d}{ext:02d}"
