"""Printable actas for a simulacro with paper: one PDF per CATD, letter size.

Each page is one acta in the layout of an acta de escrutinio y cómputo: the casilla's
identification, the QR in the upper right corner (where the institute prints it, in the
pipe form :mod:`prep.qr` reads, the same text as :func:`prep.sintetico.acta_image.
acta_qr_text`), the boxes of the totals, then one row per asociación competing in the
casilla's ámbito with its label in the party's colours (a coalition shows the colours of
its parties), NO_REGISTRADAS, NULOS and the total. The boxes are blank for the
funcionarios of the simulacro to write the committee's numbers in, or pre-filled
(``rellenas``) in handwriting blue, Ilegible smudged over and Sin dato left empty.

Every page says SIMULACRO across its top: a printed test acta must never be taken for
a real one. The first page of each PDF is the CATD's control sheet: the actas in it, the
paquetes registered *sin acta* (no paper: the acopiador registers the cause) and the
fuera-de-catálogo codes, whose pages come last.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from prep.catalog.model import TIPOS_CASILLA
from prep.catalog.model import Acta
from prep.catalog.model import Asociacion
from prep.catalog.model import Casilla
from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.papel.esperados import Esperados
from prep.papel.esperados import sin_acta_caso
from prep.qr import parse_code
from prep.sintetico.acta_image import CAMPO_ETIQUETAS
from prep.sintetico.acta_image import acta_qr_text
from prep.sintetico.acta_image import numero_en_letras

PAGE_W, PAGE_H = letter
MARGIN = 36.0  # points: half an inch, inside every printer's margin
QR_MODULE = 2.2  # points per QR module: ≈6 px at 200 dpi, ≈8 px at 300
INK = colors.HexColor("#1a1a1a")
PEN = colors.HexColor("#1c3f94")  # a ballpoint's blue, for pre-filled numbers
SIMULACRO_BAND = colors.HexColor("#b3261e")

#: Party colours as their emblems show them (synthetic catalogs use these keys).
COLORES_PARTIDO: Mapping[str, str] = {
    "PAN": "#0a4ea2", "PRI": "#d2232a", "PRD": "#ffd400", "PVEM": "#3aa935",
    "PT": "#e1261c", "MC": "#ff7f00", "MORENA": "#a0193c",
}
_PALETA = ("#6a4c93", "#1982c4", "#8ac926", "#ff595e", "#ffca3a", "#2a9d8f", "#e76f51")

ETIQUETAS_PREVIOS: Mapping[str, str] = {
    **CAMPO_ETIQUETAS,
    "TOTAL_BOLETAS_SOBRANTES": "BOLETAS SOBRANTES DE LA ELECCIÓN",
    "TOTAL_PERSONAS_VOTARON": "PERSONAS QUE VOTARON",
    "TOTAL_REP_PARTIDO_CI_VOTARON": "REPRESENTANTES DE PARTIDOS QUE VOTARON",
    "TOTAL_VOTOS_SACADOS": "VOTOS SACADOS DE LAS URNAS",
    "TOTAL_VOTOS_ASENTADO": "TOTAL",
}


def catd_pdf_name(distrito: int) -> str:
    """``actas_CATD_<NN>.pdf``: the actas of the casillas of distrito ``NN``."""
    return f"actas_CATD_{distrito:02d}.pdf"


@dataclass(frozen=True)
class PaginaActa:
    """One printed page: the acta, its QR text and what is pre-filled (or nothing)."""

    acta: Acta
    qr: str
    valores: Mapping[str, str] | None
    nota: str = ""  # on the control sheet only (e.g. "fuera de catálogo")


@dataclass(frozen=True)
class PdfCatd:
    """What one CATD's PDF holds: the acta pages in order and the sin acta registrations."""

    distrito: int
    paginas: list[PaginaActa]
    sin_acta: list[tuple[str, str]]  # (CLAVE_ACTA, the OBSERVACIONES to register)

    @property
    def primera(self) -> int:
        """The page number of the first acta (after the control sheet)."""
        return paginas_de_control(len(self.paginas) + len(self.sin_acta)) + 1


def plan_catd(esperados: Esperados, rellenas: bool = False) -> list[PdfCatd]:
    """The content of every CATD's PDF, in distrito order (CATDs with nothing left out)."""
    catalog = esperados.catalog
    por_catd = {d.id: PdfCatd(d.id, [], []) for d in catalog.distritos}
    for acta in catalog.iter_actas():
        e = esperados.actas[acta.clave]
        if sin_acta_caso(e.caso):
            por_catd[e.catd].sin_acta.append((acta.clave, e.observaciones))
            continue
        por_catd[e.catd].paginas.append(PaginaActa(acta, acta_qr_text(acta),
                                                   e.valores if rellenas else None))
    primero = por_catd[min(por_catd)]  # fuera-de-catálogo paper goes to the first CATD
    for fuera in esperados.fuera:
        primero.paginas.append(PaginaActa(_acta_fuera(catalog, fuera.codigo_leido),
                                          fuera.codigo_leido, None, "fuera de catálogo"))
    return [p for _, p in sorted(por_catd.items()) if p.paginas or p.sin_acta]


def write_catd_pdfs(esperados: Esperados, out: Path, rellenas: bool = False) -> list[Path]:
    """One PDF per CATD (distrito) under ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for plan in plan_catd(esperados, rellenas):
        path = out / catd_pdf_name(plan.distrito)
        _write_pdf(path, esperados.catalog, plan)
        written.append(path)
    return written


def _write_pdf(path: Path, catalog: Catalog, plan: PdfCatd) -> None:
    distrito, paginas, sin_acta = plan.distrito, plan.paginas, plan.sin_acta
    rellenas = any(p.valores is not None for p in paginas)
    canvas = Canvas(str(path), pagesize=letter, pageCompression=1)
    canvas.setTitle(f"SIMULACRO · Actas del CATD del distrito {distrito:02d}")
    canvas.setAuthor("PREP, simulacro con papel")
    canvas.setCreator("prep simulacro preparar")
    primera = plan.primera
    _control(canvas, catalog, distrito, paginas, sin_acta, rellenas, primera)
    for numero, pagina in enumerate(paginas, start=primera):
        _acta_page(canvas, catalog, pagina, numero)
    canvas.save()


#: The control sheet's rows: height, where the first row of its first and later pages is
#: drawn, and the lowest row.
_FILA = 10.0
_Y_PRIMERA = PAGE_H - 134
_Y_SIGUIENTES = PAGE_H - 50
_Y_MIN = MARGIN + 10


def paginas_de_control(filas: int) -> int:
    """Pages of a control sheet of ``filas`` rows (the actas' pages come after)."""
    primera = int((_Y_PRIMERA - _Y_MIN) // _FILA) + 1
    siguientes = int((_Y_SIGUIENTES - _Y_MIN) // _FILA) + 1
    return 1 if filas <= primera else 1 + math.ceil((filas - primera) / siguientes)


def _banner(canvas: Canvas, derecha: str) -> None:
    """SIMULACRO across the top of the page."""
    canvas.setFillColor(SIMULACRO_BAND)
    canvas.rect(0, PAGE_H - 24, PAGE_W, 24, stroke=0, fill=1)
    canvas.setFillColor(colors.white)
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(MARGIN, PAGE_H - 16, "SIMULACRO — DOCUMENTO DE PRUEBA SIN VALIDEZ")
    canvas.setFont("Helvetica", 8)
    canvas.drawRightString(PAGE_W - MARGIN, PAGE_H - 16, derecha)


def _control(canvas: Canvas, catalog: Catalog, distrito: int,
             paginas: Sequence[PaginaActa], sin_acta: Sequence[tuple[str, str]],
             rellenas: bool, primera: int) -> None:
    """The CATD's control sheet (from page 1; the actas start at page ``primera``)."""
    cabecera = catalog.distrito_por_id[distrito].cabecera
    _banner(canvas, f"CATD del distrito {distrito:02d}")
    y = PAGE_H - 60
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica-Bold", 15)
    canvas.drawString(MARGIN, y, f"Hoja de control · CATD del distrito {distrito:02d} "
                      f"({cabecera})")
    y -= 18
    canvas.setFont("Helvetica", 9)
    forma = ("con los números ya escritos (simulacro de captura)" if rellenas else
             "en blanco: las y los funcionarios escriben los números de la base de "
             "resultados esperados")
    for linea in (f"{catalog.entidad}, elección del {catalog.fecha_eleccion}. "
                  f"{len(paginas)} actas impresas,", f"{forma}.",
                  f"{len(sin_acta)} paquetes se registran sin acta (no hay papel: el "
                  "acopiador registra la causa indicada)."):
        canvas.drawString(MARGIN, y, linea)
        y -= 13
    y -= 6
    filas: list[tuple[str, str, str]] = [
        (str(n), p.acta.clave if not p.nota else p.qr,
         p.nota or p.acta.eleccion.nombre) for n, p in enumerate(paginas, start=primera)]
    filas += [("—", clave, f"sin acta: {causa}") for clave, causa in sin_acta]
    canvas.setFont("Helvetica-Bold", 8)
    columnas = (MARGIN, MARGIN + 40, MARGIN + 150)
    for x, texto in zip(columnas, ("Página", "Clave del acta", "Elección / registro"),
                        strict=True):
        canvas.drawString(x, y, texto)
    y = _Y_PRIMERA
    canvas.setFont("Helvetica", 8)
    for fila in filas:
        if y < _Y_MIN:
            canvas.showPage()
            _banner(canvas, f"CATD del distrito {distrito:02d} · hoja de control")
            canvas.setFillColor(INK)
            canvas.setFont("Helvetica", 8)
            y = _Y_SIGUIENTES
        for x, texto in zip(columnas, fila, strict=True):
            canvas.drawString(x, y, texto)
        y -= _FILA
    canvas.showPage()


def _acta_page(canvas: Canvas, catalog: Catalog, pagina: PaginaActa, numero: int) -> None:
    acta = pagina.acta
    c, e = acta.casilla, acta.eleccion
    _banner(canvas, f"Distrito {c.distrito_id:02d} · página {numero}")
    canvas.setFillColor(INK)
    top = PAGE_H - 40
    canvas.setFont("Helvetica-Bold", 12)
    canvas.drawString(MARGIN, top - 14, "ACTA DE ESCRUTINIO Y CÓMPUTO DE CASILLA")
    canvas.setFont("Helvetica-Bold", 10)
    # A fuera-de-catálogo code may name no election this catalog has.
    conocida = not pagina.nota or parse_code(pagina.qr).eleccion == e.codigo
    canvas.drawString(MARGIN, top - 29, f"ELECCIÓN DE {e.nombre}" if conocida
                      else "ELECCIÓN: ________________________")
    canvas.setFont("Helvetica", 7.5)
    canvas.drawString(MARGIN, top - 41, f"TIPO DE ACTA {acta.tipo_acta} · {catalog.entidad}")
    # Identification boxes, left of the QR.
    casilla = f"{TIPOS_CASILLA.get(c.tipo, c.tipo).upper()} {c.id_casilla:02d}"
    if c.ext_contigua:
        casilla += f" EXT. {c.ext_contigua:02d}"
    datos = (("ENTIDAD", f"{c.entidad_id:02d}"), ("DISTRITO LOCAL", f"{c.distrito_id:02d}"),
             ("SECCIÓN", f"{c.seccion:04d}"), ("CASILLA", casilla))
    x, y, w, h = MARGIN, top - 82, 88.0, 32.0
    for (label, value), width in zip(datos, (w, w, w, 150.0), strict=True):
        canvas.setLineWidth(0.8)
        canvas.rect(x, y, width, h, stroke=1, fill=0)
        canvas.setFont("Helvetica", 6.5)
        canvas.drawString(x + 4, y + h - 9, label)
        canvas.setFont("Helvetica-Bold", 11)
        canvas.drawString(x + 4, y + 7, value)
        x += width + 6
    side = _draw_qr(canvas, pagina.qr, PAGE_W - MARGIN, top)
    canvas.setFont("Courier", 6.5)
    canvas.drawRightString(PAGE_W - MARGIN, top - side - 8, acta.clave if not pagina.nota
                           else pagina.qr)
    _fields(canvas, acta, pagina.valores, top - side - 22)
    canvas.setFont("Helvetica", 6.5)
    canvas.setFillColor(INK)
    canvas.drawString(MARGIN, MARGIN - 14, "Escriba cada cantidad con número y con letra. "
                      "Si no se puede leer, la captura será «Ilegible»; si no se escribió, "
                      "«Sin dato».")
    canvas.showPage()


def _draw_qr(canvas: Canvas, text: str, right: float, top: float) -> float:
    """The QR (error correction M, quiet zone of 4 modules) as vector squares, its top
    right corner at (``right``, ``top``); its side in points."""
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    matrix = code.to_image(scale=1, add_quiet_zones=False)
    n = int(matrix.shape[1])
    pixels = bytes(memoryview(matrix))  # type: ignore[arg-type]  # a buffer
    quiet = 4
    side = (n + 2 * quiet) * QR_MODULE
    x0, y0 = right - side, top - side
    canvas.setFillColor(colors.white)
    canvas.rect(x0, y0, side, side, stroke=0, fill=1)
    canvas.setFillColor(colors.black)
    for row in range(n):
        col = 0
        while col < n:
            if pixels[row * n + col] < 128:
                start = col
                while col < n and pixels[row * n + col] < 128:
                    col += 1
                canvas.rect(x0 + (quiet + start) * QR_MODULE,
                            top - (quiet + row + 1) * QR_MODULE,
                            (col - start) * QR_MODULE, QR_MODULE, stroke=0, fill=1)
            else:
                col += 1
    return side


def _fields(canvas: Canvas, acta: Acta, valores: Mapping[str, str] | None,
            top: float) -> None:
    """The rows of the acta: totals, asociaciones, no registradas, nulos, total."""
    e = acta.eleccion
    campos = acta.layout.campos
    por_clave = {a.clave: a for a in e.asociaciones}
    bottom = MARGIN
    row = min(26.0, (top - bottom) / (len(campos) + 2))
    x_label, x_num, x_words, x_end = MARGIN, MARGIN + 250, MARGIN + 330, PAGE_W - MARGIN
    y = top
    canvas.setFont("Helvetica-Bold", 7)
    canvas.setFillColor(INK)
    canvas.drawString(x_num + 4, y - 9, "CON NÚMERO")
    canvas.drawString(x_words + 4, y - 9, "CON LETRA")
    y -= 12
    for campo in campos:
        y -= row
        asociacion = por_clave.get(campo)
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(0.7)
        canvas.rect(x_label, y, x_end - x_label, row - 2, stroke=1, fill=0)
        canvas.line(x_num, y, x_num, y + row - 2)
        canvas.line(x_words, y, x_words, y + row - 2)
        if asociacion is not None:
            _emblema(canvas, asociacion, x_label + 3, y + 2, row - 6)
            canvas.setFillColor(INK)
            x_nombre = x_label + 3 + 2.2 * (row - 6) + 6
            nombre = _nombre(asociacion, e)
            size = min(7.0, 7.0 * (x_num - x_nombre - 4)
                       / max(1.0, canvas.stringWidth(nombre, "Helvetica", 7.0)))
            canvas.setFont("Helvetica", size)
            canvas.drawString(x_nombre, y + (row - 2) / 2 - 2.5, nombre)
        else:
            canvas.setFillColor(INK)
            canvas.setFont("Helvetica-Bold", 7.5)
            canvas.drawString(x_label + 5, y + (row - 2) / 2 - 2.5,
                              ETIQUETAS_PREVIOS.get(campo, campo))
        if valores is not None:
            _escrito(canvas, valores.get(campo, "Sin dato"), x_num, x_words, x_end, y, row)


def _emblema(canvas: Canvas, asociacion: Asociacion, x: float, y: float, h: float) -> None:
    """The party's emblem as a coloured label with its name: a coalition shows one
    stripe per party."""
    w = 2.2 * h
    partidos = asociacion.partidos or (asociacion.clave,)
    stripe = w / len(partidos)
    for i, partido in enumerate(partidos):
        canvas.setFillColor(colors.HexColor(_color(partido)))
        canvas.rect(x + i * stripe, y, stripe, h, stroke=0, fill=1)
    canvas.setStrokeColor(INK)
    canvas.setLineWidth(0.5)
    canvas.rect(x, y, w, h, stroke=1, fill=0)
    texto = asociacion.clave.replace("_", "-")
    size = min(7.5, h * 0.45)
    size = min(size, size * (w - 3) / max(1.0, canvas.stringWidth(texto, "Helvetica-Bold",
                                                                 size)))
    if len(partidos) > 1:  # text over stripes of several colours: on a white band
        canvas.setFillColor(colors.white)
        canvas.rect(x + 1, y + h / 2 - size * 0.6, w - 2, size * 1.2, stroke=0, fill=1)
        canvas.setFillColor(INK)
    else:
        canvas.setFillColor(INK if _claro(_color(partidos[0])) else colors.white)
    canvas.setFont("Helvetica-Bold", size)
    canvas.drawCentredString(x + w / 2, y + h / 2 - size / 3, texto)


def _nombre(asociacion: Asociacion, eleccion: Eleccion) -> str:
    if asociacion.nombre and asociacion.nombre != asociacion.clave:
        return asociacion.nombre
    if len(asociacion.partidos) > 1:
        return "Coalición " + " - ".join(asociacion.partidos)
    return asociacion.clave


def _color(partido: str) -> str:
    known = COLORES_PARTIDO.get(partido)
    if known:
        return known
    digest = hashlib.sha256(partido.encode()).digest()
    return _PALETA[digest[0] % len(_PALETA)]


def _claro(hexa: str) -> bool:
    r, g, b = (int(hexa[i:i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b > 160


def _escrito(canvas: Canvas, texto: str, x_num: float, x_words: float, x_end: float,
             y: float, row: float) -> None:
    """A pre-filled value as a funcionario writes it: number and words, Ilegible as a
    smudge over both, Sin dato as nothing."""
    if texto == "Sin dato" or texto == "N/A":
        return
    base = y + (row - 2) / 2 - 4
    if texto == "Ilegible":
        canvas.setFillColor(colors.HexColor("#3a3a3a"))
        for i in range(6):
            canvas.ellipse(x_num + 6 + i * 42, y + 2, x_num + 60 + i * 42, y + row - 4,
                           stroke=0, fill=1)
        return
    canvas.setFillColor(PEN)
    canvas.setFont("Helvetica-Oblique", min(14, row * 0.6))
    canvas.drawString(x_num + 8, base, texto)
    canvas.setFont("Helvetica-Oblique", min(10, row * 0.45))
    canvas.drawString(x_words + 6, base, numero_en_letras(int(texto)))


def _acta_fuera(catalog: Catalog, codigo: str) -> Acta:
    """An acta for a code the catalog does not have: printed with the layout of its
    election (the first election's when the code names none the catalog has)."""
    p = parse_code(codigo)
    eleccion = catalog.eleccion_por_codigo.get(p.eleccion, catalog.elecciones[0])
    modelo = catalog.casillas_ordenadas[0]
    casilla = Casilla(p.entidad, modelo.distrito_id, modelo.demarcacion_id, p.seccion,
                      p.tipo_casilla, p.id_casilla, p.ext_contigua, 0, 0, 0, 1)
    return Acta(casilla, eleccion)
