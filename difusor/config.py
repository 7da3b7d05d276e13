"""The difusor's settings (``difusor.toml`` in its data directory) and its limits."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import urlsplit

from platformdirs import user_data_dir

from difusor.errores import DifusorError
from prep.durable import fsync_dir
from prep.durable import write_synced

CONFIG = "difusor.toml"
MiB = 2**20


def default_data_dir() -> Path:
    return Path(user_data_dir("prep-difusor", appauthor=False))


@dataclass(frozen=True)
class Limites:
    """What the difusor accepts from an origin (docs/difusores.md, «Límites»).

    A national corte (scale 12.9, ≈510,000 actas) lists about as many images, a manifest
    of ≈75 MB; its largest CSV is below 100 MB. The limits leave room for that and stop
    an origin that would fill the difusor's disk."""

    indice: int = 4 * MiB
    manifiesto: int = 256 * MiB  # as prep verify-corte's own limit
    archivo: int = 512 * MiB
    corte: int = 256 * 1024 * MiB  # a national corte first fetched whole, scans included
    archivos: int = 2_000_000
    segundos: float = 30.0  # to connect, and between two reads of an answer
    #: Seconds to read an origin's signed index (and its signature), however the origin
    #: paces its bytes: past it, the next origin is tried.
    plazo_indice: float = 60.0
    #: Seconds one origin may take for a whole poll, the corte's download included. A
    #: download cut by it keeps the files already whole; the next poll goes on from there.
    plazo: float = 600.0
    #: How many times its size on the wire a gzip answer may grow when undone (text
    #: compresses at most ~20 times at nginx's level; a gzip bomb ~1,000).
    expansion: int = 100


@dataclass(frozen=True)
class Config:
    """Whom to follow, with which key, and where to publish."""

    origenes: tuple[str, ...]
    huella: str
    raiz: Path
    conservar: int = 3
    intervalo: float = 30.0
    ca: Path | None = None  # CA bundle for the origins' TLS; default: the system's
    reglas: Path | None = None  # the institute's reglas.toml, as prep verify-corte --reglas
    #: Minutes between two of the institute's cortes (its schedule; at most 20): an index
    #: older than twice this is stale (docs/difusores.md, «Índice desactualizado»).
    periodo: float = 20.0
    limites: Limites = field(default_factory=Limites)

    @property
    def vigencia(self) -> float:
        """Seconds a signed index (and a successful poll) stays current."""
        return 2 * self.periodo * 60

    def __post_init__(self) -> None:
        if not self.origenes:
            raise DifusorError("indique al menos un origen (--origen https://…)")
        for url in self.origenes:
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
                raise DifusorError(f"origen inválido {url!r}: debe ser https://servidor[:puerto]"
                                   "/ruta/ (la de publicacion/ del instituto)")
        if not re.fullmatch(r"[0-9a-f]{64}", self.huella):
            raise DifusorError("la huella debe ser el SHA-256 de la llave pública del "
                               "instituto: 64 dígitos hexadecimales")
        if self.conservar < 2:
            raise DifusorError("conserve al menos 2 cortes (el que se sirve y el anterior)")
        if self.intervalo <= 0:
            raise DifusorError("el intervalo de consulta debe ser positivo")
        if not 0 < self.periodo <= 24 * 60:
            raise DifusorError("el periodo de los cortes debe estar entre 0 y 1440 minutos")


def normalize_huella(text: str) -> str:
    """A fingerprint as people copy it (groups, colons, upper case) → 64 hex digits."""
    return re.sub(r"[\s:]", "", text).lower()


def save(config: Config, datos: Path) -> Path:
    """Write ``difusor.toml`` into ``datos`` (created); its path."""
    datos.mkdir(parents=True, exist_ok=True)
    lines = [f"origenes = [{', '.join(json.dumps(u) for u in config.origenes)}]",
             f"huella = {json.dumps(config.huella)}",
             f"raiz = {json.dumps(str(config.raiz))}",
             f"conservar = {config.conservar}",
             f"intervalo = {config.intervalo}",
             f"periodo = {config.periodo}"]
    if config.ca is not None:
        lines.append(f"ca = {json.dumps(str(config.ca))}")
    if config.reglas is not None:
        lines.append(f"reglas = {json.dumps(str(config.reglas))}")
    path = datos / CONFIG
    tmp = datos / f".{CONFIG}.tmp"
    write_synced(tmp, ("\n".join(lines) + "\n").encode("utf-8"))
    tmp.replace(path)
    fsync_dir(datos)
    return path


def load(datos: Path) -> Config:
    """The settings ``prep difusor init`` wrote in ``datos``."""
    path = datos / CONFIG
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DifusorError(f"no hay {path}: ejecute primero «prep difusor init»") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DifusorError(f"no se pudo leer {path}: {exc}") from None
    try:
        limites = Limites(**{k: v for k, v in data.get("limites", {}).items()})
        return Config(origenes=tuple(data["origenes"]), huella=data["huella"],
                      raiz=Path(data["raiz"]), conservar=int(data.get("conservar", 3)),
                      intervalo=float(data.get("intervalo", 30.0)),
                      periodo=float(data.get("periodo", 20.0)),
                      ca=Path(data["ca"]) if "ca" in data else None,
                      reglas=Path(data["reglas"]) if "reglas" in data else None,
                      limites=limites)
    except (KeyError, TypeError, ValueError) as exc:
        raise DifusorError(f"{path} no es válido: {exc}") from None
