"""ESC/POS thermal printers (python-escpos): USB (pyusb), raw TCP and the Windows spooler.

The ticket is laid out once, into bytes (:func:`ticket_escpos`), with escpos's ``Dummy``
printer; each backend only opens its device, checks it and sends those bytes. Before
sending, a printer that can answer is asked for its paper sensor (``DLE EOT 4``, a
real-time command every ESC/POS printer answers at once): a printer out of paper is
reported instead of silently swallowing the ticket, and one that accepts a connection
but never answers (jammed, hung firmware) is reported after ``timeout`` seconds instead
of blocking the worker. Every failure is a :class:`PrinterError` saying what to do.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
import sys
from collections.abc import Callable
from typing import Any

from escpos.constants import QR_ECLEVEL_M
from escpos.constants import RT_STATUS_PAPER
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Dummy
from escpos.printer import Network
from escpos.printer import Usb

from prep.station.printing import AcopioTicket
from prep.station.printing import PrinterError
from prep.station.printing import local_time

log = logging.getLogger("prep.station.printing")

DEFAULT_PORT = 9100  # the "raw"/JetDirect port every network receipt printer listens on
ACOPIO_DONE = "El acopio sí quedó registrado."


def ticket_escpos(ticket: AcopioTicket) -> bytes:
    """The ESC/POS bytes of one acopio ticket (text, a native QR, paper cut)."""
    d = Dummy()
    d.hw("INIT")
    d.set(align="center", bold=True)
    d.textln("PREP - ACUSE DE ACOPIO")
    d.set(align="center", bold=True, double_width=True, double_height=True)
    d.textln(ticket.clave_acta)
    d.set(align="center", normal_textsize=True, bold=False)
    d.textln(ticket.eleccion)
    d.textln(f"Distrito {ticket.distrito:02d}  Sección {ticket.seccion:04d}  "
             f"Casilla {ticket.casilla}")
    d.set(align="center", bold=True)
    d.textln(f"Acopio: {local_time(ticket)}")
    d.set(align="center", bold=False)
    d.textln("(hora de la Ciudad de México)")
    d.ln()
    # Native: the printer draws the QR itself (GS ( k), sharp at any dot density.
    d.qr(ticket.qr_text, ec=QR_ECLEVEL_M, size=6, native=True)
    d.ln()
    d.set(align="left")
    d.textln(f"Estación: {ticket.station}")
    d.textln(f"Operador: {ticket.operator}")
    d.cut()
    data: bytes = d.output
    return data


class EscposPrinter:
    """An ESC/POS printer reached through an escpos device class.

    ``make_device`` builds the (unopened) escpos printer; ``explain`` turns what went
    wrong into the operator's message.
    """

    def __init__(self, name: str, make_device: Callable[[], Any],
                 explain: Callable[[BaseException], PrinterError], *,
                 check_status: bool = True) -> None:
        self.name = name
        self._make_device = make_device
        self._explain = explain
        self._check_status = check_status

    def print_acopio(self, ticket: AcopioTicket) -> None:
        data = ticket_escpos(ticket)
        device = None
        try:
            device = self._make_device()
            device.open()
            if self._check_status:
                _check_paper(device, self.name)
            device._raw(data)
        except PrinterError:
            raise
        except Exception as exc:  # escpos and its transports raise many kinds; all say why
            log.warning("printer %s failed: %r (context %r)", self.name, exc,
                        exc.__context__)
            raise self._explain(exc) from exc
        finally:
            if device is not None:
                _close_quietly(device)


def _check_paper(device: Any, name: str) -> None:
    device._raw(RT_STATUS_PAPER)
    answer: bytes = bytes(device._read())
    if not answer:
        raise PrinterError(f"La impresora {name} cerró la conexión sin responder. "
                           f"{ACOPIO_DONE} Apáguela y enciéndala, y reimprima.")
    status = answer[-1]
    if status & 0x60:  # bits 5-6: paper end sensor
        raise PrinterError(f"La impresora {name} no tiene papel. {ACOPIO_DONE} Cargue un "
                           "rollo nuevo y reimprima el acuse.")
    if status & 0x0C:  # bits 2-3: paper near end; the ticket still prints
        log.warning("printer %s: paper near end", name)


def _close_quietly(device: Any) -> None:
    try:
        device.close()
    except Exception as exc:  # the outcome is already decided; closing must not hide it
        log.debug("closing printer: %r", exc)


def _root_cause(exc: BaseException) -> BaseException:
    """escpos wraps the transport's error in DeviceNotFoundError (as its context)."""
    context: BaseException | None = exc.__context__
    if isinstance(exc, DeviceNotFoundError) and context is not None:
        return context
    return exc


# network ----------------------------------------------------------------------------

_HOST_PORT = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\s]+))(?::(?P<port>\d{1,5}))?")


def network_printer(address: str, *, timeout: float, check_status: bool = True) -> EscposPrinter:
    """``red:HOST[:PORT]``: an ESC/POS printer on raw TCP (port 9100 by default)."""
    m = _HOST_PORT.fullmatch(address.strip())
    port = int(m.group("port")) if m and m.group("port") else DEFAULT_PORT
    if m is None or not 0 < port < 65536:
        raise PrinterError(f"La dirección de la impresora de red «{address}» no es válida: "
                           "escriba HOST o HOST:PUERTO (por ejemplo 192.168.1.50:9100).")
    host = m.group("v6") or m.group("host")
    where = f"{host}:{port}"
    name = f"red:{where}"

    def explain(exc: BaseException) -> PrinterError:
        cause = _root_cause(exc)
        if isinstance(cause, TimeoutError):
            return PrinterError(f"La impresora de red {where} no respondió en {timeout:g} s. "
                                f"{ACOPIO_DONE} Revise que esté encendida, con papel y sin "
                                "atascos, y reimprima.")
        if isinstance(cause, ConnectionRefusedError):
            return PrinterError(f"La impresora de red {where} rechazó la conexión. "
                                f"{ACOPIO_DONE} Revise que esté encendida y que el puerto "
                                f"{port} sea el correcto, y reimprima.")
        if isinstance(cause, socket.gaierror):
            return PrinterError(f"No se encontró la impresora de red «{host}» (el nombre no "
                                f"existe en la red). {ACOPIO_DONE} Revise la dirección "
                                "configurada.")
        if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH,
                                                          errno.ENETUNREACH):
            return PrinterError(f"No hay ruta de red hacia la impresora {where}. "
                                f"{ACOPIO_DONE} Revise el cable de red y la dirección.")
        if isinstance(cause, (ConnectionError, OSError)):
            return PrinterError(f"Se perdió la conexión con la impresora de red {where} "
                                f"({cause}). {ACOPIO_DONE} Revísela y reimprima.")
        return PrinterError(f"La impresora de red {where} falló ({cause}). {ACOPIO_DONE} "
                            "Revísela y reimprima.")

    return EscposPrinter(name, lambda: _Network(host, port, timeout=timeout), explain,
                         check_status=check_status)


class _Network(Network):  # type: ignore[misc]  # escpos is untyped
    """escpos's ``Network`` leaks its socket when the connection fails and hides the
    cause; ``socket.create_connection`` closes it and raises the real error (also for
    IPv6 and host names)."""

    def open(self, raise_not_found: bool = True) -> None:
        self.device = socket.create_connection((self.host, self.port), self.timeout)


# USB --------------------------------------------------------------------------------

_USB_IDS = re.compile(r"(?:0x)?([0-9A-Fa-f]{1,4}):(?:0x)?([0-9A-Fa-f]{1,4})")


def usb_printer(ids: str, *, timeout: float, check_status: bool = True) -> EscposPrinter:
    """``usb:VID:PID`` (hexadecimal, as ``lsusb`` shows them): an ESC/POS printer on USB."""
    m = _USB_IDS.fullmatch(ids.strip())
    if m is None:
        raise PrinterError(f"La impresora USB «{ids}» no es válida: escriba el fabricante y "
                           "el producto en hexadecimal, como los muestra lsusb (por ejemplo "
                           "usb:04b8:0202).")
    vid, pid = int(m.group(1), 16), int(m.group(2), 16)
    where = f"{vid:04x}:{pid:04x}"

    def explain(exc: BaseException) -> PrinterError:
        import usb.core

        cause = _root_cause(exc)
        if isinstance(cause, usb.core.NoBackendError):
            return PrinterError("Falta la biblioteca libusb en esta estación: no se puede usar "
                                f"la impresora USB. {ACOPIO_DONE} Avise a soporte técnico "
                                "(paquete libusb-1.0-0).")
        if isinstance(cause, AssertionError) or (
                isinstance(cause, usb.core.USBError) and cause.errno == errno.ENODEV):
            return PrinterError(f"No se encontró la impresora USB {where}. {ACOPIO_DONE} "
                                "Revise que esté conectada y encendida, y reimprima.")
        if isinstance(cause, usb.core.USBError) and cause.errno in (errno.EACCES,
                                                                    errno.EPERM):
            return PrinterError(f"Sin permiso para usar la impresora USB {where}. "
                                f"{ACOPIO_DONE} Avise a soporte técnico: falta instalar las "
                                "reglas udev del paquete PREP.")
        if isinstance(cause, usb.core.USBTimeoutError) or (
                isinstance(cause, usb.core.USBError) and cause.errno == errno.ETIMEDOUT):
            return PrinterError(f"La impresora USB {where} no respondió en {timeout:g} s. "
                                f"{ACOPIO_DONE} Revise que tenga papel y no esté atascada, y "
                                "reimprima.")
        if isinstance(cause, usb.core.USBError) and cause.errno == errno.EBUSY:
            return PrinterError(f"La impresora USB {where} está ocupada por otro programa. "
                                f"{ACOPIO_DONE} Ciérrelo y reimprima.")
        return PrinterError(f"La impresora USB {where} falló ({cause}). {ACOPIO_DONE} "
                            "Desconéctela y conéctela de nuevo, y reimprima.")

    def make() -> Usb:
        # pyusb counts its timeout in milliseconds.
        return Usb(vid, pid, timeout=max(1, int(timeout * 1000)))

    return EscposPrinter(f"usb:{where}", make, explain, check_status=check_status)


# Windows spooler --------------------------------------------------------------------

def windows_printer(printer_name: str) -> EscposPrinter:
    """``windows:NAME``: a printer installed in Windows (raw ESC/POS through the
    spooler, which answers no status, so paper is not checked)."""
    if sys.platform != "win32":
        raise PrinterError("Las impresoras del administrador de impresión de Windows solo "
                           "se pueden usar en Windows. En esta estación configure "
                           "usb:VID:PID, red:HOST o pdf:CARPETA.")
    from escpos.printer import Win32Raw

    if not Win32Raw.is_usable():
        raise PrinterError("Falta el componente pywin32 para imprimir en Windows. Avise a "
                           "soporte técnico.")

    def explain(exc: BaseException) -> PrinterError:
        return PrinterError(f"La impresora de Windows «{printer_name}» falló ({exc}). "
                            f"{ACOPIO_DONE} Revise que esté instalada con ese nombre y "
                            "encendida, y reimprima.")

    return EscposPrinter(f"windows:{printer_name}", lambda: Win32Raw(printer_name), explain,
                         check_status=False)
