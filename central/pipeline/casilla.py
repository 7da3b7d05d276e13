"""Facts about a casilla, checked across its actas after each batch (issue 28).

*Casilla no instalada* and *paquete no entregado* are facts about a casilla, not about one
acta (DOMAIN.md): when the casilla was not installed, or its package never reached the
CATD, none of its actas can have been scanned or captured. So when one acta of a casilla
stands *sin acta* with one of those causes while another acta of the same casilla has an
image or validated votes, somebody is wrong (the acopiador chose the wrong cause or the
wrong acta, or a record names the wrong casilla): the coordinator is told with the
anomaly :data:`CASILLA_SIN_ACTA_CON_DATOS`, whichever of the two arrived first.

Nothing is refused and no state changes (records are facts, and the fold of each acta
stays its own: ``rebuild-state`` is unaffected). Ingest locks the other actas of the
casilla of every *sin acta* or image record with the batch's own actas (key order), so
two batches about one casilla see each other, and compares the states before and after
the batch: an anomaly is raised only when the batch made the contradiction appear (an
acta newly *sin acta* by such a cause, or newly holding an image or votes), once per
casilla and batch.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass

from central.pipeline.state import ActaState
from central.pipeline.state import Estado
from prep.canonical import JsonValue
from prep.catalog import Catalog
from prep.records import Kind
from prep.records import Record
from prep.rules import CausaSinActa

#: Anomaly type (central.audit.anomalies; at most 32 characters).
CASILLA_SIN_ACTA_CON_DATOS = "casilla_sin_acta_con_datos"
#: The *sin acta* causes that hold for every acta of the casilla.
CAUSAS_DE_CASILLA = frozenset({CausaSinActa.CASILLA_NO_INSTALADA.value,
                               CausaSinActa.PAQUETE_NO_ENTREGADO.value})
#: Records that can make the contradiction appear (votes come only after an image).
KINDS = frozenset({Kind.SIN_ACTA, Kind.IMAGEN})

#: CLAVE_ACTA → the other catalog actas of its casilla (none outside the catalog).
Siblings = Callable[[str], tuple[str, ...]]


def siblings_in(catalog: Catalog | None) -> Siblings:
    """The :data:`Siblings` of ``catalog``: the casilla's actas of the other elections."""
    if catalog is None:
        return lambda clave: ()

    def siblings(clave: str) -> tuple[str, ...]:
        acta = catalog.acta(clave)
        if acta is None:
            return ()
        prefix = acta.casilla.clave
        return tuple(other for e in catalog.elecciones
                     if (other := prefix + e.codigo) != clave
                     and catalog.acta(other) is not None)
    return siblings


def claves_to_lock(records: Iterable[Record], siblings: Siblings) -> set[str]:
    """The other actas of the casillas of ``records``' *sin acta* and image records."""
    out: set[str] = set()
    for record in records:
        clave = record.body.get("clave_acta")
        if record.kind in KINDS and isinstance(clave, str):
            out.update(siblings(clave))
    return out


def causa_de_casilla(acta: ActaState | None) -> str | None:
    """The acta's *sin acta* cause if it is one that holds for the whole casilla."""
    if acta is None or acta.estado is not Estado.SIN_ACTA or acta.sin_acta is None:
        return None
    return acta.sin_acta.causa if acta.sin_acta.causa in CAUSAS_DE_CASILLA else None


def con_datos(acta: ActaState | None) -> bool:
    """Whether the acta holds an image or validated votes."""
    return acta is not None and (bool(acta.imagenes) or acta.validacion is not None)


@dataclass(frozen=True, slots=True)
class Contradiccion:
    """One casilla whose actas contradict each other after a batch."""

    casilla: str
    station: str  # the station whose record made it appear
    record: str
    clave_acta: str  # the acta that record is about
    causa: str
    actas_sin_acta: tuple[str, ...]
    actas_con_datos: tuple[str, ...]

    def detail(self) -> dict[str, JsonValue]:
        """The anomaly's (and audit event's) detail."""
        return {"casilla": self.casilla, "clave_acta": self.clave_acta,
                "record": self.record, "causa": self.causa,
                "actas_sin_acta": list(self.actas_sin_acta),
                "actas_con_datos": list(self.actas_con_datos)}


def contradicciones(before: Mapping[str, ActaState], after: Mapping[str, ActaState],
                    siblings: Siblings) -> list[Contradiccion]:
    """The casillas where this batch (``before`` → ``after``, every locked acta) made an
    acta *sin acta* by a casilla-wide cause while another has data, or the reverse."""
    found: dict[str, Contradiccion] = {}
    for clave in sorted(after):
        acta, old = after[clave], before.get(clave)
        if acta == old or acta.distrito is None:
            continue
        causa = causa_de_casilla(acta)
        nueva_causa = causa is not None and (
            causa_de_casilla(old) is None or _sin_acta_record(old) != _sin_acta_record(acta))
        nuevos_datos = con_datos(acta) and not con_datos(old)
        if not (nueva_causa or nuevos_datos):
            continue
        grupo = (clave, *siblings(clave))
        casilla = clave[:len(clave) - len(acta.eleccion)]  # CLAVE_CASILLA + election code
        if casilla in found or not grupo[1:]:
            continue
        states = [s for c in grupo if (s := after.get(c)) is not None]
        sin = tuple(sorted(s.clave for s in states if causa_de_casilla(s) is not None))
        datos = tuple(sorted(s.clave for s in states if con_datos(s)))
        if not sin or not datos:
            continue
        record, station = _revealing(acta, nueva_causa)
        first = causa if causa is not None else causa_de_casilla(after[sin[0]])
        assert first is not None
        found[casilla] = Contradiccion(casilla, station, record, clave, first, sin, datos)
    return list(found.values())


def _sin_acta_record(acta: ActaState | None) -> str | None:
    return None if acta is None or acta.sin_acta is None else acta.sin_acta.record


def _revealing(acta: ActaState, por_causa: bool) -> tuple[str, str]:
    """The record (and its station) of ``acta`` that made the contradiction appear."""
    if por_causa and acta.sin_acta is not None:
        return acta.sin_acta.record, acta.sin_acta.station
    if acta.imagenes:
        return acta.imagenes[-1].record, acta.imagenes[-1].station
    assert acta.validacion is not None  # votes are validated on an image: not reached
    return acta.validacion.record, ""
