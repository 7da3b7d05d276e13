"""The acta lifecycle as a pure function: events in, acta states out.

An acta's state is a fold of the stations' records about it (acopio, sin acta, imagen,
captura, verificación, ilegible, cotejo), in the order the central accepted their batches, less
the records ingest quarantined (``docs/pipeline.md``). Nothing else goes in: not the
leases (ingest checks them once, as it stores a record), not the central's clock beyond
each record's arrival time. Nothing here touches a database: ingest folds each batch
over the states it loads (:mod:`central.pipeline.apply`) and ``prep central
rebuild-state`` folds the whole history from scratch (:mod:`central.pipeline.rebuild`);
both must end equal.

What a fold cannot accept is never an error: the record stays stored (records are
facts) and the fold returns a :class:`Note`, which ingest raises as an anomaly.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from typing import Any

from prep.records import Kind
from prep.values import Captura
from prep.values import Resultado
from prep.values import conciliar


class Estado(enum.StrEnum):
    """Where an acta stands (stable strings: stored, shown and published)."""

    ESPERADA = "esperada"
    ACOPIADA = "acopiada"
    SIN_ACTA = "sin_acta"
    DIGITALIZADA = "digitalizada"
    CAPTURA_1 = "captura_1"  # one capture counted; the second is due
    CAPTURA_2 = "captura_2"  # two captures that differ; a third is due
    CAPTURA_3 = "captura_3"  # three captures: resolved at once (validada or verificacion)
    VERIFICACION = "verificacion"
    VALIDADA = "validada"  # the values to publish are settled (see ActaState.correccion)
    REDIGITALIZACION = "redigitalizacion"
    FUERA_DE_CATALOGO = "fuera_de_catalogo"


#: States whose acta waits for a capture (the capture queue).
EN_CAPTURA = frozenset({Estado.DIGITALIZADA, Estado.CAPTURA_1, Estado.CAPTURA_2})
#: States in which a capturista or verificador may declare the image unreadable.
LEGIBLE_PENDIENTE = EN_CAPTURA | {Estado.VERIFICACION}
#: The capture slot a lease of an acta in each capture state is for.
SLOT = {Estado.DIGITALIZADA: 1, Estado.CAPTURA_1: 2, Estado.CAPTURA_2: 3}

CAPTURA = "captura"
VERIFICACION = "verificacion"

# Anomaly types a fold can raise (central.audit.anomalies; at most 32 characters).
OPERADOR_REPETIDO = "operador_repetido"
CAPTURA_SOBRANTE = "captura_sobrante"
CAPTURA_IMAGEN_REEMPLAZADA = "captura_imagen_reemplazada"
CAPTURA_CAMPOS_INVALIDOS = "captura_campos_invalidos"
ACOPIO_DUPLICADO = "acopio_duplicado"
ACOPIO_TRAS_SIN_ACTA = "acopio_tras_sin_acta"
SIN_ACTA_EN_CONFLICTO = "sin_acta_en_conflicto"
IMAGEN_TRAS_SIN_ACTA = "imagen_tras_sin_acta"
ILEGIBLE_OBSOLETO = "ilegible_obsoleto"
COTEJO_SIN_PUBLICAR = "cotejo_sin_publicar"  # the acta has no validated data to check
COTEJO_EN_CORRECCION = "cotejo_en_correccion"  # a correction round is already open
COTEJO_CAMPOS_INVALIDOS = "cotejo_campos_invalidos"  # names fields the acta lacks
COTEJO_REPETIDO = "cotejo_repetido"  # the published data was already confirmed
NOTE_TYPES = (OPERADOR_REPETIDO, CAPTURA_SOBRANTE, CAPTURA_IMAGEN_REEMPLAZADA,
              CAPTURA_CAMPOS_INVALIDOS, ACOPIO_DUPLICADO, ACOPIO_TRAS_SIN_ACTA,
              SIN_ACTA_EN_CONFLICTO, IMAGEN_TRAS_SIN_ACTA, ILEGIBLE_OBSOLETO,
              COTEJO_SIN_PUBLICAR, COTEJO_EN_CORRECCION, COTEJO_CAMPOS_INVALIDOS,
              COTEJO_REPETIDO)


@dataclass(frozen=True, slots=True)
class ActaInfo:
    """What the catalog says about an acta: its CATD, its election and its fields."""

    distrito: int
    eleccion: str
    campos: tuple[str, ...]


#: CLAVE_ACTA → its catalog entry, or ``None`` for an acta the catalog does not hold.
Lookup = Callable[[str], ActaInfo | None]


# --- facts kept in an acta's state --------------------------------------------------

@dataclass(frozen=True, slots=True)
class Acopio:
    """The acopio that made the acta *acopiada* (the first one), with what its record
    says of the paquete (``prep.paquete`` tokens; ``None``: the record does not say,
    as from a station older than those fields)."""

    record: str
    station: str
    operator: str
    at: datetime
    received_at: datetime
    traslado: str | None = None
    tipo_documento: str | None = None


@dataclass(frozen=True, slots=True)
class SinActa:
    """The package came without its acta, and why."""

    record: str
    causa: str
    station: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Imagen:
    """One image of the acta; every image is kept, in arrival order."""

    record: str
    sha256: str
    bytes: int
    media_type: str
    origen: str
    digitalizacion: str
    station: str
    operator: str
    at: datetime
    received_at: datetime
    replaces: str | None


@dataclass(frozen=True, slots=True)
class Contribucion:
    """A capture or a verificador's decision that counted (blind: each stands alone)."""

    record: str
    kind: str  # CAPTURA or VERIFICACION
    ronda: int  # which image round it was made in (see ActaState.ronda)
    slot: int  # 1-3 for captures, 0 for a verification
    lease: str | None  # the lease the record names (None: made without one)
    operator: str
    station: str
    valores: dict[str, int | str]
    image: str | None
    at: datetime
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Validacion:
    """The data published for the acta: who decided it and from which image."""

    fuente: str  # CAPTURA (2 of 2 or 2 of 3 captures agree) or VERIFICACION
    record: str  # the capture or verification that settled it
    at: datetime
    received_at: datetime
    valores: dict[str, int | str]
    imagen: str | None  # the image record the captures were made on
    origen: str | None
    digitalizacion: str | None


@dataclass(frozen=True, slots=True)
class Cotejo:
    """A cotejo that confirmed the published data against the paper acta (COTEJADA)."""

    record: str
    station: str
    operator: str
    at: datetime
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Correccion:
    """A correction round: a cotejo found the published data different from the paper
    acta. The acta is captured again, blind, in image round ``ronda`` by operators who
    never worked on it, while its published data stays as it was; the round's
    validation replaces it. Kept after that round validates, as the reason of the
    change (``diferencias.json``) until another cotejo finds a difference."""

    record: str  # the cotejo that opened it
    station: str
    operator: str
    at: datetime
    received_at: datetime
    campos: tuple[str, ...]  # the fields the cotejo said differ (may be empty)
    motivo: str | None
    ronda: int  # the image round of the new captures


@dataclass(frozen=True, slots=True)
class Cotejado:
    """A cotejo the fold accepted, kept for the acta's public history: ``ronda`` is the
    correction round it opened, ``None`` when it confirmed the published data."""

    record: str
    ronda: int | None


@dataclass(frozen=True, slots=True)
class ActaState:
    """One acta's state. ``ronda`` counts the images that have been the one captured
    from: a re-digitalización starts a new round and earlier captures stop counting."""

    clave: str
    en_catalogo: bool
    distrito: int | None
    eleccion: str
    estado: Estado
    orden_at: datetime | None = None  # queue order: acopio time, else first image's
    ronda: int = 0
    imagen_actual: str | None = None  # the image record captures are made from
    acopio: Acopio | None = None
    sin_acta: SinActa | None = None
    validacion: Validacion | None = None
    imagenes: tuple[Imagen, ...] = ()
    contribuciones: tuple[Contribucion, ...] = ()
    cotejo: Cotejo | None = None  # the published data matched the paper acta
    correccion: Correccion | None = None  # the last correction round, open or not
    cotejos: tuple[Cotejado, ...] = ()  # every accepted cotejo, in order

    @property
    def en_correccion(self) -> bool:
        """Whether a correction round is open: the acta waits for new captures (or a
        verification) while ``validacion`` stays published."""
        return self.correccion is not None and self.estado is not Estado.VALIDADA

    def capturas_de_ronda(self) -> tuple[Contribucion, ...]:
        """The captures that count now: this round's, in slot order."""
        return tuple(c for c in self.contribuciones
                     if c.kind == CAPTURA and c.ronda == self.ronda)

    def imagen(self, record: str | None) -> Imagen | None:
        return next((i for i in self.imagenes if i.record == record), None)

    def operadores(self) -> frozenset[str]:
        """Who may no longer capture or verify the acta: whoever did, and the operator
        whose cotejo opened the correction round under way."""
        mine = frozenset(c.operator for c in self.contribuciones)
        if self.en_correccion:
            assert self.correccion is not None
            return mine | {self.correccion.operator}
        return mine

    def holds(self, record: str) -> bool:
        """Whether ``record`` is already part of this state (applied before)."""
        return (self.acopio is not None and self.acopio.record == record) \
            or (self.sin_acta is not None and self.sin_acta.record == record) \
            or any(i.record == record for i in self.imagenes) \
            or any(c.record == record for c in self.contribuciones) \
            or (self.cotejo is not None and self.cotejo.record == record) \
            or (self.correccion is not None and self.correccion.record == record) \
            or any(c.record == record for c in self.cotejos)


@dataclass(frozen=True, slots=True)
class Fuera:
    """An acopio of a code that resolved to no catalog acta (``fuera_de_catalogo``)."""

    record: str
    station: str
    operator: str
    codigo_leido: str
    eleccion: str
    at: datetime
    received_at: datetime


def initial(clave: str, info: ActaInfo | None) -> ActaState:
    """A catalog acta nobody has reported yet (*esperada*), or an acta outside the
    catalog as first reported (*fuera de catálogo*)."""
    if info is None:
        return ActaState(clave, False, None, clave[-2:], Estado.FUERA_DE_CATALOGO)
    return ActaState(clave, True, info.distrito, info.eleccion, Estado.ESPERADA)


# --- events ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RecordEvent:
    """A station record, as stored (``received_at`` is the central's clock)."""

    id: str
    station: str
    operator: str
    kind: Kind
    at: datetime
    received_at: datetime
    body: Mapping[str, Any]
    replaces: str | None = None

    @property
    def clave(self) -> str | None:
        clave = self.body.get("clave_acta")
        return clave if isinstance(clave, str) else None


Event = RecordEvent

#: Record kinds that move acta states (heartbeats do not).
PIPELINE_KINDS = frozenset({Kind.ACOPIO, Kind.SIN_ACTA, Kind.IMAGEN, Kind.CAPTURA,
                            Kind.VERIFICACION, Kind.ILEGIBLE, Kind.COTEJO})


@dataclass(frozen=True, slots=True)
class Note:
    """Something a fold ignored that the coordinator should see (an anomaly)."""

    type: str
    station: str
    detail: dict[str, Any]


# --- the fold ----------------------------------------------------------------------

@dataclass
class Folded:
    """The outcome of :func:`fold`."""

    actas: dict[str, ActaState]
    fuera: dict[str, Fuera] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)


#: Ingest's gate (central.pipeline.authorize.Gate.admit): whether an event may be
#: folded, given the states so far. ``rebuild-state`` needs none: the events it reads
#: already leave out the records ingest quarantined.
Admit = Callable[[RecordEvent, Mapping[str, ActaState]], bool]


def fold(events: Iterable[Event], lookup: Lookup,
         actas: Mapping[str, ActaState] | None = None, admit: Admit | None = None) -> Folded:
    """Apply ``events`` in order to ``actas`` (left untouched; the result holds the new
    states), skipping those ``admit`` refuses. An acta not in ``actas`` starts from
    :func:`initial`."""
    out = Folded(dict(actas or {}))
    for event in events:
        if admit is not None and not admit(event, out.actas):
            continue
        if event.kind is Kind.ACOPIO and event.body.get("fuera_de_catalogo") is True:
            out.fuera[event.id] = Fuera(event.id, event.station, event.operator,
                                        str(event.body["codigo_leido"]),
                                        str(event.body["eleccion"]), event.at,
                                        event.received_at)
            continue
        clave = event.clave
        if clave is None or event.kind not in PIPELINE_KINDS:
            continue
        info = lookup(clave)
        acta = out.actas.get(clave) or initial(clave, info)
        acta, notes = apply_event(acta, event, info)
        out.actas[clave] = acta
        out.notes.extend(notes)
    return out


Step = tuple[ActaState, tuple[Note, ...]]


def apply_event(acta: ActaState, event: Event, info: ActaInfo | None) -> Step:
    """The acta after one event, and what to tell the coordinator about it."""
    if acta.holds(event.id):
        # Applying a record twice changes nothing (a batch journaled before a partial
        # restore of the records, sent again).
        return acta, ()
    if not acta.en_catalogo:
        return _fuera(acta, event), ()
    if event.kind is Kind.ACOPIO:
        return _acopio(acta, event)
    if event.kind is Kind.SIN_ACTA:
        return _sin_acta(acta, event)
    if event.kind is Kind.IMAGEN:
        return _imagen(acta, event)
    if event.kind in (Kind.CAPTURA, Kind.VERIFICACION):
        assert info is not None  # en_catalogo
        return _contribucion(acta, event, info)
    if event.kind is Kind.ILEGIBLE:
        return _ilegible(acta, event)
    if event.kind is Kind.COTEJO:
        assert info is not None  # en_catalogo
        return _cotejo(acta, event, info)
    return acta, ()


def _fuera(acta: ActaState, event: RecordEvent) -> ActaState:
    """An acta outside the catalog keeps its first acopio and its images, nothing else
    (its captures are stored as records, but there is no catalog layout to check them
    against nor anything to publish beyond its registration)."""
    if event.kind is Kind.ACOPIO and acta.acopio is None:
        return replace(acta, acopio=_acopio_of(event), orden_at=event.at)
    if event.kind is Kind.IMAGEN:
        return replace(acta, imagenes=(*acta.imagenes, _imagen_of(event)))
    return acta


def _acopio(acta: ActaState, event: RecordEvent) -> Step:
    acopio = _acopio_of(event)
    if acta.estado is Estado.ESPERADA:
        return replace(acta, estado=Estado.ACOPIADA, acopio=acopio, orden_at=event.at), ()
    if acta.estado is Estado.SIN_ACTA:
        # The acta turned up after all (or the sin acta was a mistake being corrected).
        assert acta.sin_acta is not None
        notes = () if event.replaces == acta.sin_acta.record else (
            _note(ACOPIO_TRAS_SIN_ACTA, event, sin_acta=acta.sin_acta.record,
                  causa=acta.sin_acta.causa),)
        return replace(acta, estado=Estado.ACOPIADA, acopio=acopio, sin_acta=None,
                       orden_at=event.at), notes
    if acta.acopio is None:
        # Its PREP Casilla image arrived before the paper reached its CATD.
        return replace(acta, acopio=acopio, orden_at=event.at), ()
    return acta, (_note(ACOPIO_DUPLICADO, event, first=acta.acopio.record,
                        first_station=acta.acopio.station),)


def _sin_acta(acta: ActaState, event: RecordEvent) -> Step:
    sin_acta = SinActa(event.id, str(event.body["causa"]), event.station, event.at)
    if acta.estado is Estado.ESPERADA:
        return replace(acta, estado=Estado.SIN_ACTA, sin_acta=sin_acta), ()
    if acta.estado is Estado.SIN_ACTA and acta.sin_acta is not None \
            and event.replaces == acta.sin_acta.record:
        return replace(acta, sin_acta=sin_acta), ()  # the cause, corrected
    if acta.estado is Estado.ACOPIADA and acta.acopio is not None \
            and event.replaces == acta.acopio.record:
        # The acopio was a mistake: the package came without its acta.
        return replace(acta, estado=Estado.SIN_ACTA, sin_acta=sin_acta, acopio=None,
                       orden_at=None), ()
    return acta, (_note(SIN_ACTA_EN_CONFLICTO, event, estado=acta.estado.value),)


def _imagen(acta: ActaState, event: RecordEvent) -> Step:
    imagen = _imagen_of(event)
    acta = replace(acta, imagenes=(*acta.imagenes, imagen))
    if acta.imagen_actual is None and acta.estado is not Estado.VALIDADA:
        notes: tuple[Note, ...] = ()
        if acta.estado is Estado.SIN_ACTA:
            assert acta.sin_acta is not None
            notes = (_note(IMAGEN_TRAS_SIN_ACTA, event, sin_acta=acta.sin_acta.record),)
        return replace(acta, estado=Estado.DIGITALIZADA, imagen_actual=imagen.record,
                       ronda=acta.ronda + 1, sin_acta=None,
                       orden_at=acta.orden_at or event.at), notes
    if event.replaces is not None and event.replaces == acta.imagen_actual \
            and acta.estado in LEGIBLE_PENDIENTE:
        # Re-scanned before validation: captures start over on the new image.
        return replace(acta, estado=Estado.DIGITALIZADA, imagen_actual=imagen.record,
                       ronda=acta.ronda + 1), ()
    # Another image of an acta already digitized (PREP Casilla and CATD, or a re-scan
    # after validation): kept and linked; the acta is processed once.
    return acta, ()


def _contribucion(acta: ActaState, event: RecordEvent, info: ActaInfo) -> Step:
    """A capture or verification counts when its operator has none on this acta yet,
    the acta waits for one, it was made on the acta's current image and its fields are
    the catalog's. Which capture slot it fills is the order of arrival: two operators
    whose leases overlapped (one expired during an outage) are two blind captures."""
    kind = CAPTURA if event.kind is Kind.CAPTURA else VERIFICACION
    lease = event.body.get("lease")
    if event.operator in acta.operadores():
        return acta, (_note(OPERADOR_REPETIDO, event, kind=kind),)
    due = acta.estado in EN_CAPTURA if kind == CAPTURA else acta.estado is Estado.VERIFICACION
    if not due:
        return acta, (_note(CAPTURA_SOBRANTE, event, kind=kind, estado=acta.estado.value,
                            lease=lease),)
    if not _on_current_image(acta, event):
        return acta, (_note(CAPTURA_IMAGEN_REEMPLAZADA, event, kind=kind, lease=lease),)
    valores = event.body["valores"]
    if set(valores) != set(info.campos):
        return acta, (_note(CAPTURA_CAMPOS_INVALIDOS, event, kind=kind, lease=lease,
                            faltan=sorted(set(info.campos) - set(valores)),
                            sobran=sorted(set(valores) - set(info.campos))),)
    slot = len(acta.capturas_de_ronda()) + 1 if kind == CAPTURA else 0
    contribucion = Contribucion(event.id, kind, acta.ronda, slot, lease,
                                event.operator, event.station, dict(valores),
                                acta.imagen_actual, event.at, event.received_at)
    acta = replace(acta, contribuciones=(*acta.contribuciones, contribucion))
    if kind == VERIFICACION:
        return _validada(acta, VERIFICACION, contribucion), ()
    return _conciliada(acta, contribucion), ()


def _conciliada(acta: ActaState, latest: Contribucion) -> ActaState:
    """Reconcile this round's captures (prep.values.conciliar) after ``latest``."""
    capturas = acta.capturas_de_ronda()
    conciliacion = conciliar([Captura.from_json(c.valores) for c in capturas])
    if conciliacion.resultado is Resultado.FALTA_CAPTURA_2:
        return replace(acta, estado=Estado.CAPTURA_1)
    if conciliacion.resultado is Resultado.FALTA_CAPTURA_3:
        return replace(acta, estado=Estado.CAPTURA_2)
    if conciliacion.resultado is Resultado.VERIFICACION:
        return replace(acta, estado=Estado.VERIFICACION)
    assert conciliacion.captura is not None
    return _validada(acta, CAPTURA, latest, conciliacion.captura.to_json())


def _validada(acta: ActaState, fuente: str, decisiva: Contribucion,
              valores: Mapping[str, int | str] | None = None) -> ActaState:
    imagen = acta.imagen(acta.imagen_actual)
    return replace(acta, estado=Estado.VALIDADA, validacion=Validacion(
        fuente, decisiva.record, decisiva.at, decisiva.received_at,
        dict(valores if valores is not None else decisiva.valores), acta.imagen_actual,
        imagen.origen if imagen else None, imagen.digitalizacion if imagen else None))


def _on_current_image(acta: ActaState, event: RecordEvent) -> bool:
    actual = acta.imagen(acta.imagen_actual)
    return actual is not None and actual.sha256 == event.body.get("imagen_sha256")


def _ilegible(acta: ActaState, event: RecordEvent) -> Step:
    """An operator found the current image unreadable: scan the acta again, or capture
    an image that arrived after it. A complaint about an image already replaced (or an
    acta no longer waiting) changes nothing."""
    if acta.estado not in LEGIBLE_PENDIENTE or not _on_current_image(acta, event):
        return acta, (_note(ILEGIBLE_OBSOLETO, event, estado=acta.estado.value,
                            lease=event.body.get("lease")),)
    later = _images_after(acta, acta.imagen_actual)
    if later:
        # The acta already holds an image newer than the unreadable one (the station
        # re-scanned before the complaint reached the central, or the other origin's
        # image came later): it is captured at once, in a new round, instead of
        # waiting for a scan nobody will make again.
        return replace(acta, estado=Estado.DIGITALIZADA, imagen_actual=later[-1].record,
                       ronda=acta.ronda + 1), ()
    return replace(acta, estado=Estado.REDIGITALIZACION, imagen_actual=None), ()


def _images_after(acta: ActaState, record: str | None) -> tuple[Imagen, ...]:
    """The acta's images that arrived after image ``record``, in arrival order."""
    for i, imagen in enumerate(acta.imagenes):
        if imagen.record == record:
            return acta.imagenes[i + 1:]
    return ()


def _cotejo(acta: ActaState, event: RecordEvent, info: ActaInfo) -> Step:
    """The published data checked against the paper acta. Only a validated acta's data
    can be checked, outside a correction round: any other cotejo is kept and raises a
    note. ``coincide`` confirms the data (COTEJADA); a difference opens a correction
    round on the acta's current image: new blind captures, the usual reconciliation,
    while the data stays published until the round validates."""
    coincide = event.body.get("coincide") is True
    if acta.en_correccion:
        return acta, (_note(COTEJO_EN_CORRECCION, event, estado=acta.estado.value,
                            coincide=coincide),)
    if acta.estado is not Estado.VALIDADA:
        return acta, (_note(COTEJO_SIN_PUBLICAR, event, estado=acta.estado.value,
                            coincide=coincide),)
    campos = tuple(str(c) for c in event.body.get("campos") or ())
    ajenos = sorted(set(campos) - set(info.campos))
    if ajenos:
        return acta, (_note(COTEJO_CAMPOS_INVALIDOS, event, coincide=coincide,
                            campos=ajenos),)
    if coincide:
        if acta.cotejo is not None:
            return acta, (_note(COTEJO_REPETIDO, event, primero=acta.cotejo.record),)
        return replace(acta, cotejo=Cotejo(event.id, event.station, event.operator,
                                           event.at, event.received_at),
                       cotejos=(*acta.cotejos, Cotejado(event.id, None))), ()
    motivo = event.body.get("motivo")
    correccion = Correccion(event.id, event.station, event.operator, event.at,
                            event.received_at, campos,
                            None if motivo is None else str(motivo), acta.ronda + 1)
    return replace(acta, estado=Estado.DIGITALIZADA, ronda=correccion.ronda, cotejo=None,
                   correccion=correccion,
                   cotejos=(*acta.cotejos, Cotejado(event.id, correccion.ronda))), ()


def _acopio_of(event: RecordEvent) -> Acopio:
    traslado, documento = event.body.get("traslado"), event.body.get("tipo_documento")
    return Acopio(event.id, event.station, event.operator, event.at, event.received_at,
                  None if traslado is None else str(traslado),
                  None if documento is None else str(documento))


def _imagen_of(event: RecordEvent) -> Imagen:
    b = event.body
    return Imagen(event.id, str(b["sha256"]), int(b["bytes"]), str(b["media_type"]),
                  str(b["origen"]), str(b["digitalizacion"]), event.station, event.operator,
                  event.at, event.received_at, event.replaces)


def _note(type_: str, event: RecordEvent, **detail: Any) -> Note:
    return Note(type_, event.station, {"record": event.id, "clave_acta": event.clave,
                                       "operator": event.operator, **detail})
