"""``prep verify-corte DIR --testigos``: the corte is in the public log of cortes, that log
extends every checkpoint the user kept, and the difusores (witnesses) cosigned it
(docs/publicacion.md, «Registro público de cortes»).

With the corte already checked (its signature, its files), from its publication's
``transparencia/`` (DIR's parent, or ``--registro``):

1. the latest checkpoint is signed by the central's key (the corte's
   ``llave_publica.pem``, or ``--llave``);
2. the corte (its name and its manifest's SHA-256) is leaf *i*, included in the signed
   checkpoint of size *i* + 1, and each later tree extends the one before it up to the
   latest (consistency proofs);
3. each ``--cabeza FILE`` (a checkpoint kept earlier) is one the log had and extends;
4. the cosignatures in ``cofirmas/<k>`` (k from *i* + 1 on) verify with the witness keys
   of the corte's DIFUSORES.csv: «verificado y firmado por N difusores».

Any conflict is a problem of the verification (exit 1), naming the size and the witness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from prep.corte import difusores
from prep.corte.nombres import MANIFEST
from prep.corte.nombres import PUBLIC_KEY
from prep.corte.verify import MAX_KEY_BYTES
from prep.corte.verify import Verificacion
from prep.corte.verify import load_key
from prep.crypto import VerifyKey
from prep.transparencia.auditoria import MAX_CHECKPOINT
from prep.transparencia.auditoria import Registro
from prep.transparencia.fuente import fuente
from prep.transparencia.nota import NotaError
from prep.transparencia.nota import leer_llave_texto

MAX_DIFUSORES_BYTES = 1024 * 1024


def verificar_testigos(result: Verificacion, directory: Path, *,
                       registro: str | Path | None = None, llave: Path | None = None,
                       cabezas: Sequence[Path] = ()) -> None:
    """Check the corte in ``directory`` against the public log (see the module
    docstring): lines for the report go to ``result.testigos``, conflicts to
    ``result.problemas``."""
    lineas = result.testigos
    try:
        key = _llave(llave or directory / PUBLIC_KEY)
        origen = fuente(registro if registro is not None else directory.resolve().parent)
        log = Registro.abrir(origen, key)
    except (NotaError, OSError, ValueError) as exc:
        result.problemas.append(f"registro público de cortes: {exc}")
        return
    lineas.append(f"Registro público de cortes: {origen.descripcion}")
    lineas.append(f"  checkpoint de {log.tamano} cortes firmado por el nodo central "
                  f"(registro «{log.origen}»)")
    try:
        manifiesto = hashlib.sha256((directory / MANIFEST).read_bytes()).hexdigest()
    except OSError as exc:
        result.problemas.append(f"registro público de cortes: no se pudo leer {MANIFEST}: "
                                f"{exc.strerror or exc}")
        return
    encontrada = log.buscar(directory.name)
    desde = log.tamano + 1
    if encontrada is None:
        result.problemas.append(f"registro público de cortes: el corte {directory.name} no "
                                f"está en el registro de {log.tamano} cortes")
    else:
        i, entrada = encontrada
        if entrada.manifiesto != manifiesto:
            result.problemas.append(
                f"registro público de cortes: la entrada {i} es el corte {directory.name} "
                f"con otro manifiesto (SHA-256 {entrada.manifiesto[:16]}…, este corte "
                f"{manifiesto[:16]}…): el corte fue reemplazado después de publicarse")
        elif log.incluida(i, entrada) and log.consistente_desde(i + 1):
            lineas.append(f"  el corte es la entrada {i}: incluido en el checkpoint de {i + 1} "
                          f"cortes, que el de {log.tamano} extiende")
        desde = i + 1
    for path in cabezas:
        _cabeza(result, log, path)
    testigos, nombres = _testigos(result, directory)
    validas, otros = log.cofirmas(desde, testigos)
    result.problemas += log.problemas
    if otros:
        lineas.append(f"  cofirmas de testigos que DIFUSORES.csv no lista (no cuentan): "
                      f"{', '.join(sorted(otros))}")
    if result.ok:
        orden = sorted(validas, key=lambda t: (nombres[t], t))
        quienes = ", ".join(f"{nombres[t]} ({t})" for t in orden)
        lineas.append(f"  verificado y firmado por {len(validas)} difusores"
                      + (f": {quienes}" if quienes else ""))


def _llave(path: Path) -> VerifyKey:
    if path.stat().st_size > MAX_KEY_BYTES:
        raise ValueError(f"la llave {path.name} es demasiado grande")
    return load_key(path.read_bytes())


def _cabeza(result: Verificacion, log: Registro, path: Path) -> None:
    try:
        with path.open("rb") as f:
            crudo = f.read(MAX_CHECKPOINT + 1)
        if len(crudo) > MAX_CHECKPOINT:
            raise ValueError(f"pasa de {MAX_CHECKPOINT} bytes")
    except (OSError, ValueError) as exc:
        result.problemas.append(f"cabeza guardada {path}: no se pudo leer ({exc})")
        return
    conflicto = log.cabeza(crudo)
    if conflicto is None:
        result.testigos.append(f"  cabeza guardada {path.name}: OK (el registro la extiende)")
    else:
        result.problemas.append(f"cabeza guardada {path.name}: {conflicto}")


def _testigos(result: Verificacion, directory: Path
              ) -> tuple[dict[str, VerifyKey], dict[str, str]]:
    """The witness keys of the corte's DIFUSORES.csv (id → key) and their names."""
    path = directory / difusores.DIFUSORES
    if not path.is_file():
        return {}, {}
    try:
        if path.stat().st_size > MAX_DIFUSORES_BYTES:
            raise ValueError("demasiado grande")
        filas = difusores.leer(path.read_bytes())
    except (OSError, ValueError) as exc:
        result.problemas.append(f"{difusores.DIFUSORES}: {exc}")
        return {}, {}
    llaves: dict[str, VerifyKey] = {}
    nombres: dict[str, str] = {}
    for nombre, _url, texto in filas:
        try:
            testigo, _tipo, llave = leer_llave_texto(texto)
        except NotaError:
            continue  # verify-corte's own check of DIFUSORES.csv names the row
        llaves[testigo] = llave
        nombres[testigo] = nombre
    return llaves, nombres
