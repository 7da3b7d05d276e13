"""``prep simulacro``'s options and output: a subcommand :mod:`prep.cli` registers by name
(the core never imports the drill)."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from prep.cli_es import Subcommands
from prep.cli_es import checked
from prep.metricas import add_metrics_options
from simulacro.papel import add_subcommands


def register(subparsers: Subcommands) -> None:
    """Add the ``simulacro`` command to the ``prep`` parser."""
    sim = subparsers.add_parser("simulacro", help="ejecuta un simulacro completo con veredicto")
    add_arguments(sim)
    sim.set_defaults(func=command)
    add_subcommands(sim)  # prep simulacro preparar | informe (issue 32)


def add_arguments(sim: argparse.ArgumentParser) -> None:
    """The drill's options."""
    sim.add_argument("--seed", type=int, default=2027, help="semilla (predeterminada 2027)")
    sim.add_argument("--scale", type=_fraction, default=0.01,
                     help="fracción de la elección de la CDMX (predeterminado 0.01 ≈ 420 "
                          "actas; 1 ≈ 40,000)")
    sim.add_argument("--catds", type=_positive, default=None,
                     help="CATD virtuales (predeterminado: uno por distrito a escala 1, es "
                          "decir 33, y proporcionalmente menos abajo; al menos 3; además "
                          "siempre un CCV)")
    sim.add_argument("--speed", type=float, default=1000.0,
                     help="segundos simulados por segundo real (predeterminado 1000: la "
                          "noche de 14 h en ≈50 s)")
    sim.add_argument("--error-rate", type=_rate, default=0.03,
                     help="probabilidad de que un capturista se equivoque en un acta "
                          "(predeterminado 0.03)")
    sim.add_argument("--cotejo-rate", type=_share, default=None, metavar="R",
                     help="fracción de las actas publicadas que los verificadores de cada "
                          "CATD cotejan contra el papel (predeterminada 0.2; 0: sin cotejo "
                          "ni actas publicadas con error a propósito)")
    sim.add_argument("--corte-cada", type=float, default=120.0, metavar="MIN",
                     help="minutos simulados entre cortes a pedido (predeterminado 120)")
    sim.add_argument("--dpi", type=int, default=100,
                     help="resolución de las imágenes sintéticas (predeterminado 100)")
    sim.add_argument("--out", type=Path, default=Path("salida-simulacro"),
                     help="directorio de salida (predeterminado ./salida-simulacro)")
    sim.add_argument("--reglas", type=Path, default=None,
                     help="archivo TOML de reglas de publicación (ver resources/reglas.toml)")
    sim.add_argument("--gui", action="store_true",
                     help="abre el tablero de control mientras corre (docs/simulacro.md)")
    sim.add_argument("--nodos", type=int, choices=(1, 2), default=1,
                     help="2: un standby síncrono del PostgreSQL central que se promueve "
                          "cuando se pierde la máquina del primario a un minuto de la noche "
                          "(docs/continuidad.md)")
    sim.add_argument("--difusores", type=int, choices=range(0, 6), default=1, metavar="N",
                     help="procesos prep difusor que siguen la publicación por HTTPS toda "
                          "la noche, con el origen caído un rato y respuestas alteradas que "
                          "deben rechazar (predeterminado 1; 0: ninguno; hasta 5)")
    sim.add_argument("--rapido", action="store_true",
                     help="el simulacro en memoria, sin estaciones ni nodo central (segundos)")
    add_metrics_options(sim)  # the central's Prometheus metrics (docs/monitoreo.md)


#: Stations that capture in a drill: the CATDs and the CCV. An acta whose three captures
#: disagree is verified at a fourth station, one that made none of them (issue 36).
MIN_CATDS = 3


def default_catds(scale: float) -> int:
    """CATD stations for a drill at ``scale``: the CDMX has one CATD per distrito
    local (33); a smaller drill has proportionally fewer, at least 3 (so the
    incidents fall on different stations)."""
    return max(MIN_CATDS, min(33, round(33 * scale)))


def command(args: argparse.Namespace) -> int:
    """Run the drill; exit 0 only on an APROBADO verdict."""
    from prep.rules import DEFAULT_RULES
    from prep.rules import RuleSet

    rules = RuleSet.from_toml(args.reglas) if args.reglas else DEFAULT_RULES
    if args.rapido:
        return _rapido(args, rules)
    from simulacro.drill import Drill
    from simulacro.drill import DrillOptions
    from simulacro.testigos import lineas as lineas_registro

    if args.speed <= 0 or not 72 <= args.dpi <= 300:
        print("error: --speed debe ser mayor que 0 y --dpi de 72 a 300", file=sys.stderr)
        return 2
    catds = args.catds if args.catds is not None else default_catds(args.scale)
    if catds < MIN_CATDS:
        print(f"error: --catds {catds}: el simulacro necesita al menos {MIN_CATDS} CATD. Un "
              "acta cuyas tres capturas difieren se verifica en una estación que no hizo "
              "ninguna de ellas (docs/seguridad.md), y con menos CATD no queda ninguna.",
              file=sys.stderr)
        return 2
    options = DrillOptions(out=args.out, seed=args.seed, scale=args.scale, catds=catds,
                           speed=args.speed, error_rate=args.error_rate,
                           **({} if args.cotejo_rate is None
                              else {"cotejo_rate": args.cotejo_rate}),
                           corte_cada=args.corte_cada, dpi=args.dpi, gui=args.gui,
                           reglas=args.reglas, nodos=args.nodos, difusores=args.difusores,
                           metricas=None if args.metrics_port is None
                           else (args.metrics_host, args.metrics_port))
    # A SIGTERM (a timeout, a service manager) unwinds like Ctrl+C, so the drill stops
    # the central and the stations it started instead of leaving them behind.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        report = Drill(options, rules, progress=lambda m: print(f"· {m}", flush=True)).run()
    except (KeyboardInterrupt, SystemExit) as stop:
        print(f"\nSimulacro detenido antes de terminar: estaciones y nodo central detenidos; "
              f"lo hecho hasta aquí está en {args.out / 'simulacro.json'} (sin veredicto).",
              file=sys.stderr)
        return stop.code if isinstance(stop, SystemExit) and isinstance(stop.code, int) \
            else 130
    fases = ", ".join(f"{k} {v:.1f} s" for k, v in report.phases.items())
    print(f"\n{report.actas} actas en {report.wall_seconds:.1f} s ({fases})")
    print(f"Cortes publicados: {len(report.cortes)}; en el último, {report.published} actas "
          f"con datos finales y {report.mismatches} discrepancias con la verdad")
    hechos = sum(1 for i in report.incidentes if i.hecho)
    print(f"Incidentes superados: {hechos}/{len(report.incidentes)}")
    cotejo = report.metrics.get("cotejo")
    if cotejo and cotejo["tasa"] > 0:
        print(f"Cotejo contra el papel: {cotejo['cotejos']} actas cotejadas "
              f"({cotejo['confirmados']} confirmadas, {cotejo['correcciones']} con diferencia); "
              f"correcciones publicadas {cotejo['correcciones_publicadas']}/"
              f"{cotejo['erradas_planeadas']} actas publicadas con error a propósito")
    for difusor in report.metrics.get("difusores", []):
        print(f"Difusor {difusor['nombre']}: sirve {difusor['ultimo_corte']} "
              f"({'idéntico' if difusor['identico'] else 'DISTINTO'} al origen), "
              f"{difusor['rechazos']} rechazos, "
              + ("sirvió un corte sin verificar" if difusor["sirvio_no_verificado"]
                 else "nunca sirvió un corte sin verificar"))
    for linea in lineas_registro(report.metrics.get("registro", {})):
        print(linea)
    for aviso in report.avisos:
        print(f"Aviso: {aviso}")
    if report.revision:
        print("Revisión de los archivos publicados en el último corte:")
        for revision in report.revision:
            print(revision.linea())
    print(f"Publicación: {args.out / 'publicacion'}; métricas: {args.out / 'simulacro.json'};"
          f" reporte: {args.out / 'reporte_final.pdf'}")
    return _veredicto(report.ok, report.failures, "cada acta publicada coincide con la "
                      "verdad, cada acta una sola vez, cada incidente superado, cada "
                      "corrección por cotejo publicada con su historial, el estado de cada "
                      "acta se deriva de sus registros, prep verify-corte aprueba cada "
                      "corte, la revisión del último corte aprueba, cada difusor sirve el "
                      "último corte idéntico y nunca uno sin verificar y, con difusores, cada "
                      "corte en el registro público con sus testigos y la bifurcación "
                      "rechazada",
                      esperas=report.esperas_agotadas)


#: Exit status of a drill with no wrong result but an event it waited for that did not
#: come within its bound (simulacro/espera.py): no verdict, run it again.
INCONCLUSO = 3


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _rapido(args: argparse.Namespace, rules: object) -> int:
    from prep.rules import RuleSet
    from simulacro.run import Options
    from simulacro.run import run

    assert isinstance(rules, RuleSet)
    report = run(Options(out=args.out, seed=args.seed, scale=args.scale), rules,
                 progress=lambda msg: print(f"· {msg}", flush=True))
    print(f"\nCorte {report.corte}: {report.actas} actas de {report.casillas} casillas "
          f"en {report.seconds:.1f} s")
    for nombre, r in report.resumen.items():
        print(f"  {nombre}: capturadas {r['ACTAS_CAPTURADAS']}/{r['ACTAS_ESPERADAS']} "
              f"({r['PORCENTAJE_ACTAS_CAPTURADAS']} %), contabilizadas "
              f"{r['ACTAS_CONTABILIZADAS']} ({r['PORCENTAJE_ACTAS_CONTABILIZADAS']} %), "
              f"participación {r['PORCENTAJE_PARTICIPACION_CIUDADANA']} %")
    print(f"Publicación: {args.out / 'publicacion' / report.corte}")
    return _veredicto(report.ok, report.failures, "cada fila publicada coincide con lo "
                      "capturado; resumen y huellas verificados")


def _veredicto(ok: bool, failures: Sequence[str], why: str,
               esperas: Sequence[str] = ()) -> int:
    """Print the verdict line (and the first problems, then the esperas agotadas apart:
    an event that did not come is not a wrong result); the exit status."""
    if ok:
        print(f"Veredicto: APROBADO ({why})")
        return 0
    if failures:
        print(f"Veredicto: REPROBADO ({len(failures)} problemas"
              + (f"; además {len(esperas)} esperas agotadas" if esperas else "") + ")",
              file=sys.stderr)
    else:
        print(f"Veredicto: INCONCLUSO ({len(esperas)} esperas agotadas: un evento que el "
              "simulacro esperaba no llegó a tiempo; no se halló ningún resultado "
              "equivocado)", file=sys.stderr)
    for failure in failures[:20]:
        print(f"  - {failure}", file=sys.stderr)
    if esperas:
        print("Esperas agotadas (el evento que no llegó y cuánto se esperó):", file=sys.stderr)
        for espera in esperas[:20]:
            print(f"  - {espera}", file=sys.stderr)
    return 1 if failures else INCONCLUSO


# The options' argparse types: a value out of range is refused with its reason.
_fraction = checked("_fraction", float, lambda v: 0 < v <= 1,
                    "la escala debe estar entre 0 (excluido) y 1")
_positive = checked("_positive", int, lambda v: 1 <= v <= 33, "de 1 a 33 CATD")
_share = checked("_share", float, lambda v: 0 <= v <= 1, "la fracción de cotejo va de 0 a 1")
_rate = checked("_rate", float, lambda v: 0 <= v <= 0.5, "la tasa de errores va de 0 a 0.5")
