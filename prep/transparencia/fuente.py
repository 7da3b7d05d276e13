"""Where the public log of cortes is read from: a publication directory on disk or its
``https://`` address (docs/publicacion.md, «Registro público de cortes»).

Both take the publication's root (the directory or address that holds ``indice.json``
and ``transparencia/``) or ``transparencia/`` itself. Every read is of an untrusted file:
bounded (a file past its limit is refused, not read whole), and a file that is not
there is ``None`` (a log that lacks it says so in its own words).
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote
from urllib.parse import urlsplit

from prep import __version__
from prep.transparencia.nota import NotaError

TRANSPARENCIA = "transparencia"
CHECKPOINT = "checkpoint"
#: Seconds an HTTPS answer may take.
TIMEOUT = 30.0


class Fuente:
    """The log's files, by their path under ``transparencia/`` (``checkpoints/7``…)."""

    descripcion: str

    def leer(self, ruta: str, limite: int) -> bytes | None:
        """The file's bytes (at most ``limite``), ``None`` if it is not there; raises
        :class:`NotaError` (Spanish) when it is larger or cannot be read."""
        raise NotImplementedError


class Directorio(Fuente):
    """A publication (or ``transparencia/``) directory on disk."""

    def __init__(self, directorio: Path) -> None:
        raiz = directorio / TRANSPARENCIA
        self.raiz = raiz if raiz.is_dir() or not (directorio / CHECKPOINT).is_file() \
            else directorio
        self.descripcion = str(self.raiz)

    def leer(self, ruta: str, limite: int) -> bytes | None:
        path = self.raiz / ruta
        try:
            with path.open("rb") as f:
                datos = f.read(limite + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise NotaError(f"no se pudo leer {path}: {exc.strerror or exc}") from None
        if len(datos) > limite:
            raise NotaError(f"{path} pasa de {limite} bytes")
        return datos


class Https(Fuente):
    """A publication's address (``https://servidor/ruta/``), verified TLS."""

    def __init__(self, url: str, contexto: ssl.SSLContext | None = None) -> None:
        partes = urlsplit(url)
        if partes.scheme != "https" or not partes.hostname or partes.query \
                or partes.fragment:
            raise NotaError(f"dirección inválida {url[:80]!r}: debe ser https://servidor/ruta")
        base = url if url.endswith("/") else url + "/"
        self.base = base if base.rstrip("/").endswith("/" + TRANSPARENCIA) \
            else base + TRANSPARENCIA + "/"
        self.descripcion = self.base
        self._contexto = contexto or ssl.create_default_context()

    def leer(self, ruta: str, limite: int) -> bytes | None:
        url = self.base + quote(ruta)
        peticion = urllib.request.Request(url, headers={
            "User-Agent": f"prep-testigo/{__version__}", "Accept-Encoding": "identity"})
        try:
            with urllib.request.urlopen(peticion, timeout=TIMEOUT,  # https only (above)
                                        context=self._contexto) as respuesta:
                if urlsplit(respuesta.geturl()).scheme != "https":
                    raise NotaError(f"{url} redirigió fuera de https")
                datos: bytes = respuesta.read(limite + 1)
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                return None
            raise NotaError(f"{url}: el servidor respondió {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            razon = getattr(exc, "reason", exc)
            raise NotaError(f"no se pudo leer {url}: {razon}") from None
        if len(datos) > limite:
            raise NotaError(f"{url} pasa de {limite} bytes")
        return datos


def fuente(texto: str | Path, contexto: ssl.SSLContext | None = None) -> Fuente:
    """The source ``texto`` names: an ``https://`` address or a directory."""
    if isinstance(texto, str) and "://" in texto:
        return Https(texto, contexto)
    directorio = Path(texto)
    if not directorio.is_dir():
        raise NotaError(f"{directorio} no es un directorio ni una dirección https://")
    return Directorio(directorio)
