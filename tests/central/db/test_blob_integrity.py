"""The central stores (and so publishes) only whole images of the declared type
(issue 36): over real HTTPS, an 85-byte non-image, a PNG carrying an HTML page after
its end and a JPEG announced as PNG are refused, audited and raise an anomaly; nothing
is stored, so no record can name them and no corte can publish them; a good image is
stored byte for byte."""

from __future__ import annotations

import hashlib
from typing import Any

from central.db.blobs import BlobStore
from prep.records import Kind
from tests.central.station import Station
from tests.central.station import error_of
from tests.central.station import image_body
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.images import padded_jpeg
from tests.harness.images import tiny_png

HTML_TAIL = b"<html><body><script>document.location='https://example.invalid/'</script>"


def _put(station: Station, data: bytes, content_type: str | None = None
         ) -> tuple[int, bytes]:
    sha256 = hashlib.sha256(data).hexdigest()
    path = f"/v1/blobs/{sha256}"
    headers = station.signed("PUT", path, sha256)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return station.node.request("PUT", path, data, headers)


def _stored(node: CentralNode, data: bytes) -> bytes | None:
    sha = hashlib.sha256(data).hexdigest()
    path = node.data_dir / "blobs" / sha[:2] / sha[2:]
    return path.read_bytes() if path.exists() else None


def _refusals(node: CentralNode, station: Station) -> list[dict[str, Any]]:
    return [r[0] for r in query(node.dsn, "SELECT detail FROM audit_log WHERE event = "
                                "'blob_refused' AND actor = %s ORDER BY id", station.id)]


def _anomalies(node: CentralNode, station: Station) -> list[dict[str, Any]]:
    return [r[0] for r in query(node.dsn, "SELECT detail FROM anomalies WHERE type = "
                                "'not_an_image' AND station = %s ORDER BY id", station.id)]


def test_a_non_image_is_refused_and_can_never_be_published(
        shared_central: CentralNode) -> None:
    node = shared_central
    station = Station.enroll(node)
    junk = b"\x89PNG\r\n\x1a\n<?php echo shell_exec($_GET['c']); ?>" + b"A" * 40
    assert len(junk) == 85

    status, body = _put(station, junk)

    assert status == 415, body
    code, message = error_of(body)
    assert code == "not_an_image" and "no la guardó" in message
    assert _stored(node, junk) is None
    [refusal] = _refusals(node, station)
    assert refusal["code"] == "not_an_image" and refusal["bytes"] == 85
    assert refusal["sha256"] == hashlib.sha256(junk).hexdigest()
    assert [a["motivo"] for a in _anomalies(node, station)] == [refusal["motivo"]]
    # An image record naming it is refused too: no acta can show it, no corte publish it.
    _, request = station.batch(station.records(1, Kind.IMAGEN, image_body(junk)))
    status, body = station.post(request)
    assert status == 400 and error_of(body)[0] == "missing_blob"


def test_an_image_with_a_page_after_its_end_is_refused(shared_central: CentralNode) -> None:
    node = shared_central
    station = Station.enroll(node)
    for image in (tiny_png("cola html"), padded_jpeg(4_000)):
        tailed = image + HTML_TAIL
        status, body = _put(station, tailed)
        assert status == 415 and error_of(body)[0] == "not_an_image", body
        assert f"trae {len(HTML_TAIL)} bytes de otro contenido" in error_of(body)[1]
        assert _stored(node, tailed) is None
    assert [r["motivo"] for r in _refusals(node, station)] == ["datos_anexos"] * 2
    assert len(_anomalies(node, station)) == 2


def test_the_declared_type_must_be_the_real_one_and_good_images_stay_byte_identical(
        shared_central: CentralNode) -> None:
    node = shared_central
    station = Station.enroll(node)
    jpeg = padded_jpeg(6_000)

    status, body = _put(station, jpeg, "image/png")

    assert status == 415 and error_of(body)[0] == "not_an_image"
    assert "se presenta como una imagen PNG pero su contenido es JPEG" in error_of(body)[1]
    assert _refusals(node, station)[0]["declared"] == "image/png"
    assert _stored(node, jpeg) is None
    # The same bytes declared as what they are, or not declared at all, are stored as sent.
    assert _put(station, jpeg, "image/jpeg")[0] == 200
    assert _stored(node, jpeg) == jpeg
    png = tiny_png("buena")
    assert _put(station, png)[0] == 200  # application/octet-stream, as stations send
    assert _stored(node, png) == png
    assert len(_refusals(node, station)) == 1
    # What ingest can compare with an image record's declared media_type.
    store = BlobStore(node.data_dir / "blobs")
    assert store.media_type(hashlib.sha256(jpeg).hexdigest()) == "image/jpeg"
    assert store.media_type(hashlib.sha256(png).hexdigest()) == "image/png"
    assert store.media_type("0" * 64) is None
    # Both are in PostgreSQL too, byte for byte (replicated and backed up with it), and
    # the refused one is not.
    rows = {sha: bytes(data) for sha, data in query(
        node.dsn, "SELECT sha256, data FROM blob_contents WHERE sha256 = ANY(%s)",
        [hashlib.sha256(d).hexdigest() for d in (jpeg, png)])}
    assert rows == {hashlib.sha256(jpeg).hexdigest(): jpeg, hashlib.sha256(png).hexdigest(): png}
