"""The central's serve nodes as this station knows them (issue 31, docs/continuidad.md).

The list arrives in the signed bundle (:class:`prep.bundle.BundleNode`) and is kept in
the store with it. The station trusts exactly the certificates listed (every TLS
connection pins all of them, :func:`prep.station.tls.pinned_context`), starts at its own
node and, after repeated failures, moves to the next one. Before any list arrives (or
while the central lists none) the only node is the one the station enrolled with.

The station's own node is the one it enrolled with when the list names it (the
technician chose it); otherwise one of the listed nodes chosen by the station id, so
stations spread over the nodes. Nodes marked ``reserva`` (a contingency site) are never
a station's own and come last.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from prep.bundle import BundleNode
from prep.station.models import Meta
from prep.station.store import StationIdentity
from prep.station.store import Store

META_KEY = "central_nodes"
"""The store's meta key holding ``{"version": n, "nodes": [...], "linea": t}`` (the
bundle's list and the highest timeline it lets a node claim)."""


@dataclass(frozen=True)
class NodeList:
    """The nodes a station may talk to, in the order it tries them."""

    nodes: tuple[BundleNode, ...]
    listed: bool
    """Whether they come from a signed list (``False``: only the enrollment node)."""
    home: str
    """This station's own node (URL)."""

    @classmethod
    def of(cls, identity: StationIdentity, listed: tuple[BundleNode, ...]) -> NodeList:
        if not listed:
            own = BundleNode(identity.central_url, identity.cert_sha256, identity.cert_pem)
            return cls((own,), False, own.url)
        regular = [n for n in listed if not n.reserva] or list(listed)
        urls = [n.url for n in regular]
        enrolled = identity.central_url.rstrip("/")
        if enrolled in urls:
            start = urls.index(enrolled)
        else:
            digest = hashlib.sha256(identity.station_id.encode()).digest()
            start = int.from_bytes(digest[:8], "big") % len(regular)
        ordered = regular[start:] + regular[:start]
        ordered += [n for n in listed if n not in ordered]
        return cls(tuple(ordered), True, ordered[0].url)

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def pins(self) -> frozenset[str]:
        """The certificate fingerprints the station accepts."""
        return frozenset(n.cert_sha256 for n in self.nodes)

    @property
    def trust_pem(self) -> str:
        """Every listed certificate, as one PEM bundle (the TLS trust anchors)."""
        return "".join(n.cert_pem if n.cert_pem.endswith("\n") else n.cert_pem + "\n"
                       for n in dict.fromkeys(self.nodes))

    def pin_for(self, url: str) -> str | None:
        """The one certificate (SHA-256) the node at ``url`` must present: each node's own
        certificate is pinned to its own URL. None for a URL the list does not name (a
        node found by mDNS: any listed certificate, none of them a CA)."""
        for node in self.nodes:
            if node.url == url.rstrip("/"):
                return node.cert_sha256
        return None

    def after(self, url: str) -> str | None:
        """The node to try after ``url`` (wrapping), or None with a single node."""
        urls = self.urls
        if len(urls) < 2:
            return None
        if url not in urls:
            return urls[0]
        return urls[(urls.index(url) + 1) % len(urls)]

    def describe(self, url: str) -> str:
        """Which node ``url`` is, for the operator (Spanish)."""
        if not self.listed:
            return f"{url} (el nodo central con que se dio de alta)"
        urls = self.urls
        if url not in urls:
            return f"{url} (encontrado en la red local; su certificado está en la lista firmada)"
        place = f"{urls.index(url) + 1} de {len(urls)} en la lista firmada"
        if url == self.home:
            return f"{url} (el nodo de esta estación; {place})"
        kind = "nodo de reserva" if self.nodes[urls.index(url)].reserva else "otro nodo"
        return (f"{url} ({kind}, {place}; el nodo de esta estación, {self.home}, no "
                "respondió)")


def dump_nodes(version: int, nodes: tuple[BundleNode, ...], linea: int = 0) -> str:
    """The meta value kept for a bundle's list."""
    return json.dumps({"version": version, "nodes": [n.to_json() for n in nodes],
                       "linea": linea}, sort_keys=True)


def load_nodes(value: str | None) -> tuple[int, tuple[BundleNode, ...]]:
    """``(version, nodes)`` from a meta value written by :func:`dump_nodes` (it came from
    a bundle whose signature was checked before it was kept)."""
    if value is None:
        return 0, ()
    data = json.loads(value)
    return int(data["version"]), tuple(BundleNode.from_json(n) for n in data["nodes"])


def node_list(store: Store) -> NodeList:
    """The nodes this (enrolled) station uses now."""
    with store.read() as session:
        _, nodes = held_nodes(session)
    return NodeList.of(store.require_identity(), nodes)


def held_nodes(session: Session) -> tuple[int, tuple[BundleNode, ...]]:
    """``(version, nodes)`` of the list held (``(0, ())`` before any)."""
    row = session.get(Meta, META_KEY)
    return load_nodes(row.value if row is not None else None)


def held_linea(session: Session) -> int:
    """The highest timeline the signed list held lets a node claim (0: no list of format
    3 yet, :class:`prep.bundle.Bundle`)."""
    row = session.get(Meta, META_KEY)
    if row is None:
        return 0
    linea = json.loads(row.value).get("linea", 0)
    return linea if type(linea) is int and linea >= 0 else 0


def keep_nodes(session: Session, version: int, nodes: tuple[BundleNode, ...],
               linea: int = 0) -> None:
    """Hold ``nodes`` and the timeline bound ``linea`` (from a verified bundle) in place
    of the list held."""
    value = dump_nodes(version, nodes, linea)
    row = session.get(Meta, META_KEY)
    if row is None:
        session.add(Meta(key=META_KEY, value=value))
    else:
        row.value = value
