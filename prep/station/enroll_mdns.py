"""Find the central for enrollment over mDNS (``prep station enroll --mdns``).

Before enrollment the station has no pin, so mDNS cannot be checked against one. The
technician compares instead: the central's console shows its certificate fingerprint
(``prep central init`` / ``serve --mdns``) and the technician types its first digits
(the *expected prefix*). The station then

1. browses ``_prep-central._tcp.local.`` and lists every central found (node and
   fingerprint, as advertised in TXT);
2. takes the one whose fingerprint starts with the prefix, or, with no prefix, the only
   one found (:attr:`MdnsChoice.by_prefix` is then ``False``: the technician must compare
   the fingerprint shown by :func:`choice_message` and confirm it before the code is sent,
   :meth:`prep.station.station.Station.enroll_mdns`; without a way to confirm, headless,
   the prefix is required);
3. makes a TLS handshake and checks the certificate presented is the one advertised
   (:func:`prep.station.discovery.verify_presented_cert`) before any code is sent;
4. enrolls with that fingerprint as the expected one, so the code travels only over TLS
   pinned to it, and pins it from then on (:meth:`prep.station.station.Station.enroll`).

Anything ambiguous stops before the code is sent, with a Spanish message that lists
what was found.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from zeroconf import InterfaceChoice

from prep.station.discovery import DEFAULT_CONNECT_TIMEOUT
from prep.station.discovery import Candidate
from prep.station.discovery import Interfaces
from prep.station.discovery import SpoofError
from prep.station.discovery import UnreachableError
from prep.station.discovery import browse
from prep.station.discovery import verify_presented_cert
from prep.station.enroll import MIN_PREFIX_DIGITS
from prep.station.errors import EnrollmentError
from prep.station.tls import SPOOF_CODE
from prep.station.tls import fingerprint_groups

DEFAULT_BROWSE_SECONDS = 3.0

PREFIX_REQUIRED = (
    "Para dar de alta el equipo buscando el nodo central con mDNS indique los primeros "
    f"dígitos (al menos {MIN_PREFIX_DIGITS}) de la huella del certificado que muestra la "
    "consola del nodo central (opción --expect-cert). Cualquier equipo de la red puede "
    "anunciarse como nodo central: sin la huella el código de alta podría llegar a un "
    "impostor. No se envió el código de alta.")

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_PREFIX = re.compile(rf"[0-9a-f]{{{MIN_PREFIX_DIGITS},64}}")
_SEPARATORS = re.compile(r"[\s:.-]+")

log = logging.getLogger("prep.station.enroll_mdns")


@dataclass(frozen=True)
class MdnsChoice:
    """What browsing found and the central taken for enrollment.

    ``candidates`` is everything advertised (one per address); ``chosen`` is the address
    whose TLS handshake presented the advertised certificate; ``by_prefix`` is ``False``
    when it was taken only because it was the one central found.
    """

    candidates: tuple[Candidate, ...]
    chosen: Candidate
    by_prefix: bool


def normalize_prefix(text: str) -> str:
    """The expected fingerprint prefix as lower-case hex (spaces and colons removed).

    Raises :class:`EnrollmentError` ``bad_prefix`` unless it is :data:`MIN_PREFIX_DIGITS`
    to 64 hex digits.
    """
    prefix = _SEPARATORS.sub("", text).lower()
    if not _PREFIX.fullmatch(prefix):
        raise EnrollmentError("bad_prefix", (
            f"La huella esperada «{_shown(text)}» no es válida: escriba de {MIN_PREFIX_DIGITS} "
            "a 64 dígitos hexadecimales (0-9, a-f) del inicio de la huella del certificado que "
            "muestra la consola del nodo central."))
    return prefix


def listing(candidates: Sequence[Candidate]) -> str:
    """One line per advertised central and address: node, fingerprint, address."""
    return "\n".join(f"  - nodo {_shown(c.node)}, huella {c.cert_sha256}, en {c.url}"
                     for c in candidates)


def select_for_enrollment(candidates: Sequence[Candidate], prefix: str | None,
                          seconds: float = DEFAULT_BROWSE_SECONDS
                          ) -> tuple[list[Candidate], bool]:
    """The addresses of the one central to enroll with, and whether ``prefix`` (already
    normalized) chose it. Candidates are told apart by their certificate fingerprint.

    Raises :class:`EnrollmentError`: ``not_found`` (nothing advertised),
    ``several_found`` (more than one certificate and no prefix), ``no_match`` (no
    fingerprint starts with the prefix), ``ambiguous_prefix`` (more than one does).
    """
    usable = [c for c in candidates if _FINGERPRINT.fullmatch(c.cert_sha256)]
    for ignored in (c for c in candidates if c not in usable):
        log.warning("ignoring central %r at %s: its TXT cert %r is not a SHA-256",
                    ignored.node, ignored.url, ignored.cert_sha256[:80])
    certificates = sorted({c.cert_sha256 for c in usable})
    if not certificates:
        raise EnrollmentError("not_found", (
            f"No se encontró ningún nodo central en la red local (se buscó con mDNS durante "
            f"{seconds:g} s). Revise que el nodo central esté encendido y anunciándose "
            "(prep central serve --mdns) en la misma red que este equipo, o dé de alta el "
            "equipo con la dirección del nodo central. No se envió el código de alta."))
    if prefix is None:
        if len(certificates) > 1:
            raise EnrollmentError("several_found", (
                f"Se encontraron {len(certificates)} nodos centrales distintos en la red "
                f"local:\n{listing(usable)}\nNo se envió el código de alta. Indique los "
                f"primeros dígitos (al menos {MIN_PREFIX_DIGITS}) de la huella del certificado "
                "que muestra la consola del nodo central (opción --expect-cert) para elegir "
                "el correcto."))
        chosen = certificates[0]
    else:
        matching = [cert for cert in certificates if cert.startswith(prefix)]
        if not matching:
            raise EnrollmentError("no_match", (
                f"Ningún nodo central de la red local tiene un certificado cuya huella empiece "
                f"por «{prefix}». Se encontraron:\n{listing(usable)}\nNo se envió el código "
                "de alta. Compare de nuevo con la huella que muestra la consola del nodo "
                "central; si no aparece, podría tratarse de una suplantación: avise a su "
                "coordinador."))
        if len(matching) > 1:
            raise EnrollmentError("ambiguous_prefix", (
                f"Hay {len(matching)} nodos centrales cuya huella empieza por «{prefix}»:\n"
                f"{listing([c for c in usable if c.cert_sha256 in matching])}\nEscriba más "
                "dígitos de la huella para distinguirlos. No se envió el código de alta."))
        chosen = matching[0]
    return [c for c in usable if c.cert_sha256 == chosen], prefix is not None


async def locate_for_enrollment(
    prefix: str | None,
    timeout: float = DEFAULT_BROWSE_SECONDS,
    *,
    interfaces: Interfaces = InterfaceChoice.All,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> MdnsChoice:
    """Browse mDNS for ``timeout`` seconds, select the central (see
    :func:`select_for_enrollment`; ``prefix`` is normalized here) and return the first
    of its addresses whose handshake presents the advertised certificate.

    Raises :class:`EnrollmentError` as :func:`select_for_enrollment` does, and
    ``possible_spoof`` or ``unreachable`` when no address passes the handshake.
    """
    expected = normalize_prefix(prefix) if prefix is not None else None
    candidates = await browse(timeout, interfaces)
    selected, by_prefix = select_for_enrollment(candidates, expected, timeout)
    spoofed: SpoofError | None = None
    unreachable: UnreachableError | None = None
    for candidate in selected:
        try:
            await verify_presented_cert(candidate.url, candidate.cert_sha256,
                                        timeout=connect_timeout, node=candidate.node)
        except SpoofError as exc:
            spoofed = spoofed or exc
            continue
        except UnreachableError as exc:
            unreachable = unreachable or exc
            continue
        return MdnsChoice(tuple(candidates), candidate, by_prefix)
    if spoofed is not None:
        raise EnrollmentError(SPOOF_CODE, (
            f"El servidor en {spoofed.url} se anuncia como nodo central "
            f"{_shown(selected[0].node)} con la huella {selected[0].cert_sha256} pero presenta "
            "otro certificado (posible suplantación). No se envió el código de alta; avise "
            "a su coordinador.")) from spoofed
    assert unreachable is not None
    raise EnrollmentError("unreachable", (
        f"Se encontró el nodo central {_shown(selected[0].node)} por mDNS. {unreachable} "
        "Revise la red y vuelva a intentarlo. No se envió el código de alta.")
    ) from unreachable


def choice_message(choice: MdnsChoice) -> str:
    """What to tell the technician about the central taken (Spanish)."""
    chosen = choice.chosen
    if choice.by_prefix:
        return (f"Se eligió el nodo central {_shown(chosen.node)} en {chosen.url}: su huella "
                f"{chosen.cert_sha256} empieza por la indicada y su certificado es el que "
                "anuncia.")
    return (f"Se encontró un solo nodo central ({_shown(chosen.node)} en {chosen.url}) y no "
            "se indicó la huella esperada. Su certificado tiene la huella:\n"
            f"  {fingerprint_groups(chosen.cert_sha256)}\n"
            "Compárela dígito por dígito con la que muestra la consola del nodo central "
            "antes de enviar el código de alta; si no coincide, no lo envíe y avise a su "
            "coordinador.")


def _shown(text: str) -> str:
    """``text`` safe to print: whatever a responder advertises may hold control
    characters meant for the technician's terminal."""
    return text if text.isprintable() else ascii(text)
