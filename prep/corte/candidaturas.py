"""An election's candidaturas file of a corte (``<ELECCIÓN>_CANDIDATURAS.csv``): who runs
in each contest, with the contest's columns named as in the election's results CSV so
the two join. Plain rendering from the catalog; ``verify-corte`` reads the same column
declaration (:data:`CANDIDATURAS_AMBITO`) to check the file.
"""

from __future__ import annotations

from prep.catalog.model import Ambito
from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.corte.simulacro import tabla_csv

#: The columns that say which contest a candidatura runs in, per ámbito of the election:
#: the same names as in the election's CSV, so that results join to candidates (an
#: entity-wide election has one contest, the ID_ENTIDAD and ENTIDAD every row has).
CANDIDATURAS_AMBITO: dict[Ambito, tuple[str, ...]] = {
    Ambito.ENTIDAD: (),
    Ambito.DISTRITO: ("ID_DISTRITO_LOCAL", "DISTRITO_LOCAL"),
    Ambito.DEMARCACION: ("ID_DEMARCACION", "DEMARCACION"),
}
CANDIDATURAS_DATOS = ("PARTIDO_CI", "CANDIDATURA_PROPIETARIA", "CANDIDATURA_SUPLENTE")


def candidaturas_csv(catalog: Catalog, eleccion: Eleccion, simulacro: bool = False) -> bytes:
    """The candidaturas of ``eleccion``, one row per asociación and ámbito, each row with
    the columns of its contest (:data:`CANDIDATURAS_AMBITO`), after the title line
    ``CANDIDATURAS DE <ELECCIÓN>`` (``SIMULACRO — …`` in a drill)."""
    names = {Ambito.ENTIDAD: {0: catalog.entidad},
             Ambito.DISTRITO: {d.id: d.cabecera for d in catalog.distritos},
             Ambito.DEMARCACION: {d.id: d.nombre for d in catalog.demarcaciones},
             }[eleccion.ambito]
    por_contienda = eleccion.ambito is not Ambito.ENTIDAD
    filas = []
    for c in sorted((c for c in catalog.candidaturas if c.eleccion == eleccion.codigo),
                    key=lambda c: (c.ambito_id, c.asociacion)):
        contienda = (c.ambito_id, names[c.ambito_id]) if por_contienda else ()
        filas.append((catalog.entidad_id, catalog.entidad, *contienda,
                      c.asociacion, c.propietaria, c.suplente))
    return tabla_csv(titulo_candidaturas(eleccion),
                     ("ID_ENTIDAD", "ENTIDAD", *CANDIDATURAS_AMBITO[eleccion.ambito],
                      *CANDIDATURAS_DATOS), filas, simulacro)


def titulo_candidaturas(eleccion: Eleccion) -> str:
    """Line 1 of ``eleccion``'s candidaturas file (without the SIMULACRO mark)."""
    return f"CANDIDATURAS DE {eleccion.nombre}"
