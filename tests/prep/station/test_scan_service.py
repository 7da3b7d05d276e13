"""Digitalización over a real station store: an image becomes the ``imagen`` record of
the acta its QR names, with the original bytes stored; a re-scan replaces, the same file
twice records nothing new, an acta without acopio is stored with a warning, and manual
association (QR unreadable) needs a catalog clave and still checks the image."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from prep.catalog import Catalog
from prep.station.scan.service import DigitalizacionService
from prep.station.station import Station
from tests.prep.station.scan_support import acta_jpeg
from tests.prep.station.scan_support import nth_acta
from tests.prep.station.scan_support import station_with_catalog
from tests.prep.station.support import offline_station

pytestmark = pytest.mark.rapido


@pytest.fixture
def station(tmp_path: Path, small: Catalog) -> Iterator[Station]:
    with station_with_catalog(tmp_path / "estacion", small) as s:
        yield s


def _stored(station: Station, sha256: str) -> bytes:
    return station.blobs.read(sha256)


def test_a_scanned_acta_with_acopio_is_stored_as_its_original_bytes(
        station: Station, small: Catalog) -> None:
    acta = nth_acta(small, 3)
    station.acopio(acta.clave, "ana")
    data = acta_jpeg(acta, skew_degrees=1.0)
    result = DigitalizacionService(station, "dora").digitalizar(data)
    assert result.ok and result.motivo == "guardada" and not result.sin_acopio
    assert result.mensaje.startswith(f"Imagen del acta {acta.clave} guardada")
    assert result.record is not None and result.record.operator == "dora"
    assert station.store.kinds_for(acta.clave) == ["acopio", "imagen"]
    body = result.record.body
    assert body["media_type"] == "image/jpeg" and body["bytes"] == len(data)
    assert body["origen"] == "CATD" and body["digitalizacion"] == "Escáner"
    assert _stored(station, str(body["sha256"])) == data


def test_an_acta_without_acopio_is_stored_with_a_warning(station: Station,
                                                          small: Catalog) -> None:
    acta = nth_acta(small, 4)
    result = DigitalizacionService(station, "dora").digitalizar(acta_jpeg(acta))
    assert result.ok and result.sin_acopio
    assert "no tiene acopio registrado en esta estación" in result.mensaje
    assert station.store.kinds_for(acta.clave) == ["imagen"]


def test_a_rescan_replaces_and_the_same_file_again_records_nothing(
        station: Station, small: Catalog) -> None:
    acta = nth_acta(small, 5)
    station.acopio(acta.clave, "ana")
    service = DigitalizacionService(station, "dora")
    first = service.digitalizar(acta_jpeg(acta, seed=1))
    second_bytes = acta_jpeg(acta, seed=2)
    second = service.digitalizar(second_bytes)
    assert first.record is not None and second.record is not None
    assert second.motivo == "reemplazo" and second.replaces == first.record.id
    assert second.record.replaces == first.record.id
    assert "Reemplaza a la imagen anterior" in second.mensaje
    again = service.digitalizar(second_bytes)
    assert again.ok and again.motivo == "ya_guardada" and again.record is None
    assert station.store.kinds_for(acta.clave) == ["acopio", "imagen", "imagen"]
    replaced = [json.loads(c)["replaces"] for _, _, c in station.store.records()]
    assert replaced == [None, None, first.record.id]


def test_a_bad_image_is_not_stored(station: Station, small: Catalog) -> None:
    acta = nth_acta(small, 6)
    service = DigitalizacionService(station, "dora")
    for data, motivo in ((acta_jpeg(acta)[:90_000], "incompleta"),
                         (acta_jpeg(acta, dpi=150), "resolucion_baja"),
                         (acta_jpeg(acta, qr_text="09|XYZ"), "qr_no_es_acta")):
        result = service.digitalizar(data)
        assert not result.ok and result.motivo == motivo and not result.retry
    assert station.store.kinds_for(acta.clave) == []
    assert station.store.counts() == (0, 0)


def test_a_rescan_of_a_chosen_acta_refuses_another_actas_paper(station: Station,
                                                                small: Catalog) -> None:
    chosen, other = nth_acta(small, 7), nth_acta(small, 8)
    result = DigitalizacionService(station, "dora").digitalizar(acta_jpeg(other),
                                                                expected_clave=chosen.clave)
    assert not result.ok and result.motivo == "qr_otra_acta"
    assert station.store.counts() == (0, 0)


def test_manual_association_when_the_qr_cannot_be_read(station: Station,
                                                       small: Catalog) -> None:
    acta = nth_acta(small, 9)
    service = DigitalizacionService(station, "dora")
    no_qr = acta_jpeg(acta, qr_text="")
    assert service.digitalizar(no_qr).motivo == "sin_qr"
    result = service.asociar_manual(no_qr, acta.clave.lower() + "\r\n")  # typed, any case
    assert result.ok and result.manual and result.clave_acta == acta.clave
    assert station.store.kinds_for(acta.clave) == ["imagen"]


def test_manual_association_still_checks_the_clave_and_the_image(station: Station,
                                                                 small: Catalog) -> None:
    acta, other = nth_acta(small, 10), nth_acta(small, 11)
    service = DigitalizacionService(station, "dora")
    unknown = service.asociar_manual(acta_jpeg(acta, qr_text=""), "099999B0100" + "01")
    assert unknown.motivo == "clave_no_valida" and "no está en el catálogo" in unknown.mensaje
    blank = service.asociar_manual(acta_jpeg(acta, qr_text="", dpi=120), acta.clave)
    assert blank.motivo == "resolucion_baja"
    mismatch = service.asociar_manual(acta_jpeg(other), acta.clave)
    assert mismatch.motivo == "qr_otra_acta" and other.clave in mismatch.mensaje
    assert station.store.counts() == (0, 0)


def test_without_a_catalog_the_image_waits(tmp_path: Path, small: Catalog) -> None:
    with offline_station(tmp_path / "sin-catalogo") as station:
        result = DigitalizacionService(station, "dora").digitalizar(
            acta_jpeg(nth_acta(small, 0)))
    assert not result.ok and result.retry and result.motivo == "sin_catalogo"
    assert "aún no tiene el catálogo" in result.mensaje
