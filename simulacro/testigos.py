"""The drill's verdict on the public log of cortes and its witnesses (issue 67).

- every corte of the night is in the log and ``prep verify-corte --testigos`` passes on
  it (what :func:`prep.corte.verify_testigos.verificar_testigos` checks: its leaf, the
  consistency chain to the latest checkpoint, the cosignatures), each with at least one
  difusor's published cosignature; the último corte's cosignatures would come with the
  next corte, and there is none, so for it only the check itself counts;
- the fork incident (:mod:`simulacro.bifurcacion`): ``prep verify-corte --testigos``
  fails on the replaced corte against the public log, naming the conflict (its leaf
  with another manifest, and the forged checkpoint kept as a ``--cabeza``: another root
  of the same size); every difusor cosigned a genuine head at least as large as the
  forged one (the others all along, the deceived one once shown the real history
  again); and the central raised the anomaly ``registro_bifurcado`` the dashboard
  lists, for that difusor alone, saying the institute's key signed a checkpoint its log
  never had. Read with the dashboard's own read-only login (:func:`anomalias`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prep.corte.verify import Verificacion
from prep.corte.verify_testigos import verificar_testigos
from prep.transparencia import nota
from prep.transparencia.entrada import leer_entrada
from simulacro.bifurcacion import Bifurcada
from simulacro.espera import ritmo
from simulacro.veredicto import cortes_in

ANOMALIA = "registro_bifurcado"
_FIRMADO = re.compile(r"verificado y firmado por ([0-9]+) difusores(?:: (.*))?")
#: Reference seconds for one ``prep verify-corte`` of a drill's corte (as espera bounds).
VERIFY_S = 60.0


def anomalias(dsn: str) -> list[dict[str, Any]]:
    """The details of the ``registro_bifurcado`` anomalies, as the dashboard reads its
    anomalies (table ``anomalies``, with a login that holds only ``prep_lectura``)."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT detail::text FROM anomalies WHERE type = %s ORDER BY id",
                            (ANOMALIA,)).fetchall()
    return [dict(json.loads(row[0])) for row in rows if row[0]]


@dataclass(frozen=True)
class Objetivo:
    """The difusor the forged history was served to: its name and central id."""

    nombre: str
    id: str | None


def veredicto(publicacion: Path, ids: dict[str, str], bifurcada: Bifurcada | None,
              objetivo: Objetivo | None, vistas: list[dict[str, Any]] | None,
              cubierto: int = 0) -> tuple[dict[str, Any], list[str]]:
    """``simulacro.json``'s ``registro`` and the failures. ``ids``: each registered
    difusor's name → central id; ``vistas``: the ``registro_bifurcado`` anomalies read
    (None: they could not be read); ``cubierto``: the log's size every difusor was seen
    to cosign before the último corte (:attr:`simulacro.difusores.Difusores.cubierto`).
    Each corte up to it must carry a published witness; a corte made after it (a
    scheduled one that came during that wait, and the último) is not judged on it, since
    its cosignatures are published only with a corte that follows."""
    failures: list[str] = []
    cortes = cortes_in(publicacion)
    filas: list[dict[str, Any]] = []
    for i, directory in enumerate(cortes):
        juzgado = i < cubierto and i != len(cortes) - 1  # its size (i + 1) ≤ cubierto
        result = Verificacion(directory)
        verificar_testigos(result, directory)
        firmado = next((m for ln in result.testigos if (m := _FIRMADO.search(ln))), None)
        testigos = int(firmado.group(1)) if firmado else 0
        quienes = firmado.group(2) or "" if firmado else ""
        filas.append({"corte": directory.name, "testigos": testigos, "quienes": quienes,
                      "problemas": result.problemas[:5]})
        if result.problemas:
            failures.append(f"prep verify-corte {directory.name} --testigos: "
                            f"{result.problemas[0]}")
        elif testigos == 0 and ids and juzgado:
            failures.append(f"registro público de cortes: ningún difusor cofirmó un "
                            f"checkpoint que incluye el corte {directory.name} (verify-corte "
                            "--testigos: verificado y firmado por 0 difusores)")
    registro: dict[str, Any] = {"cortes": filas, **_tamano(publicacion)}
    if bifurcada is not None and objetivo is not None:
        registro["bifurcacion"], problemas = _bifurcacion(publicacion, bifurcada, objetivo,
                                                          ids, filas, vistas)
        failures += problemas
    return registro, failures


def _tamano(publicacion: Path) -> dict[str, Any]:
    """The log's size, origin, and how many heads carry a published cosignature."""
    directorio = publicacion / "transparencia"
    try:
        cabeza = nota.checkpoint(nota.leer((directorio / "checkpoint").read_bytes()))
    except (OSError, nota.NotaError):
        return {"tamano": 0}
    cofirmadas = 0
    for k in range(1, cabeza.tamano + 1):
        try:
            firmas = nota.leer((directorio / "cofirmas" / str(k)).read_bytes()).firmas
        except (OSError, nota.NotaError):
            continue
        cofirmadas += any(f.nombre != cabeza.origen for f in firmas)
    return {"tamano": cabeza.tamano, "origen": cabeza.origen,
            "cabezas_cofirmadas_publicadas": cofirmadas}


def _bifurcacion(publicacion: Path, bifurcada: Bifurcada, objetivo: Objetivo,
                 ids: dict[str, str], filas: list[dict[str, Any]],
                 vistas: list[dict[str, Any]] | None) -> tuple[dict[str, Any], list[str]]:
    failures: list[str] = []
    forjado = bifurcada.dir / bifurcada.corte
    command = [sys.executable, "-m", "prep", "verify-corte", str(forjado), "--testigos",
               "--registro", str(publicacion), "--cabeza", str(bifurcada.checkpoint)]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          timeout=ritmo().limite(VERIFY_S))
    conflictos = [ln.strip(" -") for ln in done.stdout.splitlines()
                  if "reemplazado después de publicarse" in ln or "CONFLICTO" in ln]
    if done.returncode != 1 or len(conflictos) < 2:
        failures.append(f"prep verify-corte --testigos no nombra el conflicto del corte "
                        f"reemplazado {bifurcada.corte} (salida {done.returncode}): "
                        f"{done.stdout[-400:]}")
    # Every difusor cosigned a genuine head at least as large as the forged one.
    try:
        ultima = leer_entrada((publicacion / "transparencia" / "entradas"
                               / str(bifurcada.tamano - 1)).read_bytes()).nombre
    except (OSError, nota.NotaError):
        ultima = ""
    fila = next((f for f in filas if f["corte"] == ultima), None)
    sin_cofirma = sorted(n for n, i in ids.items() if fila is None or i not in fila["quienes"])
    if fila is not None and fila is not filas[-1] and sin_cofirma:
        failures.append(f"registro público de cortes: {', '.join(sin_cofirma)} no cofirmó "
                        f"la historia genuina de {bifurcada.tamano} cortes o más (la del "
                        f"corte {ultima})")
    anomalia = False
    if objetivo.id is not None:
        if vistas is None:
            failures.append(f"no se pudieron leer las anomalías {ANOMALIA} del nodo central")
        else:
            anomalia = any(a.get("difusor") == objetivo.id and a.get("tamano_recibido")
                           == bifurcada.tamano and a.get("firmado_por_el_nodo_central") is True
                           and a.get("recibido_en_registro") is False for a in vistas)
            if not anomalia:
                failures.append(f"el nodo central no levantó la anomalía {ANOMALIA} (la que "
                                f"lista el tablero) por la bifurcación que {objetivo.nombre} "
                                f"({objetivo.id}) rechazó y reportó")
            otros = sorted({str(a.get("difusor")) for a in vistas} - {objetivo.id})
            if otros:
                failures.append(f"el nodo central levantó {ANOMALIA} por {', '.join(otros)}, "
                                "a quien no se le sirvió ninguna bifurcación")
    return {"difusor": objetivo.nombre, "corte": bifurcada.corte,
            "directorio": str(forjado), "hoja": bifurcada.hoja,
            "tamano": bifurcada.tamano, "raiz": bifurcada.raiz_b64,
            "verify_corte": conflictos[:2], "anomalia": anomalia,
            "cofirmaron_la_genuina": sorted(set(ids) - set(sin_cofirma))}, failures


def lineas(registro: dict[str, Any]) -> list[str]:
    """The drill's report lines on the log (``simulacro.json``'s ``registro``)."""
    if not registro.get("tamano"):
        return []
    cortes = registro.get("cortes", [])
    con = sum(1 for c in cortes[:-1] if c["testigos"] > 0)
    out = [f"Registro público de cortes «{registro.get('origen')}»: {registro['tamano']} "
           f"cortes; {registro.get('cabezas_cofirmadas_publicadas', 0)} cabezas con cofirmas "
           f"publicadas; verify-corte --testigos: {con}/{max(0, len(cortes) - 1)} cortes "
           "antes del último verificados y firmados por al menos un difusor"]
    fork = registro.get("bifurcacion")
    if fork:
        out.append(f"Bifurcación: a {fork['difusor']} se le sirvió el corte {fork['corte']} "
                   f"reemplazado (registro forjado de {fork['tamano']} cortes); lo rechazó, "
                   + ("el nodo central levantó la anomalía registro_bifurcado"
                      if fork["anomalia"] else "SIN anomalía en el nodo central")
                   + f"; cofirmaron la historia genuina: "
                   f"{', '.join(fork['cofirmaron_la_genuina']) or 'ninguno'}")
        out += [f"  verify-corte --testigos del corte reemplazado: {c}"
                for c in fork["verify_corte"]]
    return out
