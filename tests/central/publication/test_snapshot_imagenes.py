"""The snapshot's images (central.publication.snapshot.Imagenes): every acta with a
published image, its SHA-256 read from its state and its media type kept only where it
is not the commonest, equal to the dict of them a snapshot held before."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest

from central.publication.snapshot import Imagen
from central.publication.snapshot import Imagenes
from central.publication.snapshot import _Tipos
from prep.corte.model import ActaEnCorte
from prep.values import Captura

pytestmark = pytest.mark.rapido

T = datetime(2027, 6, 6, 21, 0, tzinfo=UTC)


def _estado() -> dict[str, ActaEnCorte]:
    captura = Captura(("A",), (3,))
    return {"A1": ActaEnCorte("A1", T, captura, sha256="a" * 64),
            "A2": ActaEnCorte("A2", T, captura, sha256="b" * 64),
            "A3": ActaEnCorte("A3", T),  # only its acopio: no image
            "A4": ActaEnCorte("A4", T, captura, sha256="c" * 64)}


def test_images_are_the_states_hashes_with_their_media_types() -> None:
    estado = _estado()
    tipos = _Tipos()
    for clave, tipo in (("A1", "image/png"), ("A2", "image/jpeg"), ("A4", "image/png")):
        tipos.poner(clave, tipo)
    imagenes = Imagenes(estado, tipos.comun, tipos.otros)
    esperadas = {"A1": Imagen("a" * 64, "image/png"), "A2": Imagen("b" * 64, "image/jpeg"),
                 "A4": Imagen("c" * 64, "image/png")}
    assert dict(imagenes) == esperadas and imagenes == esperadas and len(imagenes) == 3
    assert list(imagenes.items()) == list(esperadas.items())
    assert imagenes.items() == esperadas.items()  # a set of pairs, as a dict's
    assert tipos.otros == {"A2": "image/jpeg"}  # only the one that differs is kept
    assert imagenes.get("A3") is None and imagenes.get("ZZ", 0) == 0 and "A3" not in imagenes
    with pytest.raises(KeyError):
        imagenes["A3"]
    # The next snapshot starts from it; an acta read again with the common type drops
    # its own, one read again with another type gets it.
    siguiente = _Tipos()
    siguiente.desde(imagenes)
    siguiente.poner("A2", "image/png")
    siguiente.poner("A4", "application/pdf")
    assert siguiente.comun == "image/png" and siguiente.otros == {"A4": "application/pdf"}
    assert tipos.otros == {"A2": "image/jpeg"}  # the previous snapshot's is its own
    # From a plain mapping (a snapshot made by hand) the same.
    de_dict = _Tipos()
    de_dict.desde(esperadas)
    assert Imagenes(estado, de_dict.comun, de_dict.otros) == esperadas
