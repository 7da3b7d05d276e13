"""Each node's own certificate is pinned to its own URL (issue 62): with a signed list of
two nodes, a server at node A's address that presents node B's certificate (a copy of
B's TLS key, as every standby and backup of B carries) is refused, over real HTTPS on
loopback; the same address presenting A's own certificate is accepted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from prep.bundle import BundleNode
from prep.crypto import SigningKey
from prep.station.client import CentralClient
from prep.station.errors import SyncError
from prep.station.nodes import NodeList
from prep.station.store import StationIdentity
from prep.station.tls import SPOOF_CODE
from tests.harness.netns_targets import TlsIdentity
from tests.harness.netns_targets import make_identity
from tests.harness.spoof import SpoofCentral


def _node(url: str, tls: TlsIdentity) -> BundleNode:
    return BundleNode(url, tls.sha256, tls.cert_file.read_text(encoding="ascii"))


async def _cursor(client: CentralClient) -> int:
    async with client:
        status, _ = await client.cursor()
    return status


def _client(url: str, nodes: NodeList, identity: StationIdentity) -> CentralClient:
    """As the sync agent makes it for ``url`` (prep.station.sync)."""
    return CentralClient(identity, SigningKey.generate(), url, trust_pem=nodes.trust_pem,
                         pins=len(nodes.pins), leaf_sha256=nodes.pin_for(url))


def test_a_listed_node_s_certificate_is_refused_at_another_node_s_address(
        tmp_path: Path) -> None:
    a_tls, b_tls = make_identity(tmp_path, "nodo-a"), make_identity(tmp_path, "nodo-b")
    with SpoofCentral(tmp_path / "impostor", identity=b_tls) as impostor:
        impostor.linea = "1"  # answers like a busy node (503) once TLS is accepted
        a = _node(impostor.url, a_tls)  # the list says A's certificate is at this URL
        b = _node("https://127.0.0.1:9", b_tls)
        identity = StationIdentity("catd-07-x", "catd", "07", "central-x", a.url,
                                   SigningKey.generate().public, a.cert_pem, a.cert_sha256,
                                   tmp_path / "station.key")
        nodes = NodeList.of(identity, (a, b))
        assert nodes.pin_for(a.url) == a_tls.sha256
        with pytest.raises(SyncError) as refused:
            asyncio.run(_cursor(_client(a.url, nodes, identity)))
        assert refused.value.code == SPOOF_CODE
        assert "fija para esa dirección" in str(refused.value)
        assert impostor.requests == []  # nothing was sent to it
    with SpoofCentral(tmp_path / "genuino", identity=a_tls) as genuine:
        genuine.linea = "1"
        a = _node(genuine.url, a_tls)
        identity = StationIdentity("catd-07-x", "catd", "07", "central-x", a.url,
                                   SigningKey.generate().public, a.cert_pem, a.cert_sha256,
                                   tmp_path / "station.key")
        nodes = NodeList.of(identity, (a, _node("https://127.0.0.1:9", b_tls)))
        assert asyncio.run(_cursor(_client(a.url, nodes, identity))) == 503
