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

log = logging.getLogger("difusor.reporte")
REPORTE_CADA = timedelta(minutes=5)


def informar(datos: Path, estado: Estado, raiz: Raiz) -> None:
    """Report to the central if registered and there is something to say (updates
    ``estado``; never raises for the central's sake)."""
    try:
        inscrito = registro.cargar(datos)
    except DifusorError as exc:
        estado.reporte_falla = str(exc)
        log.error("%s", exc)
        return
    if inscrito is None:
        return
    corte = raiz.actual()
    error = estado.error
    if (corte, error) == (estado.reporte_corte, estado.reporte_error) \
            and estado.reporte_falla is None and not _vencido(estado.reporte_en):
        return
    try:
        manifiesto = registro.manifiesto_sha256(raiz.path / corte) if corte else None
        answer = registro.reportar(datos, inscrito, corte, manifiesto, error)
    except (DifusorError, OSError) as exc:
        estado.reporte_falla = f"no se pudo reportar al nodo central: {exc}"
        log.error("%s", estado.reporte_falla)
        return
    estado.reporte_corte, estado.reporte_error = corte, error
    estado.reporte_en, estado.reporte_falla = ahora(), None
    ultimo = answer.get("ultimo_corte")
    estado.ultimo_corte_central = ultimo if isinstance(ultimo, str) else None


def _vencido(cuando: str | None) -> bool:
    if cuando is None:
        return True
    try:
        return datetime.fromisoformat(ahora()) - datetime.fromisoformat(cuando) >= REPORTE_CADA
    except ValueError:
        return True
