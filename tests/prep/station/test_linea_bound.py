"""The timeline a station remembers is bounded by the signed node list (issue 62): a
rogue node holding a backup's copy of the central's signing key and TLS key signs
timeline 999999999 at ``/v1/linea``, over real HTTPS on loopback. The station holds a
bundle whose list allows timeline 2 (the promoted node's database signed it): it
refuses the statement, keeps 2 and says so in Spanish; a statement within the list is
remembered; a bundle signed on an older timeline than the station's (a replaced
primary's) is refused. The whole failover, with real nodes, is in
``tests/central/continuity/test_fencing.py``."""

from __future__ import annotations

import asyncio
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from prep.bundle import Bundle
from prep.bundle import sign_bundle
from prep.crypto import SigningKey
from prep.linea import Linea
from prep.linea import new_nonce
from prep.linea import sign_linea
from prep.station.accounts import save_bundle
from prep.station.client import BEYOND_LIST
from prep.station.client import CentralClient
from prep.station.client import TimelineFence
from prep.station.errors import BundleRefusedError
from prep.station.errors import SyncError
from prep.station.station import Station
from prep.station.store import StationIdentity
from prep.station.store import key_path
from tests.harness.netns_targets import TlsIdentity
from tests.harness.netns_targets import make_identity
from tests.harness.spoof import SpoofCentral
from tests.prep.station.support import STATION_ID

SITIO = "07"


def _station(data_dir: Path, central: SigningKey, tls: TlsIdentity, url: str,
             linea: int) -> Station:
    """A station enrolled with ``central``'s key at ``url``, holding a bundle whose node
    list allows ``linea`` and having worked with a node on that timeline."""
    station = Station.open(data_dir)
    station.key(create=True)
    station.store.save_identity(StationIdentity(
        station_id=STATION_ID, role="catd", sitio=SITIO, node="central-x", central_url=url,
        central_key=central.public, cert_pem=tls.cert_file.read_text(encoding="ascii"),
        cert_sha256=tls.sha256, key_path=key_path(data_dir)))
    _hold(station, central, linea, operators_version=1)
    station.store.note_timeline(linea, sign_linea(central, Linea(linea, "central-x",
                                                                 new_nonce(), True)))
    return station


def _hold(station: Station, central: SigningKey, linea: int, operators_version: int) -> None:
    save_bundle(station.store, sign_bundle(central, Bundle(
        station=STATION_ID, sitio=SITIO, node="central-x",
        operators_version=operators_version, catalog=None, operators=(),
        issued_at=datetime.now(UTC), linea=linea)))


async def _confirm(client: CentralClient) -> int:
    async with client:
        return (await client.confirm_timeline()).linea


def test_a_statement_signed_with_a_backup_key_cannot_go_beyond_the_signed_list(
        tmp_path: Path) -> None:
    central = SigningKey.generate()  # the institute's, as every node and backup holds it
    tls = make_identity(tmp_path, "nodo")
    with SpoofCentral(tmp_path / "impostor", identity=tls, signing_key=central) as rogue:
        rogue.linea = "999999999"
        station = _station(tmp_path / "estacion", central, tls, rogue.url, linea=2)
        client = CentralClient(station.store.require_identity(), station.key(), rogue.url,
                               fence=TimelineFence(station.store))
        with pytest.raises(SyncError) as refused:
            asyncio.run(_confirm(client))
        assert refused.value.code == BEYOND_LIST and refused.value.retry
        assert "línea de tiempo 999999999" in str(refused.value)
        assert "solo admite hasta la 2" in str(refused.value)
        assert station.store.highest_timeline() == 2  # kept: no lock-out

        # A promotion: the list the promoted node's database signs allows timeline 3;
        # a statement of 3 is then remembered (with its proof).
        _hold(station, central, 3, operators_version=2)
        rogue.claim = 3
        assert asyncio.run(_confirm(CentralClient(
            station.store.require_identity(), station.key(), rogue.url,
            fence=TimelineFence(station.store)))) == 3
        assert station.store.highest_timeline() == 3

        # A bundle signed on an older timeline (a replaced primary's list) is refused.
        with pytest.raises(BundleRefusedError) as old:
            _hold(station, central, 2, operators_version=3)
        assert old.value.code == "old_primary"
        assert "línea de tiempo anterior" in str(old.value)
