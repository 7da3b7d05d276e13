"""The difusor's web root: the cortes it serves, ``latest``, and the staging area.

::

    raiz/
      latest -> 20270606_2305     symlink, replaced in one rename
      latest.txt                  the same name, for servers that do not follow links
      20270606_2300/  20270606_2305/     verified cortes, never changed once here
      .staging/<nombre>/          a corte being downloaded (hidden: nginx refuses dot paths)

A corte enters by one ``rename`` from ``.staging`` after it verified, and leaves by one
``rename`` to a hidden name before it is deleted: under its own name a corte is whole.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

from difusor.indice import es_corte
from difusor.indice import orden
from prep.corte.anexo import ULTIMO_CORTE
from prep.corte.package import LEEME
from prep.durable import fsync_dir
from prep.durable import write_synced

STAGING = ".staging"
LATEST = "latest"
LATEST_TXT = "latest.txt"
MANIFEST = "MANIFIESTO.sha256"
_LINE = re.compile(r"([0-9a-f]{64})  (\S.*)")


class Raiz:
    def __init__(self, path: Path) -> None:
        self.path = path

    def preparar(self) -> None:
        (self.path / STAGING).mkdir(parents=True, exist_ok=True)

    def es_ultimo(self, nombre: str) -> bool:
        """Whether the served corte ``nombre`` is the *último corte* (its LEEME, verified
        with the corte, says so on its title lines): after it the institute publishes
        nothing, so its index stops changing and is not stale."""
        try:
            with (self.path / nombre / LEEME).open("rb") as leeme:
                cabeza = leeme.read(4096).decode("utf-8", "replace").splitlines()[:4]
        except OSError:
            return False
        return any(ULTIMO_CORTE in linea for linea in cabeza)

    def cortes(self) -> list[str]:
        """The cortes served, oldest first."""
        try:
            names = [n for n in os.listdir(self.path) if es_corte(n)
                     and (self.path / n).is_dir()]
        except FileNotFoundError:
            return []
        return sorted(names, key=orden)

    def actual(self) -> str | None:
        try:
            name = os.readlink(self.path / LATEST)
        except OSError:
            return None
        return name if es_corte(name) and (self.path / name).is_dir() else None

    def staging(self, nombre: str) -> Path:
        return self.path / STAGING / nombre

    def por_huella(self) -> dict[str, Path]:
        """SHA-256 → a file with it in a served corte (from their signed manifests,
        checked when each corte came in): what a new corte can link instead of fetch."""
        found: dict[str, Path] = {}
        for nombre in self.cortes():
            directory = self.path / nombre
            try:
                text = (directory / MANIFEST).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            for line in text.splitlines():
                match = _LINE.fullmatch(line)
                if match is not None:
                    found[match.group(1)] = directory / match.group(2)
        return found

    def publicar(self, nombre: str) -> None:
        """Move the verified staging corte into place, then point ``latest`` at it."""
        staged = self.staging(nombre)
        for directory, _, _ in os.walk(staged, topdown=False):
            fsync_dir(Path(directory))
        final = self.path / nombre
        if final.exists():
            raise FileExistsError(f"el corte {nombre} ya está publicado")
        os.rename(staged, final)
        fsync_dir(self.path)
        self._latest(nombre)

    def podar(self, conservar: int) -> list[str]:
        """Delete all but the last ``conservar`` cortes (never the one ``latest`` names);
        the names deleted."""
        actual = self.actual()
        viejos = [n for n in self.cortes()[:-conservar] if n != actual]
        for nombre in viejos:
            hidden = self.path / f".borrar-{nombre}-{secrets.token_hex(4)}"
            os.rename(self.path / nombre, hidden)
            shutil.rmtree(hidden, ignore_errors=True)
        return viejos

    def descartar(self, nombre: str) -> None:
        shutil.rmtree(self.staging(nombre), ignore_errors=True)

    def _latest(self, nombre: str) -> None:
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        link = self.path / f".{LATEST}.tmp-{token}"
        os.symlink(nombre, link)
        os.replace(link, self.path / LATEST)
        text = self.path / f".{LATEST_TXT}.tmp-{token}"
        write_synced(text, f"{nombre}\n".encode("ascii"))
        os.replace(text, self.path / LATEST_TXT)
        fsync_dir(self.path)
