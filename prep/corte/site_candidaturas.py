"""Candidaturas of one contest, for the public site's *vista por candidatura*.

A contest (*contienda*) is where one set of candidaturas competes: the whole entidad, one
distrito or one demarcación, per the election's ámbito. The CSV keeps one vote column per
party, coalition combination and independent; the site can also show the votes of each
candidatura, as INE's PREP site does in its «vista por candidatura»:

- a party that is not in a coalition in this contest, and each independent, is its own
  candidatura with its own column's votes;
- the parties of a coalition that competes in this contest form **one** candidatura, which
  gets every vote of its parties' columns and of all its combination columns (the
  combinations are not split among the parties: that split, by LGIPE art. 311, belongs to
  the cómputos, not to a preliminary display);
- NO_REGISTRADAS and NULOS stay as they are, so the candidaturas add up to the total.

This is for display only: nothing here changes a published CSV figure, and each
candidatura's votes are a plain sum of CSV columns of the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from prep.catalog.model import Candidatura
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion
from prep.corte.summary import DECIMALES
from prep.corte.summary import DECIMALS
from prep.corte.summary import percentage

OTRO = "otro"


@dataclass(frozen=True, slots=True)
class CandidaturaSitio:
    """One line of the vista por candidatura of a contest."""

    clave: str  # the party's or independent's clave; a coalition's parties joined by "_"
    nombre: str
    tipo: str  # partido, coalicion, independiente, otro
    partidos: tuple[str, ...]
    campos: tuple[int, ...]  # the election's vote-field indexes whose votes it gets
    #: (asociación the names were registered for, or "" when all agree; propietaria,
    #: suplente), from the catalog's candidaturas.
    personas: tuple[tuple[str, str, str], ...]

    def json(self, claves: Sequence[str]) -> dict[str, Any]:
        return {"clave": self.clave, "nombre": self.nombre, "tipo": self.tipo,
                "partidos": list(self.partidos), "asociaciones": list(self.campos),
                "campos": [claves[i] for i in self.campos],
                "personas": [{"asociacion": a, "propietaria": p, "suplente": s}
                             for a, p, s in self.personas]}


class Contienda:
    """The candidaturas of one contest and how they add up an area's vote columns."""

    def __init__(self, candidaturas: tuple[CandidaturaSitio, ...]) -> None:
        self.candidaturas = candidaturas
        # Most candidaturas have one column; a coalition's are summed (~30,000 areas).
        self._solas = [c.campos[0] if len(c.campos) == 1 else -1 for c in candidaturas]
        self._varias = [itemgetter(*c.campos) for c in candidaturas]

    def votos(self, votos: Sequence[int]) -> list[int]:
        """Votes per candidatura from the election's per-column votes of an area."""
        return [votos[i] if i >= 0 else sum(get(votos))
                for i, get in zip(self._solas, self._varias, strict=True)]

    def votos_json(self, votos: Sequence[int],
                   hechos: Mapping[int, str] | None = None) -> list[list[int | str]]:
        """[[candidatura index, votes, % of the area's total votes], ...].

        ``hechos`` (vote-field index → its % of the same total, already computed for the
        party view) saves recomputing the % of the one-column candidaturas."""
        counts = self.votos(votos)
        if not hechos:
            return [[k, v, p] for k, (v, p) in enumerate(zip(counts, percentages(counts),
                                                              strict=True))]
        base = sum(votos)
        return [[k, v, hechos[i] if i in hechos else percentage(v, base)]
                for k, (v, i) in enumerate(zip(counts, self._solas, strict=True))]

    def encabeza(self, votos: Sequence[int]) -> dict[str, Any]:
        """Who leads: the candidatura(s) with most votes (several on a tie; none before a
        single vote is counted), their votes and % of the total votes."""
        counts = self.votos(votos)
        pcts = percentages(counts)
        top = max((v for v, c in zip(counts, self.candidaturas, strict=True)
                   if c.tipo != OTRO), default=0)
        if top == 0:
            return {"candidaturas": [], "votos": 0, "porcentaje": percentage(0, 0)}
        lideres = [k for k, (v, c) in enumerate(zip(counts, self.candidaturas, strict=True))
                   if v == top and c.tipo != OTRO]
        return {"candidaturas": lideres, "votos": top, "porcentaje": pcts[lideres[0]]}


_SCALE = 10**DECIMALS
_FACTOR = 100 * _SCALE


def percentages(counts: Sequence[int]) -> list[str]:
    """Each count × 100 / their sum, truncated like :func:`prep.corte.summary.percentage`
    (same arithmetic, one call for a whole list: a corte has ~340,000 of them)."""
    base = sum(counts)
    if base == 0:
        return [percentage(0, 0)] * len(counts)
    return [f"{q}.{DECIMALES[r]}"
            for q, r in (divmod(c * _FACTOR // base, _SCALE) for c in counts)]


def registradas(candidaturas: Sequence[Candidatura],
                eleccion: Eleccion) -> dict[tuple[int, str], Candidatura]:
    """The catalog's candidaturas of ``eleccion`` by (ámbito id, asociación)."""
    return {(c.ambito_id, c.asociacion): c for c in candidaturas
            if c.eleccion == eleccion.codigo}


def contienda(eleccion: Eleccion, ambito_id: int,
              nombres: Mapping[tuple[int, str], Candidatura]) -> Contienda:
    """The candidaturas competing in ``ambito_id`` (0 for the entidad), in ballot order:
    each in the place of its first vote column, then NO_REGISTRADAS and NULOS."""
    compiten = [(i, a) for i, a in enumerate(eleccion.asociaciones) if a.compite_en(ambito_id)]
    grupo = {a.clave: f"coalicion:{k}"
             for k, miembros in enumerate(eleccion.coaliciones(ambito_id)) for a in miembros}
    campos: dict[str, list[int]] = {}
    orden: list[str] = []
    for i, a in compiten:
        key = grupo.get(a.clave, a.clave)
        if key not in campos:
            campos[key] = []
            orden.append(key)
        campos[key].append(i)
    out: list[CandidaturaSitio] = []
    for key in orden:
        indices = tuple(campos[key])
        asociaciones = [eleccion.asociaciones[i] for i in indices]
        coaliciones = [a for a in asociaciones if a.tipo is TipoAsociacion.COALICION]
        if coaliciones:
            partidos = tuple(a.clave for a in asociaciones if a.tipo is TipoAsociacion.PARTIDO)
            mayor = max(coaliciones, key=lambda a: len(a.partidos))  # first of the largest
            claves = [a.clave for a in sorted(coaliciones, key=lambda a: -len(a.partidos))]
            out.append(CandidaturaSitio("_".join(partidos) or mayor.clave, mayor.nombre,
                                        "coalicion", partidos, indices,
                                        _personas(nombres, ambito_id, claves, partidos)))
        else:
            a = asociaciones[0]
            out.append(CandidaturaSitio(a.clave, a.nombre, str(a.tipo), a.partidos, indices,
                                        _personas(nombres, ambito_id, [a.clave], ())))
    n = len(eleccion.asociaciones)
    out.append(CandidaturaSitio("NO_REGISTRADAS", "Candidaturas no registradas", OTRO, (),
                                (n,), ()))
    out.append(CandidaturaSitio("NULOS", "Votos nulos", OTRO, (), (n + 1,), ()))
    return Contienda(tuple(out))


def _personas(nombres: Mapping[tuple[int, str], Candidatura], ambito_id: int,
              combinaciones: Sequence[str],
              partidos: Sequence[str]) -> tuple[tuple[str, str, str], ...]:
    """The registered names of a candidatura: those registered for the coalition's
    combinations (the largest first) if any, else its parties'. A loaded catalog names one
    person per coalition and contest (:mod:`prep.catalog.files` refuses anything else), so
    this is one entry; one per asociación only for a catalog built in code that disagrees."""
    for claves in (combinaciones, partidos):
        rows = [(k, nombres[(ambito_id, k)]) for k in claves if (ambito_id, k) in nombres]
        if rows:
            distintas = {(c.propietaria, c.suplente) for _, c in rows}
            if len(distintas) == 1:
                c = rows[0][1]
                return (("", c.propietaria, c.suplente),)
            return tuple((k, c.propietaria, c.suplente) for k, c in rows)
    return ()
