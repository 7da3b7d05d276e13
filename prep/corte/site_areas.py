"""Running totals of the site's territories (entidad, distrito, demarcación, sección).

Each :class:`Area` counts like :func:`prep.corte.summary.tabulate`, so its summary is CSV
line 5 as it would read for that territory alone, and its votes are sums of the CSV's vote
columns over its counted actas. An area also knows the contests (*contiendas*) its actas
belong to: a page shows votes only for an area inside one contest (see ``docs/sitio.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from operator import add
from operator import sub
from typing import Any

from prep.catalog.model import Ambito
from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.corte.site_candidaturas import Contienda
from prep.corte.site_candidaturas import contienda
from prep.corte.site_candidaturas import percentages
from prep.corte.site_candidaturas import registradas
from prep.corte.site_datos import compact_json
from prep.corte.summary import Fila
from prep.corte.summary import Resumen
from prep.corte.summary import TablaEleccion
from prep.rules import Base


class VoteIndex:
    """Where an election's vote fields sit in a capture, worked out once per field layout
    (there are only a few: one per ámbito), because ~40,000 actas go through here."""

    def __init__(self, eleccion: Eleccion) -> None:
        self.index = {c: i for i, c in enumerate(eleccion.campos_voto)}
        self._layouts: dict[tuple[str, ...], tuple[frozenset[int], tuple[tuple[int, int], ...]]]
        self._layouts = {}

    def of(self, campos: tuple[str, ...]) -> tuple[frozenset[int], tuple[tuple[int, int], ...]]:
        """(vote-field indexes present, ((position in ``campos``, vote-field index), ...))."""
        known = self._layouts.get(campos)
        if known is None:
            pairs = tuple((pos, self.index[c]) for pos, c in enumerate(campos)
                          if c in self.index)
            known = (frozenset(i for _, i in pairs), pairs)
            self._layouts[campos] = known
        return known


@dataclass(slots=True)
class Area:
    """Running totals of one territory for one election."""

    votos: list[int]
    campos: set[int] = field(default_factory=set)  # vote fields that exist in the area
    contiendas: set[int] = field(default_factory=set)  # ámbito ids of its actas
    esperadas: int = 0
    capturadas: int = 0
    contabilizadas: int = 0
    inconsistencias: int = 0
    lista: int = 0
    c_cs: int = 0
    s_cs: int = 0

    def add(self, fila: Fila, votes: VoteIndex, contienda: int) -> None:
        acta = fila.acta
        self.esperadas += 1
        self.campos |= votes.of(acta.layout.campos)[0]
        self.contiendas.add(contienda)
        res = fila.resultado
        if res is None:
            return
        self.capturadas += 1
        if res.inconsistente:
            self.inconsistencias += 1
        if not res.contabilizada:
            return
        self.contabilizadas += 1
        total = res.total_calculado or 0
        self.lista += acta.casilla.lista_nominal
        self.c_cs += total
        if not acta.casilla.especial:
            self.s_cs += total
        captura = fila.estado.captura if fila.estado is not None else None
        if captura is not None:
            valores, acc = captura.valores, self.votos
            for pos, i in votes.of(captura.campos)[1]:
                valor = valores[pos]
                if type(valor) is int:  # Ilegible and Sin dato count 0
                    acc[i] += valor

    def congelar(self, comunes: dict[frozenset[int], frozenset[int]]) -> None:
        """No more actas are added: its sets become frozen ones shared through
        ``comunes`` with every other area holding the same (a running central keeps
        hundreds of thousands of areas between its cortes, prep.corte.tramos)."""
        for nombre in ("campos", "contiendas"):
            fijo = frozenset(getattr(self, nombre))
            setattr(self, nombre, comunes.setdefault(fijo, fijo))

    def merge(self, other: Area) -> None:
        self.votos = list(map(add, self.votos, other.votos))
        self.campos |= other.campos
        self.contiendas |= other.contiendas
        self.esperadas += other.esperadas
        self.capturadas += other.capturadas
        self.contabilizadas += other.contabilizadas
        self.inconsistencias += other.inconsistencias
        self.lista += other.lista
        self.c_cs += other.c_cs
        self.s_cs += other.s_cs

    def quitar(self, other: Area) -> None:
        """Undo :meth:`merge` of ``other`` (its counts and votes; the sets stay: the
        caller replaces it with an area of the same actas, whose sets are the same)."""
        self.votos = list(map(sub, self.votos, other.votos))
        self.esperadas -= other.esperadas
        self.capturadas -= other.capturadas
        self.contabilizadas -= other.contabilizadas
        self.inconsistencias -= other.inconsistencias
        self.lista -= other.lista
        self.c_cs -= other.c_cs
        self.s_cs -= other.s_cs

    def copia(self) -> Area:
        return Area(list(self.votos), set(self.campos), set(self.contiendas), self.esperadas,
                    self.capturadas, self.contabilizadas, self.inconsistencias, self.lista,
                    self.c_cs, self.s_cs)

    def resumen(self) -> list[str]:
        """CSV line 5 as it would read for this area alone (no fuera de catálogo).

        Its participación always divides the votes *without* casillas especiales
        (the último corte's base is the entity's alone): an especial has no lista nominal of
        its own, so at the último corte's base its votes would push a distrito's,
        demarcación's or sección's figure over what its voters could cast (over 100 %),
        as INE's generator keeps that base for the entity total only."""
        return list(Resumen(self.esperadas, 0, self.capturadas, self.contabilizadas,
                            self.inconsistencias, self.lista, self.c_cs, self.s_cs,
                            Base.SIN_ESPECIALES).values())

    def votos_json(self) -> list[list[int | str]]:
        """[[vote field index, votes, % of the area's votes], ...] in ballot order."""
        campos = sorted(self.campos)
        votos = [self.votos[i] for i in campos]
        return [[i, v, p] for i, v, p in zip(campos, votos, percentages(votos), strict=True)]

    def json(self, contiendas: Mapping[int, Contienda]) -> dict[str, Any]:
        """The area as the site shows it: its summary and, inside one contest, its votes
        per asociación and per candidatura; across several, only which contests."""
        out: dict[str, Any] = {"resumen": self.resumen()}
        if len(self.contiendas) == 1:
            (c,) = self.contiendas
            out["contienda"] = c
            out["votos"] = votos = self.votos_json()
            out["candidaturas"] = contiendas[c].votos_json(
                self.votos, {int(i): str(p) for i, _, p in votos})
        else:
            out["contiendas"] = sorted(self.contiendas)
        return out


def combine(areas: Iterable[Area], size: int) -> Area:
    """One area adding up ``areas``; a single area is returned as is (it is not changed
    afterwards), which is the usual case of a sección, inside one distrito and one
    demarcación."""
    parts = list(areas)
    if len(parts) == 1:
        return parts[0]
    total = Area([0] * size)
    for a in parts:
        total.merge(a)
    return total


@dataclass
class Memoria:
    """What an election's :class:`Niveles` keep for the next corte's (a running
    central's, :mod:`prep.corte.tramos`): each sum of several areas with its parts, and
    each sección's JSON text with what it was made of. Both are reused only where made
    of the very same objects."""

    sumas: dict[tuple[int, int], tuple[tuple[Area, ...], Area]] = field(default_factory=dict)
    secciones: dict[tuple[int, int, int, bool], tuple[Any, ...]] = field(
        default_factory=dict)

    def copia(self) -> Memoria:
        return Memoria(dict(self.sumas), dict(self.secciones))


def _iguales(a: Area, b: Area) -> bool:
    """Areas of the same actas (one may replace the other in a sum)."""
    return a.esperadas == b.esperadas and a.campos == b.campos \
        and a.contiendas == b.contiendas and len(a.votos) == len(b.votos)


def sumar(clave: tuple[int, int], partes: list[Area], size: int,
          memoria: Memoria | None) -> Area:
    """:func:`combine` of ``partes``, from the previous corte's sum under ``clave`` where
    only a few parts are other objects (their old counts taken out, the new added)."""
    if memoria is None or len(partes) == 1:
        return combine(partes, size)
    previa = memoria.sumas.get(clave)
    suma = None if previa is None else ajustar(previa[0], previa[1], partes)
    if suma is None:
        suma = combine(partes, size)
    memoria.sumas[clave] = (tuple(partes), suma)
    return suma


def ajustar(antes: Sequence[Area], hecha: Area, partes: Sequence[Area]) -> Area | None:
    """The sum of ``partes`` from ``hecha``, the sum of ``antes``, where only a few parts
    are other objects (their old counts taken out, the new added): ``hecha`` itself if
    none is, ``None`` where adding them all again is as cheap (or the parts differ in
    more than their counts)."""
    if len(antes) != len(partes):
        return None
    cambios = [(a, b) for a, b in zip(antes, partes, strict=True) if a is not b]
    if not cambios:
        return hecha
    if len(cambios) * 4 > len(partes) or not all(_iguales(a, b) for a, b in cambios):
        return None
    suma = hecha.copia()
    for a, b in cambios:
        suma.quitar(a)
        suma.merge(b)
    return suma


#: The sección of the leaves holding a distrito's and demarcación's mesas (voto
#: anticipado, prisión preventiva, extranjero: :data:`prep.catalog.model.TIPOS_MESA`),
#: which belong to no sección (no sección is numbered 0).
MESAS = 0


class Niveles:
    """The areas of one election at every level, built from the leaves, and their JSON
    (each area's JSON made once: a sección is the same area under its distrito and under
    its demarcación)."""

    def __init__(self, catalog: Catalog, tabla: TablaEleccion,
                 leaves: Mapping[tuple[int, int, int], Area], size: int,
                 textos: dict[int, tuple[str, str]] | None = None,
                 memoria: Memoria | None = None) -> None:
        """``textos``: :meth:`texto` of areas already known (by ``id``; areas the
        caller keeps alive), filled with the ones this makes. ``memoria``: the previous
        corte's sums and sección texts, reused where made of the same objects (and
        updated with this corte's)."""
        self.tabla = tabla
        self._memoria = memoria
        self.textos = {} if textos is None else textos
        eleccion = tabla.eleccion
        nombres = registradas(catalog.candidaturas, eleccion)
        por: tuple[dict[int, dict[int, list[Area]]], ...] = ({}, {})
        self._otros: tuple[dict[int, set[int]], ...] = ({}, {})
        self._sec_otros: tuple[dict[tuple[int, int], set[int]], ...] = ({}, {})
        # The mesas count only in their contest: in the distrito (nivel 0) or demarcación
        # (nivel 1) that is one, else in the entity alone; in no sección.
        mesas: tuple[dict[int, list[Area]], ...] = ({}, {})
        de_entidad: list[Area] = []
        nivel_contienda = {Ambito.DISTRITO: 0, Ambito.DEMARCACION: 1}.get(eleccion.ambito)
        for (d, m, s), area in sorted(leaves.items()):
            if s == MESAS:
                if nivel_contienda is None:
                    de_entidad.append(area)
                else:
                    mesas[nivel_contienda].setdefault((d, m)[nivel_contienda], []).append(area)
                continue
            for nivel, (a, b) in enumerate(((d, m), (m, d))):
                por[nivel].setdefault(a, {}).setdefault(s, []).append(area)
                self._otros[nivel].setdefault(a, set()).add(b)
                self._sec_otros[nivel].setdefault((a, s), set()).add(b)
        self._secciones: tuple[dict[int, dict[int, Area]], ...] = tuple(
            {a: {s: combine(parts, size) for s, parts in sorted(secs.items())}
             for a, secs in sorted(p.items())} for p in por)
        self.distritos, self.demarcaciones = (
            {a: sumar((n, a), [*nivel.get(a, {}).values(), *mesas[n].get(a, ())], size,
                      memoria)
             for a in sorted(nivel.keys() | mesas[n].keys())}
            for n, nivel in enumerate(self._secciones))
        #: The mesas of an election decided in the whole entity: counted there alone.
        self.mesas = combine(de_entidad, size) if de_entidad else None
        # The distritos, and the mesas they do not count (of an election decided in the
        # whole entity, or per demarcación).
        self.entidad = combine([*self.distritos.values(), *de_entidad,
                                *(a for partes in mesas[1].values() for a in partes)], size)
        self.contiendas: dict[int, Contienda] = {
            c: contienda(eleccion, c, nombres) for c in sorted(self.entidad.contiendas)}
        self._json: dict[int, dict[str, Any]] = {}

    def json(self, area: Area, resumen: bool = True) -> dict[str, Any]:
        known = self._json.get(id(area))
        if known is None:
            known = self._json[id(area)] = area.json(self.contiendas)
        return known if resumen else {k: v for k, v in known.items() if k != "resumen"}

    def texto(self, area: Area) -> tuple[str, str]:
        """The area's :meth:`json` as JSON text without its braces, and its summary's."""
        known = self.textos.get(id(area))
        if known is None:
            data = self.json(area)
            known = self.textos[id(area)] = (compact_json(data)[1:-1],
                                             compact_json(data["resumen"]))
        return known

    def secciones_texto(self, area_id: int, nivel: int, resumen: bool = False
                        ) -> dict[int, str]:
        """:meth:`secciones` as JSON text, each sección's item by its number;
        ``resumen``: only its number and summary (what a distrito's page shows)."""
        otro = ("demarcaciones", "distritos")[nivel]
        out = {}
        hechas = None if self._memoria is None else self._memoria.secciones
        sec_otros = self._sec_otros[nivel]
        for s, area in self._secciones[nivel][area_id].items():
            texto = self.texto(area)
            otros_set = sec_otros[(area_id, s)]
            en_distrito = nivel == 1 and len(otros_set) == 1 \
                and self._secciones[0][next(iter(otros_set))][s] is area
            if hechas is not None:  # the previous corte's text, if of the same things
                clave = (nivel, area_id, s, resumen)
                hecha = hechas.get(clave)
                if hecha is not None and hecha[0] is texto and hecha[1] == otros_set \
                        and hecha[2] is en_distrito:
                    out[s] = hecha[3]
                    continue
            interior, suma = texto
            if resumen:
                item = f'{{"seccion":{s},"resumen":{suma}}}'
            else:
                cabeza = f'{{"seccion":{s},"{otro}":{compact_json(sorted(otros_set))},'
                item = f'{cabeza}"resumen":{suma},"en_distrito":true}}' if en_distrito \
                    else f"{cabeza}{interior}}}"
            out[s] = item
            if hechas is not None:
                hechas[clave] = (texto, otros_set, en_distrito, item)
        return out

    def otros(self, area_id: int, nivel: int) -> list[int]:
        """The demarcaciones a distrito touches (nivel 0), the distritos of a
        demarcación (nivel 1)."""
        return sorted(self._otros[nivel][area_id])

    def secciones(self, area_id: int, nivel: int) -> list[dict[str, Any]]:
        """The secciones of a distrito (nivel 0) or of a demarcación (nivel 1).

        A demarcación's sección that is wholly inside one distrito is the very area its
        distrito's bloque file already describes: it carries only its summary (for the
        table) and ``en_distrito``, and its page takes the votes from that bloque file,
        which it loads anyway for the actas (this halves the site's size at Ciudad de
        México scale).
        """
        otro = ("demarcaciones", "distritos")[nivel]
        out = []
        for s, area in self._secciones[nivel][area_id].items():
            otros = sorted(self._sec_otros[nivel][(area_id, s)])
            item: dict[str, Any] = {"seccion": s, otro: otros}
            if nivel == 1 and len(otros) == 1 and self._secciones[0][otros[0]][s] is area:
                item["resumen"] = self.json(area)["resumen"]
                item["en_distrito"] = True
            else:
                item.update(self.json(area))
            out.append(item)
        return out

    def lista(self, areas: Mapping[int, Area], ambito: Ambito,
              nombre: Callable[[int], dict[str, Any]]) -> list[dict[str, Any]]:
        """The entidad's table of distritos or demarcaciones: summary and, where they are
        the election's contests, who leads each."""
        out = []
        for i, area in areas.items():
            item: dict[str, Any] = {"id": i, **nombre(i), "resumen": area.resumen()}
            if self.tabla.eleccion.ambito is ambito and area.contiendas == {i}:
                item["encabeza"] = self.contiendas[i].encabeza(area.votos)
            out.append(item)
        return out
