"""Registered difusores (issue 30; docs/difusores.md, «Registro de difusores»).

A coordinator gives an official difusor alta with its name and public URL
(:func:`alta`): that makes a one-time code, the same kind of code a station enrolls with
(:mod:`central.stations.enrollment`, role ``difusor``). The difusor spends it with its Ed25519
public key (:func:`registrar`, ``POST /v1/difusores/registro``), then reports, signed
with that key, the corte it serves after each one it publishes and the error of each
refusal (:func:`reportar`, ``POST /v1/difusores/reporte``). The central checks the
signature, that the corte is one it published with that very manifest, and keeps the
last report (for the dashboard) and every one in the audit log.

A difusor enrolled and not given baja is *official*: each corte lists it, by name and
URL, in DIFUSORES.csv and on the public site (:func:`oficiales`).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.audit import audit
from central.db.estaciones import Difusor
from central.db.estaciones import Station
from central.db.publicacion import CorteRow
from central.node.errors import ApiError
from central.node.errors import Refused
from central.node.errors import bounded
from central.node.ratelog import Throttle
from central.stations import testigos
from central.stations.auth import SignedRequest
from central.stations.enrollment import DEFAULT_TTL
from central.stations.enrollment import add_code
from central.stations.enrollment import claim_code
from central.stations.enrollment import read_enrollment
from prep.canonical import CanonicalError
from prep.canonical import parse_json
from prep.canonical import sha256_hex
from prep.corte.difusores import Fila
from prep.corte.difusores import nombre_valido
from prep.corte.difusores import publicable
from prep.corte.difusores import url_valida
from prep.corte.package import NOMBRE_CORTE
from prep.crypto import VerifyKey
from prep.records import RecordError
from prep.records import format_time
from prep.records import parse_time
from prep.transparencia.nota import COFIRMA
from prep.transparencia.nota import llave_texto

ROLE = "difusor"
SITIO = "DIFUSOR"
MAX_ERROR = 500
MAX_REPORTE_BYTES = 8 * 1024  # a cosignature and a fork's evidence (issue 67) fit
MAX_REGISTRO_BYTES = 4 * 1024
MAX_MOTIVO = 300

_HOSTNAME = re.compile(r"[\w.-]{1,255}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_VERSION = re.compile(r"[\w.+-]{1,64}")


#: Seconds between two of a difusor's accepted reports that reach the audit log.
AUDITAR_CADA = 60.0


class AuditoriaReportes:
    """Which of a difusor's reports reach the audit log: of those accepted, its first,
    then at most one per :data:`AUDITAR_CADA` seconds, saying how many came meanwhile
    (``no_auditados``; each of them still updated the difusor's row); the same, apart,
    for those refused (each audited one raises an anomaly). A difusor reports
    when what it serves changes, or every five minutes; its key (stolen, or a difusor
    with a bug) must not fill the append-only log. Per ``serve`` process, as the limits
    of unsigned refusals (:mod:`central.api.refusals`); worker threads share it."""

    def __init__(self, interval: float = AUDITAR_CADA,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._throttle = Throttle(interval, clock)
        self._lock = threading.Lock()

    def due(self, difusor_id: str) -> int | None:
        """None: do not audit this one (it is counted); else audit it, with this many
        accepted since the last one audited."""
        with self._lock:
            return self._throttle.due(difusor_id)


class DifusorInvalido(ValueError):
    """A coordinator's input the central does not accept (Spanish message)."""


@dataclass(frozen=True)
class Alta:
    """A difusor given alta: its id and the one-time code to hand it (shown once)."""

    id: str
    nombre: str
    url: str
    codigo: str
    vence: datetime


@dataclass(frozen=True)
class Registrado:
    """What the central tells a difusor that spent its code."""

    id: str
    nombre: str
    url: str


def validar_nombre(nombre: str) -> str:
    """The institution's name as published (:func:`prep.corte.difusores.nombre_valido`)."""
    try:
        return nombre_valido(nombre)
    except ValueError as exc:
        raise DifusorInvalido(str(exc)) from None


def validar_url(url: str) -> str:
    """The difusor's public address (:func:`prep.corte.difusores.url_valida`)."""
    try:
        return url_valida(url)
    except ValueError as exc:
        raise DifusorInvalido(str(exc)) from None


def alta(engine: Engine, nombre: str, url: str, *, actor: str,
         ttl: timedelta = DEFAULT_TTL) -> Alta:
    """Give an official difusor alta: its row and a one-time code, audited."""
    nombre, url = validar_nombre(nombre), validar_url(url)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        if session.scalar(select(Difusor.id).where(Difusor.url == url, Difusor.enabled)):
            raise DifusorInvalido(f"ya hay un difusor activo con la dirección {url}; para "
                                  "darle un código nuevo use «prep central difusor codigo»")
        difusor_id = _nuevo_id(session)
        codigo, digest = add_code(session, ROLE, SITIO, actor=actor, ttl=ttl)
        session.add(Difusor(id=difusor_id, nombre=nombre, url=url, codigo_sha256=digest,
                            creado_por=actor, creado_at=now))
        audit.emit(session, "difusor_alta", actor=actor, detail={
            "difusor": difusor_id, "nombre": nombre, "url": url, "code_sha256": digest})
    return Alta(difusor_id, nombre, url, codigo, now + ttl)


def nuevo_codigo(engine: Engine, difusor_id: str, *, actor: str,
                 ttl: timedelta = DEFAULT_TTL) -> Alta:
    """A new one-time code for a difusor given alta (its code expired, or it lost its
    key: registering again replaces the key, and the old one stops working then)."""
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        difusor = session.get(Difusor, difusor_id, with_for_update=True)
        if difusor is None or not difusor.enabled:
            raise DifusorInvalido(f"no hay un difusor activo {difusor_id!r} («prep central "
                                  "difusor lista» los muestra)")
        codigo, digest = add_code(session, ROLE, SITIO, actor=actor, ttl=ttl)
        difusor.codigo_sha256 = digest
        audit.emit(session, "difusor_codigo", actor=actor, detail={
            "difusor": difusor_id, "code_sha256": digest})
        return Alta(difusor.id, difusor.nombre, difusor.url, codigo, now + ttl)


def baja(engine: Engine, difusor_id: str, motivo: str, *, actor: str) -> bool:
    """Take a difusor off the official list: its reports are refused from now on and
    the next corte no longer lists it. False if it already was."""
    motivo = " ".join(motivo.split())
    if not motivo or len(motivo) > MAX_MOTIVO:
        raise DifusorInvalido(f"escriba el motivo de la baja (hasta {MAX_MOTIVO} "
                              "caracteres): queda en la bitácora")
    with Session(engine) as session, session.begin():
        difusor = session.get(Difusor, difusor_id, with_for_update=True)
        if difusor is None:
            raise DifusorInvalido(f"no hay un difusor {difusor_id!r} («prep central "
                                  "difusor lista» los muestra)")
        if not difusor.enabled:
            return False
        difusor.enabled = False
        audit.emit(session, "difusor_baja", actor=actor, detail={
            "difusor": difusor_id, "nombre": difusor.nombre, "motivo": motivo})
    return True


def lista(engine: Engine) -> list[dict[str, Any]]:
    """Every difusor given alta, for ``prep central difusor lista`` (JSON-ready)."""
    with Session(engine) as session:
        rows = session.scalars(select(Difusor).order_by(Difusor.creado_at, Difusor.id))
        return [{"id": d.id, "nombre": d.nombre, "url": d.url, "activo": d.enabled,
                 "registrado": format_time(d.registrado_at) if d.registrado_at else None,
                 "corte": d.corte, "error": d.error,
                 "reportado": format_time(d.reportado_at) if d.reportado_at else None}
                for d in rows]


def registrar(engine: Engine, body: bytes) -> Registrado:
    """``POST /v1/difusores/registro``: spend a difusor's code to register its key.

    ``body``: ``{"codigo", "public_key", "hostname"}``. A code unknown, used, expired or
    made for a station → 403 (as a station's enrollment); a key already registered →
    409."""
    codigo, hostname, public_key = read_enrollment(
        body, MAX_REGISTRO_BYTES, "codigo",
        "La solicitud de registro del difusor está incompleta o mal formada.")
    if not _HOSTNAME.fullmatch(hostname):
        raise ApiError(400, "malformed", "El nombre del equipo del difusor no es válido.")
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        code = claim_code(session, codigo, (ROLE,), now, actor=f"difusor:{hostname[:100]}",
                          detail={"hostname": hostname})
        difusor = session.scalars(select(Difusor)
                                  .where(Difusor.codigo_sha256 == code.code_sha256)
                                  .with_for_update()).one_or_none()
        if difusor is None or not difusor.enabled:
            raise Refused(403, "difusor_de_baja", "Este difusor fue dado de baja: el código "
                          "ya no sirve. Hable con el instituto.", event="enrollment_refused",
                          actor=f"difusor:{hostname[:100]}",
                          detail={"code_sha256": code.code_sha256, "hostname": hostname},
                          unsigned=True)
        if session.scalar(select(Difusor.id).where(Difusor.public_key == public_key,
                                                   Difusor.id != difusor.id)) \
                or session.scalar(select(Station.id).where(Station.public_key == public_key)):
            raise ApiError(409, "key_in_use", "Esta llave pública ya está registrada; genere "
                                              "una nueva.")
        anterior = difusor.public_key
        difusor.public_key, difusor.hostname, difusor.registrado_at = \
            public_key, hostname, now
        audit.emit(session, "difusor_registrado", actor=difusor.id, detail={
            "hostname": hostname, "code_sha256": code.code_sha256,
            "public_key_sha256": sha256_hex(public_key),
            "reemplaza_sha256": sha256_hex(anterior) if anterior else None})
        return Registrado(difusor.id, difusor.nombre, difusor.url)


@dataclass(frozen=True)
class Reporte:
    """A difusor's report as read from its signed body."""

    corte: str | None
    manifiesto_sha256: str | None
    error: str | None
    hora: datetime
    version: str | None
    #: What it says of the log of cortes as a witness (issue 67, central.testigos).
    cofirma: testigos.CofirmaReportada | None = None
    bifurcacion: testigos.BifurcacionReportada | None = None


def leer_reporte(body: bytes) -> Reporte:
    """Parse a report body (``{"corte", "manifiesto_sha256", "error", "hora",
    "version"}``); anything else → 400."""
    malformed = ApiError(400, "malformed", "El reporte del difusor está incompleto o mal "
                                           "formado.")
    try:
        data = parse_json(body, MAX_REPORTE_BYTES)
        corte, manifiesto, error = data.get("corte"), data.get("manifiesto_sha256"), \
            data.get("error")
        hora, version = parse_time(str(data["hora"])), data.get("version")
    except (CanonicalError, RecordError, ValueError, KeyError, TypeError, AttributeError):
        raise malformed from None
    if corte is not None and not (isinstance(corte, str) and NOMBRE_CORTE.fullmatch(corte)
                                  and isinstance(manifiesto, str)
                                  and _SHA256.fullmatch(manifiesto)):
        raise malformed
    if corte is None and manifiesto is not None:
        raise malformed
    if error is not None and not isinstance(error, str):
        raise malformed
    if version is not None and not (isinstance(version, str) and _VERSION.fullmatch(version)):
        raise malformed
    if error is not None:
        # Kept and shown as one line: control characters become spaces.
        error = bounded(" ".join("".join(c if c.isprintable() else " " for c in error)
                                 .split()), MAX_ERROR) or None
    return Reporte(corte, manifiesto, error, hora, version,
                   testigos.leer_cofirma(data.get("cofirma")),
                   testigos.leer_bifurcacion(data.get("bifurcacion")))


def reportar(engine: Engine, signed: SignedRequest, body: bytes,
             auditoria: AuditoriaReportes | None = None,
             central_key: VerifyKey | None = None,
             origen_de: testigos.OrigenDe | None = None) -> dict[str, Any]:
    """``POST /v1/difusores/reporte``: check the difusor's signature (``signed``, made
    with :data:`DIFUSOR_HEADER`), that the corte it serves is one the central published
    with that manifest, and keep the report (in the audit log as ``auditoria`` allows);
    its cosignature of the log and the fork it saw go to :mod:`central.testigos`
    (``central_key``: the central's, which signs the log's checkpoints; ``origen_de``:
    how the log's origin is named; without them both are ignored); answer with the
    central's latest corte and the cosignature kept."""
    difusor_id = signed.station_id()  # same shape and refusals as a station's id
    with Session(engine) as session, session.begin():
        difusor = session.get(Difusor, difusor_id, with_for_update=True)
        signed.verify(difusor.public_key if difusor is not None else None,
                      difusor is not None and difusor.enabled)
        assert difusor is not None
        reporte = leer_reporte(body)
        if reporte.corte is not None:
            stored = session.scalar(select(CorteRow.manifiesto_sha256)
                                    .where(CorteRow.directorio == reporte.corte))
            if stored != reporte.manifiesto_sha256:
                raise _corte_ajeno(difusor_id, reporte, stored, auditoria)
        cofirmado = _testigo(session, difusor, reporte, auditoria, central_key, origen_de)
        now = datetime.now(UTC)
        difusor.corte, difusor.error = reporte.corte, reporte.error
        difusor.reporte_hora, difusor.reportado_at = reporte.hora, now
        difusor.version = reporte.version
        omitidos = 0 if auditoria is None else auditoria.due(difusor_id)
        if omitidos is not None:
            audit.emit(session, "difusor_reporte", actor=difusor_id, detail={
                "corte": reporte.corte, "manifiesto_sha256": reporte.manifiesto_sha256,
                "error": reporte.error, "hora": format_time(reporte.hora),
                "version": reporte.version, "cofirma": cofirmado,
                "no_auditados": omitidos})
        ultimo = session.scalar(select(CorteRow.directorio)
                                .order_by(CorteRow.id.desc()).limit(1))
    return {"difusor": difusor_id, "recibido": format_time(now), "ultimo_corte": ultimo,
            "cofirma": cofirmado}


def _testigo(session: Session, difusor: Difusor, reporte: Reporte,
             auditoria: AuditoriaReportes | None, central_key: VerifyKey | None,
             origen_de: testigos.OrigenDe | None) -> int | None:
    """The report's cosignature (kept: its size) and fork, to :mod:`central.testigos`."""
    if central_key is None or origen_de is None \
            or (reporte.cofirma is None and reporte.bifurcacion is None):
        return None
    auditar = (lambda _clave: 0) if auditoria is None else auditoria.due
    origen = testigos.origen(session, origen_de)
    if reporte.bifurcacion is not None:
        testigos.registrar_bifurcacion(session, difusor, reporte.bifurcacion, central_key,
                                       auditar, origen)
    if reporte.cofirma is None:
        return None
    return testigos.registrar_cofirma(session, difusor, reporte.cofirma, auditar, origen)


def _corte_ajeno(difusor_id: str, reporte: Reporte, stored: str | None,
                 auditoria: AuditoriaReportes | None) -> ApiError:
    """A difusor says it serves a corte the central did not publish, or with another
    manifest: what it serves is not the institute's (or it reports wrong): the
    coordinator must know, once a minute per difusor (its audit row and anomaly say how
    many more came meanwhile), not once per request."""
    message = (f"El nodo central no publicó el corte {reporte.corte}." if stored is None
               else f"El manifiesto del corte {reporte.corte} que reporta no es el que "
                    "publicó el nodo central.")
    omitidos = 0 if auditoria is None else auditoria.due(f"{difusor_id}\0rechazo")
    if omitidos is None:
        return ApiError(409, "difusor_corte_desconocido", message)
    return Refused(409, "difusor_corte_desconocido", message,
                   event="difusor_reporte_rechazado", actor=difusor_id,
                   detail={"corte": reporte.corte,
                           "manifiesto_sha256": reporte.manifiesto_sha256,
                           "manifiesto_publicado": stored, "difusor": difusor_id,
                           "no_auditados": omitidos},
                   anomaly=True, unsigned=False)


def oficiales(cur: Any) -> tuple[Fila, ...]:
    """(nombre, url, llave de testigo) of every official difusor (enrolled, not given
    baja), in the order they were given alta: read with the corte's snapshot cursor
    (psycopg). The witness key is its registered key as a cosigner named by its id
    (issue 67, :func:`prep.transparencia.nota.llave_texto`)."""
    cur.execute("SELECT nombre, url, id, public_key FROM difusores "
                "WHERE enabled AND public_key IS NOT NULL ORDER BY creado_at, id")
    return tuple((publicable(str(n)), str(u),
                  llave_texto(str(i), VerifyKey.from_raw(bytes(k)), COFIRMA))
                 for n, u, i, k in cur.fetchall())


def _nuevo_id(session: Session) -> str:
    while True:
        difusor_id = f"difusor-{secrets.token_hex(3)}"
        if session.get(Difusor, difusor_id) is None:
            return difusor_id
