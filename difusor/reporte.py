"""When a registered difusor reports to the central (:mod:`difusor.registro`).

After each poll: when the corte served or the error changed since the last report the
central accepted, or :data:`REPORTE_CADA` has passed (so the control room can tell a
difusor that stopped from one with nothing new). A report that fails is retried at the
next poll; it never changes what is served.
"""

from __future__ import annotations

import logging
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from difusor import registro
from difusor.errores import DifusorError
from difusor.estado import Estado
from difusor.estado import ahora
from difusor.raiz import Raiz
from difusor.testigo import Testigo

log = logging.getLogger("difusor.reporte")
REPORTE_CADA = timedelta(minutes=5)


def informar(datos: Path, estado: Estado, raiz: Raiz, testigo: Testigo) -> None:
    """Report to the central if registered and there is something to say (updates
    ``estado``; never raises for the central's sake). Each report carries the last
    checkpoint the difusor cosigned (the central keeps it once) and the fork it saw,
    if any, with the checkpoint the origin served it as evidence."""
    try:
        inscrito = registro.cargar(datos)
    except DifusorError as exc:
        estado.reporte_falla = str(exc)
        log.error("%s", exc)
        return
    if inscrito is None:
        return
    corte = raiz.actual()
    fork = testigo.bifurcacion
    error = estado.error or (str(fork["mensaje"]) if fork else None)
    cofirma = testigo.cofirma()
    tamano = cofirma["tamano"] if cofirma else None
    if (corte, error, tamano) == (estado.reporte_corte, estado.reporte_error,
                                  estado.reporte_cofirma) \
            and estado.reporte_falla is None and not _vencido(estado.reporte_en):
        return
    try:
        manifiesto = registro.manifiesto_sha256(raiz.path / corte) if corte else None
        answer = registro.reportar(datos, inscrito, corte, manifiesto, error, cofirma,
                                   _evidencia(fork))
    except (DifusorError, OSError) as exc:
        estado.reporte_falla = f"no se pudo reportar al nodo central: {exc}"
        log.error("%s", estado.reporte_falla)
        return
    estado.reporte_corte, estado.reporte_error = corte, error
    estado.reporte_cofirma = tamano
    estado.reporte_en, estado.reporte_falla = ahora(), None
    ultimo = answer.get("ultimo_corte")
    estado.ultimo_corte_central = ultimo if isinstance(ultimo, str) else None


def _evidencia(fork: dict[str, object] | None) -> dict[str, object] | None:
    """The report's ``bifurcacion``: the head accepted and the signed one received."""
    if not fork:
        return None
    return {"aceptado": fork["aceptado"], "recibido": fork["nota"]}


def _vencido(cuando: str | None) -> bool:
    if cuando is None:
        return True
    try:
        return datetime.fromisoformat(ahora()) - datetime.fromisoformat(cuando) >= REPORTE_CADA
    except ValueError:
        return True
