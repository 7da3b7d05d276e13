"""The acopio ticket as a small PDF label (``pdf:DIR``): for sites without a thermal
printer, for drills, and as a record a coordinator can reprint from any office printer.

One file per ticket, ``acopio_<CLAVE_ACTA>_<YYYYmmdd-HHMMSS>.pdf`` (Mexico City time), in
``DIR``. The file appears whole or not at all: it is written to a hidden temporary file
in the same directory, flushed to disk and renamed into place.
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import segno
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from prep.durable import fsync_dir
from prep.durable import write_temporary
from prep.station.blobs import DISK_FULL_ERRNOS
from prep.station.printing import MEXICO_CITY
from prep.station.printing import AcopioTicket
from prep.station.printing import PrinterError
from prep.station.printing import local_time

PAGE_WIDTH = 80 * mm  # the width of a common thermal roll, so the PDF prints the same
PAGE_HEIGHT = 110 * mm
QR_SIZE = 34 * mm
MAX_TEXT = 60  # characters of a free-text field that fit on a line of the label


class PdfPrinter:
    """Writes each ticket as a PDF label into ``directory`` (created if missing)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.name = f"pdf:{self.directory}"
        #: The file the last successful :meth:`print_acopio` wrote.
        self.last_path: Path | None = None

    def print_acopio(self, ticket: AcopioTicket) -> None:
        data = render_label(ticket)
        local = ticket.acopio_at.astimezone(MEXICO_CITY)
        stem = f"acopio_{_safe(ticket.clave_acta)}_{local:%Y%m%d-%H%M%S}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.last_path = _write_new(self.directory, stem, data)
        except OSError as exc:
            raise _pdf_error(self.directory, exc) from exc


def render_label(ticket: AcopioTicket) -> bytes:
    """The PDF bytes of one acopio label."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1)
    c.setTitle(f"Acuse de acopio {ticket.clave_acta}")
    c.setAuthor(ticket.station)
    center = PAGE_WIDTH / 2
    y = PAGE_HEIGHT - 9 * mm
    c.setFont("Helvetica-Bold", 9)
    c.drawCentredString(center, y, "PREP · ACUSE DE ACOPIO")
    y -= 9 * mm
    c.setFont("Helvetica-Bold", 19)
    c.drawCentredString(center, y, ticket.clave_acta)
    y -= 6 * mm
    c.setFont("Helvetica", 9)
    c.drawCentredString(center, y, _fit(ticket.eleccion))
    y -= 4.5 * mm
    c.drawCentredString(center, y, f"Distrito {ticket.distrito:02d} · Sección "
                                   f"{ticket.seccion:04d} · Casilla {_fit(ticket.casilla)}")
    y -= 5.5 * mm
    c.setFont("Helvetica-Bold", 10)
    c.drawCentredString(center, y, f"Acopio: {local_time(ticket)}")
    y -= 4 * mm
    c.setFont("Helvetica", 7)
    c.drawCentredString(center, y, "hora de la Ciudad de México")
    y -= 2 * mm + QR_SIZE
    c.drawImage(ImageReader(io.BytesIO(qr_png(ticket.qr_text))), center - QR_SIZE / 2, y,
                QR_SIZE, QR_SIZE)
    y -= 5 * mm
    c.setFont("Helvetica", 8)
    c.drawCentredString(center, y, f"Estación: {_fit(ticket.station)}")
    y -= 4 * mm
    c.drawCentredString(center, y, f"Operador: {_fit(ticket.operator)}")
    c.showPage()
    c.save()
    return buf.getvalue()


def qr_png(text: str) -> bytes:
    """The label QR as a 1-bit PNG with its quiet zone (error correction M)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def _write_new(directory: Path, stem: str, data: bytes) -> Path:
    """Write ``data`` durably as a new file (never over an earlier label)."""
    tmp = write_temporary(directory, data, prefix=f".{stem}.", suffix=".tmp")
    try:
        for n in range(1000):  # a reprint in the same second keeps the earlier label
            target = directory / (f"{stem}.pdf" if n == 0 else f"{stem}-{n}.pdf")
            if not target.exists():
                break
        else:
            raise FileExistsError(errno.EEXIST, "demasiadas etiquetas con el mismo nombre")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(directory)
    return target


def _pdf_error(directory: Path, exc: OSError) -> PrinterError:
    if exc.errno in DISK_FULL_ERRNOS:
        return PrinterError(f"El disco está lleno: no se guardó el acuse en PDF en {directory}."
                            " El acopio sí quedó registrado. Libere espacio y reimprima.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PrinterError(f"Sin permiso para escribir el acuse en PDF en {directory}. El "
                            "acopio sí quedó registrado. Configure una carpeta con permiso de "
                            "escritura y reimprima.")
    return PrinterError(f"No se pudo guardar el acuse en PDF en {directory} "
                        f"({exc.strerror or exc}). El acopio sí quedó registrado. Revise la "
                        "carpeta configurada y reimprima.")


def _fit(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def _safe(text: str) -> str:
    """A file-name-safe form of a clave (it is validated upstream, but a file name must
    never follow a path separator whatever it holds)."""
    return "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in text)[:32]
