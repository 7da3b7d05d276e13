"""``prep capacitacion preparar|imprimir|puntaje|informe``: the trainer's commands
(``docs/capacitacion.md``). The trainees work at ``catd --capacitacion`` or
``ccv --capacitacion`` with the same ``--data-dir``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from prep.capacitacion.practica import DEFAULT_ACTAS
from prep.capacitacion.practica import PracticeError
from prep.capacitacion.practica import parse_alumno
from prep.capacitacion.practica import practice_dir
from prep.passwords import PasswordError
from prep.passwords import read_new_password
from prep.station.errors import StationError
from prep.station.store import default_data_dir


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("capacitacion", help="modo de capacitación: práctica con "
                                   "actas de valores conocidos, sin nodo central")
    sub = parser.add_subparsers(dest="capacitacion_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=None,
                        help=f"directorio de datos de la estación (predeterminado "
                             f"{default_data_dir()}); la práctica vive en su subdirectorio "
                             "capacitacion/")

    prepare = sub.add_parser("preparar", parents=[common],
                             help="prepara la práctica: actas sintéticas y cuentas de alumnos")
    where = prepare.add_mutually_exclusive_group()
    where.add_argument("--catd", type=int, default=None, metavar="N",
                       help="práctica de CATD con actas del distrito N (predeterminado: el "
                            "distrito con más actas del catálogo de práctica)")
    where.add_argument("--ccv", action="store_true", help="práctica de CCV")
    prepare.add_argument("--alumno", action="append", required=True, metavar="NOMBRE:ROL",
                         help="un alumno y su rol (capturista, verificador, acopiador, "
                              "digitalizador, coordinador); repítalo por alumno")
    prepare.add_argument("--actas", type=int, default=DEFAULT_ACTAS,
                         help=f"actas de práctica (predeterminado {DEFAULT_ACTAS})")
    prepare.add_argument("--semilla", type=int, default=2027,
                         help="semilla del generador (la misma da las mismas actas)")
    prepare.add_argument("--password-stdin", action="store_true",
                         help="lee la contraseña de práctica de una línea de stdin")
    prepare.set_defaults(func=_prepare)

    score = sub.add_parser("puntaje", parents=[common],
                           help="puntaje de cada alumno (JSON)")
    score.set_defaults(func=_score)

    imprimir = sub.add_parser("imprimir", parents=[common],
                              help="las actas de práctica en PDF para imprimir (cada página "
                                   "dice CAPACITACIÓN)")
    imprimir.add_argument("--out", type=Path, required=True, help="archivo PDF a escribir")
    imprimir.set_defaults(func=_print)

    report = sub.add_parser("informe", parents=[common],
                            help="resumen por alumno para el capacitador (PDF)")
    report.add_argument("--out", type=Path, required=True, help="archivo PDF a escribir")
    report.set_defaults(func=_report)


def _directory(args: argparse.Namespace) -> Path:
    return practice_dir(args.data_dir or default_data_dir())


def _prepare(args: argparse.Namespace) -> int:
    from prep.capacitacion.practica import prepare

    try:
        alumnos = [parse_alumno(a) for a in args.alumno]
        password = read_new_password(args.password_stdin, "Contraseña de práctica: ")
        practica = prepare(_directory(args), alumnos, password,
                           role="ccv" if args.ccv else "catd", catd=args.catd,
                           actas=args.actas, semilla=args.semilla)
    except (PracticeError, PasswordError, StationError) as exc:
        print(f"prep capacitacion: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"directorio": str(_directory(args)), "estacion": practica.station_id,
                      "sitio": practica.sitio, "actas": len(practica.actas),
                      "alumnos": [{"id": a.id, "nombre": a.nombre, "rol": a.rol}
                                  for a in practica.alumnos]}, ensure_ascii=False, indent=1))
    print("Práctica lista: los alumnos entran con «catd --capacitacion» (o «ccv "
          "--capacitacion») y la contraseña de práctica.", file=sys.stderr)
    return 0


def _score(args: argparse.Namespace) -> int:
    from prep.capacitacion.estacion import TrainingStation
    from prep.capacitacion.puntaje import puntajes

    try:
        with TrainingStation.open(_directory(args)) as station:
            scores = puntajes(station)
    except (PracticeError, StationError) as exc:
        print(f"prep capacitacion: {exc}", file=sys.stderr)
        return 2
    print(json.dumps([s.to_json() for s in scores], ensure_ascii=False, indent=1))
    return 0


def _print(args: argparse.Namespace) -> int:
    from prep.capacitacion.impresion import write_actas_pdf
    from prep.capacitacion.practica import Practica

    try:
        directory = _directory(args)
        pages = write_actas_pdf(directory, Practica.load(directory), args.out)
    except (PracticeError, OSError) as exc:
        print(f"prep capacitacion: {exc}", file=sys.stderr)
        return 2
    print(f"Actas de práctica: {args.out} ({pages} páginas, cada una dice CAPACITACIÓN)",
          file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    from prep.capacitacion.estacion import TrainingStation
    from prep.capacitacion.informe import write_informe
    from prep.capacitacion.puntaje import puntajes

    try:
        with TrainingStation.open(_directory(args)) as station:
            write_informe(station.practica, puntajes(station), args.out)
    except (PracticeError, StationError, OSError) as exc:
        print(f"prep capacitacion: {exc}", file=sys.stderr)
        return 2
    print(f"Informe de capacitación: {args.out}", file=sys.stderr)
    return 0
