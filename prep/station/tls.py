"""TLS towards the central node, pinned to the certificate received at enrollment.

The central's certificate is self-signed; no public CA vouches for it. The station
trusts exactly the certificate it pinned at enrollment: the client context has that
PEM as its only trust anchor and checks no host name (the central is reached by IP, by
a configured name or through mDNS, and none of those is what proves who it is). Any
other certificate fails the handshake, which the station reports as
``possible_spoof``.
"""

from __future__ import annotations

import logging
import re
import ssl
from urllib.parse import urlsplit

from aiohttp import ServerFingerprintMismatch

from prep.crypto import is_ca_certificate
from prep.crypto import pem_fingerprint
from prep.errors_es import describe_os_error

__all__ = [
    "SPOOF_CODE",
    "fetch_certificate",
    "fingerprint_groups",
    "host_port",
    "is_ca_certificate",
    "is_certificate_failure",
    "normalize_fingerprint",
    "pem_fingerprint",
    "pinned_context",
    "spoof_leaf_message",
    "spoof_list_message",
    "spoof_message",
]
from prep.station.errors import EnrollmentError

SPOOF_CODE = "possible_spoof"

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_SEPARATORS = re.compile(r"[\s:.-]+")


def pinned_context(cert_pem: str) -> ssl.SSLContext:
    """A client context that accepts only the server certificate ``cert_pem`` (or, for
    several concatenated PEM certificates, any of them: the central's node list).

    A CA certificate (basicConstraints CA:TRUE) is never an anchor: it would make every
    certificate it issued acceptable, where a station trusts node certificates only."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    # The pinned certificate itself is the trust anchor, even if it is not a CA.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    leaves = [pem for pem in _PEM.findall(cert_pem) if not is_ca_certificate(pem)]
    if not leaves:
        raise ValueError("no node certificate to trust (only CA certificates)")
    context.load_verify_locations(cadata="\n".join(leaves) + "\n")
    return context


_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def spoof_leaf_message(url: str, pinned_sha256: str) -> str:
    """The operator's message when ``url`` presents another certificate than the one the
    signed node list pins to that address."""
    return (f"El servidor en {url} no presentó el certificado que la lista firmada de nodos "
            f"fija para esa dirección (huella {pinned_sha256[:16]}…): posible suplantación. "
            "No se envió nada. Avise a su coordinador.")


def normalize_fingerprint(text: str | None) -> str:
    """A full certificate fingerprint as 64 lower-case hex digits (spaces, colons, dots
    and dashes as a console or a technician may group it are dropped).

    Raises :class:`EnrollmentError` ``bad_fingerprint`` otherwise: a prefix, or none,
    would let whoever answers at the central's address receive the enrollment code.
    """
    fingerprint = _SEPARATORS.sub("", text or "").lower()
    if not _FINGERPRINT.fullmatch(fingerprint):
        shown = (text or "")[:80]
        shown = shown if shown.isprintable() else ascii(shown)
        raise EnrollmentError("bad_fingerprint", (
            f"La huella del certificado del nodo central «{shown}» no es válida: escriba "
            "los 64 dígitos hexadecimales (0-9, a-f) que muestra la consola del nodo central "
            "(prep central init o serve). No se envió el código de alta."))
    return fingerprint


def fingerprint_groups(fingerprint: str) -> str:
    """``fingerprint`` in groups of four, easy to compare aloud (as the CATD screen
    shows it)."""
    return " ".join(fingerprint[i:i + 4] for i in range(0, len(fingerprint), 4))


def spoof_message(url: str, pinned_sha256: str) -> str:
    """The operator's message when ``url`` presents a certificate other than the pinned
    one."""
    return (f"El servidor en {url} no presentó el certificado del nodo central con el que "
            f"se dio de alta esta estación (huella {pinned_sha256[:16]}…): posible "
            f"suplantación. No se envió nada. Avise a su coordinador.")


def spoof_list_message(url: str, count: int) -> str:
    """The operator's message when ``url`` presents none of the ``count`` certificates of
    the central's signed node list."""
    return (f"El servidor en {url} no presentó ninguno de los {count} certificados de la "
            f"lista firmada de nodos del nodo central: posible suplantación. No se envió "
            f"nada. Avise a su coordinador.")


def is_certificate_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a failed certificate check."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError | ServerFingerprintMismatch):
            return True
        certificate_error = getattr(current, "certificate_error", None)
        if isinstance(certificate_error, ssl.SSLCertVerificationError):
            return True
        current = current.__cause__ or current.__context__
    return False


def host_port(url: str) -> tuple[str, int]:
    """Host and port of an ``https://`` URL (the only scheme a station speaks)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise EnrollmentError("bad_url", f"La dirección del nodo central «{url}» no es "
                                         f"válida: debe ser https://servidor:puerto")
    return parts.hostname, parts.port or 443


def fetch_certificate(url: str, timeout: float = 10.0) -> str:
    """The PEM certificate the server at ``url`` presents (not verified: enrollment
    decides whether to trust it)."""
    host, port = host_port(url)
    try:
        return ssl.get_server_certificate((host, port), timeout=timeout)
    except (OSError, ssl.SSLError) as exc:
        logging.getLogger("prep.station.enroll").warning(
            "no certificate from %s: %r", url, exc)  # the detail, for the log only
        raise EnrollmentError("unreachable", f"No se pudo conectar con el nodo central en "
                                             f"{url}: {describe_os_error(exc)}. Revise la "
                                             "red y la dirección.") from exc
