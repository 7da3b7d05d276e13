"""Helpers for the digitalización tests: a station holding a catalog in a bundle signed
by a central key the test owns (the same path a real bundle takes: signature, station
and digest checked by :func:`prep.station.accounts.save_bundle`), and acta images."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from pathlib import Path

from prep.bundle import Bundle
from prep.bundle import BundleCatalog
from prep.bundle import sign_bundle
from prep.catalog import Catalog
from prep.catalog import catalog_files
from prep.catalog import write_catalog
from prep.catalog.files import files_digest
from prep.catalog.model import Acta
from prep.crypto import SigningKey
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import render_acta_image
from prep.station.accounts import save_bundle
from prep.station.station import Station
from prep.station.store import StationIdentity
from prep.station.store import key_path
from prep.station.tls import pem_fingerprint
from prep.values import Valor
from tests.prep.station.support import STATION_ID
from tests.prep.station.support import UNREACHABLE_URL
from tests.prep.station.support import self_signed_pem

SITIO = "07"


def nth_acta(catalog: Catalog, n: int = 0) -> Acta:
    """The ``n``-th acta of ``catalog`` (every election's, in catalog order)."""
    return list(catalog.iter_actas())[n]


def station_with_catalog(data_dir: Path, catalog: Catalog) -> Station:
    """An enrolled-looking station (no central running) that holds ``catalog``."""
    station = Station.open(data_dir)
    central = SigningKey.generate()
    pem = self_signed_pem()
    station.key(create=True)
    station.store.save_identity(StationIdentity(
        station_id=STATION_ID, role="catd", sitio=SITIO, node="central-test",
        central_url=UNREACHABLE_URL, central_key=central.public, cert_pem=pem,
        cert_sha256=pem_fingerprint(pem), key_path=key_path(data_dir)))
    directory = data_dir.parent / f"{data_dir.name}-catalogo"
    write_catalog(catalog, directory)
    files = catalog_files(directory)
    bundle = Bundle(station=STATION_ID, sitio=SITIO, node="central-test", operators_version=0,
                    catalog=BundleCatalog(1, files_digest(files), files), operators=(),
                    issued_at=datetime.now(UTC))
    save_bundle(station.store, sign_bundle(central, bundle))
    return station


def valores(acta: Acta, base: int = 7) -> dict[str, Valor]:
    """Plausible, distinct values for every field of ``acta``."""
    return {campo: (base * (i + 3)) % 400 for i, campo in enumerate(acta.layout.campos)}


def acta_jpeg(acta: Acta, **options: object) -> bytes:
    """A scanned acta (JPEG, 200 dpi) with ``options`` of :class:`ActaImageOptions`."""
    return render_acta_image(acta, valores(acta), ActaImageOptions(**options))  # type: ignore[arg-type]
