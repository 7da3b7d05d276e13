"""The rules of ``candidaturas.csv`` across its rows (docs/catalogo.md, issue 61).

A coalition, or a candidatura común, registers **one** person in each contest it runs in:
the rows of all its parties (and of its combinations, where a catalog lists them) name the
same propietaria and suplente. An asociación has at most one candidatura per contest.
Which asociaciones form a coalition in a contest is :meth:`Eleccion.coaliciones`; whether
the office has a suplente at all is checked row by row when the file is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

from prep.catalog.model import Ambito
from prep.catalog.model import Asociacion
from prep.catalog.model import Candidatura
from prep.catalog.model import Demarcacion
from prep.catalog.model import Distrito
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion


class NombresContienda:
    """How a message names a contest: the entidad, a distrito or a demarcación."""

    def __init__(self, distritos: Iterable[Distrito],
                 demarcaciones: Iterable[Demarcacion]) -> None:
        self._distritos = {d.id: d.cabecera for d in distritos}
        self._demarcaciones = {d.id: d.nombre for d in demarcaciones}

    def __call__(self, eleccion: Eleccion, ambito_id: int) -> str:
        donde = f"{eleccion.nombre} (elección {eleccion.codigo})"
        if eleccion.ambito is Ambito.DISTRITO:
            return f"{donde}, distrito {ambito_id} ({self._distritos.get(ambito_id, '')})"
        if eleccion.ambito is Ambito.DEMARCACION:
            return (f"{donde}, demarcación {ambito_id} "
                    f"({self._demarcaciones.get(ambito_id, '')})")
        return f"{donde}, toda la entidad"


def problema_de_personas(filas: Sequence[tuple[int, Candidatura]],
                         elecciones: Mapping[str, Eleccion],
                         contienda: NombresContienda) -> str | None:
    """The first breach of the rules across rows, in Spanish for whoever fills the file
    (its line numbers are the file's, ``filas`` holding each row's); ``None`` if none."""
    por_contienda: dict[tuple[str, int], dict[str, tuple[int, Candidatura]]] = {}
    for line, c in filas:
        registradas = por_contienda.setdefault((c.eleccion, c.ambito_id), {})
        if c.asociacion in registradas:
            return (f"línea {line}: {c.asociacion} ya tiene una candidatura en "
                    f"{contienda(elecciones[c.eleccion], c.ambito_id)} (línea "
                    f"{registradas[c.asociacion][0]}): registre una sola por asociación y "
                    "contienda")
        registradas[c.asociacion] = (line, c)
    for (codigo, ambito), registradas in por_contienda.items():
        eleccion = elecciones[codigo]
        for coalicion in eleccion.coaliciones(ambito):
            suyas = [(a.clave, *registradas[a.clave]) for a in coalicion
                     if a.clave in registradas]
            if len({(c.propietaria, c.suplente) for _, _, c in suyas}) > 1:
                return _personas_distintas(eleccion, contienda(eleccion, ambito), coalicion,
                                           suyas)
    return None


def _personas_distintas(eleccion: Eleccion, donde: str, coalicion: Sequence[Asociacion],
                        suyas: list[tuple[str, int, Candidatura]]) -> str:
    partidos = [a.clave for a in coalicion if a.tipo is TipoAsociacion.PARTIDO]
    mayor = max((a for a in coalicion if a.tipo is TipoAsociacion.COALICION),
                key=lambda a: len(a.partidos))
    personas = "; ".join(
        f"{clave} (línea {line}): «{c.propietaria}»"
        + (f", suplente «{c.suplente}»" if eleccion.suplente else "")
        for clave, line, c in suyas)
    return (f"{donde}: la coalición «{mayor.nombre}» de "
            f"{_lista(partidos or list(mayor.partidos))} registra personas distintas: "
            f"{personas}. Una coalición o candidatura común registra una sola persona por "
            "contienda: escriba la misma "
            + ("propietaria y suplente" if eleccion.suplente else "persona")
            + " en el renglón de cada uno de sus partidos y combinaciones.")


def _lista(nombres: list[str]) -> str:
    """``PAN, PRI y PRD``."""
    return nombres[0] if len(nombres) == 1 else f"{', '.join(nombres[:-1])} y {nombres[-1]}"
