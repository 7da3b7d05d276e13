"""Find the central node: a configured URL and/or mDNS, then the certificate pin.

mDNS is only a hint (docs/protocol.md, "Discovery"): anyone on the LAN can advertise
``_prep-central._tcp.local.``. A candidate is taken only if its TXT ``cert`` equals the
fingerprint pinned at enrollment (:func:`choose`) *and* its TLS handshake presents that
very certificate (:func:`verify_presented_cert`). Every refusal is logged as
``possible_spoof`` on the ``prep.station.discovery`` logger.

The handshake check here is a gate for choosing a central; the HTTPS client that then
talks to it must pin the same fingerprint on its own connections.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import ssl
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from zeroconf import InterfaceChoice
from zeroconf import IPVersion
from zeroconf import ServiceStateChange
from zeroconf import Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser
from zeroconf.asyncio import AsyncServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from prep.crypto import cert_fingerprint
from prep.protocol import PROTOCOL_VERSION
from prep.protocol import SERVICE_TYPE

"""DNS-SD type the central advertises (same value as ``central.api.advertise``)."""

Source = Literal["mDNS", "configurada"]
Interfaces = InterfaceChoice | Sequence[str]
"""zeroconf's interface choice (default: all) or the IP addresses to use."""

DEFAULT_CONNECT_TIMEOUT = 5.0
_CLOSE_TIMEOUT = 1.0
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")

log = logging.getLogger("prep.station.discovery")


class DiscoveryError(Exception):
    """A central that cannot be used; the message is for the operator (Spanish)."""


class SpoofError(DiscoveryError):
    """The central presented a certificate other than the pinned one."""

    def __init__(self, url: str, presented_sha256: str) -> None:
        super().__init__(
            f"El nodo central en {_host_port(url)} presenta un certificado distinto del "
            "registrado (posible suplantación). No se enviarán datos; avise al coordinador."
        )
        self.url = url
        self.presented_sha256 = presented_sha256


class UnreachableError(DiscoveryError):
    """No TLS connection could be made to the central."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"No se pudo conectar con el nodo central en {_host_port(url)} ({reason})."
        )
        self.url = url


@dataclass(frozen=True)
class Candidate:
    """A place where the central may be.

    ``node`` and ``cert_sha256`` are what its TXT record claims (for a configured URL:
    no node, and the pinned fingerprint once :func:`find_central` has checked it);
    ``source`` says how it was found.
    """

    url: str
    node: str
    cert_sha256: str
    source: Source

    @property
    def host(self) -> str:
        """Host (IP address or name) of :attr:`url`."""
        return urlsplit(self.url).hostname or ""


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


Pins = str | Collection[str]
"""One pinned certificate fingerprint, or several: every node of the signed list
(:mod:`prep.station.nodes`); a central is taken if it presents any of them."""


def _check_pins(pinned: Pins) -> frozenset[str]:
    pins = frozenset(p.strip().lower() for p in ([pinned] if isinstance(pinned, str)
                                                  else pinned))
    if not pins or not all(_FINGERPRINT.fullmatch(pin) for pin in pins):
        raise ValueError("the pinned certificate fingerprint must be 64 hex digits (SHA-256)")
    return pins


def _shown(pins: frozenset[str]) -> str:
    return ", ".join(sorted(pins))


def _url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:{port}"


def candidates_from_info(info: AsyncServiceInfo) -> list[Candidate]:
    """One candidate per advertised address (IPv4 first), or none if the TXT record is
    not a protocol-1 central's."""
    txt = info.decoded_properties
    version, node = txt.get("v"), txt.get("node")
    cert, port = (txt.get("cert") or "").strip().lower(), txt.get("port") or ""
    if version != str(PROTOCOL_VERSION):
        log.info("ignoring %s: protocol version %r, not %d", info.name, version,
                 PROTOCOL_VERSION)
        return []
    if not node or not cert or not port.isdigit() or not 0 < int(port) < 65536:
        log.warning("ignoring %s: incomplete TXT record %r", info.name, txt)
        return []
    addresses = info.parsed_addresses(IPVersion.V4Only) + [
        a for a in info.parsed_addresses(IPVersion.V6Only) if not a.lower().startswith("fe80")
    ]
    return [Candidate(_url(a, int(port)), node, cert, "mDNS") for a in addresses]


async def browse(
    timeout: float, interfaces: Interfaces = InterfaceChoice.All
) -> list[Candidate]:
    """Browse mDNS for ``timeout`` seconds and return every advertised central, sorted
    by node and URL. Nothing here is trusted yet: see :func:`choose`."""
    if isinstance(interfaces, str):
        raise TypeError("interfaces is a list of IP addresses, not one string")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    resolved: dict[str, list[Candidate]] = {}
    present: set[str] = set()
    tasks: set[asyncio.Task[None]] = set()

    async with AsyncZeroconf(interfaces=interfaces) as aiozc:

        async def resolve(name: str) -> None:
            info = AsyncServiceInfo(SERVICE_TYPE, name)
            remaining_ms = max(0.0, deadline - loop.time()) * 1000
            try:
                if await info.async_request(aiozc.zeroconf, remaining_ms) and name in present:
                    resolved[name] = candidates_from_info(info)
            except Exception:
                # Whatever one responder sends must not stop the station finding others.
                log.warning("could not resolve %r", name, exc_info=True)

        def on_change(
            zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
        ) -> None:
            if state_change is ServiceStateChange.Removed:
                present.discard(name)
                resolved.pop(name, None)
                return
            present.add(name)
            task = loop.create_task(resolve(name))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        browser = AsyncServiceBrowser(aiozc.zeroconf, SERVICE_TYPE, handlers=[on_change])
        try:
            await asyncio.sleep(timeout)
        finally:
            await browser.async_cancel()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    found = [c for name in present if name in resolved for c in resolved[name]]
    return sorted(found, key=lambda c: (c.node, c.url))


def acceptable(candidates: Iterable[Candidate], pinned_cert_sha256: Pins) -> list[Candidate]:
    """The candidates whose advertised certificate is a pinned one, in order; each
    other one is logged as a possible spoof."""
    pins = _check_pins(pinned_cert_sha256)
    accepted: list[Candidate] = []
    for candidate in candidates:
        if candidate.cert_sha256 in pins:
            accepted.append(candidate)
        else:
            log.warning(
                "possible_spoof: refused central node=%r host=%s (%s): it advertises "
                "certificate %r, not the pinned %s",
                candidate.node, candidate.host, candidate.source, candidate.cert_sha256[:80],
                _shown(pins),
            )
    return accepted


def choose(candidates: Iterable[Candidate], pinned_cert_sha256: Pins) -> Candidate | None:
    """The first candidate advertising the pinned certificate, or None. TXT alone is
    not trust: check the chosen one with :func:`verify_presented_cert`."""
    accepted = acceptable(candidates, pinned_cert_sha256)
    return accepted[0] if accepted else None


async def verify_presented_cert(
    url: str,
    pinned_sha256: Pins,
    *,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
    node: str = "",
) -> str:
    """Make a TLS handshake with ``url`` and check the certificate it presents is a
    pinned one.

    The handshake does not validate the chain (the central's certificate is
    self-signed); the pin replaces that. Returns the fingerprint presented. Raises
    :class:`SpoofError` (logged as
    ``possible_spoof``) on another certificate, :class:`UnreachableError` if no
    handshake could be made within ``timeout`` seconds.
    """
    pins = _check_pins(pinned_sha256)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"not an https:// URL: {url!r}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(
                parts.hostname, parts.port or 443, ssl=context
            )
    except TimeoutError:
        raise UnreachableError(url, "tiempo de espera agotado") from None
    except OSError as error:  # includes ssl.SSLError
        raise UnreachableError(url, error.strerror or str(error)) from error
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await writer.wait_closed()
        except (TimeoutError, OSError):
            writer.transport.abort()
    presented = cert_fingerprint(der) if der else ""
    if presented not in pins:
        log.warning(
            "possible_spoof: refused central node=%r host=%s: its TLS handshake presents "
            "certificate %s, not the pinned %s",
            node, parts.hostname, presented or "(none)", _shown(pins),
        )
        raise SpoofError(url, presented)
    return presented


async def _passes_handshake(candidate: Candidate, pin: frozenset[str],
                            connect_timeout: float) -> str | None:
    """The pinned certificate ``candidate`` presented, or None."""
    try:
        return await verify_presented_cert(
            candidate.url, pin, timeout=connect_timeout, node=candidate.node
        )
    except SpoofError:
        return None
    except UnreachableError as error:
        log.info("central candidate %s (%s) unreachable: %s", candidate.url,
                 candidate.source, error)
        return None


async def find_central(
    configured_url: str | None,
    pinned_cert_sha256: Pins,
    timeout: float,
    *,
    interfaces: Interfaces = InterfaceChoice.All,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Candidate | None:
    """The central to talk to, or None.

    Tries ``configured_url`` first (source ``configurada``), then browses mDNS for
    ``timeout`` seconds and tries each candidate advertising a pinned certificate
    (source ``mDNS``). A candidate is returned only once its handshake presented a
    pinned certificate.
    """
    pin = _check_pins(pinned_cert_sha256)
    if configured_url:
        configured = Candidate(configured_url.rstrip("/"), "", "", "configurada")
        presented = await _passes_handshake(configured, pin, connect_timeout)
        if presented is not None:
            return dataclasses.replace(configured, cert_sha256=presented)
    for candidate in acceptable(await browse(timeout, interfaces), pin):
        if await _passes_handshake(candidate, pin, connect_timeout) is not None:
            return candidate
    return None
