"""``prep station …``: a headless station from the command line.

Used by technicians (enroll, status, sync), by drills and by the fault tests, which run
these commands as real processes and kill them at named points (``PREP_CRASH_AT``).
Every command takes ``--data-dir`` so several stations can live on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from prep.image_check import sniff_media_type
from prep.rules import CausaSinActa
from prep.station.enroll import MIN_PREFIX_DIGITS
from prep.station.enroll import NOT_CONFIRMED
from prep.station.errors import EnrollmentError
from prep.station.errors import StationError
from prep.station.errors import StationInputError
from prep.station.station import Station
from prep.station.station import mdns_locator
from prep.station.store import DB_NAME
from prep.station.store import StationIdentity
from prep.station.store import default_data_dir
from prep.station.sync import SyncOptions
from prep.station.tls import fetch_certificate
from prep.station.tls import fingerprint_groups
from prep.station.tls import pem_fingerprint

URL_FINGERPRINT_REQUIRED = (
    "Indique la huella completa del certificado del nodo central con --cert-sha256 (los 64 "
    "dígitos hexadecimales que muestra su consola: prep central init o serve). Sin ella el "
    "código de alta iría a cualquiera que responda en esa dirección. También puede ejecutar "
    "el alta en una terminal sin --cert-sha256 para ver la huella y confirmarla. No se "
    "envió el código de alta.")
EXIT_NOT_DRAINED = 1
EXIT_ERROR = 2
EXIT_TIMEOUT = 3


def register(subparsers: Any) -> None:
    """Add the ``station`` command and its subcommands to ``prep``'s parser."""
    station = subparsers.add_parser("station", help="estación (CATD/CCV) sin interfaz gráfica")
    sub = station.add_subparsers(dest="station_command", required=True, metavar="ACCIÓN")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=None,
                        help=f"directorio de datos (predeterminado {default_data_dir()})")

    enroll = sub.add_parser("enroll", parents=[common], help="dar de alta ante el nodo central")
    where = enroll.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="https://servidor:puerto del nodo central")
    where.add_argument("--mdns", action="store_true",
                       help="buscar el nodo central en la red local con mDNS")
    enroll.add_argument("--code", required=True, help="código de alta de un solo uso")
    enroll.add_argument("--cert-sha256", default=None, metavar="HUELLA",
                        help="huella completa (64 dígitos hexadecimales) del certificado que "
                             "muestra la consola del nodo central (con --url); sin ella, en "
                             "una terminal se muestra la huella recibida y se pide "
                             "confirmarla antes de enviar el código")
    enroll.add_argument("--expect-cert", metavar="PREFIJO", default=None,
                        help=f"primeros dígitos ({MIN_PREFIX_DIGITS} o más) de la huella del "
                             "certificado que muestra la consola del nodo central (con "
                             "--mdns); sin ellos, en una terminal se muestra la huella del "
                             "nodo encontrado y se pide confirmarla antes de enviar el código")
    enroll.add_argument("--mdns-timeout", type=float, default=3.0, metavar="SEGUNDOS",
                        help="cuánto buscar con mDNS (predeterminado 3)")
    enroll.add_argument("--mdns-interface", action="extend", nargs="+", metavar="IP",
                        type=_ip_address, default=None,
                        help="buscar solo en estas direcciones IP (con --mdns; "
                             "predeterminado: todas las interfaces)")
    enroll.set_defaults(func=_enroll)

    acopio = sub.add_parser("acopio", parents=[common], help="registrar el acopio de un acta")
    acopio.add_argument("clave_acta")
    acopio.add_argument("--operator", default="", help="identificador del operador")
    acopio.set_defaults(func=_acopio)

    sin_acta = sub.add_parser("sin-acta", parents=[common], help="registrar un paquete sin acta")
    sin_acta.add_argument("clave_acta")
    sin_acta.add_argument("--causa", required=True, choices=[c.value for c in CausaSinActa])
    sin_acta.add_argument("--operator", default="")
    sin_acta.set_defaults(func=_sin_acta)

    imagen = sub.add_parser("imagen", parents=[common], help="registrar la imagen de un acta")
    imagen.add_argument("clave_acta")
    imagen.add_argument("file", type=Path, help="archivo JPEG, PNG o TIFF")
    imagen.add_argument("--operator", default="")
    imagen.add_argument("--origen", default="CATD", choices=["CATD", "CASILLA"])
    imagen.add_argument("--digitalizacion", default="Escáner", choices=["Escáner", "Móvil"])
    imagen.set_defaults(func=_imagen)

    status = sub.add_parser("status", parents=[common], help="estado de la estación (JSON)")
    status.set_defaults(func=_status)

    sync = sub.add_parser("sync", parents=[common], help="enviar lo pendiente al nodo central")
    sync.add_argument("--until-drained", action="store_true",
                      help="reintentar hasta que no quede nada pendiente")
    sync.add_argument("--timeout", type=float, default=300.0, help="segundos como máximo")
    _pacing(sync)
    sync.set_defaults(func=_sync)

    run = sub.add_parser("run", parents=[common], help="agente de envío en primer plano")
    run.add_argument("--mdns", action="store_true",
                     help="si el nodo central no responde, buscarlo con mDNS")
    _pacing(run)
    run.set_defaults(func=_run)

    unblock = sub.add_parser("unblock", parents=[common],
                             help="reintentar un lote que el nodo central rechazó")
    unblock.set_defaults(func=_unblock)

    login = sub.add_parser("login", parents=[common],
                           help="comprobar usuario y contraseña sin red (contraseña por la "
                                "entrada estándar)")
    login.add_argument("--user", required=True, help="identificador (op-…) o nombre")
    login.set_defaults(func=_login)

    bundle = sub.add_parser("bundle", parents=[common],
                            help="pedir ahora al nodo central el catálogo y las cuentas")
    bundle.add_argument("--timeout", type=float, default=60.0, help="segundos como máximo")
    bundle.set_defaults(func=_bundle)


def _ip_address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"«{text}» no es una dirección IP") from None


def _pacing(parser: argparse.ArgumentParser) -> None:
    defaults = SyncOptions()
    parser.add_argument("--batch-records", type=int, default=defaults.batch_records)
    parser.add_argument("--backoff-base", type=float, default=defaults.backoff_base)
    parser.add_argument("--backoff-cap", type=float, default=defaults.backoff_cap)
    parser.add_argument("--heartbeat", type=float, default=defaults.heartbeat_interval,
                        help="segundos entre latidos (0: ninguno)")


def _options(args: argparse.Namespace, heartbeat: bool) -> SyncOptions:
    return SyncOptions(batch_records=args.batch_records, backoff_base=args.backoff_base,
                       backoff_cap=args.backoff_cap,
                       heartbeat_interval=args.heartbeat if heartbeat else 0.0)


def _print(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=1, default=str), flush=True)


def _guarded(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            if args.station_command != "enroll":
                _check_existing(args.data_dir or default_data_dir())
            with Station.open(args.data_dir) as station:
                code: int = func(station, args)
                return code
        except StationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
    return run


def _check_existing(data_dir: Path) -> None:
    """Every command but ``enroll`` works on a station that exists: a mistyped
    ``--data-dir`` must not create an empty store and report «nada pendiente»."""
    if not (data_dir / DB_NAME).is_file():
        raise StationInputError(f"No hay una estación en {data_dir}. Revise --data-dir (el "
                                "directorio con el que se dio de alta) o dé de alta este "
                                "equipo con «prep station enroll».")


@_guarded
def _enroll(station: Station, args: argparse.Namespace) -> int:
    if args.mdns:
        return _enroll_mdns(station, args)
    if args.expect_cert or args.mdns_interface:
        raise StationInputError("--expect-cert y --mdns-interface son para --mdns; con --url "
                                "indique la huella completa con --cert-sha256.")
    expected = args.cert_sha256
    if expected is None:
        expected = _confirm_url_fingerprint(station, args.url)
    identity = station.enroll(args.url, args.code, expected)
    _print(_identity(identity))
    return 0


def _confirm_url_fingerprint(station: Station, url: str) -> str:
    """Without ``--cert-sha256``: the fingerprint the server at ``url`` presents, once
    the technician compared it with the central's console and typed «sí» at a terminal.
    Headless (no terminal to ask on) it is refused before any traffic: the code would go
    to whoever answers at that address."""
    if not _interactive():
        raise EnrollmentError("fingerprint_required", URL_FINGERPRINT_REQUIRED)
    if station.identity is not None:
        return ""  # Station.enroll refuses it with its own message
    seen = pem_fingerprint(fetch_certificate(url.rstrip("/")))
    _ask(f"El servidor en {url} presenta un certificado con la huella:\n"
         f"  {fingerprint_groups(seen)}\n"
         "Compárela dígito por dígito con la que muestra la consola del nodo central.")
    return seen


def _enroll_mdns(station: Station, args: argparse.Namespace) -> int:
    from prep.station.enroll_mdns import MdnsChoice
    from prep.station.enroll_mdns import choice_message
    from prep.station.enroll_mdns import listing

    if args.cert_sha256:
        raise StationInputError("Con --mdns indique la huella esperada con --expect-cert.")
    if not 0 < args.mdns_timeout <= 60:
        raise StationInputError("--mdns-timeout debe ser de más de 0 y hasta 60 segundos.")

    def confirm(choice: MdnsChoice) -> bool:
        _ask(f"Nodos centrales encontrados con mDNS:\n{listing(choice.candidates)}\n"
             f"{choice_message(choice)}")
        return True

    identity, choice = station.enroll_mdns(
        args.code, args.expect_cert, timeout=args.mdns_timeout,
        interfaces=args.mdns_interface,
        confirm=confirm if args.expect_cert is None and _interactive() else None)
    if choice.by_prefix:
        print(f"Nodos centrales encontrados con mDNS:\n{listing(choice.candidates)}\n"
              f"{choice_message(choice)}", file=sys.stderr, flush=True)
    _print({**_identity(identity), "found_via": choice.chosen.source,
            "chosen_by": "huella" if choice.by_prefix else "único",
            "candidates": [{"node": c.node, "cert_sha256": c.cert_sha256, "url": c.url}
                           for c in choice.candidates]})
    return 0


def _interactive() -> bool:
    """Whether a technician can read a fingerprint and answer (a terminal on both the
    standard input and the standard error, where the question is written)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def _ask(shown: str) -> None:
    """Show ``shown`` and wait for «sí»; anything else stops the enrollment before the
    code is sent (:class:`EnrollmentError` ``not_confirmed``)."""
    print(f"{shown}\nSi coincide, escriba «sí» y pulse Intro para enviar el código de alta; "
          "cualquier otra respuesta cancela: ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("sí", "si"):
        raise EnrollmentError("not_confirmed", NOT_CONFIRMED)


def _identity(identity: StationIdentity) -> dict[str, Any]:
    return {"station_id": identity.station_id, "role": identity.role, "sitio": identity.sitio,
            "node": identity.node, "central_url": identity.central_url,
            "cert_sha256": identity.cert_sha256}


def _record(record: Any) -> dict[str, Any]:
    return {"id": record.id, "seq": record.seq, "kind": record.kind.value,
            "sha256": record.sha256}


@_guarded
def _acopio(station: Station, args: argparse.Namespace) -> int:
    _print(_record(station.acopio(args.clave_acta, args.operator)))
    return 0


@_guarded
def _sin_acta(station: Station, args: argparse.Namespace) -> int:
    _print(_record(station.sin_acta(args.clave_acta, args.causa, args.operator)))
    return 0


@_guarded
def _imagen(station: Station, args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise StationInputError(f"No se pudo leer la imagen {args.file}: {exc.strerror}."
                                ) from exc
    media_type = sniff_media_type(data) or "image/jpeg"
    _print(_record(station.imagen(args.clave_acta, data, media_type, args.operator,
                                  args.origen, args.digitalizacion)))
    return 0


@_guarded
def _status(station: Station, args: argparse.Namespace) -> int:
    status = station.status()
    _print(status.to_json())
    if status.disabled:
        print(f"ATENCIÓN: {status.disabled}", file=sys.stderr)
    return 0


@_guarded
def _sync(station: Station, args: argparse.Namespace) -> int:
    agent = station.agent(_options(args, heartbeat=False))
    started = time.monotonic()
    if args.until_drained:
        drained = agent.run_until_drained(args.timeout)
    else:
        drained = asyncio.run(agent.run(until_drained=True, deadline=started + args.timeout,
                                        give_up=True))
    state = agent.state()
    _print({"drained": drained, "seconds": round(time.monotonic() - started, 3),
            "backlog_records": state.backlog_records, "backlog_bytes": state.backlog_bytes,
            "last_error": state.last_error, "last_error_code": state.last_error_code,
            "disabled": state.disabled})
    if drained:
        return 0
    if state.last_error:
        print(f"error: {state.last_error}", file=sys.stderr)
    timed_out = time.monotonic() - started >= args.timeout
    stopped = state.blocked or state.disabled  # waiting for a person, not for the network
    return EXIT_TIMEOUT if timed_out and not stopped else EXIT_NOT_DRAINED


@_guarded
def _run(station: Station, args: argparse.Namespace) -> int:
    station.store.require_identity()
    agent = station.agent(_options(args, heartbeat=True),
                          locator=mdns_locator(station.store) if args.mdns else None)

    async def main() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, task.cancel)
        await agent.run()

    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        pass
    return 0


@_guarded
def _unblock(station: Station, args: argparse.Namespace) -> int:
    _print({"unblocked": station.unblock()})
    return 0


@_guarded
def _login(station: Station, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    _print(station.login(args.user, password).to_json())
    return 0


@_guarded
def _bundle(station: Station, args: argparse.Namespace) -> int:
    outcome = station.fetch_bundle(args.timeout)
    _print({**outcome.info.to_json(), "changed": outcome.changed})
    return 0
