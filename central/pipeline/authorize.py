"""Who may record what: every record of a batch is checked at ingest before it may move
an acta (``docs/pipeline.md``, "Who may record what").

A batch's signature only says which station sent it. A station key can be stolen, so
the central also checks, for each record, what the station and the operator it names
are entitled to: the operator exists, is enabled, works at the station's site and has
the role for that kind of record; an acopio, sin acta, image or cotejo is about an acta
of the station's CATD; a capture, verification or *ilegible* was done under a lease the
central handed that operator at that station on that acta, and arrived at most
:data:`LEASE_GRACE` after the lease ran out (the offline case: work typed on a
prefetched lease while the link was down). Two captures of one station never count in
the same image round, live leases or not, and a verification counts only from a station
that made none of the round's captures (:meth:`Gate.admit`); a verification or an
*ilegible* (each decides the acta's round alone) counts only through a live lease: a
stolen key never decides an acta by itself.

A record that fails stays stored (records are facts) and is *quarantined*: a row of
``quarantined_records`` with the reason, written in the transaction that stores it, and
an anomaly of the same type. It never reaches the fold, here nor in ``rebuild-state``
(which skips the quarantined rows), so the acta states still follow from stored data
alone. The batch itself is accepted: refusing it would block the station's outbox
behind one record.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

from sqlalchemy import Table
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from central.audit.anomalies import add_anomaly
from central.db.actas import Lease
from central.db.estaciones import Operator
from central.db.lotes import QuarantinedRecord
from central.pipeline.state import EN_CAPTURA
from central.pipeline.state import LEGIBLE_PENDIENTE
from central.pipeline.state import ActaState
from central.pipeline.state import Estado
from central.pipeline.state import Lookup
from central.pipeline.state import RecordEvent
from central.stations.catd_distritos import assigned
from central.stations.catd_distritos import catd_of
from prep.canonical import JsonValue
from prep.qr import ENTIDAD_CAPACITACION
from prep.qr import CodeRejected
from prep.qr import es_de_capacitacion
from prep.qr import is_acta_code
from prep.qr import parse_code
from prep.records import Kind
from prep.records import Record

log = logging.getLogger("central.pipeline")

#: How long after its expiry a lease still vouches for work done under it: the work of a
#: station whose link was down while the operator typed on prefetched leases. Beyond it
#: the record is quarantined (``lease_vencido``); the acta went back to the queue when
#: the lease expired.
LEASE_GRACE = timedelta(hours=1)
#: The operator of the central's own PREP Casilla intake records (central.pipeline.intake.ACTOR).
INTAKE_OPERATOR = "prep central import-casilla"

# Why a record is quarantined; each is also the type of the anomaly it raises.
OPERADOR_DESCONOCIDO = "operador_desconocido"
OPERADOR_DESHABILITADO = "operador_deshabilitado"
OPERADOR_OTRO_SITIO = "operador_otro_sitio"
OPERADOR_SIN_ROL = "operador_sin_rol"
REGISTRO_NO_ADMITIDO = "registro_no_admitido"  # not a kind this station makes
ACTA_DE_OTRO_CATD = "acta_de_otro_catd"
TRABAJO_SIN_LEASE = "trabajo_sin_lease"
LEASE_VENCIDO = "lease_vencido"
CAPTURA_MISMA_ESTACION = "captura_misma_estacion"
VERIFICACION_MISMA_ESTACION = "verificacion_misma_estacion"
VERIFICACION_SIN_LEASE_VIVO = "verificacion_sin_lease_vivo"
ILEGIBLE_SIN_LEASE_VIVO = "ilegible_sin_lease_vivo"
CODIGO_NO_ES_ACTA = "codigo_no_es_acta"  # a misread registered fuera de catálogo
IMAGEN_TIPO_DISTINTO = "imagen_tipo_distinto"  # the record's media_type is not the blob's
#: A practice acta (training mode, issue 62): its CLAVE_ACTA names the practice entidad
#: or the code it was read from carries the training mark. Never a real acta's record.
ACTA_DE_CAPACITACION = "acta_de_capacitacion"
#: A cotejo by an operator who captured or verified the acta: nobody checks their own work.
COTEJO_OPERADOR_DEL_ACTA = "cotejo_operador_del_acta"
REASONS = (OPERADOR_DESCONOCIDO, OPERADOR_DESHABILITADO, OPERADOR_OTRO_SITIO,
           OPERADOR_SIN_ROL, REGISTRO_NO_ADMITIDO, ACTA_DE_OTRO_CATD, TRABAJO_SIN_LEASE,
           LEASE_VENCIDO, CAPTURA_MISMA_ESTACION, VERIFICACION_MISMA_ESTACION,
           VERIFICACION_SIN_LEASE_VIVO, ILEGIBLE_SIN_LEASE_VIVO, CODIGO_NO_ES_ACTA,
           IMAGEN_TIPO_DISTINTO, COTEJO_OPERADOR_DEL_ACTA, ACTA_DE_CAPACITACION)
#: Raised (not quarantined) for a capture (or an ilegible of an image already replaced)
#: admitted under a lease that was no longer live: made offline on a lease that expired,
#: or ended, meanwhile.
CAPTURA_SIN_LEASE = "captura_sin_lease"

#: The operator roles that make each kind of record (the CATD workstation's screens).
ROLES: dict[Kind, frozenset[str]] = {
    Kind.ACOPIO: frozenset({"acopiador", "coordinador"}),
    Kind.SIN_ACTA: frozenset({"acopiador", "coordinador"}),
    Kind.IMAGEN: frozenset({"digitalizador", "coordinador"}),
    Kind.CAPTURA: frozenset({"capturista"}),
    Kind.VERIFICACION: frozenset({"verificador"}),
    Kind.ILEGIBLE: frozenset({"capturista", "verificador"}),
    # Checking published data against the paper is the verificador's (or the
    # coordinador's) work, never a capturista's (docs/pipeline.md, "Cotejo").
    Kind.COTEJO: frozenset({"verificador", "coordinador"}),
}
#: Kinds checked here; a heartbeat names no operator and moves nothing.
CHECKED_KINDS = frozenset(ROLES)
_LEASED = frozenset({Kind.CAPTURA, Kind.VERIFICACION, Kind.ILEGIBLE})
#: The records each kind of station makes: the CCV captures and verifies, a CATD does
#: everything; the central's intake station only brings PREP Casilla photos.
_KINDS_AT = {"catd": CHECKED_KINDS, "ccv": _LEASED}

LEASES = cast(Table, Lease.__table__)
QUARANTINED = cast(Table, QuarantinedRecord.__table__)
_OPERATORS = select(Operator.id, Operator.role, Operator.sitio, Operator.enabled)
_LEASE_COLUMNS = (LEASES.c.id, LEASES.c.clave_acta, LEASES.c.kind, LEASES.c.operator,
                  LEASES.c.station, LEASES.c.status, LEASES.c.expires_at)
_QUARANTINE = insert(QUARANTINED).on_conflict_do_nothing()
#: The records that add to an acta's round, with the reason one is quarantined when its
#: station already made one of the round's captures, and the states they are due in.
_DECIDING = {Kind.CAPTURA: (CAPTURA_MISMA_ESTACION, EN_CAPTURA),
             Kind.VERIFICACION: (VERIFICACION_MISMA_ESTACION,
                                 frozenset({Estado.VERIFICACION}))}
# The record ends the lease it names (checked in Gate.check: its operator's, at this
# station, on that acta, still active): ``completed``, ``ilegible`` for an ilegible, or
# ``released`` if the fold's gate quarantined the record.
_END_LEASES = text("""
    UPDATE leases AS l SET status = v.status, ended_at = clock_timestamp(),
                           record_id = v.record_id
    FROM unnest(CAST(:records AS uuid[]), CAST(:leases AS uuid[]),
                CAST(:statuses AS varchar[])) AS v(record_id, lease, status)
    WHERE l.id = v.lease AND l.station = :station AND l.status = 'active'
""")


@dataclass(frozen=True)
class Sender:
    """The station that signed the batch, as the database knows it."""

    station: str
    role: str  # catd or ccv
    sitio: str  # CATD number ("07") or "CCV"
    intake: bool = False  # the central's own PREP Casilla intake station
    #: The real type of each stored blob the batch's image records name (sha256 → type,
    #: from the blob's first bytes): a record may not publish a JPEG as ``.png``.
    blob_types: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the checks said of one record: ``reason`` ``None`` is admitted; ``live``:
    it ends a live lease (the central handed this operator the acta and nobody since)."""

    reason: str | None = None
    live: bool = False
    detail: Mapping[str, JsonValue] = field(default_factory=dict)


_ADMITTED = Verdict()


class Gate:
    """The checks of one batch, inside its ingest transaction: :meth:`check` every
    record, fold with :meth:`admit` as the fold's gate, then :meth:`end_leases` and
    :meth:`report` (quarantine rows and anomalies)."""

    def __init__(self, session: Session, sender: Sender, received_at: datetime,
                 lookup: Lookup) -> None:
        self.session = session
        self.sender = sender
        self.received_at = received_at
        self.lookup = lookup
        self.verdicts: dict[str, Verdict] = {}
        self.records: dict[str, Record] = {}

    # state-free checks -----------------------------------------------------------------

    def check(self, records: Sequence[Record]) -> None:
        """Judge each record on what it is, who made it, where and under which lease
        (the leases it names are locked until the transaction ends)."""
        records = [r for r in records if r.kind in CHECKED_KINDS]
        if not records:
            return
        operators = {o.id: o for o in self.session.execute(
            _OPERATORS.where(Operator.id.in_(sorted({r.operator for r in records}))))}
        named = sorted({lease for r in records
                        if isinstance(lease := r.body.get("lease"), str)})
        leases = {str(row.id): row for row in self.session.execute(
            select(*_LEASE_COLUMNS).where(LEASES.c.id.in_(named)).order_by(LEASES.c.id)
            .with_for_update())} if named else {}
        table = assigned(self.session) if self.sender.role == "catd" else {}
        used: set[str] = set()
        for r in records:
            self.records[r.id] = r
            # Practice material is refused whoever sends it (issue 62).
            self.verdicts[r.id] = (_refuse(ACTA_DE_CAPACITACION) if _de_capacitacion(r)
                                   else self._verdict(r, operators, leases, table, used))

    def _verdict(self, r: Record, operators: Mapping[str, Any], leases: Mapping[str, Any],
                 table: Mapping[int, int], used: set[str]) -> Verdict:
        sender = self.sender
        if sender.intake:
            if r.kind is not Kind.IMAGEN or r.body.get("origen") != "CASILLA":
                return _refuse(REGISTRO_NO_ADMITIDO, estacion="recepcion_casilla")
            if r.operator != INTAKE_OPERATOR:
                return _refuse(OPERADOR_DESCONOCIDO)
            return _ADMITTED
        if r.kind not in _KINDS_AT.get(sender.role, frozenset()):
            return _refuse(REGISTRO_NO_ADMITIDO, estacion=sender.role)
        operator = operators.get(r.operator)
        if operator is None:
            return _refuse(OPERADOR_DESCONOCIDO)
        if not operator.enabled:
            return _refuse(OPERADOR_DESHABILITADO)
        if operator.sitio != sender.sitio:
            return _refuse(OPERADOR_OTRO_SITIO, sitio_operador=operator.sitio,
                           sitio_estacion=sender.sitio)
        if operator.role not in ROLES[r.kind]:
            return _refuse(OPERADOR_SIN_ROL, rol=operator.role)
        if r.kind is Kind.IMAGEN and (wrong := self._wrong_type(r)) is not None:
            return wrong
        if r.kind not in _LEASED:
            return self._in_scope(r, table)
        return self._leased(r, leases, used)

    def _wrong_type(self, r: Record) -> Verdict | None:
        declared = r.body.get("media_type")
        real = self.sender.blob_types.get(str(r.body.get("sha256")))
        if real is None or real == declared:
            return None
        return _refuse(IMAGEN_TIPO_DISTINTO, declarado=str(declared), real=real)

    def _in_scope(self, r: Record, table: Mapping[int, int]) -> Verdict:
        """An acopio, sin acta, image or cotejo: an acta its CATD receives. A code the
        catalog does not hold names no distrito (it is recorded fuera de catálogo), but it
        must still be written as an acta code: a misread is noise, not an acta."""
        if r.kind is Kind.ACOPIO and r.body.get("fuera_de_catalogo") is True:
            codigo = r.body.get("codigo_leido")
            if not isinstance(codigo, str) or not is_acta_code(codigo):
                return _refuse(CODIGO_NO_ES_ACTA)
        clave = r.body.get("clave_acta")
        info = self.lookup(clave) if isinstance(clave, str) else None
        if info is None or self.sender.role != "catd":
            return _ADMITTED
        catd = catd_of(info.distrito, table)
        if catd != int(self.sender.sitio):
            return _refuse(ACTA_DE_OTRO_CATD, distrito=info.distrito, catd=catd)
        return _ADMITTED

    def _leased(self, r: Record, leases: Mapping[str, Any], used: set[str]) -> Verdict:
        """A capture, verification or ilegible: under a lease of its operator at this
        station on that acta (of that kind; an ilegible either), at most LEASE_GRACE
        past the lease's expiry. The first record naming a live lease ends it."""
        lease_id = r.body.get("lease")
        lease = leases.get(lease_id) if isinstance(lease_id, str) else None
        if lease is None or lease.operator != r.operator \
                or lease.station != self.sender.station \
                or lease.clave_acta != r.body.get("clave_acta") \
                or (r.kind is not Kind.ILEGIBLE and lease.kind != r.kind.value):
            return _refuse(TRABAJO_SIN_LEASE, lease=lease_id)
        if self.received_at > lease.expires_at + LEASE_GRACE:
            return _refuse(LEASE_VENCIDO, lease=lease_id,
                           expires_at=lease.expires_at.isoformat())
        live = lease.status == "active" and lease_id not in used
        if live:
            used.add(str(lease_id))
        elif r.kind is Kind.VERIFICACION:
            return _refuse(VERIFICACION_SIN_LEASE_VIVO, lease=lease_id, status=lease.status)
        # The lease's end, for admit (an ilegible's) and the anomalies of offline work.
        return Verdict(live=live, detail={} if live else {"lease": lease_id,
                                                          "status": lease.status})

    def end_leases(self) -> None:
        """End the live leases the records name, after the fold (bookkeeping: the
        states never read leases, but a grant must not hand the acta out again). One
        whose record the fold's gate quarantined is ``released``: its acta goes back to
        the queue at once, for another station."""
        live = [(self.records[i], v) for i, v in self.verdicts.items() if v.live]
        if not live:
            return
        self.session.execute(_END_LEASES, {
            "station": self.sender.station, "records": [r.id for r, _ in live],
            "leases": [r.body["lease"] for r, _ in live],
            "statuses": ["released" if v.reason is not None
                         else "ilegible" if r.kind is Kind.ILEGIBLE else "completed"
                         for r, v in live]})

    # the fold's gate -------------------------------------------------------------------

    def admit(self, event: RecordEvent, actas: Mapping[str, ActaState]) -> bool:
        """Whether ``event`` may reach the fold, given the states so far (what the
        fold would ignore anyway passes: it says why). A cotejo by an operator who
        captured or verified the acta is quarantined (``cotejo_operador_del_acta``). A
        capture is quarantined when this image round already counts one from the same station
        (``captura_misma_estacion``), and a verification when the station made any of
        the round's captures (``verificacion_misma_estacion``), live leases or not: one
        station's key and two of its site's accounts never decide an acta. An ilegible
        that would send the acta back to digitalización must come through a live lease
        (``ilegible_sin_lease_vivo``): it would throw away the round's captures, made
        since by other stations."""
        verdict = self.verdicts.get(event.id)
        if verdict is None:
            return True
        if verdict.reason is not None:
            return False
        acta = actas.get(event.clave or "")
        refusal = None if acta is None else _deciding_alone(event, verdict, acta)
        if refusal is None:
            return True
        self.verdicts[event.id] = Verdict(refusal[0], verdict.live, refusal[1])
        return False

    # the trace ---------------------------------------------------------------------------

    def report(self) -> None:
        """Quarantine the refused records and raise their anomalies; raise
        ``captura_sin_lease`` for work admitted under a lease no longer live."""
        refused = [(self.records[i], v) for i, v in self.verdicts.items() if v.reason]
        if refused:
            self.session.execute(_QUARANTINE, [
                {"record_id": r.id, "station": r.station, "kind": r.kind.value,
                 "reason": v.reason, "detail": dict(v.detail), "at": self.received_at}
                for r, v in refused])
            counts = Counter(str(v.reason) for _, v in refused)
            log.warning("%s: %d registros en cuarentena (%s)", self.sender.station,
                        len(refused), ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
        for r, v in refused:
            add_anomaly(self.session, str(v.reason), r.station, {**_about(r), **v.detail})
        for r_id, v in self.verdicts.items():
            r = self.records[r_id]
            if v.reason is None and not v.live and r.kind in _LEASED:
                add_anomaly(self.session, CAPTURA_SIN_LEASE, r.station,
                            {**_about(r), "lease": r.body.get("lease")})


def _deciding_alone(event: RecordEvent, verdict: Verdict,
                    acta: ActaState) -> tuple[str, Mapping[str, JsonValue]] | None:
    """Why ``event`` (admitted by :meth:`Gate.check`) would let one station decide
    ``acta``'s round, if it would."""
    if event.kind is Kind.COTEJO:
        if any(c.operator == event.operator for c in acta.contribuciones):
            return COTEJO_OPERADOR_DEL_ACTA, {"estado": acta.estado.value}
        return None
    if event.kind is Kind.ILEGIBLE:
        if verdict.live or acta.estado not in LEGIBLE_PENDIENTE:
            return None
        imagen = acta.imagen(acta.imagen_actual)
        if imagen is None or imagen.sha256 != event.body.get("imagen_sha256"):
            return None  # about an image already replaced: ilegible_obsoleto
        return ILEGIBLE_SIN_LEASE_VIVO, verdict.detail
    if event.kind not in _DECIDING:
        return None
    reason, due = _DECIDING[event.kind]
    if acta.estado not in due or event.operator in acta.operadores():
        return None  # not due, or operador_repetido
    mine = [c.record for c in acta.capturas_de_ronda() if c.station == event.station]
    return (reason, {"otra_captura": mine[0]}) if mine else None


def _refuse(reason: str, **detail: JsonValue) -> Verdict:
    return Verdict(reason, False, detail)


def _about(r: Record) -> dict[str, JsonValue]:
    clave = r.body.get("clave_acta")
    return {"record": r.id, "clave_acta": clave if isinstance(clave, str) else None,
            "operator": r.operator, "kind": r.kind.value}


def _de_capacitacion(r: Record) -> bool:
    """Whether ``r`` is about a practice acta (:mod:`prep.qr`: the practice entidad, or
    the training mark on the code read)."""
    clave = r.body.get("clave_acta")
    if isinstance(clave, str) and clave.startswith(f"{ENTIDAD_CAPACITACION:02d}"):
        return True
    codigo = r.body.get("codigo_leido")
    if not isinstance(codigo, str):
        return False
    try:
        return es_de_capacitacion(parse_code(codigo))
    except CodeRejected:
        return False
