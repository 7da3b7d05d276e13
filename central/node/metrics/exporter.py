"""``serve --metrics-port``: this process's metrics, the database's and the disks', on
one Prometheus endpoint (:mod:`prep.metricas`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from collections.abc import Mapping
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client import ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from central.node.metrics import instruments
from central.node.metrics.database import DatabaseCollector
from prep.metricas import MetricsAddress
from prep.metricas import MetricsServer
from prep.metricas import start_metrics

INDICE = "indice.json"  # central.publication.feed.INDICE (publication is a higher layer)


class FilesCollector(Collector):
    """Free space of the central's volumes (label ``volume``: ``datos``, ``publicacion``)
    and the size of the last corte the signed index lists (its files and bytes, as the
    difusores fetch them)."""

    def __init__(self, volumes: Mapping[str, Path], publicacion: Path | None) -> None:
        self._volumes = dict(volumes)
        self._indice = publicacion / INDICE if publicacion is not None else None
        self._read: tuple[int, int, int] | None = None  # (mtime_ns, files, bytes)

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        free = GaugeMetricFamily("prep_disk_free_bytes", "Bytes free for the central on "
                                 "each of its volumes", labels=["volume"])
        size = GaugeMetricFamily("prep_disk_size_bytes", "Size of each of the central's "
                                 "volumes", labels=["volume"])
        for name, path in self._volumes.items():
            try:
                stat = os.statvfs(path)
            except OSError:
                continue  # not made yet (no corte published): nothing to say
            free.add_metric([name], stat.f_bavail * stat.f_frsize)
            size.add_metric([name], stat.f_blocks * stat.f_frsize)
        yield free
        yield size
        last = self._last_corte()
        if last is not None:
            yield GaugeMetricFamily("prep_corte_last_files", "Files of the last corte in the "
                                    "signed index", value=last[0])
            yield GaugeMetricFamily("prep_corte_last_bytes", "Bytes of the last corte in the "
                                    "signed index", value=last[1])

    def _last_corte(self) -> tuple[int, int] | None:
        if self._indice is None:
            return None
        try:
            mtime = self._indice.stat().st_mtime_ns
            if self._read is None or self._read[0] != mtime:
                cortes = json.loads(self._indice.read_bytes())["cortes"]
                if not cortes:
                    return None
                self._read = (mtime, int(cortes[-1]["archivos"]), int(cortes[-1]["bytes"]))
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None
        return self._read[1], self._read[2]


class Exporter:
    """The endpoint and what it reads; :meth:`stop` closes both."""

    def __init__(self, server: MetricsServer, database: DatabaseCollector) -> None:
        self.server = server
        self._database = database

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()
        self._database.close()


def central_registry(dsn: str, volumes: Mapping[str, Path], publicacion: Path | None
                     ) -> tuple[CollectorRegistry, DatabaseCollector]:
    """Everything a central's scrape answers."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(instruments.REGISTRY)
    database = DatabaseCollector(dsn)
    registry.register(database)
    registry.register(FilesCollector(volumes, publicacion))
    ProcessCollector(registry=registry)  # this process's CPU, memory, descriptors
    return registry, database


def start_exporter(address: MetricsAddress | None, dsn: str, volumes: Mapping[str, Path],
                   publicacion: Path | None) -> Exporter | None:
    """Serve the central's metrics at ``address`` (``None``: not asked)."""
    if address is None:
        return None
    registry, database = central_registry(dsn, volumes, publicacion)
    server = start_metrics(address, registry)
    assert server is not None
    return Exporter(server, database)
