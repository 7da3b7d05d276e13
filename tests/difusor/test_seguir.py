"""A difusor follows the institute's signed index over HTTPS: each new corte is fetched
(only the files it lacks), verified as ``prep verify-corte`` does, and served whole."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from difusor.config import Config
from difusor.estado import cargar
from difusor.seguir import consultar
from prep.corte.package import MANIFEST
from prep.corte.verify import SIGNATURE
from prep.corte.verify import verify_corte
from tests.difusor.cortes import HUELLA
from tests.difusor.cortes import Publicacion


def test_a_new_corte_is_served_verified_and_the_next_fetches_only_what_is_new(
        publicacion: Publicacion, config: Config, datos: Path) -> None:
    primero = publicacion.corte()
    hecho = consultar(config, datos)
    assert hecho.ok and hecho.nuevo and hecho.corte == primero.name, hecho.mensaje
    www = config.raiz
    assert os.readlink(www / "latest") == primero.name
    assert (www / "latest.txt").read_text() == f"{primero.name}\n"
    assert verify_corte(www / "latest", huella=HUELLA).ok

    segundo = publicacion.corte(nuevas=3)
    hecho = consultar(config, datos)
    assert hecho.ok and hecho.corte == segundo.name, hecho.mensaje
    assert os.readlink(www / "latest") == segundo.name
    assert verify_corte(www / segundo.name, huella=HUELLA).ok
    estado = cargar(datos)
    inicial, siguiente = estado.descargas[primero.name], estado.descargas[segundo.name]
    assert inicial["reutilizados"] == 0
    images = len(list((segundo / "imagenes").iterdir()))
    # the three new images and the files whose content changed; every other image and
    # the site's assets are linked from the corte already served
    assert siguiente["reutilizados"] >= images - 3
    # Only what it lacked crossed the wire: the files of the second corte whose bytes it
    # did not hold (every site data file names its corte, so those are new each time),
    # besides the manifest and its signature.
    held = {hashlib.sha256(f.read_bytes()).hexdigest() for f in primero.rglob("*")
            if f.is_file()}
    lacking = sum(f.stat().st_size for f in segundo.rglob("*")
                  if f.is_file() and hashlib.sha256(f.read_bytes()).hexdigest() not in held)
    assert 0 < siguiente["bytes_descargados"] <= lacking + sum(
        (segundo / name).stat().st_size for name in (MANIFEST, SIGNATURE)
        if (segundo / name).exists())
    assert siguiente["bytes_descargados"] < inicial["bytes_descargados"]
    nuevas = {p.name for p in (segundo / "imagenes").iterdir()} - \
        {p.name for p in (primero / "imagenes").iterdir()}
    assert len(nuevas) == 3
    assert consultar(config, datos).nuevo is False  # nothing new: nothing fetched
