"""Reading acta codes (QR or typed CLAVE_ACTA) and writing our own acopio label QR.

The payload of the official acta QR is not public, so formats are pluggable
(:class:`CodeFormat`). Built in:

- the public simulacro generator's pipe form
  ``ID_ENTIDAD|ID_DISTRITO|TIPO_ACTA|SECCION|ID_CASILLA|TIPO_CASILLA|EXT_CONTIGUA|ID_TIPO_CANDIDATURA``;
- the compact CLAVE_ACTA (``090123B010001``), optionally quoted as in the published CSV;
- our acopio label ``PREP1|<CLAVE_ACTA>``;
- a *practice* acta's QR (training mode, :mod:`prep.capacitacion`):
  ``CAPACITACION|`` before the pipe form, for an acta of the practice catalog, whose
  entidad :data:`ENTIDAD_CAPACITACION` no real catalog has. Only a training station's
  codec (over a practice catalog) accepts it; every other refuses it (issue 62: a
  practice image dropped in a real scanner folder became a real acta's image).

Keyboard-wedge readers emulate a US keyboard; on a Spanish (Spain or Latin America) OS
the separator keys arrive as other characters (``|`` as ``Ç`` or ``]``, ``'`` as ``{``...)
and Caps Lock may invert letters. :func:`normalize` undoes that: any single non-ASCII-
alphanumeric character between fields is a separator. Nothing is ever guessed beyond
that; a code that does not resolve to exactly one catalog acta is rejected with a reason.
"""

from __future__ import annotations

import enum
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from typing import Protocol

import segno

from prep.catalog.model import Acta
from prep.catalog.model import Catalog
from prep.catalog.model import clave_casilla

MAX_CODE_CHARS = 256
LABEL_PREFIX = "PREP1"
#: The training mark that starts a practice acta's QR.
TRAINING_PREFIX = "CAPACITACION"
#: The entidad of every practice catalog: no entidad of Mexico (01–32) has it, so a
#: practice CLAVE_ACTA never names a real acta.
ENTIDAD_CAPACITACION = 99


class Motivo(enum.StrEnum):
    """Why a code was rejected (stable ids for audit events)."""

    VACIO = "vacio"
    DEMASIADO_LARGO = "demasiado_largo"
    ILEGIBLE = "ilegible"
    OTRA_ENTIDAD = "otra_entidad"
    ELECCION_DESCONOCIDA = "eleccion_desconocida"
    TIPO_ACTA_NO_CORRESPONDE = "tipo_acta_no_corresponde"
    DISTRITO_NO_CORRESPONDE = "distrito_no_corresponde"
    FUERA_DE_CATALOGO = "fuera_de_catalogo"
    CAPACITACION = "acta_de_capacitacion"
    NO_ES_DE_CAPACITACION = "no_es_de_capacitacion"


class CodeRejected(ValueError):
    """A code that names no catalog acta. ``mensaje`` is for the operator (Spanish).

    ``clave_leida`` is the CLAVE_ACTA the code spelled out when it was well formed, so the
    acta can still be registered *fuera de catálogo*.
    """

    def __init__(self, motivo: Motivo, mensaje: str, clave_leida: str | None = None) -> None:
        super().__init__(mensaje)
        self.motivo = motivo
        self.mensaje = mensaje
        self.clave_leida = clave_leida


@dataclass(frozen=True, slots=True)
class ParsedCode:
    """The fields a code spells out, before checking them against the catalog."""

    entidad: int
    seccion: int
    tipo_casilla: str
    id_casilla: int
    ext_contigua: int
    eleccion: str
    distrito: int | None = None
    tipo_acta: str | None = None
    #: It carries the training mark (or names the practice entidad).
    capacitacion: bool = False

    @property
    def clave_acta(self) -> str:
        return clave_casilla(self.entidad, self.seccion, self.tipo_casilla, self.id_casilla,
                             self.ext_contigua) + self.eleccion


class CodeFormat(Protocol):
    """A way to write an acta's identity in a QR; ``parse`` returns None if not this form."""

    name: str

    def parse(self, tokens: Sequence[str], compact: str) -> ParsedCode | None: ...


_DIGITS = re.compile(r"\d{1,4}")
_COMPACT = re.compile(r"(\d{2})(\d{4})([A-Z])(\d{2})(\d{2})(\d{2})")


class PipeFormat:
    """The public simulacro generator's eight pipe-separated fields."""

    name = "pipe"

    def parse(self, tokens: Sequence[str], compact: str) -> ParsedCode | None:
        if len(tokens) != 8:
            return None
        entidad, distrito, tipo_acta, seccion, id_cas, tipo, ext, cand = tokens
        numeric = (entidad, distrito, seccion, id_cas, ext, cand)
        if not all(_DIGITS.fullmatch(t) for t in numeric) or not re.fullmatch(r"[A-Z]", tipo):
            return None
        if len(entidad) > 2 or len(distrito) > 3 or len(id_cas) > 2 or len(ext) > 2 \
                or len(cand) > 2 or not re.fullmatch(r"[A-Z0-9]{1,2}", tipo_acta):
            return None
        return ParsedCode(int(entidad), int(seccion), tipo, int(id_cas), int(ext),
                          f"{int(cand):02d}", int(distrito), tipo_acta.lstrip("0") or "0")


class CompactFormat:
    """CLAVE_ACTA as published (``'090123B010001'``), typed or scanned."""

    name = "clave_acta"

    def parse(self, tokens: Sequence[str], compact: str) -> ParsedCode | None:
        m = _COMPACT.fullmatch(compact)
        if m is None:
            return None
        ent, sec, tipo, id_cas, ext, elec = m.groups()
        return ParsedCode(int(ent), int(sec), tipo, int(id_cas), int(ext), elec)


class LabelFormat:
    """Our acopio label: ``PREP1|<CLAVE_ACTA>``."""

    name = "etiqueta"

    def parse(self, tokens: Sequence[str], compact: str) -> ParsedCode | None:
        if len(tokens) != 2 or tokens[0] != LABEL_PREFIX:
            return None
        return CompactFormat().parse((), tokens[1])


class TrainingFormat:
    """A practice acta's QR: :data:`TRAINING_PREFIX` and then the pipe form (or a
    CLAVE_ACTA), marked ``capacitacion`` whatever entidad it names."""

    name = "capacitacion"

    def parse(self, tokens: Sequence[str], compact: str) -> ParsedCode | None:
        if not tokens or tokens[0] != TRAINING_PREFIX:
            return None
        parsed = (PipeFormat().parse(tokens[1:], compact) if len(tokens) == 9
                  else CompactFormat().parse((), compact.removeprefix(TRAINING_PREFIX)))
        return None if parsed is None else replace(parsed, capacitacion=True)


DEFAULT_FORMATS: tuple[CodeFormat, ...] = (TrainingFormat(), LabelFormat(), PipeFormat(),
                                           CompactFormat())


def es_de_capacitacion(parsed: ParsedCode) -> bool:
    """A practice acta: the training mark, or the practice entidad."""
    return parsed.capacitacion or parsed.entidad == ENTIDAD_CAPACITACION


def training_qr_text(pipe: str) -> str:
    """The QR of a practice acta whose pipe form is ``pipe``."""
    return f"{TRAINING_PREFIX}|{pipe}"


ACTA_DE_CAPACITACION = ("Es un acta de CAPACITACIÓN (de práctica), no un acta de la "
                        "elección: no se registra. Apártela y avise al coordinador; las "
                        "actas de práctica solo sirven en una estación de capacitación.")


def normalize(raw: str) -> tuple[list[str], str]:
    """Undo keyboard-wedge damage: (fields split at separators, all alphanumerics joined).

    Letters are upper-cased (Caps Lock), surrounding whitespace and control characters
    (the reader's suffix) dropped; every other non-ASCII-alphanumeric character is a
    separator, whatever the OS layout turned ``|`` into.
    """
    text = unicodedata.normalize("NFC", raw).strip()
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    # Split before upper-casing: some separators upper-case to ASCII letters (ß → SS).
    tokens = [t.upper() for t in re.split(r"[^A-Za-z0-9]", text)]
    compact = "".join(tokens)
    return tokens, compact


def parse_code(raw: str, formats: Sequence[CodeFormat] = DEFAULT_FORMATS) -> ParsedCode:
    """The fields of a well-formed code, not yet checked against any catalog; raises
    :class:`CodeRejected` (``vacio``, ``demasiado_largo``, ``ilegible``)."""
    if len(raw) > MAX_CODE_CHARS:
        raise CodeRejected(Motivo.DEMASIADO_LARGO,
                           f"El código leído tiene {len(raw)} caracteres; un QR de acta "
                           f"tiene menos de {MAX_CODE_CHARS}. Vuelva a escanear el QR.")
    tokens, compact = normalize(raw)
    if not compact:
        raise CodeRejected(Motivo.VACIO, "No se leyó ningún código. Vuelva a escanear el "
                           "QR del acta o escriba su CLAVE_ACTA.")
    for fmt in formats:
        parsed = fmt.parse(tokens, compact)
        if parsed is not None:
            return parsed
    raise CodeRejected(Motivo.ILEGIBLE, "El código leído no es un QR de acta ni una "
                       "CLAVE_ACTA (11 caracteres de casilla + 2 de elección). Vuelva a "
                       "escanear el QR o escriba la clave impresa en el acta.")


def printable_code(text: str) -> str:
    """What was read, safe to store and show: no control characters, bounded."""
    return "".join(ch for ch in text.strip() if ch.isprintable())[:MAX_CODE_CHARS]


def is_acta_code(text: str, formats: Sequence[CodeFormat] = DEFAULT_FORMATS) -> bool:
    """Whether ``text`` is written as an acta code of the institute's formats (a QR
    payload, our label, or a CLAVE_ACTA), whatever the catalog holds.

    Only such a code may be registered *fuera de catálogo*: a misread (``XK93&&zz!!``)
    names no acta at all, and registering it would make an acta out of noise. Station
    and central both ask this before keeping a fuera-de-catálogo acopio.
    """
    try:
        parse_code(text, formats)
    except CodeRejected:
        return False
    return True


class ActaCodec:
    """Resolves codes to catalog actas; the only way codes enter the suite."""

    def __init__(self, catalog: Catalog, formats: Sequence[CodeFormat] = DEFAULT_FORMATS):
        self.catalog = catalog
        self.formats = tuple(formats)

    def parse(self, raw: str) -> ParsedCode:
        """The fields of a well-formed code, not yet checked against the catalog."""
        return parse_code(raw, self.formats)

    def decode(self, raw: str) -> Acta:
        """The catalog acta a scanned or typed code names, or :class:`CodeRejected`."""
        p = self.parse(raw)
        cat = self.catalog
        clave = p.clave_acta
        training = cat.entidad_id == ENTIDAD_CAPACITACION
        if es_de_capacitacion(p) and not training:
            # Never offered as fuera de catálogo either: no clave_leida.
            raise CodeRejected(Motivo.CAPACITACION, ACTA_DE_CAPACITACION)
        if training and not es_de_capacitacion(p):
            raise CodeRejected(Motivo.NO_ES_DE_CAPACITACION,
                               "Esta es una estación de CAPACITACIÓN: solo acepta las actas "
                               "de práctica (con la marca CAPACITACIÓN). Un acta de la "
                               "elección se procesa en una estación real; apártela.")
        if p.entidad != cat.entidad_id:
            raise CodeRejected(Motivo.OTRA_ENTIDAD,
                               f"El acta es de la entidad {p.entidad:02d}, no de "
                               f"{cat.entidad_id:02d} ({cat.entidad}). Apártela y avise al "
                               "coordinador.", clave)
        eleccion = cat.eleccion_por_codigo.get(p.eleccion)
        if eleccion is None:
            conocidas = ", ".join(f"{e.codigo} {e.nombre}" for e in cat.elecciones)
            raise CodeRejected(Motivo.ELECCION_DESCONOCIDA,
                               f"La elección {p.eleccion} no se cuenta en este PREP "
                               f"({conocidas}). Revise el acta.", clave)
        acta = cat.acta(clave)
        if acta is None:
            raise CodeRejected(Motivo.FUERA_DE_CATALOGO,
                               f"La casilla {clave[:11]} (sección {p.seccion:04d}, "
                               f"{p.tipo_casilla}{p.id_casilla:02d}) no está en el catálogo. "
                               "Verifique el acta; si es correcta, regístrela como fuera de "
                               "catálogo.", clave)
        if p.distrito is not None and p.distrito != acta.casilla.distrito_id:
            raise CodeRejected(Motivo.DISTRITO_NO_CORRESPONDE,
                               f"El QR dice distrito {p.distrito:02d}, pero la casilla "
                               f"{acta.casilla.clave} es del distrito "
                               f"{acta.casilla.distrito_id:02d}. Avise al coordinador.", clave)
        if p.tipo_acta is not None and p.tipo_acta != acta.tipo_acta:
            raise CodeRejected(Motivo.TIPO_ACTA_NO_CORRESPONDE,
                               f"El QR dice tipo de acta {p.tipo_acta}, pero la elección "
                               f"{eleccion.nombre} usa el tipo {acta.tipo_acta} en las "
                               f"casillas de tipo {acta.casilla.tipo}. Avise al "
                               "coordinador.", clave)
        return acta


def label_payload(acta: Acta) -> str:
    """The text of our acopio label QR for ``acta``."""
    return f"{LABEL_PREFIX}|{acta.clave}"


def label_qr_png(acta: Acta, scale: int = 6) -> bytes:
    """The acopio label QR as PNG bytes (error correction M, quiet zone kept)."""
    buf = io.BytesIO()
    segno.make(label_payload(acta), error="m", micro=False).save(buf, kind="png", scale=scale)
    return buf.getvalue()
