"""A real corte directory with its public site, for the site's tests and screenshots.

Built the way the drill builds one (generated catalog, simulated night), plus what the
drill does not have yet: an image for every captured acta (a PNG drawn with Pillow that
looks like an acta and carries its numbers) whose SHA-256 is the CODIGO_INTEGRIDAD.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import threading
import unicodedata
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from prep.catalog import Acta
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.corte.anexo import TZ
from prep.corte.difusores import DIFUSORES
from prep.corte.difusores import Fila as FilaDifusor
from prep.corte.difusores import difusores_csv
from prep.corte.historial import HISTORIAL
from prep.corte.historial import CorreccionPublicada
from prep.corte.historial import Historial
from prep.corte.historial import filas_por_acta
from prep.corte.historial import historial_csv
from prep.corte.model import ActaEnCorte
from prep.corte.package import build_corte_files
from prep.corte.package import corte_dirname
from prep.corte.salud_catd import AVANCE_CATD
from prep.corte.salud_catd import LecturaCatd
from prep.corte.salud_catd import filas_catd
from prep.corte.salud_catd import salud_csv
from prep.corte.site import difusores_files
from prep.corte.site import site_files
from prep.corte.site_datos import parse_data_file
from prep.corte.summary import TablaEleccion
from prep.corte.trayectoria import CapturaH
from prep.corte.trayectoria import CotejoH
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from prep.transparencia.nota import COFIRMA
from prep.transparencia.nota import llave_texto
from prep.values import Captura
from prep.values import format_valor
from tests.harness.corte_data import historial_simulado

SEED = 2027
SCALE = 0.01  # 140 casillas, 420 actas
#: Their witness keys (issue 67): cosigner keys of two fixed keys, named by difusor id.
_TESTIGOS = tuple(llave_texto(f"difusor-{i}", SigningKey.from_raw(bytes([i]) * 32).public,
                              COFIRMA) for i in (1, 2))
DIFUSORES_OFICIALES = (("Universidad Autónoma de Ciudad de México", "https://prep.uacm.example/",
                        _TESTIGOS[0]),
                       ("Diario «La Jornada de Prueba»", "https://prep.jornada.example/2027/",
                        _TESTIGOS[1]))
#: Bloques of secciones (prep.corte.site_datos.bloques) of at most 2 casillas: at this scale a
#: distrito has about 4 casillas, so its actas are spread over two or three bloques, as a
#: national distrito's are over dozens.
BLOQUE_CASILLAS = 2


@dataclass(frozen=True)
class CorteSitio:
    """A corte written to ``root``: CSV package, images and the site."""

    root: Path
    catalog: Catalog
    corte: datetime
    tablas: dict[str, TablaEleccion]
    paquete: dict[str, bytes]
    sitio: dict[str, bytes]
    imagenes: dict[str, tuple[str, str]]
    #: CLAVE_ACTA → its HISTORIAL.csv rows (without the key), as given to site_files.
    historial: dict[str, list[tuple[str, ...]]]
    #: The rows of AVANCE_CATD.csv, as given to site_files (issue 29).
    salud: list[tuple[str, ...]] = field(default_factory=list)
    #: The official difusores of DIFUSORES.csv (issue 30).
    difusores: tuple[FilaDifusor, ...] = ()
    #: The most casillas of a bloque of secciones, as given to site_files.
    bloque_casillas: int = BLOQUE_CASILLAS


def datos(corte: CorteSitio, path: str) -> Any:
    """The data of the site's file ``path`` (the JSON after its signature line)."""
    return parse_data_file(corte.sitio[path])[1]


def corte_time(catalog: Catalog) -> datetime:
    """08:00 local the morning after the jornada, as the drill does."""
    day = datetime.fromisoformat(catalog.fecha_eleccion).replace(tzinfo=TZ)
    return (day + timedelta(days=1, hours=8)).astimezone(UTC)


def build_corte_sitio(root: Path, seed: int = SEED, scale: float = SCALE,
                      simulacro: bool = False, corte: datetime | None = None,
                      pendientes: float = 0.02) -> CorteSitio:
    """Generate, simulate and write a whole corte with images and site under ``root``
    (``simulacro``: a drill's, stamped SIMULACRO; ``corte``: its time, 08:00 the morning
    after by default; ``pendientes``: the share of actas without published data)."""
    catalog = generate_catalog(seed, scale)
    corte = corte_time(catalog) if corte is None else corte
    sim = simulate(catalog, seed, corte, pendientes)
    estado: dict[str, ActaEnCorte] = {}
    imagenes: dict[str, tuple[str, str]] = {}
    pngs: dict[str, bytes] = {}
    for clave, est in sim.estado.items():
        acta = catalog.acta(clave)
        if est.captura is None or acta is None:
            estado[clave] = est
            continue
        png = acta_png(catalog, acta, est.captura)
        sha = hashlib.sha256(png).hexdigest()
        path = f"imagenes/{sha}.png"
        pngs[path] = png
        imagenes[clave] = (sha, path)
        estado[clave] = replace(est, sha256=sha)
    paquete, tablas = build_corte_files(catalog, estado, sim.fuera, corte,
                                        simulacro=simulacro)
    por_codigo = {t.eleccion.codigo: t for t in tablas}
    # The history a central would publish beside it (HISTORIAL.csv and the timelines).
    historial = filas_por_acta(tablas, _con_correccion(historial_simulado(estado), tablas,
                                                      corte), corte_dirname(corte), corte)
    paquete[HISTORIAL] = historial_csv(historial, simulacro)
    # The progress per CATD (issue 29): CATD 02's status hidden by the coordinator, 04
    # offline, the others and the CCV online.
    lectura = LecturaCatd(digitalizadas=frozenset(imagenes), con_captura=frozenset(
        c for c, e in estado.items() if e.captura is not None), en_linea=frozenset(
        [*(f"{d.id:02d}" for d in catalog.distritos if d.id != 4), "CCV"]),
        ocultos=frozenset({"02"}))
    salud = filas_catd(catalog, tablas, lectura, {}, corte)
    paquete[AVANCE_CATD] = salud_csv(salud, simulacro)
    # Two official difusores (issue 30).
    paquete[DIFUSORES] = difusores_csv(DIFUSORES_OFICIALES, simulacro)
    sitio = site_files(catalog, por_codigo, corte, imagenes, simulacro=simulacro,
                       historial=historial, salud_catd=salud, descargas=(DIFUSORES,),
                       bloque_casillas=BLOQUE_CASILLAS)
    sitio.update(difusores_files(DIFUSORES_OFICIALES, corte_dirname(corte)))
    for name, data in {**paquete, **pngs, **sitio}.items():
        dest = root / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return CorteSitio(root, catalog, corte, por_codigo, paquete, sitio, imagenes, historial,
                      salud, DIFUSORES_OFICIALES)


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def acta_png(catalog: Catalog, acta: Acta, captura: Captura) -> bytes:
    """A grey-scale picture of an acta PREP with its captured numbers."""
    casilla = acta.casilla
    campos = list(captura.campos)
    height = 190 + 24 * len(campos)
    image = Image.new("L", (560, height), 250)
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, 551, height - 9), outline=60, width=3)
    draw.text((24, 22), "ACTA DE ESCRUTINIO Y COMPUTO DE CASILLA", fill=20, font=_font(19))
    draw.text((24, 50), _ascii(f"{acta.eleccion.nombre} - {catalog.entidad}"), fill=40,
              font=_font(15))
    draw.text((24, 80), f"Distrito {casilla.distrito_id}   Seccion {casilla.seccion}   "
              f"Casilla {casilla.tipo}{casilla.id_casilla:02d}", fill=40, font=_font(15))
    draw.text((24, 106), f"PREP {acta.clave}", fill=40, font=_font(15))
    draw.line((24, 140, 536, 140), fill=90, width=2)
    for i, (campo, valor) in enumerate(zip(campos, captura.valores, strict=True)):
        y = 152 + 24 * i
        draw.text((28, y), campo.replace("_", " ").title(), fill=30, font=_font(14))
        draw.rectangle((430, y - 2, 530, y + 18), outline=120)
        draw.text((438, y), format_valor(valor), fill=10, font=_font(14))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _ascii(text: str) -> str:
    """Pillow's built-in font has no accented capitals."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


class _Server(http.server.ThreadingHTTPServer):
    """A listen backlog of 128, not socketserver's 5: Chromium opens a page's data files
    at once, and on a loaded machine (the full suite) the connections the accepting
    thread had not taken yet overflowed the queue (net::ERR_CONNECTION_RESET on the
    page's console once)."""

    request_queue_size = 128


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Tests read the page, not the access log."""


@contextmanager
def serve(root: Path, handler_class: type[QuietHandler] = QuietHandler) -> Iterator[str]:
    """Serve ``root`` over HTTP on 127.0.0.1 (a secure context for WebCrypto); yields the
    base URL."""
    handler = functools.partial(handler_class, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


#: The acta of the first election corrected after a cotejo (issue 29), and why.
CORRECCION_CAMPOS = ("PAN", "MORENA")
CORRECCION_MOTIVO = "En el acta en papel los votos de PAN y MORENA están al revés"
CORTE_ANTERIOR = "20270606_2300"


def _con_correccion(historial: Historial, tablas: Sequence[TablaEleccion],
                    corte: datetime) -> Historial:
    """``historial`` with the first validated acta of the first election (not decided by
    a verificador) cotejada with differences: a correction round of two captures, and
    its correction published by an earlier corte (``CORTE_ANTERIOR``), as a central
    records it."""
    clave = next(f.acta.clave for f in tablas[0].filas
                 if f.estado is not None and f.estado.captura is not None
                 and f.estado.fecha_captura is not None
                 and f.acta.clave not in historial.verificadas)
    t = historial.trayectoria(clave)
    at = corte - timedelta(minutes=30)
    [primera] = t.imagenes
    cotejo = CotejoH(at, t.acopio_catd, False, at, 2)
    capturas = tuple(CapturaH(False, 2, slot, primera.record, at + timedelta(minutes=slot),
                              t.acopio_catd, at) for slot in (1, 2))
    actas = {**historial.actas,
             clave: t._replace(capturas=(*t.capturas, *capturas), cotejos=(cotejo,))}
    publicada = CorreccionPublicada(CORTE_ANTERIOR, corte - timedelta(minutes=5),
                                    "c0a1e5c0-0000-4000-8000-000000000001",
                                    CORRECCION_CAMPOS, CORRECCION_MOTIVO)
    return replace(historial, actas=actas, correcciones={clave: (publicada,)})
