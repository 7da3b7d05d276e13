"""What ``prep difusor run --metrics-port`` tells a Prometheus (issue 68): the corte it
serves and how far behind the origin's signed index it is, its polls, the cortes it
published and what it refused, by reason. Labels are bounded (an outcome, a reason).
"""

from __future__ import annotations

import time
from datetime import datetime

from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import ProcessCollector

from difusor.errores import CorteInvalido
from difusor.errores import Desactualizado
from difusor.errores import OrigenNoDisponible
from difusor.errores import Rechazo
from difusor.indice import Indice
from difusor.indice import es_corte
from difusor.testigo import Bifurcacion
from prep.corte.anexo import TZ

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

_POLLS = Counter("prep_difusor_polls", "Polls of the origins, by outcome (ok: an origin "
                 "gave a valid index; failed: none did)", ["outcome"], registry=REGISTRY)
_PUBLISHED = Counter("prep_difusor_cortes_published", "Cortes downloaded, verified and "
                     "published", registry=REGISTRY)
_REJECTIONS = Counter(
    "prep_difusor_rejections", "What the difusor refused or could not do, by reason: "
    "corte_invalido (failed verify-corte), bifurcacion (a log checkpoint that does not "
    "extend the one accepted: a fork), rechazo (signature, fingerprint, rollback, path "
    "or size), origen_no_disponible (down, or past the poll's deadline), desactualizado "
    "(a signed index older than twice the corte period), local (this machine's disk), "
    "otro", ["reason"],
    registry=REGISTRY)
_DOWNLOADED = Counter("prep_difusor_download_bytes", "Bytes of corte files downloaded",
                      registry=REGISTRY)
_SERVED = Gauge("prep_difusor_corte_served_timestamp_seconds", "Time of the corte served "
                "(from its name, Unix time)", registry=REGISTRY)
_LAG_CORTES = Gauge("prep_difusor_lag_cortes", "Cortes in the origin's signed index newer "
                    "than the one served", registry=REGISTRY)
_LAG_SECONDS = Gauge("prep_difusor_lag_seconds", "Time between the corte served and the "
                     "newest in the origin's signed index", registry=REGISTRY)
_UP_TO_DATE = Gauge("prep_difusor_up_to_date", "1 when the last poll found a current "
                    "signed index at some origin; 0 when every origin failed or was "
                    "stale (alert on it: docs/difusores.md)", registry=REGISTRY)
_INDEX_TIME = Gauge("prep_difusor_index_generated_timestamp_seconds", "When the central "
                    "wrote the last signed index read (Unix time)", registry=REGISTRY)
_FORK = Gauge("prep_difusor_log_fork", "1 while the last check of an origin's log of cortes "
              "found a fork (a signed checkpoint that does not extend the one this difusor "
              "accepted; docs/difusores.md, «El difusor como testigo»)", registry=REGISTRY)
_COSIGNED = Gauge("prep_difusor_log_checkpoint_size", "Size (cortes) of the last log "
                  "checkpoint this difusor checked and accepted (and cosigned, if "
                  "registered)", registry=REGISTRY)
_LAST_OK = Gauge("prep_difusor_last_success_timestamp_seconds", "When an origin last gave "
                 "a valid index (Unix time)", registry=REGISTRY)

#: Every reason, so each series exists (at 0) from the start: a rate over a series
#: that appears only at its first increment misses that increment.
REASONS = ("corte_invalido", "bifurcacion", "rechazo", "origen_no_disponible",
           "desactualizado", "local", "otro")
for _reason in REASONS:
    _REJECTIONS.labels(_reason)
for _outcome in ("ok", "failed"):
    _POLLS.labels(_outcome)


def rejected(exc: BaseException) -> None:
    """One failure of a poll (the exception ``_consultar`` caught)."""
    if isinstance(exc, CorteInvalido):
        reason = "corte_invalido"
    elif isinstance(exc, Bifurcacion):
        reason = "bifurcacion"
    elif isinstance(exc, Rechazo):
        reason = "rechazo"
    elif isinstance(exc, OrigenNoDisponible):
        reason = "origen_no_disponible"
    elif isinstance(exc, Desactualizado):
        reason = "desactualizado"
    elif isinstance(exc, OSError):
        reason = "local"
    else:
        reason = "otro"
    _REJECTIONS.labels(reason).inc()


def polled(ok: bool) -> None:
    _POLLS.labels("ok" if ok else "failed").inc()
    if ok:
        _LAST_OK.set(time.time())


def al_dia(ok: bool) -> None:
    """Whether the last poll followed a current signed index."""
    _UP_TO_DATE.set(1 if ok else 0)


def indice(leido: Indice) -> None:
    """A verified index was read: when the central wrote it."""
    try:
        _INDEX_TIME.set(datetime.fromisoformat(leido.generado).timestamp())
    except ValueError:
        pass


def bifurcacion(vista: bool) -> None:
    """Whether the last check of the log found a fork."""
    _FORK.set(1 if vista else 0)


def cofirmado(tamano: int) -> None:
    """A checkpoint of ``tamano`` cortes was accepted (and cosigned)."""
    _COSIGNED.set(tamano)


def published(downloaded_bytes: int) -> None:
    _PUBLISHED.inc()
    _DOWNLOADED.inc(downloaded_bytes)


def standing(indice: Indice, servido: str | None) -> None:
    """Where the corte served stands against a verified index."""
    if servido is None or not es_corte(servido):
        return
    _SERVED.set(_time_of(servido))
    if indice.nombres and servido in indice.nombres:
        _LAG_CORTES.set(len(indice.nombres) - 1 - indice.nombres.index(servido))
    elif indice.ultimo is not None and indice.ultimo.nombre == servido:
        _LAG_CORTES.set(0)
    elif indice.nombres:  # older than every corte the index still lists
        _LAG_CORTES.set(len(indice.nombres))
    if indice.ultimo is not None:
        _LAG_SECONDS.set(max(0.0, _time_of(indice.ultimo.nombre) - _time_of(servido)))


def _time_of(nombre: str) -> float:
    """``YYYYMMDD_HHMM[_n]``: local time of the entidad (America/Mexico_City)."""
    fecha, hora = nombre.split("_")[:2]
    return datetime.strptime(fecha + hora, "%Y%m%d%H%M").replace(tzinfo=TZ).timestamp()
