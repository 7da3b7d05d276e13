"""The practice actas on paper (``prep capacitacion imprimir``): one letter page per
practice acta, the acta's own image (the one of the digitalizadores' folder, with its
training QR) under a large CAPACITACIÓN across the page and a band along its top, so that
neither a person nor a scanner can take a printed practice acta for a real one
(issue 62). A scanner that reads the page at a real station finds the training mark in
the QR (:mod:`prep.qr`) and the station refuses it.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from prep.capacitacion.practica import IMAGES_DIR
from prep.capacitacion.practica import Practica
from prep.capacitacion.practica import PracticeError

MARCA = "CAPACITACIÓN"
BANDA = "CAPACITACIÓN · ACTA DE PRÁCTICA SIN VALIDEZ · NO ES UN ACTA DE LA ELECCIÓN"
ROJO = colors.HexColor("#b3261e")
PAGE_W, PAGE_H = letter
BAND_H = 26.0


def write_actas_pdf(directory: Path, practica: Practica, out: Path) -> int:
    """The practice actas of ``directory`` into the PDF ``out``; how many pages."""
    images = directory / IMAGES_DIR
    canvas = Canvas(str(out), pagesize=letter, pageCompression=1)
    canvas.setTitle(f"{MARCA} · Actas de práctica ({practica.station_id})")
    canvas.setAuthor("PREP, capacitación")
    canvas.setCreator("prep capacitacion imprimir")
    for acta in practica.actas:
        path = images / f"{acta.clave}.jpg"
        if not path.is_file():
            raise PracticeError(f"Falta la imagen del acta de práctica {acta.clave} en "
                                f"{images}; prepare la práctica de nuevo.")
        _page(canvas, ImageReader(str(path)))
        canvas.showPage()
    canvas.save()
    return len(practica.actas)


def _page(canvas: Canvas, image: ImageReader) -> None:
    # The acta below the band, its proportions kept (letter, as it was rendered).
    height = PAGE_H - BAND_H
    width = min(PAGE_W, height * PAGE_W / PAGE_H)
    canvas.drawImage(image, (PAGE_W - width) / 2, 0, width=width, height=height)
    canvas.setFillColor(ROJO)
    canvas.rect(0, PAGE_H - BAND_H, PAGE_W, BAND_H, stroke=0, fill=1)
    canvas.setFillColor(colors.white)
    canvas.setFont("Helvetica-Bold", 12)
    canvas.drawCentredString(PAGE_W / 2, PAGE_H - BAND_H + 8, BANDA)
    # Across the middle of the page, translucent so the acta stays legible; clear of
    # the QR in the upper right corner.
    canvas.saveState()
    canvas.setFillColor(ROJO)
    canvas.setFillAlpha(0.35)
    canvas.translate(PAGE_W / 2, PAGE_H * 0.40)
    canvas.rotate(35)
    canvas.setFont("Helvetica-Bold", 78)
    canvas.drawCentredString(0, 0, MARCA)
    canvas.restoreState()
