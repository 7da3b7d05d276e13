"""The Prometheus endpoint every long-running program of the suite can open (issue 68).

``prep central serve`` and ``prep difusor run`` take ``--metrics-port`` (and
``--metrics-host``, 127.0.0.1 unless a technician names a LAN address) and serve their
metrics there, on a port of their own, never on the stations' API port. The exposition
is the official client library's (``prometheus_client``), on its own thread: a scrape
never runs on a program's event loop. No metric carries a secret nor a label per acta;
what each program exposes is its own module's business (:mod:`central.node.metrics`,
:mod:`difusor.metricas`).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:  # the library is imported only by a program that serves metrics
    from prometheus_client import CollectorRegistry

log = logging.getLogger("prep.metricas")

DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class MetricsAddress:
    """Where to listen for scrapes."""

    host: str
    port: int  # 0: any free port (said at start)


def add_metrics_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--metrics-port`` and ``--metrics-host``."""
    parser.add_argument("--metrics-port", type=_port, default=None, metavar="PUERTO",
                        help="expone métricas de Prometheus en este puerto (0: uno libre, "
                             "se informa al arrancar); sin esta opción no se exponen")
    parser.add_argument("--metrics-host", type=_host, default=DEFAULT_HOST, metavar="IP",
                        help=f"dirección de las métricas (predeterminada {DEFAULT_HOST}: "
                             "solo esta máquina; la IP de la red de administración para que "
                             "la lea el Prometheus del instituto)")


def metrics_address(args: argparse.Namespace) -> MetricsAddress | None:
    """The address the options ask for (``None``: no metrics)."""
    port = getattr(args, "metrics_port", None)
    if port is None:
        return None
    return MetricsAddress(str(args.metrics_host), int(port))


class MetricsServer:
    """A running exposition endpoint; :meth:`stop` closes it."""

    def __init__(self, address: MetricsAddress, registry: CollectorRegistry) -> None:
        from prometheus_client import start_http_server

        try:
            self._server, self._thread = start_http_server(address.port, address.host,
                                                           registry)
        except OSError as exc:
            raise OSError(f"no se pudo abrir el puerto de métricas {address.host}:"
                          f"{address.port} ({exc.strerror or exc}); elija otro con "
                          "--metrics-port") from None
        self.host = address.host
        self.port = int(self._server.server_port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_metrics(address: MetricsAddress | None, registry: CollectorRegistry
                  ) -> MetricsServer | None:
    """Open the endpoint when asked (``None``: not asked)."""
    if address is None:
        return None
    server = MetricsServer(address, registry)
    log.info("métricas de Prometheus en %s", server.url)
    return server


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"«{text}» no es un puerto (0 a 65535)")
    return value


def _host(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"«{text}» no es una dirección IP") from None


def scrape_info(server: MetricsServer | None) -> dict[str, Any]:
    """What a program adds to its start line about its metrics (nothing without them)."""
    return {} if server is None else {"metrics_url": server.url}
