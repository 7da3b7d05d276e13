"""The central's serve nodes as stations learn them (issue 31, docs/continuidad.md).

A coordinator keeps the list with ``prep central nodos agregar/quitar/listar``; each
change is audited. Every station's signed bundle carries the list (URL and TLS
certificate of each node, :class:`prep.bundle.BundleNode`), so a station pins every
listed certificate, moves to the next node after repeated failures and never accepts a
server whose certificate is not listed. The list is decided by people, not derived from
whoever starts ``serve``: a node's URL is where stations reach it (a floating IP, a name
on the institute's network), which the serve process cannot know, and adding a
certificate to what every station trusts is a decision the audit log must show.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.audit import audit
from central.db.estaciones import CentralNodeRow
from prep.bundle import MAX_CERT_PEM
from prep.bundle import MAX_NODE_URL
from prep.bundle import MAX_NODES
from prep.bundle import BundleNode
from prep.canonical import CodedError
from prep.crypto import is_ca_certificate
from prep.crypto import pem_fingerprint

NODES_LOCK = (0x50524550, 5)  # "PREP", 5: serializes changes to the node list


class NodeError(CodedError):
    """A node change refused; codes ``bad_url``, ``bad_certificate``, ``ca_certificate``,
    ``unknown``, ``last_node``, ``too_many``; the message is Spanish."""


@dataclass(frozen=True)
class NodeChange:
    """What a command did: the node as listed now and whether anything changed."""

    node: BundleNode
    revision: int
    changed: bool


def check_url(url: str) -> str:
    """``https://host:port`` as stations will use it (no path, query or credentials)."""
    text = url.strip().rstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme != "https" or not parts.hostname or port is None \
            or parts.path or parts.query or parts.fragment or parts.username \
            or len(text) > MAX_NODE_URL or not text.isascii() or not text.isprintable():
        shown = url[:80] if url.isprintable() else ascii(url[:80])
        raise NodeError("bad_url", f"La dirección del nodo «{shown}» no es válida: escriba "
                                   "https://servidor:puerto (con el puerto, sin ruta), como "
                                   "la usarán los equipos.")
    return text


def check_certificate(cert_pem: str) -> tuple[str, str]:
    """One PEM certificate (``-----BEGIN CERTIFICATE-----``…) and its SHA-256."""
    pem = cert_pem.strip() + "\n"
    if len(pem) > MAX_CERT_PEM or pem.count("-----BEGIN CERTIFICATE-----") != 1:
        raise NodeError("bad_certificate", "El archivo del certificado debe contener "
                                           "exactamente un certificado PEM (tls/cert.pem del "
                                           "nodo) de menos de 16 KB.")
    try:
        sha256 = pem_fingerprint(pem)
        ca = is_ca_certificate(pem)
    except ValueError as exc:
        raise NodeError("bad_certificate", f"El certificado del nodo no se pudo leer ({exc})."
                        ) from None
    if ca:
        # Stations pin each node's own certificate: an authority would make every
        # certificate it ever issued a node of the central.
        raise NodeError("ca_certificate", "El archivo es el certificado de una autoridad "
                                          "certificadora (CA:TRUE), no el de un nodo: los "
                                          "equipos confiarían en cualquier certificado que "
                                          "esa autoridad emita. Use el tls/cert.pem del "
                                          "propio nodo.")
    return pem, sha256


def add_node(engine: Engine, url: str, cert_pem: str, *, reserva: bool,
             actor: str) -> NodeChange:
    """List (or update) the node at ``url`` with ``cert_pem``; audited
    ``central_node_added``. Raises :class:`NodeError` (also audited)."""
    try:
        url = check_url(url)
        pem, sha256 = check_certificate(cert_pem)
        with Session(engine) as session, session.begin():
            session.execute(select(func.pg_advisory_xact_lock(*NODES_LOCK)))
            row = session.get(CentralNodeRow, url)
            node = BundleNode(url, sha256, pem, reserva)
            if row is not None and not row.removed and row.cert_sha256 == sha256 \
                    and row.reserva == reserva:
                return NodeChange(node, row.revision, changed=False)
            if row is None and len(active_nodes(session)) >= MAX_NODES:
                raise NodeError("too_many", f"La lista ya tiene {MAX_NODES} nodos, el máximo: "
                                            "quite uno antes de agregar otro.")
            revision = _next_revision(session)
            before = None if row is None or row.removed else row.cert_sha256
            if row is None:
                row = CentralNodeRow(url=url, revision=revision)
                session.add(row)
            row.cert_sha256, row.cert_pem, row.reserva = sha256, pem, reserva
            row.removed, row.revision, row.changed_at = False, revision, func.now()
            row.changed_by = actor[:200]
            audit.emit(session, "central_node_added", actor=actor, detail={
                "url": url, "cert_sha256": sha256, "reserva": reserva,
                "revision": revision, "reemplaza_cert_sha256": before})
        return NodeChange(node, revision, changed=True)
    except NodeError as exc:
        _audit_refusal(engine, "agregar", url, exc, actor)
        raise


def remove_node(engine: Engine, url: str, *, motivo: str, actor: str) -> NodeChange:
    """Take the node at ``url`` off the list; audited ``central_node_removed``. The last
    node is never removed: stations would fall back to the certificate they enrolled
    with, which the list may have meant to drop."""
    try:
        url = check_url(url)
        with Session(engine) as session, session.begin():
            session.execute(select(func.pg_advisory_xact_lock(*NODES_LOCK)))
            row = session.get(CentralNodeRow, url)
            if row is None or row.removed:
                raise NodeError("unknown", f"El nodo {url} no está en la lista (vea «prep "
                                           "central nodos listar»).")
            if len(active_nodes(session)) == 1:
                raise NodeError("last_node", f"{url} es el único nodo de la lista: agregue "
                                             "otro antes de quitarlo.")
            revision = _next_revision(session)
            row.removed, row.revision, row.changed_at = True, revision, func.now()
            row.changed_by = actor[:200]
            audit.emit(session, "central_node_removed", actor=actor, detail={
                "url": url, "cert_sha256": row.cert_sha256, "motivo": motivo,
                "revision": revision})
            node = BundleNode(url, row.cert_sha256, row.cert_pem, row.reserva)
        return NodeChange(node, revision, changed=True)
    except NodeError as exc:
        _audit_refusal(engine, "quitar", url, exc, actor)
        raise


def active_nodes(session: Session) -> list[BundleNode]:
    """The listed nodes, by URL (the order every station sees)."""
    rows = session.scalars(select(CentralNodeRow).where(CentralNodeRow.removed.is_(False))
                           .order_by(CentralNodeRow.url))
    return [BundleNode(r.url, r.cert_sha256, r.cert_pem, r.reserva) for r in rows]


def nodes_version(session: Session) -> int:
    """The list's change counter (0 before the first node): part of the bundle version."""
    return int(session.scalar(select(func.coalesce(func.max(CentralNodeRow.revision), 0)))
               or 0)


def _next_revision(session: Session) -> int:
    return nodes_version(session) + 1


def _audit_refusal(engine: Engine, orden: str, url: str, exc: NodeError, actor: str) -> None:
    with Session(engine) as session, session.begin():
        audit.emit(session, "central_node_refused", actor=actor, detail={
            "orden": orden, "url": url[:MAX_NODE_URL], "error": exc.code, "motivo": str(exc)})
