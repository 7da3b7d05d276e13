"""The Consejo's rules on when cortes are public (issue 28; docs/publicacion.md).

- **The window.** The Consejo fixes when the publication starts and ends (at most 24
  hours). It is kept in the database (table ``publicacion``, revision 0014) so that
  every process that can make a corte sees the same one: ``prep central serve``'s
  schedule, ``prep central corte`` and the dashboard. A coordinator fixes it with
  ``prep central ventana``; ``serve --publicacion-inicio`` fixes it when none is set
  and is refused when it says otherwise.
- **On demand, outside the window**, a corte is refused unless a coordinator gives an
  explicit reason (``--fuera-de-ventana --motivo``, or the dashboard's dialog); the
  corte then carries the audit event ``corte_outside_window``. A refusal is audited too
  (``corte_refused``).
- **Exactly one último corte.** Once a corte marked *último* is recorded
  (``publicacion.ultimo_corte``, event ``publication_closed``) no public corte is made,
  scheduled or on demand, until a coordinator reopens the publication with a reason
  (``publication_reopened``).

The checks run with the corte lock held (:func:`central.publication.corte.make_corte`),
so two cortes never both pass as the último, and what they read is what the corte that
follows is recorded against.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.audit import audit
from central.db.publicacion import CorteRow
from central.db.publicacion import Publicacion
from central.publication.publicar import CorteError
from prep.corte.anexo import TZ

MAX_MOTIVO = 500
MAX_HORAS = 24.0
SIN_VENTANA = "sin_ventana"
FUERA_DE_VENTANA = "fuera_de_ventana"
CERRADA = "publicacion_cerrada"
SIN_SEGUNDO = "sin_segundo_coordinador"
#: How a coordinator gives the reason, said in every refusal that an override can lift.
COMO_FORZAR = ("Si un coordinador debe publicarlo de todos modos, dé el motivo (queda en la "
               "bitácora): prep central corte --fuera-de-ventana --motivo «…», o el diálogo "
               "de «Corte ahora» en el tablero.")


class PublicacionRechazada(CorteError):
    """A public corte the Consejo's rules do not allow now; ``code`` says which rule
    (``sin_ventana``, ``fuera_de_ventana``, ``publicacion_cerrada``). Nothing was
    published."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def local(when: datetime) -> str:
    """``dd/mm/YYYY HH:MM`` in Mexico City time, as every operator reads the window."""
    return f"{when.astimezone(TZ):%d/%m/%Y %H:%M}"


@dataclass(frozen=True)
class EstadoPublicacion:
    """What the publication is now: the window (``None``: not fixed), the último corte
    in force (its directory and time) and the database's clock."""

    inicio: datetime | None
    fin: datetime | None
    ultimo_corte: str | None
    ultimo_corte_at: datetime | None
    ahora: datetime

    @property
    def cerrada(self) -> bool:
        return self.ultimo_corte is not None

    def dentro(self, at: datetime) -> bool:
        """``at`` is inside the window (its ends included)."""
        return self.inicio is not None and self.fin is not None \
            and self.inicio <= at <= self.fin

    def ventana_texto(self) -> str:
        if self.inicio is None or self.fin is None:
            return "el Consejo no ha fijado la ventana de publicación"
        return (f"del {local(self.inicio)} al {local(self.fin)} (hora del centro de "
                "México)")

    def texto(self) -> str:
        """The state in one Spanish paragraph (``prep central ventana``, the dashboard)."""
        ventana = self.ventana_texto()
        out = (f"Ventana de publicación: {ventana}." if self.inicio is not None
               else f"Ventana de publicación: {ventana} (prep central ventana --inicio …).")
        if self.cerrada and self.ultimo_corte_at is not None:
            out += (f" La publicación terminó con el último corte {self.ultimo_corte} "
                    f"({local(self.ultimo_corte_at)}): no se hacen más cortes públicos "
                    "salvo que se reabra con motivo (prep central reabrir-publicacion).")
        elif self.dentro(self.ahora):
            out += f" Son las {local(self.ahora)}: dentro de la ventana."
        else:
            out += f" Son las {local(self.ahora)}: fuera de la ventana."
        return out

    def to_json(self) -> dict[str, str | bool | None]:
        return {"inicio": _iso(self.inicio), "fin": _iso(self.fin),
                "ultimo_corte": self.ultimo_corte, "cerrada": self.cerrada,
                "dentro": self.dentro(self.ahora), "ahora": _iso(self.ahora)}


@dataclass(frozen=True)
class Peticion:
    """What a public corte asks of the rules: a scheduled tick (``programado_para``) or
    a coordinator's corte now, with the reason to publish outside the window
    (``fuera_de_ventana``) and, for the último corte, why it is the last
    (``motivo_ultimo``)."""

    programado_para: datetime | None = None
    fuera_de_ventana: str | None = None
    motivo_ultimo: str | None = None
    #: The second coordinator who confirmed a corte outside the window (their account
    #: id, from their own login: issue 62).
    segundo: str | None = None

    def __post_init__(self) -> None:
        # A bad reason is the coordinator's to fix before any corte starts (ValueError).
        for name in ("fuera_de_ventana", "motivo_ultimo"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, clean_motivo(value))
        if self.fuera_de_ventana is not None:
            motivo_sustancial(self.fuera_de_ventana)


def clean_motivo(text: str | None, *, what: str = "el motivo") -> str:
    """A coordinator's reason as audited: one line of printable text, required."""
    motivo = " ".join((text or "").split())
    if not motivo:
        raise ValueError(f"escriba {what}: queda en la bitácora de auditoría")
    if len(motivo) > MAX_MOTIVO or not motivo.isprintable():
        raise ValueError(f"{what} debe ser texto de hasta {MAX_MOTIVO} caracteres")
    return motivo


#: Reasons that say nothing (compared without accents, case or punctuation).
TRIVIALES = frozenset({"prueba", "pruebas", "test", "asdf", "qwerty", "ok", "si", "no",
                       "na", "n a", "nada", "corte", "urgente", "porque si", "ya",
                       "xxx", "x", "motivo", "sin motivo", "ninguno", "otro"})
MIN_MOTIVO_PALABRAS = 3
MIN_MOTIVO_LETRAS = 12


def motivo_sustancial(motivo: str) -> str:
    """``motivo`` if it can explain a corte outside the window to an auditor; else a
    Spanish :class:`ValueError`: at least :data:`MIN_MOTIVO_PALABRAS` words and
    :data:`MIN_MOTIVO_LETRAS` letters, not one of :data:`TRIVIALES`, not one character
    repeated."""
    plano = "".join(c for c in unicodedata.normalize("NFKD", motivo.lower())
                    if not unicodedata.combining(c))
    palabras = re.findall(r"[a-z]{2,}", plano)
    letras = [c for c in plano if c.isalpha()]
    if (" ".join(re.findall(r"[a-z0-9]+", plano)) in TRIVIALES
            or len(palabras) < MIN_MOTIVO_PALABRAS or len(letras) < MIN_MOTIVO_LETRAS
            or len(set(letras)) < 5):
        raise ValueError(
            f"el motivo «{motivo[:80]}» no explica el corte fuera de la ventana: escriba "
            "qué acuerdo del Consejo lo permite o qué se vio y quién lo pidió (al menos "
            f"{MIN_MOTIVO_PALABRAS} palabras; queda en la bitácora a su nombre)")
    return motivo


def leer_estado(session: Session) -> EstadoPublicacion:
    row = session.get(Publicacion, 1)
    if row is None:  # the migration inserts it; a database without it is not migrated
        raise CorteError("falta la fila de la tabla publicacion: migre la base de datos "
                         "(prep central init)")
    ultimo = at = None
    if row.ultimo_corte is not None:
        corte = session.get(CorteRow, row.ultimo_corte)
        if corte is not None:
            ultimo, at = corte.directorio, corte.corte_at
    ahora = session.scalar(select(func.now()))
    assert ahora is not None
    return EstadoPublicacion(row.inicio, row.fin, ultimo, at, ahora)


def estado(engine: Engine) -> EstadoPublicacion:
    with Session(engine) as session:
        return leer_estado(session)


def regla(estado: EstadoPublicacion, peticion: Peticion) -> str | None:
    """The reason that lets this corte be published outside the window (``None``: it is
    inside, or a scheduled tick); :class:`PublicacionRechazada` if the rules refuse it."""
    if estado.cerrada:
        raise PublicacionRechazada(CERRADA, (
            f"la publicación terminó con el último corte {estado.ultimo_corte} (" +
            (local(estado.ultimo_corte_at) if estado.ultimo_corte_at else "") + "): no se "
            "hacen más cortes públicos, ni programados ni a pedido, y no se hizo este. Si "
            "el Consejo acordó reabrirla, un coordinador lo hace con su motivo (queda en la "
            "bitácora): prep central reabrir-publicacion --motivo «…»"))
    programado = peticion.programado_para is not None
    at = peticion.programado_para or estado.ahora
    if estado.dentro(at):
        return None
    if programado:
        raise PublicacionRechazada(FUERA_DE_VENTANA, (
            f"el corte programado de las {local(at)} cae fuera de la ventana de "
            f"publicación ({estado.ventana_texto()}); no se hizo"))
    if peticion.fuera_de_ventana is not None:
        if peticion.segundo is None:
            raise PublicacionRechazada(SIN_SEGUNDO, (
                "un corte fuera de la ventana de publicación necesita que un segundo "
                "coordinador lo confirme con su propia sesión; no se hizo el corte"))
        return peticion.fuera_de_ventana
    if estado.inicio is None:
        raise PublicacionRechazada(SIN_VENTANA, (
            "el Consejo no ha fijado la ventana de publicación en este nodo central, así "
            "que no se hizo el corte. Fíjela con prep central ventana --inicio FECHA_HORA "
            f"[--horas H]. {COMO_FORZAR}"))
    cuando = "aún no empieza" if at < estado.inicio else "ya terminó"
    raise PublicacionRechazada(FUERA_DE_VENTANA, (
        f"son las {local(at)}, fuera de la ventana de publicación que fijó el Consejo "
        f"({estado.ventana_texto()}; {cuando}), así que no se hizo el corte. {COMO_FORZAR}"))


def autorizar(engine: Engine, peticion: Peticion, *, ultimo: bool, actor: str,
              motivo: str) -> str | None:
    """:func:`regla` against the state now; a refused corte asked for by a coordinator
    is audited (``corte_refused``: a scheduled one is only logged, its window and the
    último corte are audited already)."""
    state = estado(engine)
    try:
        return regla(state, peticion)
    except PublicacionRechazada as exc:
        if peticion.programado_para is None:
            with Session(engine) as session, session.begin():
                audit.emit(session, "corte_refused", actor=actor, detail={
                    "code": exc.code, "motivo": motivo, "ultimo": ultimo,
                    "reason": str(exc)[:1000], "inicio": _iso(state.inicio),
                    "fin": _iso(state.fin), "ultimo_corte": state.ultimo_corte})
        raise


def registrar(session: Session, row: CorteRow, peticion: Peticion | None,
              fuera_de_ventana: str | None, *, actor: str) -> None:
    """In the transaction that records the corte ``row``: audit the coordinator's
    reason when it was published outside the window, and end the publication when it
    is the último corte."""
    if fuera_de_ventana is not None:
        pub = session.get(Publicacion, 1)
        audit.emit(session, "corte_outside_window", actor=actor, detail={
            "corte": row.directorio, "corte_at": _iso(row.corte_at),
            "reason": fuera_de_ventana, "ultimo": row.ultimo,
            "segundo": peticion.segundo if peticion else None,
            "inicio": _iso(pub.inicio if pub else None),
            "fin": _iso(pub.fin if pub else None)})
    if not row.ultimo:
        return
    pub = session.get(Publicacion, 1, with_for_update=True)
    if pub is None:
        raise CorteError("falta la fila de la tabla publicacion: migre la base de datos")
    pub.ultimo_corte = row.id
    pub.changed_at = datetime.now(UTC)
    if peticion is not None and peticion.motivo_ultimo:
        reason = peticion.motivo_ultimo
    elif row.motivo == "programado":
        reason = "fin de la ventana de publicación"
    else:
        reason = "último corte a pedido"
    audit.emit(session, "publication_closed", actor=actor, detail={
        "corte": row.directorio, "corte_at": _iso(row.corte_at),
        "motivo": row.motivo, "reason": reason})


def fijar_ventana(engine: Engine, inicio: datetime, horas: float, *, actor: str,
                  motivo: str | None = None, origen: str = "ventana") -> EstadoPublicacion:
    """Fix the Consejo's window (audited ``publication_window_set``); changing one
    already fixed needs ``motivo``. The same window again changes nothing."""
    if inicio.tzinfo is None:
        raise ValueError("el inicio de la ventana de publicación necesita zona horaria")
    if not 0 < horas <= MAX_HORAS:
        raise ValueError("la ventana de publicación dura más de 0 y hasta 24 horas")
    fin = inicio + timedelta(hours=horas)
    with Session(engine) as session, session.begin():
        row = session.get(Publicacion, 1, with_for_update=True)
        if row is None:
            raise ValueError("falta la fila de la tabla publicacion: migre la base de datos "
                             "(prep central init)")
        if row.inicio == inicio and row.fin == fin:
            return leer_estado(session)
        reason = None
        if row.inicio is not None:
            if motivo is None:
                before = EstadoPublicacion(row.inicio, row.fin, None, None, inicio)
                raise ValueError(f"la ventana de publicación ya está fijada "
                                 f"({before.ventana_texto()}); para cambiarla dé el motivo "
                                 "(el acuerdo del Consejo): --motivo «…»")
            reason = clean_motivo(motivo)
        elif motivo is not None:
            reason = clean_motivo(motivo)
        audit.emit(session, "publication_window_set", actor=actor, detail={
            "inicio": _iso(inicio), "fin": _iso(fin),
            "anterior_inicio": _iso(row.inicio), "anterior_fin": _iso(row.fin),
            "reason": reason, "origen": origen})
        row.inicio, row.fin = inicio, fin
        row.changed_at = datetime.now(UTC)
        session.flush()
        return leer_estado(session)


def reabrir(engine: Engine, *, actor: str, motivo: str) -> str:
    """Reopen a publication ended by its último corte (audited
    ``publication_reopened``); the directory of the corte that had ended it."""
    reason = clean_motivo(motivo)
    with Session(engine) as session, session.begin():
        row = session.get(Publicacion, 1, with_for_update=True)
        if row is None or row.ultimo_corte is None:
            raise ValueError("la publicación no está cerrada (no se ha hecho el último "
                             "corte): no hay nada que reabrir")
        corte = session.get(CorteRow, row.ultimo_corte)
        directorio = corte.directorio if corte is not None else str(row.ultimo_corte)
        row.ultimo_corte = None
        row.changed_at = datetime.now(UTC)
        audit.emit(session, "publication_reopened", actor=actor, detail={
            "ultimo_corte": directorio, "reason": reason})
    return directorio


def _iso(when: datetime | None) -> str | None:
    """UTC ISO 8601, as every time in the audit log (whatever the session's zone)."""
    return when.astimezone(UTC).isoformat() if when is not None else None
