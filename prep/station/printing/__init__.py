"""Printing the acopio ticket/label (issue 5): one interface, several backends.

The acopio screen calls :meth:`Printer.print_acopio` in a worker; a failure raises
:class:`PrinterError` with a Spanish message for the operator and never blocks acopio
(the acopio record is already stored when printing starts).

Backends are chosen by a short spec string (:func:`open_printer`), e.g. from the
station's settings:

=====================  ============================================================
``fake``               :class:`FakePrinter` (keeps the tickets; for tests and drills)
``pdf:DIR``            one small PDF label per ticket in ``DIR`` (:mod:`.pdf`)
``usb:VID:PID``        an ESC/POS thermal printer on USB, ids in hex (:mod:`.thermal`)
``red:HOST[:PORT]``    an ESC/POS printer on the network, raw TCP port 9100 by default
``windows:NAME``       a printer installed in the Windows spooler (Windows only)
=====================  ============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

MEXICO_CITY = ZoneInfo("America/Mexico_City")
DEFAULT_TIMEOUT = 5.0
"""Seconds a printer may take to answer before the operator is told."""


class PrinterError(Exception):
    """The ticket could not be printed; the message says why and what to do (Spanish)."""


@dataclass(frozen=True, slots=True)
class AcopioTicket:
    """What an acopio ticket shows."""

    clave_acta: str
    eleccion: str  # the election's name, e.g. "Jefatura de Gobierno"
    distrito: int
    seccion: int
    casilla: str  # e.g. "B", "C01", "E01C02"
    acopio_at: datetime  # station clock, timezone-aware
    station: str
    operator: str
    qr_text: str  # what the printed QR encodes (the acta's label QR)


class Printer(Protocol):
    """A ticket printer backend."""

    name: str

    def print_acopio(self, ticket: AcopioTicket) -> None:
        """Print ``ticket``; raise :class:`PrinterError` on any failure."""
        ...


@dataclass
class FakePrinter:
    """Keeps the tickets it was asked to print; ``fail_with`` makes it fail."""

    name: str = "fake"
    printed: list[AcopioTicket] = field(default_factory=list)
    fail_with: str | None = None

    def print_acopio(self, ticket: AcopioTicket) -> None:
        if self.fail_with is not None:
            raise PrinterError(self.fail_with)
        self.printed.append(ticket)


def local_time(ticket: AcopioTicket) -> str:
    """The ticket's acopio time as printed: Mexico City time, ``dd/mm/YYYY HH:MM:SS``."""
    if ticket.acopio_at.tzinfo is None:
        raise ValueError("acopio_at must be timezone-aware")
    return f"{ticket.acopio_at.astimezone(MEXICO_CITY):%d/%m/%Y %H:%M:%S}"


def open_printer(spec: str, *, timeout: float = DEFAULT_TIMEOUT,
                 check_status: bool = True) -> Printer:
    """The printer a spec names (see the module docstring); :class:`PrinterError` with
    a Spanish message for a malformed spec or a backend this machine cannot use.

    Opening does not touch the device: connection problems surface at the first
    :meth:`Printer.print_acopio`, each as a :class:`PrinterError`. ``timeout`` bounds
    every wait on a device; ``check_status`` asks ESC/POS printers for their paper
    status before each ticket (a printer that never answers is reported, not waited on).
    """
    kind, _, rest = spec.strip().partition(":")
    kind = kind.lower()
    if kind == "fake" and not rest:
        return FakePrinter()
    if kind == "pdf" and rest:
        from prep.station.printing.pdf import PdfPrinter

        return PdfPrinter(rest)
    if kind in ("usb", "red", "windows") and rest:
        from prep.station.printing.thermal import network_printer
        from prep.station.printing.thermal import usb_printer
        from prep.station.printing.thermal import windows_printer

        if kind == "usb":
            return usb_printer(rest, timeout=timeout, check_status=check_status)
        if kind == "red":
            return network_printer(rest, timeout=timeout, check_status=check_status)
        return windows_printer(rest)
    raise PrinterError(
        f"La impresora «{spec}» no está bien configurada. Use una de: fake, pdf:CARPETA, "
        "usb:VID:PID (por ejemplo usb:04b8:0202), red:HOST[:PUERTO] o windows:NOMBRE.")
