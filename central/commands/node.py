"""``prep central init|serve|enroll-code|verify-audit``: the node itself.

``init`` makes the data directory (key, certificate) and the schema; ``serve`` runs the
HTTPS API and prints one JSON line (URL, node, certificate fingerprint) once listening
(and, with ``--mdns``, once advertised on the local network);
``enroll-code`` makes one-time enrollment codes (one per CATD given, a line each);
``verify-audit`` checks the audit chain.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Literal

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from central.audit import ancla
from central.audit import audit
from central.catalog import catalog_store
from central.commands.common import open_engine
from central.commands.common import subcommand
from central.commands.common import technician_actor
from central.db import current_revision
from central.db import database_dsn
from central.db import head_revision
from central.db import make_engine
from central.db import simulacro
from central.db import upgrade
from central.db.engine import configured_dsn
from central.db.privileges import API_ROLE
from central.node.config import DataDir
from central.node.config import Identity
from central.node.config import initialize
from central.node.config import load_identity
from central.node.tuning import CentralTuning
from central.stations.enrollment import ROLES
from central.stations.enrollment import Site
from central.stations.enrollment import create_code
from prep import cadena
from prep.cli_es import Subcommands

if TYPE_CHECKING:
    from central.api.advertise import Interfaces
    from central.api.connections import ConnectionLimits
    from central.api.http_common import Central
    from central.node.metrics.exporter import Exporter
    from central.publication.corte import CorteSettings
    from central.publication.schedule import Ventana

log = logging.getLogger("central.commands")


def register_node(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """Add ``init``, ``serve``, ``enroll-code`` and ``verify-audit`` to ``prep central``."""
    init = subcommand(sub, "init", _init, parents=(common,), simulacro=None,
                      help="crea llave, certificado y esquema")
    modo = init.add_mutually_exclusive_group()
    modo.add_argument("--simulacro", action="store_const", const=True, dest="simulacro",
                      help="nodo de un simulacro: cada corte que publique dirá SIMULACRO en "
                           "cada archivo y página (no se puede quitar una vez que haya "
                           "resultados)")
    modo.add_argument("--real", action="store_const", const=False, dest="simulacro",
                      help="quita el indicador SIMULACRO de una base de datos que aún no "
                           "tiene resultados (sin --simulacro ni --real se conserva el que "
                           "tenga)")

    serve = subcommand(sub, "serve", _serve, parents=(common,),
                       help="atiende a los equipos por HTTPS")
    serve.add_argument("--host", default="127.0.0.1", help="dirección de escucha")
    serve.add_argument("--port", type=int, default=8443,
                       help="puerto (0 = cualquiera libre; se informa al arrancar)")
    serve.add_argument("--mdns", action="store_true",
                       help="anunciarse en la red local con mDNS para que los equipos lo "
                            "encuentren (sin esta opción no se anuncia)")
    serve.add_argument("--mdns-interface", action="extend", nargs="+", metavar="IP",
                       type=_ip_address, default=None,
                       help="anunciarse solo en las interfaces de estas direcciones IP "
                            "(predeterminado: todas); requiere --mdns")
    serve.add_argument("--lease-minutes", type=float, default=10.0,
                       help="minutos que dura una asignación de captura o verificación "
                            "antes de volver a la cola (predeterminado 10)")
    from central.publication.schedule import add_serve_options  # issue 7

    add_serve_options(serve)
    from central.api.connections import add_connection_options  # issue 36

    add_connection_options(serve)
    from prep.metricas import add_metrics_options  # issue 68

    add_metrics_options(serve.add_argument_group("métricas de Prometheus "
                                                 "(docs/instalacion.md, «Monitoreo»)"))
    build = serve.add_argument_group("compilación auditada (docs/auditoria.md)")
    build.add_argument("--build-no-auditado", action="store_true",
                       help="atender aunque la huella de esta compilación no esté en la "
                            "lista de auditadas (queda en la bitácora); requiere --motivo")
    build.add_argument("--motivo", default=None,
                       help="por qué se atiende con una compilación no auditada")

    code = subcommand(sub, "enroll-code", _enroll_code, parents=(common,),
                      help="crea un código de alta de un solo uso (uno por CATD si se dan varios)")
    site = code.add_mutually_exclusive_group(required=True)
    site.add_argument("--catd", type=int, nargs="+", metavar="N",
                      help="número del CATD (distrito local); con varios, un código por "
                           "CATD, uno por línea en el mismo orden")
    site.add_argument("--ccv", action="store_true", help="el Centro de Captura y Verificación")
    code.add_argument("--role", choices=ROLES, default=None,
                      help="rol del equipo (opcional: --catd da catd y --ccv da ccv)")
    code.add_argument("--ttl-hours", type=float, default=24.0, help="vigencia en horas")

    verify = subcommand(sub, "verify-audit", _verify_audit, parents=(common,),
                        help="recalcula la cadena de huellas de la bitácora y la compara "
                             "con las cabezas publicadas en los cortes firmados y con su "
                             "copia fuera de la base de datos")
    verify.add_argument("--publicacion", type=Path, default=None, metavar="DIR",
                        help="directorio de publicación cuyo índice firmado se compara "
                             "(predeterminado <data-dir>/publicacion)")


def _init(args: argparse.Namespace) -> int:
    data_dir = DataDir(args.data_dir)
    if (dsn := configured_dsn(args.dsn)) is not None:
        # An external server is checked before anything is made: an unreachable --dsn
        # must not leave a half-made node (key and certificate with no schema).
        with psycopg.connect(dsn, connect_timeout=15):
            pass
    identity, created = initialize(data_dir)
    with open_engine(args, data_dir) as engine:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            try:
                changed = (args.simulacro is not None
                           and simulacro.set_simulacro(session, args.simulacro))
            except simulacro.SimulacroError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            drill = simulacro.is_simulacro(session)
            audit.emit(session, "central_initialized", actor=technician_actor(), detail={
                "node": identity.node, "cert_sha256": identity.cert_sha256,
                "central_key_sha256": identity.key.public.fingerprint(),
                "created": created, "schema": head_revision(), "simulacro": drill,
                "simulacro_cambiado": changed})
    modo = ("SIMULACRO: cada corte dirá SIMULACRO en cada archivo y página" if drill
            else "real (los cortes no dicen SIMULACRO)")
    print(f"Nodo central {identity.node} {'creado' if created else 'ya existía'} en "
          f"{data_dir.root}\n"
          f"  llave del nodo (SHA-256):    {identity.key.public.fingerprint()}\n"
          f"  certificado TLS (SHA-256):   {identity.cert_sha256}\n"
          f"  esquema de la base de datos: {head_revision()}\n"
          f"  modo:                        {modo}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from zeroconf import InterfaceChoice

    from central.api.http_common import WORKERS

    if args.mdns_interface and not args.mdns:
        raise ValueError("--mdns-interface requiere --mdns")
    if not 0 < args.lease_minutes <= 24 * 60:
        raise ValueError("--lease-minutes debe ser de más de 0 y hasta 1440 minutos")
    if args.build_no_auditado != bool(args.motivo and args.motivo.strip()):
        raise ValueError("--build-no-auditado y --motivo van juntos: el motivo de atender "
                         "con una compilación no auditada queda en la bitácora")
    mdns = (args.mdns_interface or InterfaceChoice.All) if args.mdns else None
    from central.publication.schedule import settings_from_args
    from central.publication.schedule import ventana_from_args

    ventana = ventana_from_args(args)  # bad corte options refused before anything starts
    from central.api.connections import limits_from_args

    limits = limits_from_args(args)
    data_dir = DataDir(args.data_dir)
    identity = load_identity(data_dir)
    corte_settings = settings_from_args(args, data_dir)
    metrics: dict[str, str] = {}  # the metrics' URL, once they are served

    def listening(url: str) -> None:
        # One JSON line on stdout: what tests, the drill and scripts read to connect.
        print(json.dumps({"url": url, "node": identity.node,
                          "cert_sha256": identity.cert_sha256, "pid": os.getpid(),
                          **metrics}), flush=True)
        if mdns is not None:
            print(f"Nodo central {identity.node} anunciado en la red local (mDNS). Huella "
                  f"del certificado, para compararla en los equipos al darlos de alta:\n"
                  f"  {identity.cert_sha256}", file=sys.stderr, flush=True)

    # The process's tuning for its cortes, from here to the end (central.node.tuning).
    with CentralTuning() as tuning, database_dsn(args.dsn, data_dir.pgdata,
                                                 watch=True) as dsn:
        corte_settings = replace(corte_settings, tuning=tuning)
        if _in_recovery(dsn):
            print("error: este PostgreSQL es un standby (réplica de solo lectura): no puede "
                  "recibir lotes. Si se perdió el primario, promuévalo primero con «prep "
                  "central promote» (docs/continuidad.md).", file=sys.stderr)
            return 2
        # The start (schema, build check, the Consejo's window) as the DSN's user; the
        # serving itself as prep_api (central/db/privileges.py, docs/seguridad.md).
        engine = make_engine(dsn, pool_size=2)
        try:
            ready = _before_serving(args, engine, ventana)
        finally:
            engine.dispose()
        if ready is False:
            return 2
        exporter = _start_metrics(args, dsn, data_dir, corte_settings)
        if exporter is not None:
            metrics["metrics_url"] = exporter.url
        api = make_engine(dsn, pool_size=WORKERS, role=API_ROLE)
        try:
            return _serve_on(args, api, dsn, data_dir, identity, ready, corte_settings,
                             limits, listening, mdns)
        finally:
            api.dispose()
            if exporter is not None:
                exporter.stop()


def _start_metrics(args: argparse.Namespace, dsn: str, data_dir: DataDir,
                   corte_settings: CorteSettings) -> Exporter | None:
    """``--metrics-port``: the central's Prometheus endpoint (central.node.metrics)."""
    from central.node.metrics import instruments
    from central.node.metrics.exporter import start_exporter
    from prep.metricas import metrics_address

    instruments.corte_period(args.corte_every * 60)
    publicacion = corte_settings.publicacion
    return start_exporter(metrics_address(args), dsn,
                          {"datos": data_dir.root, "publicacion": publicacion}, publicacion)


def _before_serving(args: argparse.Namespace, engine: Engine,
                    ventana: Ventana | None) -> Ventana | Literal[False] | None:
    """The schema brought up to date, this build checked against the audited list
    (``False``: refused, already said why) and the window to schedule."""
    from central.publication.schedule import ventana_para_serve

    _migrate(engine)
    if not _own_build_allowed(engine, args.motivo.strip() if args.motivo else None):
        return False
    if not _revocaciones_en_vigor(engine, DataDir(args.data_dir)):
        return False
    # The Consejo's window, in the database: checked (or fixed) before serving.
    return ventana_para_serve(engine, args, ventana, technician_actor())


def _serve_on(args: argparse.Namespace, engine: Engine, dsn: str, data_dir: DataDir,
              identity: Identity, ventana: Ventana | None, corte_settings: CorteSettings,
              limits: ConnectionLimits, listening: Callable[[str], None],
              mdns: Interfaces | None) -> int:
    from central.api.advertise import AdvertiseError
    from central.api.http_common import Central
    from central.api.server import serve
    from central.api.work_wait import PeerWorkListener
    from central.continuity.replication import status as replication_status
    from central.publication.peticiones import AtiendePeticiones
    from central.publication.schedule import Scheduler
    from central.publication.schedule import cortes_while

    central = Central.open(data_dir, identity, engine,
                           lease_time=timedelta(minutes=args.lease_minutes),
                           limits=limits, refusal_window=args.refusal_window_seconds,
                           timeline=replication_status(dsn).timeline)
    # Images the database holds and the disk lacks (a promoted standby, a restored
    # node) are written back, and files from before revision 0018 stored, meanwhile.
    threading.Thread(target=_reconcile_blobs, args=(central,), name="central-imagenes",
                     daemon=True).start()
    peers = PeerWorkListener(dsn, central.waiters)  # other serve nodes' batches
    peers.start()
    # Cortes the dashboard asks for: made here, with this node's key (issue 62).
    pedidos = AtiendePeticiones(dsn, engine, identity.key, corte_settings)
    pedidos.start()
    vigia = ancla.Vigia(engine, data_dir.ancla)  # the chain's head outside the database
    vigia.start()
    scheduler = (Scheduler(engine, identity.key, corte_settings, ventana)
                 if ventana is not None else None)
    try:
        asyncio.run(cortes_while(serve(central, data_dir, args.host, args.port,
                                       listening, mdns), scheduler))
    except AdvertiseError as exc:
        print(f"error: no se pudo anunciar el nodo central con mDNS ({exc}). Revise "
              "--mdns-interface, o arranque sin --mdns y dé de alta los equipos con la "
              "dirección del nodo central.", file=sys.stderr)
        return 2
    finally:
        peers.stop()
        pedidos.stop()
        vigia.stop()
    return 0


def _revocaciones_en_vigor(engine: Engine, data_dir: DataDir) -> bool:
    """No revocation the anchor kept is undone in the database (a restore to an earlier
    point, issue 62); otherwise say which, audit it and refuse to serve until a
    coordinator re-applies or confirms them (``prep central revocaciones``)."""
    with Session(engine) as session, session.begin():
        pendientes = ancla.pendientes(session, data_dir.ancla)
        if pendientes:
            audit.emit(session, "revocaciones_pendientes", actor="central", detail={
                "origen": "serve", "total": len(pendientes),
                "revocaciones": [r.to_json() for r in pendientes[:50]]})
    if pendientes:
        print(f"error: {ancla.aviso(pendientes, data_dir.root)}", file=sys.stderr)
        return False
    ancla.sincronizar_sin_fallar(engine, data_dir.ancla)
    return True


def _migrate(engine: Engine) -> None:
    """Bring the schema to this version's head, or say who must (a ``--dsn`` that is
    the service's own login, as docs/seguridad.md advises, cannot migrate)."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    try:
        upgrade(engine)
    except ProgrammingError as exc:
        if not isinstance(exc.orig, psycopg.errors.InsufficientPrivilege):
            raise
        raise ValueError(
            f"el esquema de la base de datos está en la revisión {current or 'ninguna'} y "
            f"esta versión necesita la {head}; el usuario de --dsn no puede migrarlo (no "
            "es su dueño). Ejecute «prep central init --dsn …» con el usuario dueño del "
            "esquema y vuelva a arrancar (docs/seguridad.md, «Roles de PostgreSQL»)"
        ) from None


def _own_build_allowed(engine: Engine, motivo: str | None) -> bool:
    """The start check of docs/auditoria.md: this central's own build against the
    audited list (an empty list warns; a non-empty one is enforced)."""
    from central.audit.build_check import AUDITADA
    from central.audit.build_check import RECHAZADA
    from central.audit.build_check import SIN_LISTA
    from central.audit.build_check import check_own_build
    from prep.build_info import current_build

    build = current_build()
    resultado = check_own_build(engine, build, motivo, technician_actor())
    if resultado == RECHAZADA:
        print(f"error: esta compilación ({build.label}) no está en la lista de "
              "compilaciones auditadas: el nodo central no atiende. Instale la compilación "
              "auditada (compare «prep central self-test» con «prep central audited-build "
              "list»), o, por decisión documentada, arranque con --build-no-auditado "
              "--motivo \"…\" (queda en la bitácora).", file=sys.stderr)
        for problema in build.problems:
            print(f"  {problema}", file=sys.stderr)
        return False
    if resultado == SIN_LISTA:
        log.warning("aún no hay compilaciones auditadas registradas (prep central "
                    "audited-build add): se atiende con la compilación %s sin compararla",
                    build.label)
    elif resultado != AUDITADA:
        log.warning("se atiende con la compilación NO auditada %s por decisión registrada "
                    "en la bitácora: %s", build.label, motivo)
    return True


def _in_recovery(dsn: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    return bool(row and row[0])


def _reconcile_blobs(central: Central) -> None:
    from central.db.blobs import reconcile_when_reachable

    try:  # while PostgreSQL is down (restarting, say), tried again until it is up
        done = reconcile_when_reachable(central.engine, central.blobs)
    except Exception:  # serving must outlive it; the next start tries again
        log.exception("no se pudieron conciliar las imágenes con la base de datos")
        return
    if done is not None and (done.files_written or done.rows_stored):
        log.info("imágenes: %d restituidas desde la base de datos, %d guardadas en ella",
                 done.files_written, done.rows_stored)


def _enroll_code(args: argparse.Namespace) -> int:
    catds: list[int | None] = [None] if args.ccv else list(args.catd)
    repeated = sorted({n for n in catds if n is not None and catds.count(n) > 1})
    if repeated:
        raise ValueError("CATD repetido en --catd: " + ", ".join(map(str, repeated)))
    role = args.role or ("ccv" if args.ccv else "catd")
    sites = [Site.of(catd, role) for catd in catds]  # all checked before any code
    if not 0 < args.ttl_hours <= 24 * 30:
        raise ValueError("la vigencia debe ser de más de 0 y hasta 720 horas")
    with open_engine(args, DataDir(args.data_dir)) as engine:
        with Session(engine) as session:
            if unknown := catalog_store.unknown_catds(session, [s.sitio for s in sites]):
                raise ValueError(f"el CATD {', '.join(unknown)} no existe: el catálogo "
                                 f"tiene {catalog_store.describe_catds(session)}")
        for site in sites:
            # Printed as made: should a later one fail, those shown still work.
            print(create_code(engine, site, actor=technician_actor(),
                              ttl=timedelta(hours=args.ttl_hours)), flush=True)
    if len(sites) == 1:
        [site] = sites
        lugar = "CCV" if site.sitio == "CCV" else f"CATD {site.sitio}"
        print(f"Código de alta para {lugar}, rol {site.role}, válido {args.ttl_hours:g} h y "
              "un solo uso. No se volverá a mostrar.", file=sys.stderr)
    else:
        print(f"Códigos de alta para los CATD {', '.join(s.sitio for s in sites)} (uno por "
              f"línea, en ese orden), rol {role}, válidos {args.ttl_hours:g} h y de un "
              "solo uso cada uno. No se volverán a mostrar.", file=sys.stderr)
    return 0


def _verify_audit(args: argparse.Namespace) -> int:
    """The chain recomputed, then held against every head published outside the
    database: the signed index of the cortes and the data directory's anchor (issue
    62). A chain whose owner deleted events and linked the rest again still verifies
    on its own; it no longer holds the heads published before."""
    data_dir = DataDir(args.data_dir)
    publicacion = args.publicacion or data_dir.root / "publicacion"
    publicadas, problema = cadena.de_indice(publicacion, load_identity(data_dir).key.public)
    if problema:
        print(f"aviso: {problema}", file=sys.stderr)
    publicadas += ancla.cabezas(data_dir.ancla)
    with open_engine(args, data_dir) as engine, Session(engine) as session:
        check = audit.verify_chain(session)
        contraste = cadena.contrastar(audit.chain_rows(session), publicadas)
    if not check.ok:
        print(f"Bitácora ALTERADA en el evento {check.broken_id}: {check.reason}.",
              file=sys.stderr)
        return 1
    if not contraste.ok:
        print(f"Bitácora ALTERADA: {contraste.hallazgo}.", file=sys.stderr)
        return 1
    print(f"Bitácora íntegra: {check.rows} eventos encadenados; coincide con "
          f"{contraste.coinciden} cabezas publicadas fuera de la base de datos.")
    return 0


def _ip_address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"«{text}» no es una dirección IP") from None
