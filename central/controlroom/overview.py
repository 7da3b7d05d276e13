"""What the control room sees, read in one consistent snapshot (Qt-free).

:func:`read_overview` runs a handful of set-based statements in one REPEATABLE READ,
READ ONLY transaction over a plain psycopg connection (the dashboard's read-only role;
the reports use the central's own connection). Nothing here writes.

Phases of an acta, counted per CATD (the acta's distrito) and elección, cumulative:

- ``esperadas``: catalog actas; ``acopiadas``: with an acopio or a *sin acta*;
- ``digitalizadas``: with an image to capture from, or already validated
  (``redigitalizacion`` waits for a new image, so it is not counted);
- ``capturadas``: at least one capture counted (``captura_1`` onwards);
- ``validadas``: values settled; ``publicadas``: validated and published by a corte
  (``actas_publicadas``: the first corte that did), i.e. with data in the last published
  corte. An acta in a correction round (a cotejo found a difference) keeps its published
  data while it is captured again: it stays validated (and published), not "in capture".

A CATD is *behind* (``rezagado``) when its % validadas is below the state's % validadas
by more than ``Settings.rezago_puntos`` points, *far behind* (``muy_rezagado``) past
twice that. The CCV owns no actas: its row counts the actas with a PREP Casilla image
(received), captured at a CCV station, and validated with a CCV capture.
"""

from __future__ import annotations

import base64
import csv
import io
import tomllib
from collections import defaultdict
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import orjson
import psycopg

# Re-exported: the reports name anomalies the same way.
from central.controlroom.anomaly_text import anomaly_label as anomaly_label

PHASES = ("esperadas", "acopiadas", "digitalizadas", "capturadas", "validadas",
          "publicadas")
PHASE_LABELS = {"esperadas": "Esperadas", "acopiadas": "Acopiadas",
                "digitalizadas": "Digitalizadas", "capturadas": "Capturadas",
                "validadas": "Validadas", "publicadas": "Publicadas"}
#: Throughput series: phase → label (actas entering the phase per bucket).
FLOW_LABELS = {"acopio": "Acopio", "digitalizacion": "Digitalización",
               "captura": "Captura", "validacion": "Validación"}
BUCKET = timedelta(minutes=10)
FLOW_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)  # buckets start on the 10 minutes
ANOMALY_LIMIT = 500
CORTE_LIMIT = 200
ACK_EVENT = "anomaly_acknowledged"


@dataclass(frozen=True)
class Settings:
    """What the control room tunes: when a site is behind, when a station is offline,
    how far back the throughput charts go, and what it marks amber or red (a station's
    clock skew and backlog, a capturista's or a site's rate of discrepancies)."""

    rezago_puntos: float = 10.0
    en_linea: timedelta = timedelta(minutes=5)
    ventana: timedelta = timedelta(hours=12)
    desfase_alerta_s: float = 5.0
    #: A station with more records than this waiting to be sent is marked amber.
    pendientes_alerta: int = 100
    #: % of discrepant captures marked amber, and red.
    discrepancias_aviso_pct: float = 5.0
    discrepancias_alerta_pct: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.rezago_puntos <= 100:
            raise ValueError("el umbral de rezago debe estar entre 0 y 100 puntos")
        if self.en_linea <= timedelta(0) or self.ventana <= timedelta(0):
            raise ValueError("los intervalos deben ser positivos")
        if self.pendientes_alerta < 0:
            raise ValueError("el umbral de registros por enviar no puede ser negativo")
        if not 0 <= self.discrepancias_aviso_pct <= self.discrepancias_alerta_pct <= 100:
            raise ValueError("los umbrales de discrepancias deben ir de 0 a 100 % y el de "
                             "aviso no pasar del de alerta")

    def discrepancias_tone(self, tasa: float) -> str | None:
        """The tone of a rate of discrepancies (%): ``error``, ``warn`` or none."""
        if tasa >= self.discrepancias_alerta_pct:
            return "error"
        return "warn" if tasa >= self.discrepancias_aviso_pct else None


@dataclass(frozen=True)
class Counts:
    """Cumulative phase counts of a set of actas."""

    esperadas: int = 0
    acopiadas: int = 0
    digitalizadas: int = 0
    capturadas: int = 0
    validadas: int = 0
    publicadas: int = 0

    def get(self, phase: str) -> int:
        return int(getattr(self, phase))

    def pct(self, phase: str) -> float | None:
        """``phase`` as a % of esperadas (None without esperadas)."""
        return self.get(phase) * 100.0 / self.esperadas if self.esperadas else None

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(self.get(p) + other.get(p) for p in PHASES))


@dataclass(frozen=True)
class SiteRow:
    """One CATD (or the CCV) for the selected elección."""

    sitio: str  # "01".."33" or "CCV"
    nombre: str
    counts: Counts
    situacion: str  # "al_dia", "rezagado", "muy_rezagado", "sin_actas", "ccv"
    pct_validadas: float | None


@dataclass(frozen=True)
class StationRow:
    """One enrolled station and its health."""

    station: str
    role: str
    sitio: str
    hostname: str
    enabled: bool
    online: bool
    last_seen: datetime | None
    version: str | None
    backlog: int | None
    clock_skew_s: float | None
    last_error: str | None


@dataclass(frozen=True)
class DifusorRow:
    """A difusor given alta and what it last reported (issue 30): the corte it serves,
    and how far that is behind the central's latest (``atraso_cortes``: cortes published
    since; ``atraso_minutos``: between the two cortes' times), or its error."""

    id: str
    nombre: str
    url: str
    enabled: bool
    registrado: datetime | None
    corte: str | None
    reportado: datetime | None
    error: str | None
    atraso_cortes: int | None  # None: it serves no corte the central knows
    atraso_minutos: float | None

    @property
    def estado(self) -> str:
        """``de_baja``, ``sin_registrar``, ``sin_reporte``, ``con_error``, ``al_dia`` or
        ``atrasado``."""
        if not self.enabled:
            return "de_baja"
        if self.registrado is None:
            return "sin_registrar"
        if self.reportado is None:
            return "sin_reporte"
        if self.error:
            return "con_error"
        return "al_dia" if self.atraso_cortes == 0 else "atrasado"


@dataclass(frozen=True)
class AnomalyRow:
    """One anomaly and, once acknowledged, who did it, when and with which note."""

    id: int
    type: str
    station: str | None
    detail: Mapping[str, Any]
    at: datetime
    acknowledged: bool
    ack_by: str | None = None
    ack_at: datetime | None = None
    ack_note: str | None = None


@dataclass(frozen=True)
class OperatorErrors:
    """An operator's captures on validated actas and how many disagreed with the
    validated values."""

    operator: str
    nombre: str
    sitio: str
    capturas: int
    discrepantes: int

    @property
    def tasa(self) -> float:
        return self.discrepantes * 100.0 / self.capturas if self.capturas else 0.0


@dataclass(frozen=True)
class CorteInfo:
    """One published corte as listed in ``cortes``."""

    id: int
    corte_at: datetime
    directorio: str
    manifiesto_sha256: str
    motivo: str
    ultimo: bool
    actas_esperadas: int
    actas_capturadas: int
    actas_contabilizadas: int
    seconds: float


@dataclass(frozen=True)
class Overview:
    """Everything on the dashboard, as of ``taken_at`` (the database's clock)."""

    taken_at: datetime
    catalog_version: int
    elecciones: tuple[tuple[str, str], ...]  # (codigo, nombre)
    distritos: Mapping[int, str]  # id → cabecera
    progress: Mapping[tuple[str, str], Counts]  # (sitio, eleccion) → counts
    throughput: Mapping[str, Sequence[tuple[datetime, int]]]  # phase → buckets
    stations: tuple[StationRow, ...]
    anomalies: tuple[AnomalyRow, ...]
    anomaly_types: Mapping[str, tuple[int, int]]  # type → (pendientes, total)
    capturistas: tuple[OperatorErrors, ...]
    cortes: tuple[CorteInfo, ...]
    settings: Settings = field(default_factory=Settings)
    simulacro: bool = False  # a drill's central (prep central init --simulacro)
    difusores: tuple[DifusorRow, ...] = ()

    @property
    def last_corte(self) -> CorteInfo | None:
        return self.cortes[0] if self.cortes else None

    @property
    def pending_anomalies(self) -> int:
        return sum(p for p, _ in self.anomaly_types.values())

    def counts(self, sitio: str, eleccion: str | None = None) -> Counts:
        """A site's counts for one elección, or all (None)."""
        if eleccion is not None:
            return self.progress.get((sitio, eleccion), Counts())
        total = Counts()
        for codigo, _ in self.elecciones:
            total += self.progress.get((sitio, codigo), Counts())
        return total

    def total(self, eleccion: str | None = None) -> Counts:
        """The state's counts (every CATD) for one elección or all."""
        total = Counts()
        for sitio in self.catd_sites():
            total += self.counts(sitio, eleccion)
        return total

    def catd_sites(self) -> list[str]:
        sites = {f"{d:02d}" for d in self.distritos}
        sites.update(s for s, _ in self.progress if s != "CCV")
        return sorted(sites)

    def site_rows(self, eleccion: str | None = None) -> list[SiteRow]:
        """Every CATD with its situation, then the CCV."""
        state = self.total(eleccion).pct("validadas")
        limit = self.settings.rezago_puntos
        rows = []
        for sitio in self.catd_sites():
            counts = self.counts(sitio, eleccion)
            pct = counts.pct("validadas")
            if pct is None or state is None:
                situacion = "sin_actas" if pct is None else "al_dia"
            elif pct < state - 2 * limit:
                situacion = "muy_rezagado"
            elif pct < state - limit:
                situacion = "rezagado"
            else:
                situacion = "al_dia"
            nombre = self.distritos.get(int(sitio), "")
            rows.append(SiteRow(sitio, nombre, counts, situacion, pct))
        ccv = self.counts("CCV", eleccion)
        rows.append(SiteRow("CCV", "Centro de Captura y Verificación", ccv, "ccv", None))
        return rows

    def behind(self, eleccion: str | None = None) -> list[SiteRow]:
        return [r for r in self.site_rows(eleccion)
                if r.situacion in ("rezagado", "muy_rezagado")]


# --- the statements -----------------------------------------------------------------

# An acta in a correction round (a cotejo found a difference) is back in capture while
# its validated data stays published: it counts as validated, never as an acta still in
# capture; and as published when a corte published it (``actas_publicadas``, the first
# corte that did: a correction opened and validated between two cortes changes neither).
_PROGRESS = """
    SELECT lpad(s.distrito::text, 2, '0'), s.eleccion, count(*),
           count(*) FILTER (WHERE s.acopio_record IS NOT NULL
                              OR s.sin_acta_record IS NOT NULL),
           count(*) FILTER (WHERE s.estado IN ('digitalizada', 'captura_1', 'captura_2',
                                               'verificacion', 'validada')
                              OR s.validada_record IS NOT NULL),
           count(*) FILTER (WHERE s.estado IN ('captura_1', 'captura_2', 'verificacion',
                                               'validada')
                              OR s.validada_record IS NOT NULL),
           count(*) FILTER (WHERE s.validada_record IS NOT NULL),
           count(*) FILTER (WHERE s.validada_record IS NOT NULL
                              AND p.clave_acta IS NOT NULL)
    FROM acta_states AS s
    LEFT JOIN actas_publicadas AS p ON p.clave_acta = s.clave_acta
    WHERE s.en_catalogo AND s.distrito IS NOT NULL
    GROUP BY 1, 2
"""
# The CCV: actas with a PREP Casilla image; captured at a CCV station; validated by one.
_CCV = """
    WITH ccv AS (SELECT id FROM stations WHERE role = 'ccv'),
    recibidas AS (SELECT DISTINCT clave_acta FROM acta_images WHERE origen = 'CASILLA'),
    capturadas AS (SELECT DISTINCT clave_acta FROM acta_captures
                   WHERE station IN (SELECT id FROM ccv)),
    claves AS (SELECT clave_acta FROM recibidas UNION SELECT clave_acta FROM capturadas)
    SELECT s.eleccion,
           count(*) FILTER (WHERE r.clave_acta IS NOT NULL),
           count(*) FILTER (WHERE c.clave_acta IS NOT NULL),
           count(*) FILTER (WHERE v.station IS NOT NULL),
           count(*) FILTER (WHERE v.station IS NOT NULL AND p.clave_acta IS NOT NULL)
    FROM claves AS k
    JOIN acta_states AS s ON s.clave_acta = k.clave_acta
    LEFT JOIN actas_publicadas AS p ON p.clave_acta = s.clave_acta
    LEFT JOIN recibidas AS r ON r.clave_acta = k.clave_acta
    LEFT JOIN capturadas AS c ON c.clave_acta = k.clave_acta
    LEFT JOIN acta_captures AS v ON v.record_id = s.validada_record AND s.estado = 'validada'
                                AND v.station IN (SELECT id FROM ccv)
    WHERE s.en_catalogo
    GROUP BY s.eleccion
"""
# Per phase, actas entering it per 10-minute bucket (grouped inside each branch, so the
# union carries a few hundred rows, not every event).
_FLOW = """
    SELECT date_bin('10 minutes', acopio_received_at, %(origin)s) AS b, 'acopio', count(*)
        FROM acta_states WHERE en_catalogo AND acopio_received_at IS NOT NULL GROUP BY 1
    UNION ALL
    SELECT date_bin('10 minutes', received_at, %(origin)s), 'digitalizacion', count(*)
        FROM acta_images WHERE position = 1 GROUP BY 1
    UNION ALL
    SELECT date_bin('10 minutes', received_at, %(origin)s), 'captura', count(*)
        FROM acta_captures WHERE position = 1 GROUP BY 1
    UNION ALL
    SELECT date_bin('10 minutes', validada_received_at, %(origin)s), 'validacion', count(*)
        FROM acta_states WHERE estado = 'validada' GROUP BY 1
    ORDER BY 1
"""
_STATIONS = """
    SELECT st.id, st.role, st.sitio, st.hostname, st.enabled, h.last_seen, h.version,
           h.backlog, h.clock_skew_seconds, h.last_error
    FROM stations AS st LEFT JOIN station_health AS h ON h.station = st.id
    ORDER BY st.sitio, st.id
"""
_ANOMALIES = """
    SELECT id, type, station, detail::text, at, acknowledged FROM anomalies
    ORDER BY acknowledged, at DESC, id DESC LIMIT %(limit)s
"""
_ANOMALY_TYPES = """
    SELECT type, count(*) FILTER (WHERE NOT acknowledged), count(*) FROM anomalies
    GROUP BY type ORDER BY type
"""
_ACKS = """
    SELECT DISTINCT ON ((detail->>'id')::bigint) (detail->>'id')::bigint, actor, at,
           detail->>'nota'
    FROM audit_log WHERE event = %(event)s AND (detail->>'id')::bigint = ANY(%(ids)s)
    ORDER BY (detail->>'id')::bigint, id DESC
"""
# Captures of the validated round only: earlier rounds were typed on another image. The
# comparison is made before grouping so the aggregate carries booleans, not values; the
# deciding capture is equal by definition (no need to compare its values).
_CAPTURISTAS = """
    WITH cmp AS (
        SELECT c.operator,
               c.record_id <> s.validada_record AND c.valores <> s.validada_valores
                   AS differs
        FROM acta_captures AS c JOIN acta_states AS s ON s.clave_acta = c.clave_acta
        WHERE c.kind = 'captura' AND s.estado = 'validada' AND c.ronda = s.ronda),
    per AS (SELECT operator, count(*) AS n, count(*) FILTER (WHERE differs) AS d
            FROM cmp GROUP BY operator)
    SELECT p.operator, coalesce(o.name, p.operator), coalesce(o.sitio, ''), p.n, p.d
    FROM per AS p LEFT JOIN operators AS o ON o.id = p.operator
    ORDER BY p.d DESC, p.n DESC, p.operator
"""
# Each difusor's last report against the cortes: how many were published after the one
# it serves, and the minutes between that corte and the latest.
_DIFUSORES = """
    SELECT d.id, d.nombre, d.url, d.enabled, d.registrado_at, d.corte, d.reportado_at,
           d.error,
           CASE WHEN c.id IS NOT NULL
                THEN (SELECT count(*) FROM cortes AS n WHERE n.id > c.id) END,
           extract(epoch FROM (SELECT max(corte_at) FROM cortes) - c.corte_at) / 60
    FROM difusores AS d LEFT JOIN cortes AS c ON c.directorio = d.corte
    ORDER BY d.enabled DESC, d.creado_at, d.id
"""
_CORTES = """
    SELECT id, corte_at, directorio, manifiesto_sha256, motivo, ultimo, actas_esperadas,
           actas_capturadas, actas_contabilizadas, seconds
    FROM cortes ORDER BY id DESC LIMIT %(limit)s
"""


def read_overview(conn: psycopg.Connection[Any], settings: Settings | None = None,
                  catalog: tuple[int, tuple[tuple[str, str], ...], Mapping[int, str]]
                  | None = None) -> Overview:
    """One snapshot of everything the dashboard shows.

    ``catalog`` is the (version, elecciones, distritos) the caller already parsed; when
    the database holds another version it is read again (see :func:`catalog_names`).
    """
    settings = settings or Settings()
    conn.rollback()
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    try:
        with conn.cursor() as cur:
            now = _one(cur, "SELECT now()")
            version = _one(cur, "SELECT coalesce(max(version), 0) FROM catalog_versions")
            if catalog is None or catalog[0] != version:
                catalog = catalog_names(cur, version)
            progress = _progress(cur)
            throughput = _throughput(cur, settings)
            stations = _stations(cur, now, settings)
            anomalies, types = _anomalies(cur)
            cur.execute(_CAPTURISTAS)
            capturistas = tuple(OperatorErrors(*row) for row in cur.fetchall())
            cur.execute(_CORTES, {"limit": CORTE_LIMIT})
            cortes = tuple(CorteInfo(*row) for row in cur.fetchall())
            simulacro = _simulacro(cur)
            difusores = _difusores(cur)
    finally:
        conn.rollback()
    return Overview(now, version, catalog[1], catalog[2], progress, throughput, stations,
                    anomalies, types, capturistas, cortes, settings, simulacro, difusores)


def _simulacro(cur: psycopg.Cursor[Any]) -> bool:
    """Whether the central is a drill's. A login granted ``prep_lectura`` by hand before
    revision 0012 may not read ``installation``: then it shows as a real one (the
    published cortes, not the dashboard, are what must never be mistaken)."""
    if not _one(cur, "SELECT coalesce(has_table_privilege("
                     "to_regclass('installation')::oid, 'SELECT'), false)"):
        return False
    return bool(_one(cur, "SELECT coalesce(bool_or(simulacro), false) FROM installation"))


def _difusores(cur: psycopg.Cursor[Any]) -> tuple[DifusorRow, ...]:
    """The difusores, if this login may read them (granted by revision 0020; a login
    made by hand before it sees none)."""
    if not _one(cur, "SELECT coalesce(has_table_privilege("
                     "to_regclass('difusores')::oid, 'SELECT'), false)"):
        return ()
    cur.execute(_DIFUSORES)
    return tuple(DifusorRow(did, nombre, url, enabled, registrado, corte, reportado, error,
                            None if corte is None or atraso is None else int(atraso),
                            None if minutos is None else float(minutos))
                 for did, nombre, url, enabled, registrado, corte, reportado, error, atraso,
                 minutos in cur.fetchall())


def catalog_names(cur: psycopg.Cursor[Any], version: int
                  ) -> tuple[int, tuple[tuple[str, str], ...], Mapping[int, str]]:
    """The elecciones and distrito cabeceras of catalog ``version`` (0: none loaded).

    Only ``catalogo.toml`` and ``distritos.csv`` are read, not the whole catalog.
    """
    if version == 0:
        return 0, (), {}
    cur.execute("SELECT files->>'catalogo.toml', files->>'distritos.csv' "
                "FROM catalog_versions WHERE version = %s", (version,))
    row = cur.fetchone()
    toml_b64, distritos_b64 = row if row else (None, None)
    meta = tomllib.loads(_decode(toml_b64)) if toml_b64 else {}
    elecciones = tuple((str(e["codigo"]), str(e["nombre"]))
                       for e in meta.get("elecciones", []))
    reader = csv.DictReader(io.StringIO(_decode(distritos_b64)))
    distritos = {int(r["ID_DISTRITO_LOCAL"]): r["CABECERA"] for r in reader}
    return version, elecciones, distritos


def _decode(encoded: str | None) -> str:
    return base64.b64decode(encoded or "").decode("utf-8-sig")


def _one(cur: psycopg.Cursor[Any], query: str) -> Any:
    cur.execute(query)  # constant statements only
    row = cur.fetchone()
    return row[0] if row else None


def _progress(cur: psycopg.Cursor[Any]) -> dict[tuple[str, str], Counts]:
    progress: dict[tuple[str, str], Counts] = {}
    cur.execute(_PROGRESS)
    for sitio, eleccion, *numbers in cur.fetchall():
        progress[(sitio, eleccion)] = Counts(*numbers)
    cur.execute(_CCV)
    for eleccion, recibidas, capturadas, validadas, publicadas in cur.fetchall():
        progress[("CCV", eleccion)] = Counts(0, 0, recibidas, capturadas, validadas,
                                             publicadas)
    return progress


def _throughput(cur: psycopg.Cursor[Any], settings: Settings
                ) -> dict[str, list[tuple[datetime, int]]]:
    """The buckets of the last ``settings.ventana`` before the latest event."""
    cur.execute(_FLOW, {"origin": FLOW_ORIGIN})
    rows = cur.fetchall()
    series: dict[str, list[tuple[datetime, int]]] = {p: [] for p in FLOW_LABELS}
    if not rows:
        return series
    since = max(bucket for bucket, _p, _n in rows) - settings.ventana
    for bucket, phase, count in rows:
        if bucket > since:
            series[phase].append((bucket, count))
    return series


def _stations(cur: psycopg.Cursor[Any], now: datetime, settings: Settings
              ) -> tuple[StationRow, ...]:
    cur.execute(_STATIONS)
    rows = []
    for sid, role, sitio, host, enabled, seen, version, backlog, skew, error in cur:
        online = bool(enabled and seen is not None and now - seen <= settings.en_linea)
        rows.append(StationRow(sid, role, sitio, host, enabled, online, seen, version,
                               backlog, skew, error))
    return tuple(rows)


def _anomalies(cur: psycopg.Cursor[Any]
               ) -> tuple[tuple[AnomalyRow, ...], dict[str, tuple[int, int]]]:
    cur.execute(_ANOMALIES, {"limit": ANOMALY_LIMIT})
    raw = cur.fetchall()
    acked = [r[0] for r in raw if r[5]]
    acks: dict[int, tuple[str, datetime, str | None]] = {}
    if acked:
        cur.execute(_ACKS, {"event": ACK_EVENT, "ids": acked})
        acks = {aid: (actor, at, nota) for aid, actor, at, nota in cur.fetchall()}
    rows = []
    for aid, type_, station, detail, at, acknowledged in raw:
        by, ack_at, note = acks.get(aid, (None, None, None))
        rows.append(AnomalyRow(aid, type_, station, orjson.loads(detail), at, acknowledged,
                               by, ack_at, note))
    cur.execute(_ANOMALY_TYPES)
    types = {t: (pending, total) for t, pending, total in cur.fetchall()}
    return tuple(rows), types


def operator_sites(capturistas: Sequence[OperatorErrors]) -> list[OperatorErrors]:
    """The capture-error rate per site (operators summed by ``sitio``)."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for op in capturistas:
        sums[op.sitio][0] += op.capturas
        sums[op.sitio][1] += op.discrepantes
    return [OperatorErrors(sitio, "CCV" if sitio == "CCV" else f"CATD {sitio}", sitio,
                           c, d) for sitio, (c, d) in sorted(sums.items())]
