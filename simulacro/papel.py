"""``prep simulacro preparar``, ``prep simulacro noche`` and ``prep simulacro informe``:
the simulacro with paper (issue 32), subcommands of ``prep simulacro`` (which, with
options only, still runs the automated drill). The work is in :mod:`prep.papel` and,
for the night run by virtual operators, :mod:`simulacro.noche_papel`."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from prep.cli_es import checked

if TYPE_CHECKING:
    from prep.papel.informe import Informe

ACCIONES = ("preparar", "noche", "informe")


def add_subcommands(sim: argparse.ArgumentParser) -> None:
    """Add ``preparar`` and ``informe`` under ``prep simulacro``; without either,
    ``prep simulacro [opciones]`` runs the drill as always."""
    acciones = sim.add_subparsers(
        dest="accion", metavar="{preparar,noche,informe}",
        title="simulacro con papel (docs/simulacro.md)",
        description="sin acción, «prep simulacro [opciones]» ejecuta el simulacro "
                    "automático")
    preparar = acciones.add_parser(
        "preparar", help="resultados esperados y actas imprimibles por CATD",
        description="Genera la base de resultados esperados (CSV y PDF para el comité) y "
                    "un PDF por CATD con cada acta de sus casillas, lista para imprimir.")
    preparar.add_argument("--catalogo", type=Path, required=True, metavar="DIR",
                          help="directorio del catálogo de la elección")
    preparar.add_argument("--out", type=Path, required=True, metavar="DIR",
                          help="directorio de salida (nuevo o de un «preparar» anterior)")
    preparar.add_argument("--empates", type=_no_negativo, default=1, metavar="N",
                          help="contiendas que terminan empatadas (predeterminado 1)")
    preparar.add_argument("--rellenas", action="store_true",
                          help="imprime las actas con los números ya escritos")
    preparar.add_argument("--seed", type=int, default=2027,
                          help="semilla de los resultados (predeterminada 2027)")
    preparar.add_argument("--reglas", type=Path, default=None, metavar="TOML",
                          help="reglas de publicación del nodo central del simulacro (ver "
                               "resources/reglas.toml); predeterminadas las de DOMAIN.md")
    preparar.set_defaults(func=preparar_command)
    noche = acciones.add_parser(
        "noche", help="la noche con papel, hecha por operadores virtuales",
        description="Corre la noche de un «preparar» con el nodo central y las estaciones "
                    "reales: cada CATD registra el acopio de sus paquetes y escanea sus "
                    "actas impresas (cada página del PDF, convertida en imagen, entra a la "
                    "carpeta del escáner de la estación), los capturistas virtuales teclean "
                    "cada acta desde los resultados esperados, se publica el último corte y "
                    "el informe lo compara. Sale con 0 solo si todo coincide.")
    noche.add_argument("--esperados", type=Path, required=True, metavar="DIR",
                       help="el directorio --out de «prep simulacro preparar»")
    noche.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="directorio de la noche: nodo central, estaciones, publicación "
                            "e informe (uno nuevo o el de una noche anterior)")
    noche.add_argument("--dpi", type=_dpi, default=200,
                       help="resolución del escaneo de las páginas (predeterminada 200)")
    noche.add_argument("--catalogo", type=Path, default=None, metavar="DIR",
                       help="catálogo de la elección (predeterminado ESPERADOS/catalogo)")
    noche.add_argument("--error-de-captura", action="append", default=[],
                       metavar="CLAVE_ACTA:CAMPO=VALOR", dest="errores",
                       help="todos los capturistas teclean VALOR en CAMPO de esa acta, para "
                            "comprobar que el informe encuentra la diferencia (repetible)")
    noche.add_argument("--reglas", type=Path, default=None, metavar="TOML",
                       help="reglas de publicación del nodo central (las mismas que se "
                            "dieron a «preparar»)")
    noche.add_argument("--espera", type=float, default=900.0, metavar="SEG",
                       help="segundos de espera máxima a que toda acta sea final "
                            "(predeterminado 900)")
    noche.set_defaults(func=noche_command)
    informe = acciones.add_parser(
        "informe", help="compara un corte publicado con los resultados esperados",
        description="El informe del simulacro (PDF y JSON): lo esperado contra lo "
                    "publicado por acta y por contienda, cada diferencia explicada y el "
                    "veredicto. Sale con 0 solo si todo coincide.")
    informe.add_argument("--esperados", type=Path, required=True, metavar="DIR",
                         help="el directorio --out de «prep simulacro preparar»")
    informe.add_argument("--corte", type=Path, required=True, metavar="DIR",
                         help="un corte publicado, o el directorio de publicación: se "
                              "compara cada corte y el informe es el del último")
    informe.add_argument("--out", type=Path, default=None, metavar="DIR",
                         help="dónde escribir informe.pdf e informe.json (predeterminado "
                              "ESPERADOS/informe)")
    informe.set_defaults(func=informe_command)


def preparar_command(args: argparse.Namespace) -> int:
    """Write the expected results and the printable actas."""
    from prep.catalog import load_catalog
    from prep.catalog import write_catalog
    from prep.catalog.files import CatalogError
    from prep.papel.actas import write_catd_pdfs
    from prep.papel.comite import ESPERADOS_PDF
    from prep.papel.comite import write_esperados_pdf
    from prep.papel.esperados import ESPERADOS_JSON
    from prep.papel.esperados import preparar
    from prep.papel.esperados import write_esperados
    from prep.rules import DEFAULT_RULES
    from prep.rules import RuleSet

    out: Path = args.out
    if out.exists() and any(out.iterdir()) and not (out / ESPERADOS_JSON).exists():
        print(f"error: {out} ya tiene archivos y no es la salida de un «preparar» anterior; "
              "indique un directorio nuevo", file=sys.stderr)
        return 2
    try:
        catalog = load_catalog(args.catalogo)
    except (CatalogError, OSError) as exc:
        print(f"error: el catálogo de {args.catalogo} no se puede leer: {exc}",
              file=sys.stderr)
        return 2
    try:
        rules = RuleSet.from_toml(args.reglas) if args.reglas else DEFAULT_RULES
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    esperados = preparar(catalog, args.seed, args.empates, rules)
    archivos = write_esperados(esperados, out)
    # The catalog the actas were printed from, for «prep simulacro noche».
    shutil.rmtree(out / "catalogo", ignore_errors=True)
    write_catalog(catalog, out / "catalogo")
    write_esperados_pdf(esperados, out / ESPERADOS_PDF)
    pdfs = write_catd_pdfs(esperados, out / "actas", rellenas=args.rellenas)
    empates = [c.nombre for c in esperados.contiendas.values() if c.empate]
    print(f"{len(esperados.actas)} actas esperadas de {len(catalog.casillas)} casillas; "
          f"{len(esperados.fuera)} fuera de catálogo")
    if len(empates) < args.empates:
        print(f"Aviso: solo {len(empates)} de {args.empates} empates pedidos caben en este "
              "catálogo", file=sys.stderr)
    for nombre in empates:
        print(f"Empate: {nombre}")
    print(f"Para el comité: {out / ESPERADOS_PDF} y {len(archivos) - 1} CSV en {out}")
    print(f"Actas para imprimir ({'rellenas' if args.rellenas else 'en blanco'}): "
          f"{len(pdfs)} PDF en {out / 'actas'}")
    return 0


def informe_command(args: argparse.Namespace) -> int:
    """Compare a corte with the expected results; 0 only when everything matches."""
    from prep.papel.informe import InformeError
    from prep.papel.informe import compare_publicacion
    from prep.papel.informe import load_esperados
    from prep.papel.informe import write_informe

    try:
        esperados = load_esperados(args.esperados)
        informe = compare_publicacion(esperados, args.corte)
    except InformeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out if args.out is not None else args.esperados / "informe"
    return _print_informe(informe, write_informe(informe, out))


def noche_command(args: argparse.Namespace) -> int:
    """Run the paper night and print its informe; 0 only when everything matches."""
    from prep.papel.informe import InformeError
    from simulacro.noche_papel import ErrorDeCaptura
    from simulacro.noche_papel import NocheError
    from simulacro.noche_papel import NochePapel

    try:
        noche = NochePapel(args.esperados, args.out, dpi=args.dpi, espera_s=args.espera,
                           errores=[ErrorDeCaptura.parse(e) for e in args.errores],
                           catalogo=args.catalogo, reglas=args.reglas,
                           say=lambda m: print(f"· {m}", flush=True))
    except (NocheError, InformeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    resultado = noche.run()
    print(f"\nNoche con papel en {resultado.segundos:.1f} s: {resultado.hojas} páginas "
          f"escaneadas ({resultado.hojas_rechazadas} rechazadas), {resultado.capturas} "
          "capturas")
    for aviso in resultado.avisos:
        print(f"Aviso: {aviso}")
    for falla in resultado.fallas[:20]:
        print(f"Falla: {falla}", file=sys.stderr)
    if resultado.informe is None:
        print("Veredicto: sin informe (no se publicó ningún corte)", file=sys.stderr)
        return 1
    code = _print_informe(resultado.informe, resultado.archivos)
    return code if not resultado.fallas else 1


def _print_informe(informe: Informe, pdf_json: list[Path]) -> int:
    """Print the informe's summary and verdict; 0 only when everything matches."""
    from prep.papel.informe import EXPLICACIONES
    from prep.papel.tiempos import FASES
    from prep.papel.tiempos import TODOS

    print(f"Corte {informe.corte}: {informe.coinciden} de {informe.actas} actas coinciden "
          f"({informe.porcentaje:.2f} %); contiendas que coinciden "
          f"{sum(c.coincide for c in informe.contiendas)} de {len(informe.contiendas)}")
    for tipo, n in informe.por_tipo().items():
        if n:
            print(f"  {n} {EXPLICACIONES[tipo]}")
    for d in informe.diferencias[:10]:
        detalle = "; ".join(f"{c} esperado {e}, publicado {p}" for c, e, p in d.campos[:3])
        print(f"  {d.clave} (CATD {d.catd:02d}): {d.explicacion}"
              + (f" ({detalle})" if detalle else ""))
    for problema in informe.problemas:
        print(f"  no se pudo leer {problema}")
    if len(informe.cortes) > 1:
        print(f"  {len(informe.cortes)} cortes comparados; publicadas con error en un corte "
              f"anterior y correctas en este: {len(informe.corregidas_entre_cortes)}")
    if informe.tiempos is None:
        print("  El corte no tiene HISTORIAL.csv: sin tiempos por fase ni correcciones")
    else:
        todos = informe.tiempos.por_catd.get(TODOS, {}).get(FASES[-1][0])
        if todos is not None:
            print(f"  Acopio → publicación ({todos.n} actas): mediana {todos.p50:g} min, "
                  f"percentil 90 {todos.p90:g} min, máximo {todos.maximo:g} min")
        print(f"  {len(informe.tiempos.corregidas)} actas capturadas con error y corregidas "
              "tras el cotejo")
    print(f"Informe: {pdf_json[1]}; datos: {pdf_json[0]}")
    print(f"Veredicto: {informe.veredicto}")
    return 0 if informe.ok else 1


# The options' argparse types: a value out of range is refused with its reason.
_no_negativo = checked("_no_negativo", int, lambda v: v >= 0,
                       "el número de empates no puede ser negativo")
_dpi = checked("_dpi", int, lambda v: 72 <= v <= 300, "la resolución va de 72 a 300 dpi")
