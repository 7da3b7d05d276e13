"""What this ``serve`` process did, counted as it happens (Prometheus counters and
histograms in :data:`REGISTRY`).

The ingest, the work leases and the cortes call the functions below at their edges,
after the fact: a call costs a lock and an addition, and never touches what is stored
or published. Labels are bounded: an outcome, a refusal's code (a constant of the
code), a kind of work, a corte phase; never a station, an acta or a batch.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram

from prep import __version__

#: This process's metrics; :mod:`central.node.metrics.exporter` adds the database's.
REGISTRY = CollectorRegistry(auto_describe=True)

ACCEPTED, REPEATED, REFUSED, ERROR = "accepted", "repeated", "refused", "error"
NONE = "none"  # the reason of a batch that was not refused

_BATCHES = Counter(
    "prep_ingest_batches", "Station batches this process answered, by outcome (accepted, "
    "repeated: the same batch again, refused, error: database unavailable) and refusal "
    "reason (its error code)", ["outcome", "reason"], registry=REGISTRY)
_RECORDS = Counter(
    "prep_ingest_records", "Records in the batches this process answered, by outcome and "
    "refusal reason (a batch unreadable before its records is counted under batches only)",
    ["outcome", "reason"], registry=REGISTRY)
_INGEST_SECONDS = Histogram(
    "prep_ingest_seconds", "Time to ingest one batch (parse, checks, the transaction, the "
    "signed receipt), by outcome", ["outcome"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
_LEASES_GRANTED = Counter(
    "prep_leases_granted", "Work leases this process granted, by kind of work",
    ["kind"], registry=REGISTRY)
_LEASES_EXPIRED = Counter(
    "prep_leases_expired", "Expired work leases this process ended to give their acta to "
    "another operator, by kind of work", ["kind"], registry=REGISTRY)
_CORTES = Counter(
    "prep_cortes", "Cortes this process attempted, by outcome (published, failed, refused "
    "by the Consejo's window or the último corte)", ["outcome"], registry=REGISTRY)
_CORTE_SECONDS = Histogram(
    "prep_corte_seconds", "Duration of a corte this process published, from the lock to "
    "the recorded row", registry=REGISTRY,
    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0))
_CORTE_PHASE_SECONDS = Histogram(
    "prep_corte_phase_seconds", "Duration of each phase of a corte this process published "
    "(snapshot, csv, diferencias, sitio, escritura…)", ["phase"], registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0))
_CORTE_PERIOD = Gauge(
    "prep_corte_period_seconds", "Minutes between scheduled cortes (serve --corte-every), "
    "in seconds, on the serve nodes that schedule cortes", registry=REGISTRY)
_BUILD = Gauge("prep_build_info", "The PREP version this process runs", ["version"],
               registry=REGISTRY)
_BUILD.labels(__version__).set(1)

#: The phases a corte reports (:class:`central.publication.publicar.Publicado`) are
#: the package's own names; anything else is folded into ``otra`` so a new phase can
#: never grow the series unbounded.
_PHASES = frozenset({"snapshot", "csv", "avance_catd", "historial", "diferencias", "sitio",
                     "escritura", "publicacion"})


def batch_answered(outcome: str, seconds: float, records: int | None = None,
                   reason: str = NONE) -> None:
    """One batch request answered: ``outcome`` (:data:`ACCEPTED`, :data:`REPEATED`,
    :data:`REFUSED`, :data:`ERROR`), ``records`` in it when it could be read."""
    _BATCHES.labels(outcome, reason).inc()
    if records:
        _RECORDS.labels(outcome, reason).inc(records)
    _INGEST_SECONDS.labels(outcome).observe(seconds)


def leases_granted(kind: str, count: int) -> None:
    if count:
        _LEASES_GRANTED.labels(kind).inc(count)


def leases_expired(kind: str, count: int) -> None:
    if count:
        _LEASES_EXPIRED.labels(kind).inc(count)


def corte_published(seconds: float, phases: Mapping[str, float]) -> None:
    _CORTES.labels("published").inc()
    _CORTE_SECONDS.observe(seconds)
    for phase, spent in phases.items():
        _CORTE_PHASE_SECONDS.labels(phase if phase in _PHASES else "otra").observe(spent)


def corte_failed() -> None:
    _CORTES.labels("failed").inc()


def corte_refused() -> None:
    _CORTES.labels("refused").inc()


def corte_period(seconds: float) -> None:
    _CORTE_PERIOD.set(seconds)
