"""The head of the central's audit chain as published outside its database (issue 62).

The central's audit log is a hash chain (:mod:`central.audit.audit`), but the database's owner
can delete rows and link the rest again: the chain alone then still verifies. So each
signed corte's manifest carries the chain's head when the corte was made, one comment
line that ``sha256sum -c`` skips::

    # BITACORA eventos=1234 id=1240 sha256=<64 hex>

``eventos``: how many events the chain had; ``id``: the last one's id; ``sha256``: its
hash, which covers every event before it. The signed ``indice.json`` repeats each
corte's head, and difusores mirror both. A chain rewritten afterwards contradicts what
was already published: :func:`contrastar` says where.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prep.crypto import SignatureError
from prep.crypto import VerifyKey

PREFIJO = "# BITACORA "
_LINEA = re.compile(r"# BITACORA eventos=(\d{1,12}) id=(\d{1,19}) sha256=([0-9a-f]{64})")


@dataclass(frozen=True)
class Cabeza:
    """The audit chain's head: ``eventos`` events, the last with ``id`` and ``sha256``."""

    eventos: int
    id: int
    sha256: str

    def linea(self) -> str:
        """The manifest's line (without its line end)."""
        return f"{PREFIJO}eventos={self.eventos} id={self.id} sha256={self.sha256}"

    def to_json(self) -> dict[str, Any]:
        return {"eventos": self.eventos, "id": self.id, "sha256": self.sha256}

    @classmethod
    def from_json(cls, raw: Any) -> Cabeza:
        """From :meth:`to_json`'s form; ValueError if it is not one."""
        if not isinstance(raw, dict):
            raise ValueError("la cabeza de la bitácora no es un objeto")
        eventos, id_, sha = raw.get("eventos"), raw.get("id"), raw.get("sha256")
        if type(eventos) is not int or type(id_) is not int or not isinstance(sha, str) \
                or not re.fullmatch(r"[0-9a-f]{64}", sha) or eventos < 1 or id_ < 1:
            raise ValueError("la cabeza de la bitácora no tiene eventos, id y sha256")
        return cls(eventos, id_, sha)


def leer_linea(line: str) -> Cabeza | None:
    """The head in a manifest's line; ``None`` if the line is not a head line at all.
    A line that starts like one and is malformed raises ValueError."""
    if not line.startswith(PREFIJO):
        return None
    match = _LINEA.fullmatch(line)
    if match is None:
        raise ValueError("línea de la bitácora mal formada")
    return Cabeza(int(match.group(1)), int(match.group(2)), match.group(3))


def de_manifiesto(manifest: bytes) -> Cabeza | None:
    """The head a corte's manifest carries (``None``: a corte made before issue 62)."""
    for line in manifest.decode("utf-8", "replace").splitlines():
        if line.startswith(PREFIJO):
            try:
                return leer_linea(line)
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class Publicada:
    """A head and where it was published (``«corte 20270606_2310»``, the anchor file)."""

    cabeza: Cabeza
    origen: str


@dataclass(frozen=True)
class Contraste:
    """The chain (its rows' ids and hashes, in order) against the published heads."""

    coinciden: int
    contradichas: tuple[Publicada, ...]
    hallazgo: str  # Spanish; empty when every head matches

    @property
    def ok(self) -> bool:
        return not self.contradichas


def contrastar(filas: Sequence[tuple[int, str]], cabezas: Sequence[Publicada]) -> Contraste:
    """Check that the chain ``filas`` (``(id, sha256)`` in chain order) holds every
    published head at its place: the ``eventos``-th row has that id and hash. A head's
    hash covers the whole chain before it, so a row deleted, added or changed at or
    before a head contradicts it. The finding names the range between the last head
    that still holds and could be on the chain the first contradicted head published
    (:func:`_puede_preceder`), and that head."""
    ordenadas = sorted(cabezas, key=lambda p: (p.cabeza.eventos, p.origen))
    buenas: list[Publicada] = []
    malas: list[Publicada] = []
    for publicada in ordenadas:
        c = publicada.cabeza
        fila = filas[c.eventos - 1] if c.eventos <= len(filas) else None
        (buenas if fila == (c.id, c.sha256) else malas).append(publicada)
    if not malas:
        return Contraste(len(buenas), (), "")
    primera = malas[0]
    antes = [b for b in buenas if _puede_preceder(b.cabeza, primera.cabeza)]
    desde = (f"después del evento n.º {antes[-1].cabeza.eventos} (id {antes[-1].cabeza.id}, "
             f"que coincide con {antes[-1].origen})" if antes else "desde el primer evento")
    c = primera.cabeza
    if c.eventos > len(filas):
        que = (f"la base de datos tiene {len(filas)} eventos y {primera.origen} publicó que "
               f"la bitácora ya tenía {c.eventos}")
    else:
        que = (f"{primera.origen} publicó que el evento n.º {c.eventos} era el id {c.id} con "
               f"huella {c.sha256[:16]}…; la base de datos tiene ahí el id "
               f"{filas[c.eventos - 1][0]} con otra huella")
    hallazgo = (f"la bitácora de la base de datos NO es la que se publicó: se borraron, "
                f"agregaron o cambiaron eventos {desde} y hasta el n.º {c.eventos} (id "
                f"{c.id}): {que}. {len(malas)} de {len(ordenadas)} cabezas publicadas no "
                "coinciden")
    return Contraste(len(buenas), tuple(malas), hallazgo)


def _puede_preceder(antes: Cabeza, despues: Cabeza) -> bool:
    """``antes`` can be a head of the chain ``despues`` published, earlier in it. Ids
    grow along the chain, so the ``despues.eventos - antes.eventos`` events after it
    take at least as many ids up to ``despues.id``. A head that holds and fails this was
    taken from the chain after it was rewritten (a running ``serve`` copies the head to
    its anchor every few seconds; a corte made since): it vouches for the rewritten
    chain, not for where the published one still holds."""
    return (antes.eventos < despues.eventos
            and antes.id <= despues.id - (despues.eventos - antes.eventos))


#: The signed index's name and its signature's, in a publication directory
#: (central.publication.feed writes them).
INDICE = "indice.json"
MAX_INDICE_BYTES = 64 * 2**20


def de_indice(publicacion: Path, llave: VerifyKey) -> tuple[list[Publicada], str]:
    """The heads the signed ``indice.json`` of ``publicacion`` published, one per corte
    that carries one, if its signature verifies with ``llave``; and a Spanish problem
    (empty when none: an index that does not verify is not believed)."""
    path = publicacion / INDICE
    try:
        if path.stat().st_size > MAX_INDICE_BYTES:
            return [], f"{path} excede {MAX_INDICE_BYTES // 2**20} MiB"
        data = path.read_bytes()
        firma = (publicacion / f"{INDICE}.sig").read_bytes()
    except FileNotFoundError:
        return [], ""
    except OSError as exc:
        return [], f"no se pudo leer {path}: {exc}"
    try:
        llave.verify(firma[:1024], data)
    except SignatureError:
        return [], f"{path}: su firma no verifica con la llave del nodo central"
    try:
        cortes = json.loads(data)["cortes"]
        out = [Publicada(Cabeza.from_json(c["bitacora"]), f"el corte {c['nombre']}")
               for c in cortes if isinstance(c, dict) and "bitacora" in c]
    except (ValueError, KeyError, TypeError) as exc:
        return [], f"{path}: contenido mal formado ({exc})"
    return out, ""
