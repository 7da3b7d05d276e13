"""``catd`` (also ``prep catd``): start the CATD workstation.

Options: ``--data-dir`` (several stations on one machine), ``--impresora`` (the ticket
printer, see :mod:`prep.station.printing`), ``--sin-mdns`` (never look for the
central on the local network; only its enrolled address).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from prep import cli_es
from prep.errors_es import describe_os_error
from prep.errors_es import os_error_advice
from prep.logsetup import setup_logging
from prep.memory import keep_freed_memory
from prep.station.store import default_data_dir

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from prep.station.printing import Printer
    from prep.station.station import Station

log = logging.getLogger("catd")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The workstation's options (shared by ``catd`` and ``prep catd``)."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"directorio de datos de la estación (predeterminado "
                             f"{default_data_dir()})")
    parser.add_argument("--impresora", metavar="ESPECIFICACIÓN", default=None,
                        help="impresora de etiquetas de acopio: usb:VID:PID, "
                             "red:HOST[:PUERTO], windows:NOMBRE o pdf:DIRECTORIO; sin ella "
                             "no se imprimen etiquetas")
    parser.add_argument("--sin-mdns", action="store_true",
                        help="no buscar el nodo central en la red local; usar solo la "
                             "dirección con que se dio de alta")
    parser.add_argument("--capacitacion", action="store_true",
                        help="modo de capacitación: las pantallas reales con las actas de "
                             "práctica de DATA_DIR/capacitacion (prep capacitacion "
                             "preparar), sin nodo central: nada se envía")
    parser.add_argument("--self-test", action="store_true",
                        help="autoprueba sin pantalla (Qt, almacén, lectores e impresoras, "
                             "huella de la compilación); termina con 0 o un código de falla")
    # For bench/gui.py: quit as soon as the first page is on screen.
    parser.add_argument("--report-shown", action="store_true", help=argparse.SUPPRESS)


def register(subparsers: Any) -> None:
    """``prep catd``: the same program as ``catd``."""
    parser = subparsers.add_parser("catd", help="estación de trabajo del CATD (interfaz "
                                   "gráfica)")
    add_arguments(parser)
    parser.set_defaults(func=run)


def parse_command_line(argv: Sequence[str] | None, prog: str,
                       description: str) -> argparse.Namespace:
    """The workstation's command line (``catd`` and ``ccv``), with logging set up."""
    cli_es.install()
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("-v", "--verbose", action="store_true", help="bitácora detallada")
    add_arguments(parser)
    args = parser.parse_args(argv)
    setup_logging(logging.DEBUG if args.verbose else logging.INFO)  # escapes controls
    cli_es.quiet_libraries(args.verbose)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse_command_line(argv, "catd", "PREP: estación de trabajo del centro de "
                                  "acopio (CATD)."))


def open_printer_from(spec: str | None) -> Printer | None:
    """The printer named by ``spec`` (``None``: no printer); raises
    :class:`~prep.station.printing.PrinterError` for a bad spec."""
    if spec is None:
        return None
    from prep.station.printing import open_printer

    return open_printer(spec)


def open_training_station(data_dir: Path | None, application: str) -> Station:
    """The practice store of ``data_dir`` (``prep.capacitacion``), refused unless it was
    prepared for this program (a CCV practice for ``ccv``, a CATD one for ``catd``).
    Raises :class:`~prep.station.errors.StationError` or ``PracticeError``."""
    from prep.capacitacion.estacion import TrainingError
    from prep.capacitacion.estacion import TrainingStation
    from prep.capacitacion.practica import practice_dir

    station = TrainingStation.open(practice_dir(data_dir or default_data_dir()))
    wanted = "ccv" if application == "PREP CCV" else "catd"
    if station.practica.role != wanted:
        station.close()
        raise TrainingError(f"La práctica preparada es de {station.practica.role.upper()}; "
                            f"para {wanted.upper()} prepare otra con «prep capacitacion "
                            f"preparar{' --ccv' if wanted == 'ccv' else ''}» en otro "
                            "directorio de datos.")
    return station


def prepare_application(application: str) -> QApplication:
    """The Qt application named ``application``, with the workstation's look and Qt's
    own texts (standard buttons, a field's context menu, the folder chooser) in Spanish."""
    from PySide6.QtWidgets import QApplication

    from catd.theme import apply_theme
    from qtkit.qt_es import install_qt_spanish

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(application)
    apply_theme(app)
    install_qt_spanish(app)
    return app


def startup_error(exc: BaseException) -> str:
    """What the technician reads when the station cannot start; an operating-system
    error's English text and traceback go to the log."""
    if isinstance(exc, OSError):
        log.error("the station cannot start", exc_info=exc)
        return (f"No se puede iniciar la estación: su carpeta de datos o la impresora no se "
                f"pueden usar ({describe_os_error(exc)}). {os_error_advice(exc)}")
    return f"No se puede iniciar la estación: {exc}"


def run(args: argparse.Namespace, application: str = "PREP CATD") -> int:
    """Start the Qt application; returns its exit status. ``application`` names it
    (``ccv`` runs this very program as "PREP CCV")."""
    if args.self_test:
        from catd.selftest import run_self_test

        return run_self_test(application, args.data_dir)
    keep_freed_memory()  # the scans it checks and shows, all night (prep.memory)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    from catd.collector import GarbageCollector
    from catd.context import AppContext
    from catd.taskman import TaskManager
    from catd.wedge import WedgeDetector
    from catd.window import MainWindow
    from prep.station.errors import StationError
    from prep.station.printing import PrinterError
    from prep.station.station import Station

    app = prepare_application(application)
    try:
        printer = open_printer_from(args.impresora)
        station = (open_training_station(args.data_dir, application) if args.capacitacion
                   else Station.open(args.data_dir))
    except (StationError, PrinterError, OSError, ValueError) as exc:
        QMessageBox.critical(None, application.replace(" ", " · "), startup_error(exc))
        return 2
    collector = GarbageCollector()
    tasks = TaskManager()
    detector = WedgeDetector()
    detector.install(app)
    if args.capacitacion:
        from qtkit.capacitacion import install_training_marks

        install_training_marks(app)
    context = AppContext(station, tasks, detector, printer,
                         discover=not args.sin_mdns and not args.capacitacion,
                         capacitacion=args.capacitacion)
    window = MainWindow(context)
    window.resize(1366, 768)
    window.start()
    window.show()
    if args.report_shown:
        def report() -> None:
            print("shown", flush=True)
            app.quit()
        QTimer.singleShot(0, report)
    try:
        return app.exec()
    finally:
        window.status_presenter.stop()
        tasks.shutdown(wait=True)
        station.close()
        detector.uninstall(app)
        collector.stop()
