"""The virtual acopiador: registers each arrival when its simulated minute comes (acopio,
sin acta, fuera de catálogo, a QR read twice), as the acopio screen would.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from sqlalchemy.exc import OperationalError

from prep.catalog import Catalog
from prep.paquete import TipoDocumento
from prep.paquete import Traslado
from prep.paquete import traslado_de_casilla
from prep.station.errors import StationError
from prep.station.errors import StationInputError
from prep.station.errors import StationStorageError
from simulacro.estacion.base import EstacionBase

log = logging.getLogger("simulacro.estacion")

#: Of the paquetes the virtual acopiadores receive, those that came by another mechanism
#: than the catalog's (the acopiador presses F3), and the actas whose Acta PREP was
#: missing (another copy of the acta de escrutinio y cómputo arrived: F4).
TRASLADO_CAMBIADO, OTRA_COPIA = 0.06, 0.03


def paquete_de(catalog: Catalog | None, clave: str) -> tuple[Traslado | None, TipoDocumento]:
    """What the virtual acopiador records of the paquete of acta ``clave``, as the
    acopio screen would: the casilla's catalog mechanism, or for some casillas
    (the same for all the actas of one) another one; and, for some actas, another copy
    of the acta. Derived from the CLAVE alone, so a verdict can tell what to expect."""
    acta = catalog.acta(clave) if catalog is not None else None
    default = traslado_de_casilla(acta.casilla) if acta is not None else None
    traslado = default
    if default is not None and random.Random(f"{clave[:11]}:traslado").random() \
            < TRASLADO_CAMBIADO:
        otros = [t for t in Traslado if t is not default]
        traslado = random.Random(f"{clave[:11]}:otro").choice(otros)
    otra = random.Random(f"{clave}:documento").random() < OTRA_COPIA
    return traslado, TipoDocumento.COPIA_AEC if otra else TipoDocumento.ACTA_PREP


class Acopio(EstacionBase):
    """The acopiador's part of the station."""

    def acopiador(self) -> None:
        operator = self.config["operadores"]["acopiador"]
        duplicados = set(self.config["duplicados"])
        for llegada in self.config["llegadas"]:
            if not self.wait_minute(float(llegada["minuto"])):
                return
            while not self.stop.is_set() and not self._arrive(llegada, operator, duplicados):
                self.stop.wait(0.5)  # the station's database was busy: the clerk retries
            with self.lock:
                self.pending_arrivals -= 1

    def _arrive(self, llegada: dict[str, Any], operator: str, duplicados: set[str]) -> bool:
        """Register one arrival; ``False`` when SQLite was too busy (try again)."""
        clave, tipo = llegada["clave"], llegada["tipo"]
        try:
            if tipo == "fuera":
                # A fuera-de-catálogo acopio has no CLAVE_ACTA to look up after a
                # restart: a marker file says it was recorded.
                marker = self.data_dir / "fuera" / clave
                if not marker.exists():
                    self.station.acopio_fuera_de_catalogo(clave, llegada["eleccion"], operator)
                    marker.parent.mkdir(exist_ok=True)
                    marker.touch()
                    self.bump("fuera_de_catalogo")
            elif clave not in self.registradas:
                if tipo == "sin_acta":
                    self.station.sin_acta(clave, llegada["causa"], operator)
                    self.bump("sin_acta")
                else:
                    traslado, documento = paquete_de(self.catalog, clave)
                    self.station.acopio(clave, operator, traslado, documento)
                    self.bump("acopios")
                # Registered (a write that fails writes nothing): a retry of this
                # arrival after a busy database must not register it again.
                self.registradas.add(clave)
            if tipo == "acopio" and self.papel is None:  # paper: the stack is scanned
                self._schedule_scan(clave, float(llegada["minuto"]))
                if clave in duplicados:
                    self._read_twice(clave, operator)
        except (OperationalError, StationStorageError):
            # "Vuelva a intentarlo": a busy (or full) disk loses nothing; the clerk
            # reads the QR again.
            self.bump("reintentos_base_ocupada")
            return False
        except StationError as exc:
            self.fail(f"acopio {clave}: {exc}")
        return True

    def _read_twice(self, clave: str, operator: str) -> None:
        """Incident: the same QR read again; the station must refuse it."""
        try:
            self.station.acopio(clave, operator)
        except StationInputError:
            self.bump("incidente_duplicado_rechazado")
        else:
            self.fail(f"el acta {clave} se registró dos veces en acopio")
