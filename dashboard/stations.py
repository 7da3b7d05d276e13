"""The station health page's lines (Qt-free): every enrolled station, and every site
expected to have one that has none.

The night needs a station at each of the catalog's CATD and at the CCV; a site with no
station enrolled is as much a problem as a station offline, so it gets a line of its own
(«Sin equipo») instead of being absent from the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from central.controlroom.overview import Overview
from central.controlroom.overview import StationRow

CCV = "CCV"


@dataclass(frozen=True)
class StationLine:
    """A line of the page: an enrolled ``station``, or a ``sitio`` with none (``None``)."""

    sitio: str
    station: StationRow | None

    @property
    def key(self) -> str:
        return self.station.station if self.station is not None else f"sitio:{self.sitio}"

    @property
    def estado(self) -> str:
        """``sin_equipo``, ``deshabilitado``, ``nunca``, ``en_linea`` or ``sin_conexion``."""
        s = self.station
        if s is None:
            return "sin_equipo"
        if not s.enabled:
            return "deshabilitado"
        if s.last_seen is None:
            return "nunca"
        return "en_linea" if s.online else "sin_conexion"


def expected_sites(ov: Overview) -> list[str]:
    """The catalog's CATD (``01``…) and the CCV."""
    return [*ov.catd_sites(), CCV]


def station_lines(ov: Overview) -> list[StationLine]:
    """Enrolled stations and sites without any, ordered by site (CCV last)."""
    lines = [StationLine(s.sitio, s) for s in ov.stations]
    enrolled = {s.sitio for s in ov.stations}
    lines += [StationLine(sitio, None) for sitio in expected_sites(ov)
              if sitio not in enrolled]
    return sorted(lines, key=lambda line: (line.sitio == CCV, line.sitio,
                                           line.station is None, line.key))


def sites_without_station(ov: Overview) -> list[str]:
    enrolled = {s.sitio for s in ov.stations}
    return [sitio for sitio in expected_sites(ov) if sitio not in enrolled]


def site_name(sitio: str) -> str:
    return CCV if sitio == CCV else f"CATD {sitio}"
