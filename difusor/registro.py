"""Optional registration with the institute's central node, and the signed reports.

``prep difusor registrar --central URL --codigo C --cert-sha256 H`` spends the one-time
code the institute gave (``prep central difusor alta``): like a station's enrollment
(:mod:`prep.station.enroll`), the code goes only to the server presenting the
certificate ``H``, whose certificate is pinned from then on. The difusor's Ed25519 key
(``difusor.key``, 0600) is made the first time and kept; ``registro.json`` keeps who it
is for the central and the pinned certificate.

After each corte it publishes, and after each refusal, ``prep difusor run`` reports
(:func:`reportar`), signed with that key, the corte it serves (name and the SHA-256 of
its manifest) or the error. A report that cannot be delivered changes nothing of what
is served: it is logged, shown by ``status`` and sent again at the next poll.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from difusor.errores import DifusorError
from prep import __version__
from prep.crypto import SigningKey
from prep.crypto import b64encode
from prep.durable import fsync_dir
from prep.durable import write_synced
from prep.protocol import DIFUSOR_HEADER
from prep.protocol import DIFUSOR_REGISTRO_PATH
from prep.protocol import DIFUSOR_REPORTE_PATH
from prep.protocol import request_message
from prep.records import format_time
from prep.station.errors import EnrollmentError
from prep.station.tls import fetch_certificate
from prep.station.tls import host_port
from prep.station.tls import is_certificate_failure
from prep.station.tls import normalize_fingerprint
from prep.station.tls import pem_fingerprint
from prep.station.tls import pinned_context
from prep.station.tls import spoof_message

KEY = "difusor.key"
REGISTRO = "registro.json"
SIGNATURE_HEADER = "X-Prep-Signature"
TIMEOUT = 15.0
MAX_RESPUESTA = 64 * 1024


@dataclass(frozen=True)
class Registro:
    """Who this difusor is for the central, and where and how to reach the central."""

    difusor: str
    nombre: str
    url: str
    central: str
    cert_pem: str
    cert_sha256: str


def llave(datos: Path) -> SigningKey:
    """The difusor's key, made (0600) the first time."""
    path = datos / KEY
    try:
        return SigningKey.load(path)
    except FileNotFoundError:
        datos.mkdir(parents=True, exist_ok=True)
        key = SigningKey.generate()
        key.save(path)
        return key


def registrar(datos: Path, central: str, codigo: str, cert_sha256: str) -> Registro:
    """Spend ``codigo`` at the central ``central`` (``https://host:port``), only if it
    presents the certificate ``cert_sha256``; keep and return the registration."""
    try:
        expected = normalize_fingerprint(cert_sha256)
        central = central.rstrip("/")
        cert_pem = fetch_certificate(central, TIMEOUT)
    except EnrollmentError as exc:
        raise DifusorError(str(exc)) from None
    if pem_fingerprint(cert_pem) != expected:
        raise DifusorError(spoof_message(central, expected))
    key = llave(datos)
    body = json.dumps({"codigo": codigo.strip(), "public_key": key.public.b64(),
                       "hostname": socket.gethostname()}).encode()
    status, answer = _post(central, cert_pem, DIFUSOR_REGISTRO_PATH, body, {})
    if status != 200:
        raise DifusorError("el nodo central rechazó el registro"
                           + (" (el código no existe, ya se usó o venció: pida otro al "
                              "instituto)" if status == 403 else f" (HTTP {status})")
                           + _dice(answer))
    fields = ("difusor", "nombre", "url", "cert_sha256")
    if not isinstance(answer, dict) or not all(isinstance(answer.get(f), str) for f in fields):
        raise DifusorError("el nodo central respondió al registro con datos incompletos")
    if answer["cert_sha256"].lower() != expected:
        raise DifusorError(spoof_message(central, expected))
    registro = Registro(answer["difusor"], answer["nombre"], answer["url"], central,
                        cert_pem, expected)
    guardar(datos, registro)
    return registro


def guardar(datos: Path, registro: Registro) -> None:
    tmp = datos / f".{REGISTRO}.tmp"
    write_synced(tmp, json.dumps(registro.__dict__, ensure_ascii=False, indent=1).encode())
    tmp.replace(datos / REGISTRO)
    fsync_dir(datos)


def cargar(datos: Path) -> Registro | None:
    """The registration, or None if this difusor never registered."""
    try:
        data = json.loads((datos / REGISTRO).read_bytes())
        return Registro(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise DifusorError(f"no se pudo leer {datos / REGISTRO}: {exc}") from None


def manifiesto_sha256(corte_dir: Path) -> str:
    """The SHA-256 of a served corte's MANIFIESTO.sha256 (what the central signed)."""
    return hashlib.sha256((corte_dir / "MANIFIESTO.sha256").read_bytes()).hexdigest()


def reportar(datos: Path, registro: Registro, corte: str | None, manifiesto: str | None,
             error: str | None, cofirma: dict[str, Any] | None = None,
             bifurcacion: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send one signed report; the central's answer (``ultimo_corte``: its latest).
    ``cofirma``: the last log checkpoint cosigned (``tamano``, ``raiz``, ``linea``);
    ``bifurcacion``: a fork seen (``aceptado`` head, ``recibido`` signed checkpoint).
    Raises :class:`DifusorError` if it was not accepted."""
    contenido: dict[str, Any] = {"corte": corte, "manifiesto_sha256": manifiesto,
                                 "error": error[:500] if error else None,
                                 "hora": format_time(datetime.now(UTC)),
                                 "version": __version__}
    if cofirma is not None:
        contenido["cofirma"] = cofirma
    if bifurcacion is not None:
        contenido["bifurcacion"] = bifurcacion
    body = json.dumps(contenido, ensure_ascii=False).encode()
    signature = llave(datos).sign(request_message("POST", DIFUSOR_REPORTE_PATH,
                                                  hashlib.sha256(body).hexdigest()))
    headers = {DIFUSOR_HEADER: registro.difusor, SIGNATURE_HEADER: b64encode(signature)}
    status, answer = _post(registro.central, registro.cert_pem, DIFUSOR_REPORTE_PATH, body, headers)
    if status != 200 or not isinstance(answer, dict):
        raise DifusorError(f"el nodo central no aceptó el reporte (HTTP {status})"
                           + _dice(answer))
    return answer


def _post(central: str, cert_pem: str, path: str, body: bytes,
          headers: dict[str, str]) -> tuple[int, Any]:
    try:
        host, port = host_port(central)
    except EnrollmentError as exc:
        raise DifusorError(str(exc)) from None
    conn = http.client.HTTPSConnection(host, port, timeout=TIMEOUT,
                                       context=pinned_context(cert_pem))
    try:
        conn.request("POST", path, body=body, headers={
            **headers, "Content-Type": "application/json",
            "User-Agent": f"prep-difusor/{__version__}"})
        response = conn.getresponse()
        raw = response.read(MAX_RESPUESTA)
    except ssl.SSLCertVerificationError:
        raise DifusorError(spoof_message(central, pem_fingerprint(cert_pem))) from None
    except (OSError, http.client.HTTPException) as exc:
        if is_certificate_failure(exc):
            raise DifusorError(spoof_message(central, pem_fingerprint(cert_pem))) from None
        raise DifusorError(f"no se pudo comunicar con el nodo central en {central}: "
                           f"{exc or type(exc).__name__}") from None
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, None


def _dice(answer: Any) -> str:
    message = answer.get("message") if isinstance(answer, dict) else None
    return f": {str(message)[:300]}" if message else ""
