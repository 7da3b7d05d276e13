"""The drill's origin (``simulacro/origen.py``): the publication over real HTTPS on loopback,
down and back on the same port, and the altered answers the difusores must refuse."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulacro.origen import Origen

CORTE = "20270607_0100_2"


@pytest.fixture
def origen(tmp_path: Path) -> Iterator[Origen]:
    publicacion = tmp_path / "publicacion"
    (publicacion / CORTE).mkdir(parents=True)
    (publicacion / CORTE / "ALCALDIAS.csv").write_bytes(b"CLAVE_ACTA,PAN\r\n'09-1,12\r\n")
    (publicacion / CORTE / "LEEME.txt").write_bytes(b"SIMULACRO\n")
    (publicacion / "indice.json").write_bytes(b'{"formato": 1}\n')
    (publicacion / "indice.json.sig").write_bytes(b"\x01" * 64)
    server = Origen(publicacion, tmp_path / "origen", tmp_path / "bitacoras")
    server.start()
    yield server
    server.stop()


def get(origen: Origen, rel: str) -> bytes:
    context = ssl.create_default_context(cafile=str(origen.cert))
    conn = http.client.HTTPSConnection("127.0.0.1", origen.port, context=context, timeout=10)
    try:
        conn.request("GET", f"/publicacion/{rel}")
        response = conn.getresponse()
        assert response.status == 200, rel
        return response.read()
    finally:
        conn.close()


def test_serves_the_publication_and_comes_back_on_the_same_port(origen: Origen) -> None:
    publicacion = origen.publicacion
    assert get(origen, f"{CORTE}/ALCALDIAS.csv") == \
        (publicacion / CORTE / "ALCALDIAS.csv").read_bytes()
    port = origen.port
    origen.stop()
    with pytest.raises(ConnectionRefusedError):
        get(origen, "indice.json")
    origen.start()
    assert origen.port == port
    assert get(origen, "indice.json") == (publicacion / "indice.json").read_bytes()


def test_serves_a_flipped_byte_and_another_index_while_told(origen: Origen,
                                                            tmp_path: Path) -> None:
    publicacion = origen.publicacion
    genuine = (publicacion / CORTE / "ALCALDIAS.csv").read_bytes()
    origen.alterar(voltear=True)
    altered = get(origen, f"{CORTE}/ALCALDIAS.csv")
    assert len(altered) == len(genuine)
    assert sum(a != b for a, b in zip(altered, genuine, strict=True)) == 1
    # Only a corte's CSVs: the index and the corte's other files are the institute's.
    assert get(origen, f"{CORTE}/LEEME.txt") == b"SIMULACRO\n"
    assert get(origen, "indice.json") == b'{"formato": 1}\n'
    otro = tmp_path / "otro"
    otro.mkdir()
    (otro / "indice.json").write_bytes(b'{"formato": 1, "otro": true}\n')
    (otro / "indice.json.sig").write_bytes(b"\x02" * 64)
    origen.alterar(indice=otro)
    assert get(origen, "indice.json") == b'{"formato": 1, "otro": true}\n'
    assert get(origen, "indice.json.sig") == b"\x02" * 64
    assert get(origen, f"{CORTE}/ALCALDIAS.csv") == genuine
    origen.alterar()
    assert get(origen, "indice.json") == b'{"formato": 1}\n'
