"""``prep testigo guardar|comprobar``: a party's representative keeps the heads of the
public log of cortes seen during the night and checks, the next day, that the final log
extends every one (docs/publicacion.md, «Registro público de cortes»).

- ``guardar FUENTE --dir D``: reads ``transparencia/checkpoint`` from the publication
  (its ``https://`` address or a directory), checks the central's signature and keeps
  it in ``D`` as ``<hora UTC>-<tamaño>.checkpoint`` (the time it was seen is its name).
  The central's key is the one given (``--llave``, the ``llave_publica.pem`` the
  institute publishes), else the one kept in ``D`` from the first time, else the log's
  own ``transparencia/llave`` (shown with its SHA-256 to compare with the institute's:
  ``--huella`` checks it).
- ``comprobar FUENTE --dir D``: each kept head, OK or CONFLICTO (the log no longer has
  it, or does not extend it); exit 1 with any conflict.
"""

from __future__ import annotations

import argparse
import os
import ssl
from datetime import UTC
from datetime import datetime
from pathlib import Path

from prep.cli_es import Subcommands
from prep.crypto import VerifyKey
from prep.durable import write_synced
from prep.transparencia.auditoria import MAX_CHECKPOINT
from prep.transparencia.auditoria import Registro
from prep.transparencia.auditoria import firmado
from prep.transparencia.fuente import Fuente
from prep.transparencia.fuente import fuente
from prep.transparencia.nota import ED25519
from prep.transparencia.nota import NotaError
from prep.transparencia.nota import leer_llave_texto
from prep.transparencia.nota import llave_texto

LLAVE = "llave"
SUFIJO = ".checkpoint"
MAX_LLAVE = 1024
MAX_CABEZAS = 100_000


def register(subparsers: Subcommands) -> None:
    """Add ``testigo`` and its actions to the ``prep`` parser."""
    parser = subparsers.add_parser("testigo", help="guarda las cabezas del registro público "
                                   "de cortes y comprueba después que el registro las extiende")
    actions = parser.add_subparsers(dest="testigo_command", required=True, metavar="ACCIÓN")
    for nombre, ayuda, func in (
            ("guardar", "lee el checkpoint actual, comprueba la firma del nodo central y lo "
                        "guarda con la hora en que se vio", _guardar),
            ("comprobar", "comprueba que el registro extiende cada cabeza guardada", _comprobar)):
        action = actions.add_parser(nombre, help=ayuda)
        action.add_argument("fuente", metavar="URL_O_DIR",
                            help="dirección https:// de la publicación o su directorio")
        action.add_argument("--dir", type=Path, required=True, metavar="D",
                            help="directorio donde se guardan las cabezas")
        action.add_argument("--llave", type=Path, default=None, metavar="PEM",
                            help="llave pública del nodo central (llave_publica.pem)")
        action.add_argument("--huella", default=None,
                            help="SHA-256 esperado de la llave del nodo central (lo publica "
                                 "el instituto)")
        action.add_argument("--ca", type=Path, default=None, metavar="PEM",
                            help="certificados de confianza para https:// (predeterminados: "
                                 "los del sistema)")
        action.set_defaults(func=func)


def _guardar(args: argparse.Namespace) -> int:
    origen = _fuente(args)
    llave = _llave(args, origen.leer(LLAVE, MAX_LLAVE))
    log = Registro.abrir(origen, llave)
    args.dir.mkdir(parents=True, exist_ok=True)
    _guardar_llave(args.dir, log.origen, llave)
    crudo = origen.leer("checkpoint", MAX_CHECKPOINT)
    assert crudo is not None  # Registro.abrir read it
    cp = firmado(crudo, llave, log.origen)
    ahora = datetime.now(UTC)
    print(f"Registro «{log.origen}» en {origen.descripcion}")
    print(f"Llave del nodo central (SHA-256): {llave.fingerprint()}")
    conflictos = 0
    mismo_tamano = [p for p, _ in _cabezas(args.dir) if p.name.endswith(f"-{cp.tamano}{SUFIJO}")]
    if any(_leer(p) == crudo for p in mismo_tamano):
        print(f"La cabeza de {cp.tamano} cortes ya estaba guardada; no se guarda de nuevo")
    else:
        destino = args.dir / f"{ahora.strftime('%Y%m%dT%H%M%SZ')}-{cp.tamano}{SUFIJO}"
        _escribir(destino, crudo)
        print(f"Guardada: {destino.name} ({cp.tamano} cortes, vista {_hora(ahora)})")
    for path, _ in _cabezas(args.dir):
        conflicto = log.cabeza(_leer(path))
        if conflicto is not None:
            conflictos += 1
            print(f"  {path.name}: CONFLICTO: {conflicto}")
    for problema in log.problemas:
        print(f"  - {problema}")
    return 1 if conflictos or log.problemas else 0


def _comprobar(args: argparse.Namespace) -> int:
    origen = _fuente(args)
    llave = _llave(args, origen.leer(LLAVE, MAX_LLAVE))
    log = Registro.abrir(origen, llave)
    cabezas = _cabezas(args.dir)
    print(f"Registro «{log.origen}» en {origen.descripcion}: {log.tamano} cortes, firmado "
          f"por el nodo central (llave SHA-256 {llave.fingerprint()})")
    if not cabezas:
        print(f"No hay cabezas guardadas en {args.dir} (prep testigo guardar)")
        return 1
    conflictos = 0
    for path, vista in cabezas:
        conflicto = log.cabeza(_leer(path))
        if conflicto is None:
            print(f"  {path.name} (vista {vista}): OK")
        else:
            conflictos += 1
            print(f"  {path.name} (vista {vista}): CONFLICTO: {conflicto}")
    for problema in log.problemas:
        print(f"  - {problema}")
    if conflictos or log.problemas:
        print(f"Resultado: {conflictos} CONFLICTOS de {len(cabezas)} cabezas guardadas: el "
              "registro no es la historia que se vio durante la noche")
        return 1
    print(f"Resultado: el registro de {log.tamano} cortes extiende las {len(cabezas)} "
          "cabezas guardadas")
    return 0


def _fuente(args: argparse.Namespace) -> Fuente:
    contexto = None if args.ca is None else ssl.create_default_context(cafile=str(args.ca))
    return fuente(args.fuente, contexto)


def _llave(args: argparse.Namespace, publicada: bytes | None) -> VerifyKey:
    """The central's key: ``--llave``, else the one kept in the directory, else the
    log's own (checked against ``--huella`` when given)."""
    guardada = args.dir / LLAVE
    if args.llave is not None:
        from prep.corte.verify import load_key

        llave = load_key(_leer(args.llave, MAX_LLAVE * 4))
    elif guardada.is_file():
        llave = _de_texto(_leer(guardada, MAX_LLAVE), str(guardada))
    elif publicada is not None:
        llave = _de_texto(publicada, "transparencia/llave")
    else:
        raise ValueError("no hay llave del nodo central: use --llave llave_publica.pem")
    if args.huella is not None and args.huella.strip().lower() != llave.fingerprint():
        raise ValueError(f"la llave del nodo central ({llave.fingerprint()}) no es la "
                         f"esperada ({args.huella.strip().lower()})")
    if guardada.is_file() and _de_texto(_leer(guardada, MAX_LLAVE), str(guardada)) != llave:
        raise ValueError(f"la llave del nodo central no es la guardada en {guardada}: "
                         "las cabezas guardadas son de otra llave")
    return llave


def _de_texto(crudo: bytes, donde: str) -> VerifyKey:
    try:
        _nombre, tipo, llave = leer_llave_texto(crudo.decode("ascii"))
    except (NotaError, UnicodeDecodeError) as exc:
        raise ValueError(f"{donde}: no es una llave de verificación ({exc})") from None
    if tipo != ED25519:
        raise ValueError(f"{donde}: no es la llave de firma de un registro (tipo 0x01)")
    return llave


def _guardar_llave(directorio: Path, origen: str, llave: VerifyKey) -> None:
    path = directorio / LLAVE
    if not path.exists():
        _escribir(path, (llave_texto(origen, llave) + "\n").encode())


def _cabezas(directorio: Path) -> list[tuple[Path, str]]:
    """The kept heads, oldest first, with the time each was seen."""
    if not directorio.is_dir():
        return []
    out = []
    for path in sorted(directorio.glob(f"*{SUFIJO}"))[:MAX_CABEZAS]:
        try:
            vista = datetime.strptime(path.name.split("-")[0], "%Y%m%dT%H%M%SZ")
        except ValueError:
            continue  # not one this command wrote
        out.append((path, _hora(vista.replace(tzinfo=UTC))))
    return out


def _hora(instante: datetime) -> str:
    return instante.strftime("%Y-%m-%d %H:%M:%S UTC")


def _leer(path: Path, limite: int = MAX_CHECKPOINT) -> bytes:
    with path.open("rb") as f:
        datos = f.read(limite + 1)
    if len(datos) > limite:
        raise ValueError(f"{path} pasa de {limite} bytes")
    return datos


def _escribir(path: Path, datos: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write_synced(tmp, datos)
    os.replace(tmp, path)
