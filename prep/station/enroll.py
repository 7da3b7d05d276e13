"""Enrollment: a technician types a one-time code; the station gets its identity.

1. Read the certificate the server presents and compare it with the fingerprint the
   technician confirmed (typed from the central's console, or read on the station's screen
   and confirmed there). There is no enrollment without one: before enrollment nothing
   else tells the central from whoever answers at its address, and a one-time code sent
   to an impostor becomes the impostor's station (issue 36).
2. Send ``POST /v1/enroll`` over TLS pinned to that very certificate, so the code and
   the public key reach only the holder of the certificate we are about to trust.
3. The answer must name the same fingerprint; from then on it is pinned.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from dataclasses import dataclass
from typing import Any

import aiohttp

from prep.crypto import SignatureError
from prep.crypto import SigningKey
from prep.crypto import VerifyKey
from prep.errors_es import describe_os_error
from prep.station.errors import EnrollmentError
from prep.station.tls import SPOOF_CODE
from prep.station.tls import fetch_certificate
from prep.station.tls import is_certificate_failure
from prep.station.tls import normalize_fingerprint
from prep.station.tls import pem_fingerprint
from prep.station.tls import pinned_context
from prep.station.tls import spoof_message

ENROLL_PATH = "/v1/enroll"
log = logging.getLogger("prep.station.enroll")
MIN_PREFIX_DIGITS = 10
"""Fewest hex digits of the fingerprint a technician may type to choose a central found
with mDNS (``--expect-cert``): an impostor can make certificates until one matches, and
8 digits (32 bits) take about 35 core-hours to match; 10 digits take 256 times as long."""
NOT_CONFIRMED = (
    "No se confirmó la huella del certificado del nodo central: no se envió el código de "
    "alta. Si no coincide con la que muestra la consola del nodo central, avise a su "
    "coordinador.")


@dataclass(frozen=True)
class Enrollment:
    """What the central answered, with the certificate the station now pins."""

    station_id: str
    role: str
    sitio: str
    node: str
    central_key: VerifyKey
    cert_pem: str
    cert_sha256: str
    url: str


def enroll(url: str, code: str, key: SigningKey, expected_cert_sha256: str,
           hostname: str | None = None, timeout: float = 30.0) -> Enrollment:
    """Enroll ``key`` with the central at ``url`` using the one-time ``code``, only if
    the server there presents the certificate ``expected_cert_sha256`` (64 hex digits).

    Raises :class:`EnrollmentError` (``bad_fingerprint`` before any traffic,
    ``possible_spoof``, ``rejected``, ``unreachable``, ``bad_answer``) with a Spanish
    message.
    """
    expected = normalize_fingerprint(expected_cert_sha256)
    url = url.rstrip("/")
    cert_pem = fetch_certificate(url, timeout)
    cert_sha256 = pem_fingerprint(cert_pem)
    if expected != cert_sha256:
        raise EnrollmentError(SPOOF_CODE, spoof_message(url, expected))
    payload = {"code": code.strip(), "public_key": key.public.b64(),
               "hostname": hostname or socket.gethostname()}
    status, answer, retry_after = asyncio.run(_post(url, cert_pem, payload, timeout))
    if status != 200:
        raise _refusal(status, answer, retry_after)
    return _parse_answer(answer, url, cert_pem, cert_sha256)


async def _post(url: str, cert_pem: str, payload: dict[str, str],
                timeout: float) -> tuple[int, Any, str | None]:
    connector = aiohttp.TCPConnector(ssl=pinned_context(cert_pem))
    try:
        async with aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            async with http.post(url + ENROLL_PATH, json=payload) as response:
                raw = await response.read()
                retry_after = response.headers.get("Retry-After")
                try:
                    return response.status, json.loads(raw), retry_after
                except ValueError:
                    return response.status, None, retry_after
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        if is_certificate_failure(exc):
            raise EnrollmentError(SPOOF_CODE, spoof_message(url, pem_fingerprint(cert_pem))
                                  ) from exc
        log.warning("enrollment request to %s failed: %r", url, exc)  # detail: log only
        raise EnrollmentError("unreachable", f"No se pudo completar el alta con el nodo "
                                             f"central en {url}: {describe_os_error(exc)}. "
                                             "Revise la red y vuelva a intentarlo.") from exc


def _refusal(status: int, answer: Any, retry_after: str | None = None) -> EnrollmentError:
    detail = answer.get("message", "") if isinstance(answer, dict) else ""
    if status == 429:
        return TooManyAttempts(_seconds(retry_after), detail)
    if status == 403:
        return EnrollmentError("rejected", "El nodo central rechazó el código de alta: no "
                                           "existe, ya se usó o expiró. Pida un código nuevo "
                                           "a su coordinador." + _also(detail))
    return EnrollmentError("rejected", f"El nodo central rechazó el alta (HTTP {status})."
                                       + _also(detail))


class TooManyAttempts(EnrollmentError):
    """The central refuses enrollment attempts for a while (too many failed ones from
    this address or in all); ``retry_after``: seconds to wait."""

    def __init__(self, retry_after: int, detail: str = "") -> None:
        minutes = max(1, -(-retry_after // 60))
        wait = "1 minuto" if minutes == 1 else f"{minutes} minutos"
        # The central's own text says which limit (this address or all); it is pinned
        # by now, so its words are the central's.
        super().__init__(RATE_LIMITED, detail or (
            f"El nodo central no acepta más intentos de alta por ahora: hubo demasiados "
            f"intentos fallidos. Espere {wait} y vuelva a intentarlo con el código "
            "completo; si no lo tiene o ya venció, pida uno nuevo a su coordinador."))
        self.retry_after = retry_after


RATE_LIMITED = "rate_limited"
#: What a missing or unreadable Retry-After is taken as (the central's window).
DEFAULT_RETRY_SECONDS = 600
MAX_RETRY_SECONDS = 24 * 3600


def _seconds(retry_after: str | None) -> int:
    """Retry-After in seconds (a number; an HTTP date or garbage: the default)."""
    try:
        seconds = int((retry_after or "").strip())
    except ValueError:
        return DEFAULT_RETRY_SECONDS
    return min(max(seconds, 1), MAX_RETRY_SECONDS)


def _also(detail: str) -> str:
    return f" El nodo central dice: {detail}" if detail else ""


def _parse_answer(answer: Any, url: str, cert_pem: str, cert_sha256: str) -> Enrollment:
    fields = ("station_id", "role", "sitio", "node", "central_key", "cert_sha256")
    if not isinstance(answer, dict) or not all(isinstance(answer.get(f), str) for f in fields):
        raise EnrollmentError("bad_answer", "El nodo central respondió al alta con datos "
                                            "incompletos; avise a su coordinador.")
    if answer["cert_sha256"].lower() != cert_sha256:
        # The answer names a certificate other than the one that carried it.
        raise EnrollmentError(SPOOF_CODE, spoof_message(url, answer["cert_sha256"]))
    try:
        central_key = VerifyKey.from_b64(answer["central_key"])
    except SignatureError as exc:
        raise EnrollmentError("bad_answer", "La llave pública del nodo central recibida en "
                                            "el alta no es válida.") from exc
    return Enrollment(answer["station_id"], answer["role"], answer["sitio"], answer["node"],
                      central_key, cert_pem, cert_sha256, url)
