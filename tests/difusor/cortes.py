"""Cortes for the difusor tests: a small simulated election published by the central's
own packager (no database), one corte after another, each with a few new acta images,
and the signed index the central writes after each; and tools to tamper with them."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import time
from datetime import timedelta
from pathlib import Path

from central.publication.feed import INDICE
from central.publication.feed import INDICE_FIRMA
from central.publication.feed import actualizar_indice
from central.publication.publicar import publish
from central.publication.snapshot import Imagen
from central.publication.snapshot import Snapshot
from prep.catalog import generate_catalog
from prep.corte.model import ActaEnCorte
from prep.corte.package import MANIFEST
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.difusor.registro_cortes import RegistroPublicado
from tests.harness.corte_data import day_after
from tests.harness.corte_data import image_bytes
from tests.harness.corte_data import image_sha256

KEY = SigningKey.generate()
HUELLA = KEY.public.fingerprint()


class Publicacion:
    """The central's ``publicacion/`` directory, a corte at a time."""

    def __init__(self, base: Path, key: SigningKey = KEY, registro: bool = False) -> None:
        self.path = base / "publicacion"
        self.blobs = base / "blobs"
        self.key = key
        self.catalog = generate_catalog(3, 0.005)
        self.hora = day_after(self.catalog, time(0, 0))
        self.estado = simulate(self.catalog, 3, self.hora, pendientes=0.1).estado
        self.version = 0
        self.ultimo: Path | None = None
        #: ``registro``: the log of cortes (transparencia/) too, as centrals since 67.
        self.registro = RegistroPublicado(self.path, key) if registro else None

    def corte(self, nuevas: int = 3, ultimo: bool = False) -> Path:
        """Publish the next corte (five minutes later), where ``nuevas`` actas got a new
        image since the previous one (``ultimo``: the último corte); write the index;
        the corte's directory."""
        self.version += 1
        self.hora += timedelta(minutes=5)
        con_captura = [c for c, e in sorted(self.estado.items()) if e.captura is not None]
        cambian = set(con_captura[:nuevas]) if self.version > 1 else set(con_captura)
        estado: dict[str, ActaEnCorte] = {}
        imagenes: dict[str, Imagen] = {}
        for clave, est in self.estado.items():
            if est.captura is not None:
                if clave in cambian:
                    est = replace(est, sha256=self._blob(clave, self.version))
                assert est.sha256 is not None
                imagenes[clave] = Imagen(est.sha256, "image/png")
            estado[clave] = est
        self.estado = estado
        snap = Snapshot(self.hora, 1, self.catalog, estado, (), imagenes)
        self.ultimo = publish(self.path, snap, self.key, blobs=self.blobs,
                              anterior=self.ultimo, ultimo_corte=ultimo).path
        if self.registro is not None:  # before the index moves, as the central does
            self.registro.agregar(self.ultimo.name, self.hora, hashlib.sha256(
                (self.ultimo / MANIFEST).read_bytes()).hexdigest())
        actualizar_indice(self.path, self.key)
        return self.ultimo

    def _blob(self, clave: str, version: int) -> str:
        sha = image_sha256(clave, version)
        (self.blobs / sha[:2]).mkdir(parents=True, exist_ok=True)
        (self.blobs / sha[:2] / sha[2:]).write_bytes(image_bytes(clave, version))
        return sha

    def indice(self) -> tuple[bytes, bytes]:
        """The index and its signature as now published."""
        return (self.path / INDICE).read_bytes(), (self.path / INDICE_FIRMA).read_bytes()

    def poner_indice(self, indice: tuple[bytes, bytes]) -> None:
        (self.path / INDICE).write_bytes(indice[0])
        (self.path / INDICE_FIRMA).write_bytes(indice[1])

    def refirmar(self, corte: Path, key: SigningKey | None = None) -> None:
        """Sign ``corte``'s manifest again (with ``key``, else the institute's) and write
        the index again: what a central would publish for a corte with that content."""
        manifest = (corte / MANIFEST).read_bytes()
        (corte / f"{MANIFEST}.sig").write_bytes((key or self.key).sign(manifest))
        (self.path / INDICE).unlink()  # its entries are computed once; recompute them
        actualizar_indice(self.path, self.key)

    def listar(self, corte: Path, rel: str, data: bytes) -> None:
        """Put ``data`` at ``rel`` in ``corte`` and list it in its manifest (signed
        again by the institute's key)."""
        digest = hashlib.sha256(data).hexdigest()
        path = corte / rel
        if path.resolve().is_relative_to(corte.resolve()) and not path.parent.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        manifest = (corte / MANIFEST).read_text(encoding="utf-8")
        (corte / MANIFEST).write_text(manifest + f"{digest}  {rel}\n", encoding="utf-8")
        self.refirmar(corte)
