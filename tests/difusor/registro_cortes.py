"""The log of cortes as the central publishes it (``publicacion/transparencia/``, the
layout of /work/wt/67-DISENO.md and docs/publicacion.md), written for the difusor tests
from the shared building blocks (:mod:`prep.transparencia`) without a database; and the
forger's tool: the same log with a past corte replaced, every file signed again with the
institute's key (what a split view serves one difusor)."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from pathlib import Path

from prep.crypto import SigningKey
from prep.transparencia import nota
from prep.transparencia.entrada import Entrada
from prep.transparencia.merkle import prueba_consistencia
from prep.transparencia.merkle import prueba_inclusion
from prep.transparencia.merkle import raiz
from prep.transparencia.nota import Checkpoint

ORIGEN = "prep-pruebas-difusor"


def hora_utc(cuando: datetime) -> str:
    return cuando.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _lineas(hashes: list[bytes]) -> bytes:
    return b"".join(base64.b64encode(h) + b"\n" for h in hashes)


class RegistroPublicado:
    """``publicacion/transparencia/``: one leaf per corte, every file rewritten."""

    def __init__(self, publicacion: Path, key: SigningKey, origen: str = ORIGEN) -> None:
        self.dir = publicacion / "transparencia"
        self.key = key
        self.origen = origen
        self.entradas: list[Entrada] = []

    def agregar(self, nombre: str, hora: datetime, manifiesto: str) -> None:
        self.entradas.append(Entrada(nombre, hora_utc(hora), manifiesto))
        self.escribir()

    def checkpoint(self, tamano: int | None = None) -> Checkpoint:
        n = len(self.entradas) if tamano is None else tamano
        return Checkpoint(self.origen, n, raiz([e.hash() for e in self.entradas[:n]]))

    def nota(self, tamano: int | None = None) -> bytes:
        cp = self.checkpoint(tamano)
        return nota.firmar(cp.texto(), self.origen, self.key).codificar()

    def escribir(self) -> None:
        """Every file of the log as it now is (the last ``checkpoint`` last)."""
        hojas = [e.hash() for e in self.entradas]
        for sub in ("checkpoints", "entradas", "pruebas/inclusion", "pruebas/consistencia",
                    "cofirmas"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "llave").write_text(nota.llave_texto(self.origen, self.key.public) + "\n")
        for i, entrada in enumerate(self.entradas):
            n = i + 1
            (self.dir / f"entradas/{i}").write_bytes(entrada.datos())
            (self.dir / f"pruebas/inclusion/{i}").write_bytes(
                _lineas(prueba_inclusion(i, hojas[:n])))
            (self.dir / f"checkpoints/{n}").write_bytes(self.nota(n))
            cofirmas = self.dir / f"cofirmas/{n}"
            if not cofirmas.exists():
                cofirmas.write_bytes(self.nota(n))
            if n >= 2:
                (self.dir / f"pruebas/consistencia/{n}").write_bytes(
                    _lineas(prueba_consistencia(n - 1, hojas[:n])))
        (self.dir / "checkpoint").write_bytes(self.nota())

    def reescribir(self, indice: int, manifiesto: str) -> None:
        """Replace leaf ``indice`` (a past corte with another manifest) and sign the
        whole history again with the institute's key: a fork."""
        self.entradas[indice] = replace(self.entradas[indice], manifiesto=manifiesto)
        for cofirmas in (self.dir / "cofirmas").iterdir():
            cofirmas.unlink()
        self.escribir()
