"""``prep difusor init|run|status``: follow the institute's signed cortes and serve them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from difusor import config as cfg
from difusor.errores import DifusorError
from prep.metricas import add_metrics_options


def register(subparsers: Any) -> None:
    """Add the ``difusor`` command and its subcommands to ``prep``'s parser."""
    difusor = subparsers.add_parser("difusor", help="difusor: republica los cortes firmados "
                                    "del PREP desde un servidor propio")
    sub = difusor.add_subparsers(dest="difusor_command", required=True, metavar="ACCIÓN")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--datos", type=Path, default=None,
                        help=f"directorio de datos (predeterminado {cfg.default_data_dir()})")

    init = sub.add_parser("init", parents=[common], help="configura qué origen seguir, con "
                          "qué llave y dónde publicar")
    init.add_argument("--origen", action="append", required=True, metavar="URL",
                      help="https://… de publicacion/ del instituto; repítalo para el sitio "
                           "de contingencia (se usan en ese orden)")
    init.add_argument("--huella", required=True,
                      help="SHA-256 de la llave pública del instituto (la publica el "
                           "instituto)")
    init.add_argument("--raiz", type=Path, required=True,
                      help="directorio que sirve su servidor web (nginx)")
    init.add_argument("--conservar", type=int, default=3,
                      help="cuántos cortes conservar en línea (predeterminado 3)")
    init.add_argument("--intervalo", type=float, default=30.0, metavar="SEGUNDOS",
                      help="cada cuánto consultar el origen (predeterminado 30)")
    init.add_argument("--periodo", type=float, default=20.0, metavar="MINUTOS",
                      help="cada cuántos minutos publica cortes el instituto (predeterminado "
                           "20, el máximo): un índice firmado con más del doble de "
                           "antigüedad se considera desactualizado y se prueba el origen "
                           "siguiente")
    init.add_argument("--ca", type=Path, default=None,
                      help="certificados de CA para el TLS del origen (predeterminado: los "
                           "del sistema)")
    init.add_argument("--reglas", type=Path, default=None,
                      help="reglas de publicación del instituto (reglas.toml), como en "
                           "prep verify-corte --reglas")
    init.set_defaults(func=_errors(_init))

    run = sub.add_parser("run", parents=[common], help="sigue el origen y publica cada corte "
                         "nuevo verificado")
    run.add_argument("--una-vez", action="store_true",
                     help="una sola consulta (sale con 1 si ningún origen dio un corte válido)")
    add_metrics_options(run)  # issue 68: corte served, lag, rejections
    run.set_defaults(func=_errors(_run))

    registrar = sub.add_parser("registrar", parents=[common], help="registro opcional ante "
                               "el nodo central del instituto, con el código que le dio")
    registrar.add_argument("--central", required=True, metavar="URL",
                           help="https://servidor:puerto del nodo central (la da el instituto)")
    registrar.add_argument("--codigo", required=True, help="código de registro de un solo uso")
    registrar.add_argument("--cert-sha256", required=True, metavar="HUELLA",
                           help="huella SHA-256 del certificado del nodo central (la da el "
                                "instituto con el código); sin ella no se envía el código")
    registrar.set_defaults(func=_errors(_registrar))

    status = sub.add_parser("status", parents=[common], help="corte servido, origen y "
                            "último error; sale con 0 si está al día, 1 si la última "
                            "consulta falló, 3 si no hay consulta con éxito reciente",
                            epilog=f"Códigos de salida: {AL_DIA} al día; {FALLA} la última "
                            "consulta falló (ningún origen dio un índice firmado vigente); "
                            f"{DETENIDO} ninguna consulta con éxito en el doble del periodo "
                            "de cortes (difusor detenido o colgado) o aún ninguna; 2 error "
                            "de configuración.")
    status.add_argument("--json", action="store_true", help="el estado en JSON")
    status.set_defaults(func=_errors(_status))


#: ``prep difusor status``'s exit codes (docs/difusores.md, «Estado y monitoreo»).
AL_DIA, FALLA, DETENIDO = 0, 1, 3


def _datos(args: argparse.Namespace) -> Path:
    return args.datos if args.datos is not None else cfg.default_data_dir()


def _errors(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            code: int = func(args)
        except DifusorError as exc:
            print(f"error: {exc}", flush=True)
            return 2
        return code
    return run


def _init(args: argparse.Namespace) -> int:
    config = cfg.Config(origenes=tuple(args.origen), huella=cfg.normalize_huella(args.huella),
                        raiz=args.raiz.resolve(), conservar=args.conservar,
                        intervalo=args.intervalo, periodo=args.periodo,
                        ca=args.ca.resolve() if args.ca else None,
                        reglas=args.reglas.resolve() if args.reglas else None)
    path = cfg.save(config, _datos(args))
    print(f"configuración guardada en {path}")
    print(f"origen(es): {', '.join(config.origenes)}")
    print(f"llave del instituto (SHA-256): {config.huella}")
    print(f"se publicará en {config.raiz}; inicie con «prep difusor run»")
    return 0


def _run(args: argparse.Namespace) -> int:
    from difusor.metricas import REGISTRY
    from difusor.seguir import correr
    from prep.metricas import metrics_address
    from prep.metricas import start_metrics

    datos = _datos(args)
    config = cfg.load(datos)
    try:
        metricas = start_metrics(metrics_address(args), REGISTRY)
    except OSError as exc:
        raise DifusorError(str(exc)) from None
    if metricas is not None:  # one JSON line, as «prep central serve» says its URL
        print(json.dumps({"metrics_url": metricas.url}), flush=True)
    try:
        return correr(config, datos, args.una_vez)
    except KeyboardInterrupt:
        return 0
    finally:
        if metricas is not None:
            metricas.stop()


def _registrar(args: argparse.Namespace) -> int:
    from difusor.registro import registrar

    registro = registrar(_datos(args), args.central, args.codigo, args.cert_sha256)
    print(f"registrado como {registro.difusor}: «{registro.nombre}», {registro.url}")
    print(f"nodo central {registro.central} (certificado {registro.cert_sha256}); "
          "«prep difusor run» le reportará cada corte que publique")
    return 0


def _status(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from difusor.estado import cargar
    from difusor.testigo import cargar as cargar_testigo

    datos = _datos(args)
    config = cfg.load(datos)
    estado = cargar(datos)
    testigo = cargar_testigo(datos)
    codigo, veredicto = _veredicto(config, estado, testigo.bifurcacion)
    if args.json:
        print(json.dumps({**asdict(estado), "testigo": {
            "registros": {o: asdict(r) for o, r in testigo.registros.items()},
            "actual": testigo.actual, "bifurcacion": testigo.bifurcacion,
            "bifurcaciones": testigo.bifurcaciones},
            "salida": codigo, "veredicto": veredicto}, ensure_ascii=False, indent=1))
        return codigo
    print(f"Corte servido: {estado.corte or '(ninguno aún)'} en {config.raiz}")
    print(f"Origen: {estado.origen or '-'} (configurados: {', '.join(config.origenes)})")
    print(f"Llave del instituto (SHA-256): {config.huella}")
    print(f"Última consulta: {estado.ultimo_intento or '-'}; última con éxito: "
          f"{estado.ultimo_exito or '-'}")
    print(f"Índice firmado del origen escrito por el nodo central: "
          f"{estado.indice_generado or '-'}")
    descarga = estado.descargas.get(estado.corte or "")
    if descarga:
        print(f"Último corte descargado: {descarga['descargados']} archivos "
              f"({descarga['bytes_descargados']:,} bytes), {descarga['reutilizados']} "
              "reutilizados")
    if estado.rechazos:
        print(f"Rechazos (firma, huella, reversión, ruta o tamaño): {estado.rechazos}")
    _registro(datos, estado)
    _testigo(testigo)
    if estado.error:
        print(f"ERROR en la última consulta: {estado.error}")
    elif estado.errores:
        ultimo = estado.errores[-1]
        print(f"Último aviso ({ultimo['hora']}, {ultimo['origen']}): {ultimo['mensaje']}")
    print(f"Estado: {veredicto}")
    return codigo


def _veredicto(config: cfg.Config, estado: Any,
               bifurcacion: dict[str, Any] | None = None) -> tuple[int, str]:
    """The exit code of ``status`` and its words: a monitor alerts on non-zero."""
    from datetime import UTC
    from datetime import datetime

    limite = f"{config.vigencia / 60:g} min"
    try:
        exito = datetime.fromisoformat(estado.ultimo_exito) if estado.ultimo_exito else None
    except ValueError:
        exito = None
    if exito is None:
        return DETENIDO, "SIN CONSULTA CON ÉXITO aún: ¿se inició «prep difusor run»?"
    edad = (datetime.now(UTC) - exito).total_seconds()
    if edad > config.vigencia:
        return DETENIDO, (f"DESACTUALIZADO: ninguna consulta con éxito en {edad / 60:.0f} "
                          f"min (más de {limite}): «prep difusor run» detenido o colgado")
    if bifurcacion is not None:
        return FALLA, (f"BIFURCACIÓN del registro de cortes en {bifurcacion['url']} "
                       f"({bifurcacion['hora']}): no se cofirma; avise al instituto")
    if estado.error is not None:
        return FALLA, ("FALLA: la última consulta no encontró un índice firmado vigente en "
                       "ningún origen")
    return AL_DIA, f"al día (índice firmado vigente: de menos de {limite})"


def _testigo(testigo: Any) -> None:
    """The witness's lines (docs/difusores.md, «El difusor como testigo»)."""
    registro = testigo.registros.get(testigo.actual or "")
    if registro is None:
        print("Registro de cortes: ningún checkpoint aceptado aún")
    else:
        hecho = "aceptado y cofirmado" if registro.cofirma else "aceptado (sin cofirma: " \
            "difusor no registrado)"
        print(f"Registro de cortes «{testigo.actual}»: checkpoint de {registro.tamano} "
              f"cortes {hecho} desde {registro.hora} (raíz {registro.raiz})")
    if testigo.bifurcacion is not None:
        print(f"ERROR {testigo.bifurcacion['hora']}: {testigo.bifurcacion['mensaje']}")
    elif testigo.bifurcaciones:
        print(f"Bifurcaciones vistas antes (el origen volvió a la historia aceptada): "
              f"{testigo.bifurcaciones}")


def _registro(datos: Path, estado: Any) -> None:
    from difusor.registro import cargar as cargar_registro

    registro = cargar_registro(datos)
    if registro is None:
        print("Registro ante el nodo central: no (opcional, «prep difusor registrar»)")
        return
    print(f"Registrado como {registro.difusor} ante {registro.central}; último reporte "
          f"aceptado: {estado.reporte_en or '-'} (corte {estado.reporte_corte or '-'}); "
          f"último corte del nodo central: {estado.ultimo_corte_central or '-'}")
    if estado.reporte_falla:
        print(f"AVISO: {estado.reporte_falla}")
