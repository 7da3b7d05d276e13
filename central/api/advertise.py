"""Advertise the central node on the local network over mDNS/DNS-SD.

The central registers ``_prep-central._tcp.local.`` with TXT ``v``, ``node``, ``port``
and ``cert`` (docs/protocol.md, "Discovery"). That is only a hint for stations: anyone
on the LAN can advertise the same thing, so stations accept a central only if ``cert``
equals the fingerprint pinned at enrollment *and* the TLS handshake presents that very
certificate (``prep.station.discovery``).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import ifaddr
from zeroconf import InterfaceChoice
from zeroconf import ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from prep.protocol import PROTOCOL_VERSION
from prep.protocol import SERVICE_TYPE

"""DNS-SD type of the central's API (same value as ``prep.station.discovery``)."""

Interfaces = InterfaceChoice | Sequence[str]
"""zeroconf's interface choice (default: all) or the IP addresses to serve on."""

INSTANCE_PREFIX = "PREP central "
MAX_INSTANCE_BYTES = 63  # RFC 6763 §4.1.1: an instance name is one DNS label

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_NOT_IN_HOST_LABEL = re.compile(r"[^a-z0-9-]+")

log = logging.getLogger("central.advertise")


class AdvertiseError(RuntimeError):
    """The central could not be advertised (no address to announce, already started…)."""


def instance_name(node: str, label: str = "") -> str:
    """Full DNS-SD name of ``node``'s service: ``PREP central <node>._prep-central…``;
    with ``label`` (one serve node of several), ``PREP central <node> <label>…``."""
    return f"{instance_label(node, label)}.{SERVICE_TYPE}"


def instance_label(node: str, label: str = "") -> str:
    """The instance label, ``label`` cut to fit one DNS label (or left out)."""
    base = f"{INSTANCE_PREFIX}{node}"
    room = MAX_INSTANCE_BYTES - len(base.encode()) - 1
    cut = label.encode()[:max(room, 0)].decode(errors="ignore").strip()
    return f"{base} {cut}" if cut else base


def serve_label(port: int) -> str:
    """What tells apart the serve nodes of one central on the network: the machine's
    name and the port (two nodes on one machine, or on two)."""
    return f"{socket.gethostname().split('.')[0][:20]}-{port}"


def txt_properties(node: str, port: int, cert_sha256: str) -> dict[str, str]:
    """The TXT record fixed by the protocol."""
    return {"v": str(PROTOCOL_VERSION), "node": node, "port": str(port), "cert": cert_sha256}


def _host_label(node: str) -> str:
    # A dedicated host name rather than the machine's own: announcing "<hostname>.local"
    # with only some of the machine's addresses would fight the system's mDNS responder.
    # One per serve node (its label joins ``node``): two nodes announcing one host name
    # with different addresses would mix their addresses.
    label = _NOT_IN_HOST_LABEL.sub("-", node.lower()).strip("-")[:50]
    return f"prep-central-{label}" if label else "prep-central"


def _interface_addresses(interfaces: Interfaces) -> list[str]:
    """Addresses to announce: the IPs named in ``interfaces``, or, for a choice such
    as "all", every non-loopback IPv4 address of the machine."""
    if isinstance(interfaces, InterfaceChoice):
        found: list[str] = []
        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                if ip.is_IPv4 and isinstance(ip.ip, str):
                    if not ipaddress.IPv4Address(ip.ip).is_loopback and ip.ip not in found:
                        found.append(ip.ip)
        return found
    return list(interfaces)


class CentralAdvertiser:
    """Registers the central's service while started.

    ``interfaces`` is zeroconf's choice (default: all) or a list of the IPs to serve
    on; ``addresses`` (default: those IPs, or all non-loopback IPv4 addresses) are the
    A records stations will connect to. Use ``await start()``/``await stop()`` or
    ``async with CentralAdvertiser(...)``.
    """

    def __init__(
        self,
        node: str,
        port: int,
        cert_sha256: str,
        *,
        interfaces: Interfaces = InterfaceChoice.All,
        addresses: Sequence[str] | None = None,
        server: str | None = None,
        label: str = "",
    ) -> None:
        if not node or len(f"{INSTANCE_PREFIX}{node}".encode()) > MAX_INSTANCE_BYTES:
            raise ValueError(f"node id must be 1 to {MAX_INSTANCE_BYTES - len(INSTANCE_PREFIX)}"
                             f" bytes: {node!r}")
        if isinstance(interfaces, str):
            raise TypeError("interfaces is a list of IP addresses, not one string")
        if not 0 < port < 65536:
            raise ValueError(f"not a TCP port: {port}")
        if not _FINGERPRINT.fullmatch(cert_sha256):
            raise ValueError("cert_sha256 must be 64 lower-case hex digits (SHA-256 of the DER)")
        self.node = node
        self.port = port
        self.cert_sha256 = cert_sha256
        self._interfaces = interfaces
        self._addresses = list(addresses) if addresses is not None else None
        self.label = label
        self._server = server or f"{_host_label(f'{node}-{label}' if label else node)}.local."
        self._zeroconf: AsyncZeroconf | None = None
        self._info: ServiceInfo | None = None

    @property
    def name(self) -> str | None:
        """The registered service name (zeroconf renames it on a conflict), or None."""
        return self._info.name if self._info is not None else None

    async def start(self) -> None:
        """Probe for the name, register and announce the service; returns once the
        announcements have gone out."""
        if self._zeroconf is not None:
            raise AdvertiseError("the central is already being advertised")
        addresses = (
            self._addresses if self._addresses is not None
            else _interface_addresses(self._interfaces)
        )
        if not addresses:
            raise AdvertiseError("no network address to advertise the central on")
        info = ServiceInfo(
            SERVICE_TYPE,
            instance_name(self.node, self.label),
            port=self.port,
            properties=txt_properties(self.node, self.port, self.cert_sha256),
            server=self._server,
            parsed_addresses=addresses,
        )
        zeroconf = AsyncZeroconf(interfaces=self._interfaces)
        try:
            # Renaming rather than failing on a conflict: another responder holding our
            # name (a second central, or someone impersonating us) must not keep the
            # genuine central off the network; stations tell them apart by certificate.
            announced = await zeroconf.async_register_service(info, allow_name_change=True)
            await announced
        except BaseException:
            await zeroconf.async_close()
            raise
        self._zeroconf, self._info = zeroconf, info
        if info.name != instance_name(self.node, self.label):
            log.warning(
                "another responder already announces %r (a second central or a possible "
                "spoof); advertising as %r", instance_name(self.node, self.label), info.name,
            )
        log.info("advertising %s on %s port %d", info.name, ", ".join(addresses), self.port)

    async def stop(self) -> None:
        """Send goodbyes and close the responder. Safe to call when not started."""
        zeroconf, self._zeroconf, self._info = self._zeroconf, None, None
        if zeroconf is not None:
            await zeroconf.async_close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
