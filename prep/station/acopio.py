"""What the acopio screen needs from the station (Qt-free: the workstation's screen and
the drill's virtual stations run the same service).

:class:`AcopioService` resolves scanned or typed codes against the held catalog
(:class:`prep.qr.ActaCodec`), records acopio / *sin acta* / *fuera de catálogo* through
:class:`prep.station.station.Station`, and keeps the tallies the screen shows (what
arrived and what is still expected per elección at this CATD). Every method that
touches the store is meant to run on the ``db`` worker lane.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from prep.catalog import Acta
from prep.catalog import Casilla
from prep.catalog import Catalog
from prep.catalog import Eleccion
from prep.paquete import TipoDocumento
from prep.paquete import Traslado
from prep.qr import ActaCodec
from prep.qr import label_payload
from prep.records import Kind
from prep.records import Record
from prep.rules import CausaSinActa
from prep.station.errors import StationInputError
from prep.station.formatting import eleccion_label
from prep.station.formatting import local_time
from prep.station.ledger import Arrival
from prep.station.ledger import read_ledger
from prep.station.printing import AcopioTicket
from prep.station.station import Station

CAUSAS_SIN_ACTA: dict[CausaSinActa, str] = {
    CausaSinActa.PAQUETE_NO_ENTREGADO: "Paquete no entregado",
    CausaSinActa.CASILLA_NO_INSTALADA: "Casilla no instalada",
    CausaSinActa.PAQUETE_SIN_SOBRE: "Paquete entregado sin sobre",
}
"""The causes of *sin acta* as the operator reads them."""
CAUSAS_DE_CASILLA = frozenset({CausaSinActa.PAQUETE_NO_ENTREGADO,
                               CausaSinActa.CASILLA_NO_INSTALADA})
"""Causes that are facts about the casilla, not one acta: a casilla not installed or a
paquete never delivered has no acta of any election. They are registered for every acta
of the casilla at once (a paquete without its sobre may still hold some actas)."""
_CLAVE_CASILLA = re.compile(r"\d{6}[A-Z]\d{4}")


def causa_label(causa: str | None) -> str:
    """A sin acta cause as the operator reads it, in a sentence (lower case)."""
    for known, label in CAUSAS_SIN_ACTA.items():
        if known.value == causa:
            return label.lower()
    return causa or "causa no registrada"


def describe_arrival(arrival: Arrival) -> str:
    """``acopio a las 21:03:05`` / ``sin acta (casilla no instalada) a las …``."""
    hora = local_time(arrival.at)
    if arrival.kind == Kind.ACOPIO.value:
        return f"acopio a las {hora}"
    return f"sin acta ({causa_label(arrival.causa)}) a las {hora}"


def casilla_label(casilla: Casilla) -> str:
    """The casilla as printed on the acta: ``B``, ``C01``, ``E01``, ``E01C01``, ``S01``."""
    if casilla.tipo == "B" and casilla.id_casilla <= 1 and casilla.ext_contigua == 0:
        return "B"
    label = f"{casilla.tipo}{casilla.id_casilla:02d}"
    return label + (f"C{casilla.ext_contigua:02d}" if casilla.ext_contigua else "")


@dataclass(frozen=True)
class SinActaCasilla:
    """The outcome of registering a casilla-wide cause: the actas registered now, and
    those already registered at this station (left as they were, with why)."""

    casilla: Casilla
    causa: CausaSinActa
    registradas: tuple[tuple[Acta, Record], ...]
    ya_registradas: tuple[tuple[Acta, str], ...]


@dataclass
class Tally:
    """One elección's counters at this CATD."""

    eleccion: Eleccion
    esperadas: int
    acopiadas: int = 0
    sin_acta: int = 0

    @property
    def faltan(self) -> int:
        return max(0, self.esperadas - self.acopiadas - self.sin_acta)


@dataclass
class AcopioState:
    """What arrived so far: loaded from the store once, then kept up to date by the
    presenter with every record it makes (the store's guard stays the authority)."""

    arrivals: dict[str, Arrival] = field(default_factory=dict)
    fuera_de_catalogo: dict[str, datetime] = field(default_factory=dict)


class AcopioService:
    """Codes to actas, records, tallies and tickets for one station."""

    def __init__(self, station: Station, catalog: Catalog) -> None:
        self.station = station
        self.catalog = catalog
        self.codec = ActaCodec(catalog)
        identity = station.store.require_identity()
        self.station_id = identity.station_id
        self.distrito = int(identity.sitio) if identity.sitio.isdigit() else None
        self._esperadas: Counter[str] = Counter(
            a.eleccion.codigo for a in catalog.iter_actas() if self._here(a))
        self._casillas = {c.clave: c for c in catalog.casillas}

    @classmethod
    def open(cls, station: Station) -> AcopioService:
        """The service over the station's held catalog (verifies and parses it: run on a
        worker). Raises :class:`prep.station.errors.NoCatalogError`."""
        return cls(station, station.catalog())

    def _here(self, acta: Acta) -> bool:
        return self.distrito is None or acta.casilla.distrito_id == self.distrito

    def identify(self, raw: str) -> Acta:
        """The catalog acta a code names; :class:`prep.qr.CodeRejected` says why not."""
        return self.codec.decode(raw)

    def is_foreign(self, acta: Acta) -> bool:
        """Whether the acta belongs to another CATD's distrito."""
        return not self._here(acta)

    def casilla(self, text: str) -> Casilla | None:
        """The catalog casilla a typed CLAVE_CASILLA (11 characters) names."""
        clave = text.strip().upper()
        return self._casillas.get(clave) if _CLAVE_CASILLA.fullmatch(clave) else None

    def actas_de(self, casilla: Casilla) -> list[Acta]:
        """Every acta of ``casilla`` (one per election it votes), in the catalog's
        order of elections."""
        actas = (self.catalog.acta(casilla.clave + e.codigo) for e in self.catalog.elecciones)
        return [a for a in actas if a is not None]

    # records (worker) ------------------------------------------------------------------

    def load_state(self) -> AcopioState:
        """What this station registered so far."""
        ledger = read_ledger(self.station.store)
        return AcopioState(ledger.arrivals, ledger.fuera_de_catalogo)

    def acopio(self, acta: Acta, operator: str, traslado: Traslado | None,
               documento: TipoDocumento) -> Record:
        return self.station.acopio(acta.clave, operator, traslado, documento)

    def sin_acta(self, acta: Acta, causa: CausaSinActa, operator: str) -> Record:
        return self.station.sin_acta(acta.clave, causa, operator)

    def sin_acta_casilla(self, casilla: Casilla, causa: CausaSinActa, operator: str,
                         arrivals: Mapping[str, Arrival]) -> SinActaCasilla:
        """Register ``causa`` for every acta of ``casilla`` not registered here yet
        (``arrivals``: what the screen knows arrived); the store's guard refuses, and
        this reports, any registered meanwhile by another program."""
        registradas: list[tuple[Acta, Record]] = []
        ya: list[tuple[Acta, str]] = []
        for acta in self.actas_de(casilla):
            arrival = arrivals.get(acta.clave)
            if arrival is not None:
                ya.append((acta, describe_arrival(arrival)))
                continue
            try:
                registradas.append((acta, self.station.sin_acta(acta.clave, causa, operator)))
            except StationInputError as exc:
                ya.append((acta, str(exc)))
        return SinActaCasilla(casilla, causa, tuple(registradas), tuple(ya))

    def acopio_tras_sin_acta(self, acta: Acta, sin_acta: Arrival, operator: str,
                             traslado: Traslado | None, documento: TipoDocumento) -> Record:
        """The acta of a package registered sin acta turned up: its acopio replaces it."""
        return self.station.acopio_tras_sin_acta(acta.clave, operator, sin_acta.record,
                                                 traslado, documento)

    def fuera_de_catalogo(self, codigo: str, eleccion: str, operator: str) -> Record:
        return self.station.acopio_fuera_de_catalogo(codigo, eleccion, operator)

    # tallies and tickets -----------------------------------------------------------

    def tallies(self, state: AcopioState) -> list[Tally]:
        """Per elección: expected here, arrived, *sin acta*, still missing."""
        tallies = {e.codigo: Tally(e, self._esperadas[e.codigo])
                   for e in self.catalog.elecciones}
        for clave, arrival in state.arrivals.items():
            acta = self.catalog.acta(clave)
            if acta is None or not self._here(acta):
                continue
            tally = tallies[acta.eleccion.codigo]
            if arrival.kind == Kind.SIN_ACTA.value:
                tally.sin_acta += 1
            else:
                tally.acopiadas += 1
        return list(tallies.values())

    def ticket(self, acta: Acta, record: Record, operator: str) -> AcopioTicket:
        """The ticket to print for an acopio just recorded."""
        return AcopioTicket(
            clave_acta=acta.clave, eleccion=eleccion_label(acta.eleccion),
            distrito=acta.casilla.distrito_id, seccion=acta.casilla.seccion,
            casilla=casilla_label(acta.casilla), acopio_at=record.at,
            station=self.station_id, operator=operator, qr_text=label_payload(acta))
