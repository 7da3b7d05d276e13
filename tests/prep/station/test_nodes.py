"""Which node of the central's signed list a station uses (prep.station.nodes): its own
(the one it enrolled with, or one chosen by its id so stations spread), the others
after it, reserves last; without a list, only the enrollment node."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.node.config import _self_signed_certificate
from prep.bundle import BundleNode
from prep.crypto import SigningKey
from prep.crypto import pem_fingerprint
from prep.station.nodes import NodeList
from prep.station.store import StationIdentity

pytestmark = pytest.mark.rapido


def _node(url: str, reserva: bool = False) -> BundleNode:
    pem = _self_signed_certificate()[0].decode()
    return BundleNode(url, pem_fingerprint(pem), pem, reserva)


A, B, C, R = (_node("https://10.0.0.1:8443"), _node("https://10.0.0.2:8443"),
              _node("https://10.0.0.3:8443"), _node("https://10.9.0.1:8443", reserva=True))


def _identity(station_id: str, url: str, cert: BundleNode = A) -> StationIdentity:
    return StationIdentity(station_id, "catd", "07", "central-x", url,
                           SigningKey.generate().public, cert.cert_pem, cert.cert_sha256,
                           Path("station.key"))


def test_the_enrollment_node_is_the_station_s_own_and_the_rest_follow() -> None:
    nodes = NodeList.of(_identity("catd-07-a", B.url), (A, B, C, R))
    assert nodes.urls == [B.url, C.url, A.url, R.url]
    assert nodes.home == B.url
    assert nodes.after(B.url) == C.url and nodes.after(R.url) == B.url
    assert nodes.pins == {A.cert_sha256, B.cert_sha256, C.cert_sha256, R.cert_sha256}
    assert nodes.trust_pem.count("BEGIN CERTIFICATE") == 4
    assert "el nodo de esta estación" in nodes.describe(B.url)
    assert "nodo de reserva" in nodes.describe(R.url)


def test_stations_enrolled_elsewhere_spread_over_the_regular_nodes() -> None:
    homes = {NodeList.of(_identity(f"catd-07-{i}", "https://otra:1"), (A, B, R)).home
             for i in range(40)}
    assert homes == {A.url, B.url}  # never the reserve


def test_without_a_list_only_the_enrollment_node() -> None:
    nodes = NodeList.of(_identity("catd-07-a", A.url), ())
    assert not nodes.listed and nodes.urls == [A.url] and nodes.after(A.url) is None
    assert nodes.pins == {A.cert_sha256}
