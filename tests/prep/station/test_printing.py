"""Printing the acopio ticket: the PDF label (its text and a QR that decodes), ESC/POS
bytes over a real TCP connection to a printer emulator on loopback, and the operator's
message for each failure (no USB device, refused connection, a printer that never
answers, no paper, a bad spec, the Windows spooler off Windows)."""

from __future__ import annotations

import io
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from prep.station.printing import AcopioTicket
from prep.station.printing import FakePrinter
from prep.station.printing import PrinterError
from prep.station.printing import open_printer
from prep.station.printing.pdf import PdfPrinter
from tests.harness.espera import holgado

PAPER_OK = b"\x12"
PAPER_OUT = b"\x72"
STATUS_QUERY = b"\x10\x04\x04"


def _ticket(**changes: object) -> AcopioTicket:
    base: dict[str, object] = {
        "clave_acta": "090123B010001", "eleccion": "JEFATURA DE GOBIERNO", "distrito": 7,
        "seccion": 123, "casilla": "B01",
        # 02:05 UTC on 3 June is 20:05 of 2 June in Mexico City (UTC-6).
        "acopio_at": datetime(2024, 6, 3, 2, 5, 9, tzinfo=UTC),
        "station": "catd-07-a", "operator": "Ana Acopio", "qr_text": "PREP1|090123B010001"}
    base.update(changes)
    return AcopioTicket(**base)  # type: ignore[arg-type]


class PrinterEmulator:
    """A raw-TCP (port 9100 style) ESC/POS printer on loopback: keeps every byte it is
    sent and answers the paper-status query with ``status`` (``None``: it accepts the
    connection and never reads, like a hung printer)."""

    def __init__(self, status: bytes | None = PAPER_OK) -> None:
        self.status = status
        self.received = bytearray()
        self.done = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._server.accept()
        with conn:
            if self.status is None:
                self.done.wait(30)  # hold the connection open, reading nothing
                return
            answered = False
            while chunk := conn.recv(4096):
                self.received += chunk
                if not answered and STATUS_QUERY in self.received:
                    conn.sendall(self.status)
                    answered = True
        self.done.set()

    def close(self) -> None:
        self.done.set()
        self._server.close()
        self._thread.join(5)


@pytest.fixture
def emulator() -> Iterator[PrinterEmulator]:
    printer = PrinterEmulator()
    yield printer
    printer.close()


def test_the_pdf_label_shows_the_acta_time_station_operator_and_a_qr(tmp_path: Path) -> None:
    printer = open_printer(f"pdf:{tmp_path / 'acuses'}")
    printer.print_acopio(_ticket())
    files = list((tmp_path / "acuses").iterdir())
    assert [f.name for f in files] == ["acopio_090123B010001_20240602-200509.pdf"]
    page = PdfReader(files[0]).pages[0]
    text = page.extract_text()
    for expected in ("090123B010001", "JEFATURA DE GOBIERNO", "Distrito 07", "Sección 0123",
                     "Casilla B01", "02/06/2024 20:05:09", "catd-07-a", "Ana Acopio"):
        assert expected in text
    images = list(page.images)
    assert len(images) == 1
    qr = Image.open(io.BytesIO(images[0].data))
    decoded = zxingcpp.read_barcodes(qr, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in decoded] == ["PREP1|090123B010001"]


def test_a_reprint_in_the_same_second_keeps_both_labels(tmp_path: Path) -> None:
    printer = PdfPrinter(tmp_path)
    printer.print_acopio(_ticket())
    first = printer.last_path
    printer.print_acopio(_ticket(operator="Otra Persona"))
    assert first is not None and printer.last_path is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "acopio_090123B010001_20240602-200509-1.pdf", "acopio_090123B010001_20240602-200509.pdf"]
    assert "Ana Acopio" in PdfReader(first).pages[0].extract_text()
    assert "Otra Persona" in PdfReader(printer.last_path).pages[0].extract_text()


def test_a_pdf_folder_that_cannot_be_written_is_explained(tmp_path: Path) -> None:
    blocker = tmp_path / "no-es-carpeta"
    blocker.write_text("un archivo ocupa el nombre")
    with pytest.raises(PrinterError, match=r"No se pudo guardar el acuse en PDF .* El acopio sí "
                                           r"quedó registrado"):
        open_printer(f"pdf:{blocker}").print_acopio(_ticket())
    assert [p.name for p in tmp_path.iterdir()] == ["no-es-carpeta"]


def test_a_network_printer_receives_the_text_and_a_native_qr(
        emulator: PrinterEmulator) -> None:
    printer = open_printer(f"red:127.0.0.1:{emulator.port}")
    assert printer.name == f"red:127.0.0.1:{emulator.port}"
    printer.print_acopio(_ticket())
    assert emulator.done.wait(holgado(60))
    data = bytes(emulator.received)
    assert data.startswith(STATUS_QUERY + b"\x1b@")  # status first, then ESC @ (init)
    for text in (b"090123B010001", b"JEFATURA DE GOBIERNO", b"02/06/2024 20:05:09",
                 b"catd-07-a", b"Ana Acopio"):
        assert text in data
    # GS ( k: store the QR data (function 80), then print it (function 81).
    payload = b"PREP1|090123B010001"
    assert b"\x1d(k" + bytes([len(payload) + 3, 0]) + b"1P0" + payload in data
    assert b"\x1d(k\x03\x001Q0" in data
    assert data.endswith(b"\x1dV\x00")  # cut


def test_a_network_printer_without_paper_is_reported() -> None:
    emulator = PrinterEmulator(status=PAPER_OUT)
    try:
        with pytest.raises(PrinterError, match=r"no tiene papel.*Cargue un rollo nuevo"):
            open_printer(f"red:127.0.0.1:{emulator.port}").print_acopio(_ticket())
        assert emulator.done.wait(holgado(60))
        assert b"090123B010001" not in emulator.received
    finally:
        emulator.close()


def test_a_network_printer_that_never_answers_times_out_with_a_message() -> None:
    emulator = PrinterEmulator(status=None)
    try:
        printer = open_printer(f"red:127.0.0.1:{emulator.port}", timeout=0.5)
        outcome: list[BaseException | None] = []

        def attempt() -> None:
            try:
                printer.print_acopio(_ticket())
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(20)  # a generous bound: the printer's own timeout is 0.5 s
        assert not worker.is_alive(), "printing stayed blocked on a silent printer"
        assert isinstance(outcome[0], PrinterError)
        assert "no respondió en 0.5 s" in str(outcome[0])
        assert "El acopio sí quedó registrado" in str(outcome[0])
    finally:
        emulator.close()


def test_a_refused_network_connection_is_explained() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(PrinterError, match=rf"127\.0\.0\.1:{port} rechazó la conexión"):
        open_printer(f"red:127.0.0.1:{port}").print_acopio(_ticket())


def test_a_missing_usb_printer_is_explained() -> None:
    printer = open_printer("usb:04b8:0202")
    with pytest.raises(PrinterError, match=r"No se encontró la impresora USB 04b8:0202.*"
                                           r"Revise que esté conectada y encendida"):
        printer.print_acopio(_ticket())


@pytest.mark.parametrize("spec", ["", "laser", "usb:epson", "usb:04b8", "red:", "pdf:",
                                  "red:host:99999", "fake:extra"])
def test_a_malformed_spec_says_what_is_expected(spec: str) -> None:
    with pytest.raises(PrinterError, match=r"no (está bien configurada|es válida)"):
        open_printer(spec)


def test_the_windows_spooler_off_windows_is_a_clear_error() -> None:
    assert sys.platform != "win32"  # CI and the stations run Linux
    with pytest.raises(PrinterError, match=r"solo se pueden usar en Windows"):
        open_printer("windows:EPSON TM-T20")


def test_the_fake_printer_keeps_tickets_and_fails_on_demand() -> None:
    printer = open_printer("fake")
    assert isinstance(printer, FakePrinter)
    printer.print_acopio(_ticket())
    assert [t.clave_acta for t in printer.printed] == ["090123B010001"]
    printer.fail_with = "Sin papel"
    with pytest.raises(PrinterError, match=r"Sin papel"):
        printer.print_acopio(_ticket())
