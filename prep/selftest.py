"""``--self-test``: what a technician runs right after installing a program.

Each program lists its checks (:class:`Check`); :func:`run_checks` runs them all, prints
one Spanish report and returns the exit status: 0 when everything passed, otherwise the
code of the first check that failed, so a script (or the installer's test) knows *what*
failed without reading the text. The codes are fixed (``docs/instalacion.md``).
"""

from __future__ import annotations

import io
import sys
import tempfile
from collections.abc import Callable
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from prep import __version__
from prep.build_info import PACKAGE
from prep.build_info import current_build

# Exit codes, one per kind of failure.
EXIT_BUILD = 10  # the bundle's files are not those of its manifest
EXIT_QT = 11  # the Qt platform plugin does not load
EXIT_STORE = 12  # the station's SQLite store cannot be opened
EXIT_DEPENDENCIES = 13  # zxing-cpp, reportlab, escpos/pyusb…
EXIT_DATABASE = 14  # the central's PostgreSQL is unreachable or its schema is not current
EXIT_DATA_DIR = 15  # the central's data directory (key, certificate) is missing or bad


class CheckFailed(Exception):
    """A check's failure, with the Spanish reason to print."""


@dataclass(frozen=True)
class Check:
    """One line of the report: ``run`` returns what it found (Spanish) or raises
    :class:`CheckFailed` (any other exception counts as a failure too)."""

    name: str
    code: int
    run: Callable[[], str]


def run_checks(program: str, checks: Sequence[Check], out: TextIO | None = None) -> int:
    """Run every check, print the report, return 0 or the first failure's code."""
    out = out or sys.stdout
    print(f"Autoprueba de {program} {__version__}", file=out)
    status = 0
    for check in checks:
        try:
            found = check.run()
        except Exception as exc:  # every failure, expected or not, goes into the report
            reason = (str(exc) if isinstance(exc, CheckFailed)
                      else f"{type(exc).__name__}: {exc}")
            print(f"  [FALLA] {check.name}: {reason} (código {check.code})", file=out)
            status = status or check.code
        else:
            print(f"  [ OK  ] {check.name}: {found}", file=out)
    verdict = "APROBADA" if status == 0 else f"REPROBADA (código {status})"
    print(f"Resultado: {verdict}", file=out, flush=True)
    return status


def build_check() -> Check:
    """The build fingerprint; fails when a packaged program's files differ from its
    manifest (the reported fingerprint is then not the audited one)."""
    def run() -> str:
        build = current_build()
        if build.origin == PACKAGE and build.problems:
            raise CheckFailed(f"huella {build.label} NO coincide con el manifiesto: "
                              + "; ".join(build.problems))
        origin = ("paquete íntegro" if build.origin == PACKAGE
                  else "desarrollo (no es un paquete auditado)")
        return f"huella {build.label} ({origin}, {build.files} archivos)"
    return Check("Huella de la compilación", EXIT_BUILD, run)


def station_checks(data_dir: Path | None, stack: ExitStack) -> list[Check]:
    """The Qt-free checks of a station program: its SQLite store (in ``data_dir``, or a
    temporary directory removed afterwards) and the libraries it prints and reads with."""
    def store() -> str:
        from prep.station.station import Station

        directory = data_dir
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix="prep-autoprueba-")))
        with Station.open(directory) as station, station.store.read() as session:
            session.connection().exec_driver_sql("SELECT count(*) FROM sqlite_master")
            enrolled = station.store.identity() is not None
        state = "dada de alta" if enrolled else "sin dar de alta"
        return f"almacén SQLite abierto en {directory} (estación {state})"

    return [Check("Almacén de la estación", EXIT_STORE, store),
            Check("Lectura de códigos QR (zxing-cpp)", EXIT_DEPENDENCIES, _zxing),
            Check("Generación de PDF (reportlab)", EXIT_DEPENDENCIES, _reportlab),
            Check("Impresoras de etiquetas (python-escpos, pyusb)", EXIT_DEPENDENCIES,
                  _printers)]


def _zxing() -> str:
    """Encode a QR and read it back: the native library loads and works."""
    import segno
    import zxingcpp
    from PIL import Image

    buffer = io.BytesIO()
    segno.make_qr("PREP-AUTOPRUEBA").save(buffer, kind="png", scale=4)
    buffer.seek(0)
    with Image.open(buffer) as image:
        results = zxingcpp.read_barcodes(image.convert("L"))
    if [r.text for r in results] != ["PREP-AUTOPRUEBA"]:
        raise CheckFailed("zxing-cpp no leyó el código QR de prueba")
    return "zxing-cpp lee códigos QR"


def _reportlab() -> str:
    import reportlab
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=letter)
    canvas.drawString(72, 720, "Autoprueba PREP: ñ á é")
    canvas.save()
    if not buffer.getvalue().startswith(b"%PDF"):
        raise CheckFailed("reportlab no produjo un PDF")
    return f"reportlab {reportlab.Version} genera PDF"


def _printers() -> str:
    import escpos.printer
    import usb.backend.libusb1

    missing = [name for name in ("Usb", "Network", "Dummy") if not hasattr(escpos.printer,
                                                                              name)]
    if missing:
        raise CheckFailed(f"python-escpos sin {', '.join(missing)}")
    if sys.platform == "win32":
        return "python-escpos listo (impresoras por la cola de Windows)"
    if usb.backend.libusb1.get_backend() is None:
        raise CheckFailed("no se encontró libusb-1.0 (instale el paquete libusb-1.0-0): "
                          "las impresoras USB no funcionarían")
    return "python-escpos y libusb-1.0 listos"
