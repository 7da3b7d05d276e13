"""Functions that ``run_in_netns`` calls inside a private network namespace.

Each takes and returns JSON values only; the test modules assert on what comes back.
Nothing here may run outside the namespace: every one sends mDNS multicast.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import ssl
import tempfile
import time
from collections.abc import AsyncIterator
from collections.abc import Coroutine
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.harness.netns import interface_names

LOOPBACK = "127.0.0.1"
INTERFACES = [LOOPBACK]
BROWSE_SECONDS = 3.0
"""Long enough for a query and its answers on loopback (~0.2 s), many times over, also
while other test workers keep both cores busy (1.5 s once missed an answer there); the
stations' own default."""


@dataclasses.dataclass(frozen=True)
class TlsIdentity:
    """A self-signed certificate and its key, as files, and the fingerprint to pin."""

    cert_file: Path
    key_file: Path
    sha256: str


def make_identity(directory: Path, common_name: str) -> TlsIdentity:
    """A fresh self-signed P-256 certificate for ``common_name`` valid for 127.0.0.1."""
    from prep.crypto import cert_fingerprint

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address(LOOPBACK))]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / f"{common_name}.crt"
    key_file = directory / f"{common_name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TlsIdentity(
        cert_file, key_file, cert_fingerprint(cert.public_bytes(serialization.Encoding.DER))
    )


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # The handshake is all discovery needs; the real API lives in central/.
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


@contextlib.asynccontextmanager
async def tls_server(identity: TlsIdentity) -> AsyncIterator[int]:
    """A real TLS listener on loopback presenting ``identity``; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(identity.cert_file, identity.key_file)
    server = await asyncio.start_server(_hang_up, LOOPBACK, 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def centrals(*specs: tuple[TlsIdentity, str, str]) -> AsyncIterator[list[tuple[int, Any]]]:
    """For each ``(identity, node, advertised_cert)``: a TLS server presenting
    ``identity`` and an advertiser for it whose TXT claims ``advertised_cert``. They
    start together (probing takes ~1.5 s each); yields ``[(port, advertiser), …]``."""
    from central.api.advertise import CentralAdvertiser

    async with contextlib.AsyncExitStack() as stack:
        started: list[tuple[int, Any]] = []
        for identity, node, advertised_cert in specs:
            port = await stack.enter_async_context(tls_server(identity))
            advertiser = CentralAdvertiser(node, port, advertised_cert, interfaces=INTERFACES)
            stack.push_async_callback(advertiser.stop)
            started.append((port, advertiser))
        outcomes = await asyncio.gather(
            *(advertiser.start() for _, advertiser in started), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        yield started


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[list[str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append([record.levelname, record.getMessage()])


@contextlib.contextmanager
def discovery_log() -> Iterator[list[list[str]]]:
    """Capture what ``prep.station.discovery`` logs, as ``[level, message]`` pairs."""
    logger = logging.getLogger("prep.station.discovery")
    handler, level = _Captured(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _as_dict(candidate: Any) -> dict[str, Any] | None:
    return dataclasses.asdict(candidate) if candidate is not None else None


def _run(coroutine: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    return asyncio.run(coroutine)


# --- targets -------------------------------------------------------------------------


def advertise_and_find(node: str) -> dict[str, Any]:
    """A genuine central is advertised; the station browses, reads its TXT record and
    finds it through mDNS."""
    return _run(_advertise_and_find(node))


async def _advertise_and_find(node: str) -> dict[str, Any]:
    from zeroconf.asyncio import AsyncZeroconf

    from prep.station.discovery import SERVICE_TYPE
    from prep.station.discovery import browse
    from prep.station.discovery import find_central

    with tempfile.TemporaryDirectory() as tmp:
        identity = make_identity(Path(tmp), node)
        async with centrals((identity, node, identity.sha256)) as [(port, advertiser)]:
            candidates = await browse(BROWSE_SECONDS, INTERFACES)
            async with AsyncZeroconf(interfaces=INTERFACES) as aiozc:
                info = await aiozc.async_get_service_info(SERVICE_TYPE, advertiser.name)
            with discovery_log() as log:
                found = await find_central(None, identity.sha256, BROWSE_SECONDS,
                                           interfaces=INTERFACES)
            assert info is not None
            return {
                "interfaces": interface_names(),
                "port": port,
                "cert": identity.sha256,
                "registered_name": advertiser.name,
                "txt": info.decoded_properties,
                "srv_port": info.port,
                "addresses": info.parsed_addresses(),
                "candidates": [_as_dict(c) for c in candidates],
                "found": _as_dict(found),
                "log": log,
            }


def two_serve_nodes(node: str) -> dict[str, Any]:
    """Two serve nodes of one central (the same node id and certificate, two ports),
    each advertised as its own instance (issue 31); the station browses."""
    return _run(_two_serve_nodes(node))


async def _two_serve_nodes(node: str) -> dict[str, Any]:
    from central.api.advertise import CentralAdvertiser
    from central.api.advertise import serve_label
    from prep.station.discovery import browse

    with tempfile.TemporaryDirectory() as tmp:
        identity = make_identity(Path(tmp), node)
        async with contextlib.AsyncExitStack() as stack:
            advertisers = []
            for _ in range(2):
                port = await stack.enter_async_context(tls_server(identity))
                advertiser = CentralAdvertiser(node, port, identity.sha256,
                                               interfaces=INTERFACES, label=serve_label(port))
                stack.push_async_callback(advertiser.stop)
                advertisers.append(advertiser)
            await asyncio.gather(*(a.start() for a in advertisers))
            candidates = await browse(BROWSE_SECONDS, INTERFACES)
            return {"ports": [a.port for a in advertisers],
                    "names": [a.name for a in advertisers],
                    "cert": identity.sha256,
                    "candidates": [_as_dict(c) for c in candidates]}


def spoofer_with_other_cert(genuine_node: str, spoof_node: str) -> dict[str, Any]:
    """A genuine central and a spoofer advertising its own node and certificate."""
    return _run(_spoofer_with_other_cert(genuine_node, spoof_node))


async def _spoofer_with_other_cert(genuine_node: str, spoof_node: str) -> dict[str, Any]:
    from prep.station.discovery import browse
    from prep.station.discovery import choose
    from prep.station.discovery import find_central

    with tempfile.TemporaryDirectory() as tmp:
        genuine = make_identity(Path(tmp), genuine_node)
        spoof = make_identity(Path(tmp), spoof_node)
        async with centrals(
            (genuine, genuine_node, genuine.sha256), (spoof, spoof_node, spoof.sha256)
        ) as [(genuine_port, _), (spoof_port, _)]:
            candidates = await browse(BROWSE_SECONDS, INTERFACES)
            with discovery_log() as choose_log:
                chosen = choose(candidates, genuine.sha256)
            with discovery_log() as find_log:
                found = await find_central(None, genuine.sha256, BROWSE_SECONDS,
                                           interfaces=INTERFACES)
            with discovery_log() as configured_log:
                configured_genuine = await find_central(
                    f"https://{LOOPBACK}:{genuine_port}", genuine.sha256, BROWSE_SECONDS,
                    interfaces=INTERFACES,
                )
                configured_spoof = await find_central(
                    f"https://{LOOPBACK}:{spoof_port}", genuine.sha256, BROWSE_SECONDS,
                    interfaces=INTERFACES,
                )
            return {
                "interfaces": interface_names(),
                "genuine": {"port": genuine_port, "cert": genuine.sha256},
                "spoof": {"port": spoof_port, "cert": spoof.sha256},
                "candidates": [_as_dict(c) for c in candidates],
                "chosen": _as_dict(chosen),
                "choose_log": choose_log,
                "found": _as_dict(found),
                "find_log": find_log,
                "configured_genuine": _as_dict(configured_genuine),
                "configured_spoof": _as_dict(configured_spoof),
                "configured_log": configured_log,
            }


def spoofer_copying_fingerprint(node: str, other_node: str) -> dict[str, Any]:
    """A spoofer claims the genuine ``node`` and certificate fingerprint in TXT but
    serves its own certificate. Then, with the genuine central up too, a spoofer that
    copies the fingerprint under ``other_node`` (sorted first) is skipped."""
    return _run(_spoofer_copying_fingerprint(node, other_node))


async def _spoofer_copying_fingerprint(node: str, other_node: str) -> dict[str, Any]:
    from prep.station.discovery import SpoofError
    from prep.station.discovery import browse
    from prep.station.discovery import choose
    from prep.station.discovery import find_central
    from prep.station.discovery import verify_presented_cert

    with tempfile.TemporaryDirectory() as tmp:
        genuine = make_identity(Path(tmp), node)
        spoof = make_identity(Path(tmp), f"{node}-impostor")
        result: dict[str, Any] = {
            "interfaces": interface_names(), "cert": genuine.sha256, "spoof_cert": spoof.sha256,
        }
        async with centrals((spoof, node, genuine.sha256)) as [(spoof_port, _)]:
            result["spoof_port"] = spoof_port
            candidates = await browse(BROWSE_SECONDS, INTERFACES)
            result["candidates"] = [_as_dict(c) for c in candidates]
            with discovery_log() as choose_log:
                chosen = choose(candidates, genuine.sha256)
            result["chosen"] = _as_dict(chosen)
            result["choose_log"] = choose_log
            with discovery_log() as verify_log:
                try:
                    assert chosen is not None
                    await verify_presented_cert(chosen.url, genuine.sha256, node=chosen.node)
                except SpoofError as error:
                    result["spoof_error"] = {
                        "message": str(error),
                        "url": error.url,
                        "presented": error.presented_sha256,
                    }
            result["verify_log"] = verify_log
            with discovery_log() as find_log:
                found = await find_central(None, genuine.sha256, BROWSE_SECONDS,
                                           interfaces=INTERFACES)
            result["found_alone"] = _as_dict(found)
            result["find_log"] = find_log

        async with centrals(
            (spoof, other_node, genuine.sha256), (genuine, node, genuine.sha256)
        ) as [(spoof_port, _), (genuine_port, _)]:
            result["both"] = {"spoof_port": spoof_port, "genuine_port": genuine_port}
            with discovery_log() as both_log:
                found = await find_central(None, genuine.sha256, BROWSE_SECONDS,
                                           interfaces=INTERFACES)
            result["found_with_genuine"] = _as_dict(found)
            result["both_log"] = both_log
        return result


def nothing_advertised(pinned: str) -> dict[str, Any]:
    """Nobody advertises: browse and find_central come back empty, on time."""
    return _run(_nothing_advertised(pinned))


async def _nothing_advertised(pinned: str) -> dict[str, Any]:
    from prep.station.discovery import browse
    from prep.station.discovery import find_central

    timeout = 1.0
    started = time.monotonic()
    candidates = await browse(timeout, INTERFACES)
    browse_seconds = time.monotonic() - started
    started = time.monotonic()
    found = await find_central(None, pinned, timeout, interfaces=INTERFACES)
    find_seconds = time.monotonic() - started
    return {
        "interfaces": interface_names(),
        "timeout": timeout,
        "candidates": [_as_dict(c) for c in candidates],
        "browse_seconds": browse_seconds,
        "found": _as_dict(found),
        "find_seconds": find_seconds,
    }


def enrollment_choices(node_a: str, node_b: str) -> dict[str, Any]:
    """How a station picks the central to enroll with over mDNS: nothing advertised,
    one central, two centrals (no prefix, the right prefix, a prefix matching none),
    and an impostor copying a central's TXT fingerprint."""
    return _run(_enrollment_choices(node_a, node_b))


async def _enrollment_choices(node_a: str, node_b: str) -> dict[str, Any]:
    from prep.station.enroll_mdns import locate_for_enrollment
    from prep.station.errors import EnrollmentError
    from prep.station.station import Station

    async def outcome(prefix: str | None) -> dict[str, Any]:
        try:
            choice = await locate_for_enrollment(prefix, BROWSE_SECONDS, interfaces=INTERFACES)
        except EnrollmentError as error:
            return {"error": error.code, "message": str(error)}
        return {"chosen": _as_dict(choice.chosen), "by_prefix": choice.by_prefix,
                "candidates": [_as_dict(c) for c in choice.candidates]}

    with tempfile.TemporaryDirectory() as tmp:
        a = make_identity(Path(tmp), node_a)
        b = make_identity(Path(tmp), node_b)
        impostor = make_identity(Path(tmp), f"{node_a}-impostor")
        unmatched = next(p for p in ("0" * 10, "1" * 10, "2" * 10)
                         if not a.sha256.startswith(p) and not b.sha256.startswith(p))
        result: dict[str, Any] = {
            "interfaces": interface_names(), "a": a.sha256, "b": b.sha256,
            "unmatched": unmatched, "nothing": await outcome(None),
        }
        async with centrals((a, node_a, a.sha256)) as [(port, _)]:
            result["alone_port"] = port
            result["alone"] = await outcome(None)
        async with centrals((a, node_a, a.sha256), (b, node_b, b.sha256)) as started:
            result["ports"] = [port for port, _ in started]
            result["several"] = await outcome(None)
            # As a technician may type it: upper case, in pairs separated by colons.
            typed = ":".join(b.sha256[i:i + 2] for i in range(0, 10, 2)).upper()
            result["by_prefix"] = await outcome(typed)
            result["no_match"] = await outcome(unmatched)
        async with centrals((impostor, node_a, a.sha256)) as [(port, _)]:
            result["impostor_port"] = port
            station_dir = Path(tmp) / "station"
            with Station.open(station_dir) as station, discovery_log() as log:
                try:
                    await asyncio.to_thread(station.enroll_mdns, "CODIGO-1234", a.sha256[:10],
                                            timeout=BROWSE_SECONDS, interfaces=INTERFACES)
                except EnrollmentError as error:
                    result["impostor"] = {"error": error.code, "message": str(error)}
                result["impostor_enrolled"] = station.identity is not None
                result["impostor_log"] = log
        return result
