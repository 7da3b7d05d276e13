"""``prep dashboard``: the control-room dashboard (Qt-free: PySide6 is imported only when
the command runs, so ``prep --help`` never loads Qt).

``--dsn`` (or ``PREP_DASHBOARD_DSN``) is a login user holding only the ``prep_lectura``
role (docs/dashboard.md). Actions need ``--acciones-dsn``, a login holding only
``prep_coordinador`` (``prep central usuario-coordinacion``); the dashboard never holds
the central's key (a corte it asks for is made by ``serve``).
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from typing import Any

from central.controlroom.overview import Settings

ENV_DSN = "PREP_DASHBOARD_DSN"


def register(subparsers: Any) -> None:
    """Add ``dashboard`` to the ``prep`` parser."""
    parser = subparsers.add_parser("dashboard", help="tablero de la sala de control "
                                   "(interfaz gráfica, en vivo)")
    parser.add_argument("--dsn", default=None,
                        help=f"PostgreSQL con un usuario de solo lectura (rol prep_lectura); "
                             f"también {ENV_DSN}")
    parser.add_argument("--acciones-dsn", default=None,
                        help="conexión para las acciones (atender anomalías, códigos de "
                             "alta, operadores, habilitar o deshabilitar equipos, pedir un "
                             "corte) con un usuario del rol prep_coordinador (prep central "
                             "usuario-coordinacion), que un coordinador del nodo central "
                             "usa tras iniciar sesión; sin ella el tablero solo lee")
    parser.add_argument("--rezago-puntos", type=float, default=10.0,
                        help="un CATD está rezagado si su %% de actas validadas queda más de "
                             "estos puntos debajo del promedio estatal (predeterminado 10)")
    parser.add_argument("--en-linea-minutos", type=float, default=5.0,
                        help="minutos sin contacto tras los que una estación se muestra sin "
                             "conexión (predeterminado 5)")
    parser.add_argument("--ventana-horas", type=float, default=12.0,
                        help="horas que muestran las gráficas de ritmo (predeterminado 12)")
    parser.add_argument("--pendientes-alerta", type=int, default=100,
                        help="un equipo con más registros por enviar se marca en ámbar "
                             "(predeterminado 100)")
    parser.add_argument("--discrepancias-aviso", type=float, default=5.0,
                        help="%% de capturas discrepantes desde el que un capturista o un "
                             "sitio se marca en ámbar (predeterminado 5)")
    parser.add_argument("--discrepancias-alerta", type=float, default=10.0,
                        help="%% de capturas discrepantes desde el que se marca en rojo "
                             "(predeterminado 10)")
    parser.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The typed settings of the command line (Spanish errors)."""
    if not 0 < args.en_linea_minutos <= 24 * 60:
        raise ValueError("--en-linea-minutos debe ser de más de 0 y hasta 1440")
    if not 0 < args.ventana_horas <= 72:
        raise ValueError("--ventana-horas debe ser de más de 0 y hasta 72")
    if not 0 < args.rezago_puntos <= 100:
        raise ValueError("--rezago-puntos debe ser de más de 0 y hasta 100")
    if args.pendientes_alerta < 0:
        raise ValueError("--pendientes-alerta no puede ser negativo")
    if not 0 <= args.discrepancias_aviso <= args.discrepancias_alerta <= 100:
        raise ValueError("--discrepancias-aviso y --discrepancias-alerta van de 0 a 100, "
                         "y el aviso no pasa de la alerta")
    return Settings(rezago_puntos=args.rezago_puntos,
                    en_linea=timedelta(minutes=args.en_linea_minutos),
                    ventana=timedelta(hours=args.ventana_horas),
                    pendientes_alerta=args.pendientes_alerta,
                    discrepancias_aviso_pct=args.discrepancias_aviso,
                    discrepancias_alerta_pct=args.discrepancias_alerta)


def run(args: argparse.Namespace) -> int:
    dsn = (args.dsn or os.environ.get(ENV_DSN, "")).strip()
    if not dsn:
        raise ValueError(f"indique la base de datos con --dsn o {ENV_DSN} (un usuario con "
                         "el rol prep_lectura; ver docs/dashboard.md)")
    settings = settings_from_args(args)
    from dashboard.app import run_app  # PySide6 from here on

    return run_app(dsn, settings, args.acciones_dsn)
