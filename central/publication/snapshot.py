"""One consistent view of what a corte publishes, read from PostgreSQL.

A corte reads everything in one REPEATABLE READ, read-only transaction: the current
catalog, every acta state with the image its validated capture was made on, and the
fuera-de-catálogo registrations. Ingest goes on meanwhile; the corte sees the database
as it was when its first statement ran, and that instant (``now()`` of the transaction)
is the corte time.

What is published (DOMAIN.md, "Rules" and "Publication"):

- ``validada``: the validated values, with the time of the capture that settled them
  (FECHA_HORA_CAPTURA) or, if a verificador decided, the time of the last capture of the
  round; the moment the data was validated for publication (FECHA_HORA_VERIFICACION):
  the verificador's decision, or the arrival at the central of the capture that matched
  another; the image the captures were made on (CODIGO_INTEGRIDAD, ORIGEN,
  DIGITALIZACION); the paquete's mechanism (MECANISMOS_TRASLADO: the acopio record's,
  else the catalog's default for the casilla) and the document (TIPO_DOCUMENTO: the
  acopio record's for a CATD image; a PREP Casilla photo is of the Acta PREP).
  The validated data stays published while a correction round (a cotejo found it
  different from the paper acta) captures the acta again, until that round validates;
  COTEJADA is 1 once a cotejo confirmed the data published now.
- ``sin_acta``: the cause, not counted; the catalog's mechanism for a paquete that
  arrived without its sobre (the others never travelled).
- any other catalog acta with an acopio: only its FECHA_HORA_ACOPIO (no data yet).
- outside the catalog: each fuera-de-catálogo acopio, and each acta state of a code the
  catalog does not hold that was registered (acopio, else its first image).

The rows are read with a few set-based statements straight from psycopg, never as ORM
objects: a national corte is half a million rows. The acta rows, then their history's,
come from server-side cursors in batches, fetched by a thread of their own while this
one turns the previous batch into Python objects (PostgreSQL and Python overlap:
:mod:`central.publication.prefetch`).
"""

from __future__ import annotations

from collections.abc import ItemsView
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from typing import Any
from typing import NamedTuple

import orjson
from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.catalog import catalog_store
from central.db.catalogo import CatalogVersion
from central.publication import snapshot_historial as historial_db
from central.publication import snapshot_salud_catd as salud_db
from central.publication.memo_corte import CorteMemo
from central.publication.prefetch import Prefetch
from central.stations.difusores import oficiales
from prep.catalog import Catalog
from prep.catalog.model import Acta
from prep.corte.difusores import Fila
from prep.corte.historial import Historial
from prep.corte.model import NINGUNA
from prep.corte.model import SIN_PAQUETE
from prep.corte.model import ActaEnCorte
from prep.corte.model import Digitalizacion
from prep.corte.model import FueraDeCatalogo
from prep.corte.model import Origen
from prep.corte.model import de_partes
from prep.corte.model import empacar
from prep.corte.salud_catd import LecturaCatd
from prep.corte.tramos import Cambios
from prep.paquete import codigo_traslado
from prep.paquete import tipo_documento_publicado
from prep.rules import CausaSinActa
from prep.values import CapturaCompacta
from prep.values import empacar_valores


class SnapshotError(RuntimeError):
    """The database cannot give a corte (no catalog yet, unreadable data); Spanish."""


class Imagen(NamedTuple):
    """The published image of an acta: its SHA-256 and media type (a named tuple: one
    per acta with data, made several times faster than a dataclass)."""

    sha256: str
    media_type: str


class Imagenes(Mapping[str, Imagen]):
    """CLAVE_ACTA → :class:`Imagen`, for every acta of ``estado`` with a published image:
    its SHA-256 is the state's own (``ActaEnCorte.sha256``), its media type the one
    most images share (``comun``) or, where it differs, the acta's in ``otros``. A
    national central keeps half a million images between cortes: one named tuple each,
    and the dict of them, were 45 MB (tracemalloc); this view makes each when asked."""

    __slots__ = ("_estado", "_n", "comun", "otros")

    def __init__(self, estado: Mapping[str, ActaEnCorte], comun: str | None,
                 otros: Mapping[str, str]) -> None:
        self._estado = estado
        self.comun = comun
        self.otros = otros
        self._n: int | None = None

    def get(self, clave: str, default: Any = None) -> Any:
        est = self._estado.get(clave)
        sha256 = None if est is None else est.sha256
        if sha256 is None:
            return default
        tipo = self.otros.get(clave, self.comun)
        assert tipo is not None  # comun is set once any acta has an image
        return Imagen(sha256, tipo)

    def __getitem__(self, clave: str) -> Imagen:
        imagen: Imagen | None = self.get(clave)
        if imagen is None:
            raise KeyError(clave)
        return imagen

    def __iter__(self) -> Iterator[str]:
        return (clave for clave, est in self._estado.items() if est.sha256 is not None)

    def items(self) -> ItemsView[str, Imagen]:
        return _ImagenesItems(self)

    def tipos(self) -> Iterator[tuple[str, str, str]]:
        """(CLAVE_ACTA, SHA-256, media type) of every image, no :class:`Imagen` made."""
        comun, otros = self.comun, self.otros
        for clave, est in self._estado.items():
            sha256 = est.sha256
            if sha256 is not None:
                yield clave, sha256, otros.get(clave, comun)  # type: ignore[arg-type]

    def __len__(self) -> int:
        if self._n is None:
            self._n = sum(1 for _ in self)
        return self._n

    def __repr__(self) -> str:
        return f"Imagenes({dict(self)!r})"


class _ImagenesItems(ItemsView[str, Imagen]):
    """:meth:`Imagenes.items` in one pass over the states (a corte with images reads
    them all: half a million nationally)."""

    _mapping: Imagenes

    def __iter__(self) -> Iterator[tuple[str, Imagen]]:
        for clave, sha256, tipo in self._mapping.tipos():
            yield clave, Imagen(sha256, tipo)


@dataclass(frozen=True)
class Snapshot:
    """Everything a corte publishes, as of ``corte`` (the transaction's time, UTC)."""

    corte: datetime
    catalog_version: int
    catalog: Catalog
    estado: Mapping[str, ActaEnCorte]
    fuera: tuple[FueraDeCatalogo, ...]
    imagenes: Mapping[str, Imagen]  # CLAVE_ACTA → image, for every acta with data
    simulacro: bool = False  # a drill's central: every file stamped SIMULACRO
    #: The actas whose published data a verificador decided (FECHA_HORA_VERIFICACION
    #: alone cannot say it: every validated acta has one), for diferencias.json.
    verificadas: frozenset[str] = frozenset()
    #: The actas whose published data a correction round validated (a cotejo found a
    #: difference), with that cotejo's reason, for diferencias.json.
    corregidas: Mapping[str, Correccion] = field(default_factory=dict)
    #: How each acta with data came to be, for HISTORIAL.csv and the site (issue 29).
    historial: Historial = field(default_factory=Historial)
    #: What AVANCE_CATD.csv needs beyond the tables (issue 29); ``None``: no such file.
    salud: LecturaCatd | None = None
    #: The official difusores (name, URL) for DIFUSORES.csv (issue 30); none: no file.
    difusores: tuple[Fila, ...] = ()
    #: How many actas were read again since the previous snapshot of a running central
    #: (central.publication.memo_corte); None: every acta was read.
    releidas: int | None = field(default=None, compare=False)
    #: Which actas this snapshot read again since which snapshot (None: made by hand),
    #: for the corte's reuse of its previous pieces (prep.corte.tramos).
    cambios: Cambios | None = field(default=None, compare=False, repr=False)
    #: The actas published with data that no recorded corte published yet, in order:
    #: the corte made of this snapshot records them as first published there (None:
    #: not worked out; ``historial.nuevas`` of the whole state then).
    primeras: tuple[str, ...] | None = field(default=None, compare=False, repr=False)
    #: The catalog's SHA-256 (its version's digest; None: made by hand), what the
    #: corte's memo compares to know the catalog is the same (prep.corte.insumos.Global).
    catalog_huella: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Correccion:
    """Why an acta's published data was captured again: the cotejo that found the
    difference, the fields it named and its reason (``None``: it gave none)."""

    cotejo: str
    campos: tuple[str, ...]
    motivo: str | None

    def to_json(self) -> dict[str, Any]:
        return {"cotejo": self.cotejo, "campos": list(self.campos), "motivo": self.motivo}


# Validated data stays published through a correction round (the acta is captured
# again while its estado is a capture state): what is published is the validation,
# whatever the estado. COTEJADA: a cotejo confirmed the data, or a correction a cotejo
# opened has validated (its figures then come from the paper acta: DOMAIN.md). The verified
# acta's capture time is that of its validated round.
# Its times as whole microseconds (historial.en_microsegundos), as the packed states keep
# them (prep.corte.model.empacar).
_ESTADOS = """
    SELECT s.clave_acta, s.estado, {acopio_at}, {sin_acta_at}, s.sin_acta_causa,
           s.validada_fuente, {validada_at}, {validada_received_at},
           s.validada_valores::text, s.validada_origen, s.validada_digitalizacion,
           CASE WHEN s.acopio_at IS NULL THEN '-' ELSE s.acopio_traslado END,
           s.acopio_tipo_documento, i.sha256, i.media_type,
           CASE WHEN s.validada_fuente = 'verificacion' THEN
               (SELECT {max_at} FROM acta_captures AS c
                WHERE c.clave_acta = s.clave_acta AND c.kind = 'captura'
                  AND c.ronda = coalesce((SELECT v.ronda FROM acta_captures AS v
                                          WHERE v.record_id = s.validada_record),
                                         s.ronda)) END AS capturada_at,
           s.validada_record IS NOT NULL AS con_datos,
           s.cotejo_record IS NOT NULL
               OR (s.estado = 'validada' AND s.correccion_record IS NOT NULL),
           CASE WHEN s.estado = 'validada' THEN s.correccion_record END,
           s.correccion_campos::text, s.correccion_motivo
    FROM acta_states AS s
    LEFT JOIN acta_images AS i ON i.record_id = s.validada_imagen
                              AND s.validada_record IS NOT NULL
    WHERE s.en_catalogo AND (s.estado IN ('validada', 'sin_acta')
                             OR s.validada_record IS NOT NULL OR s.acopio_at IS NOT NULL)
"""
_STATES = _ESTADOS.format(max_at=historial_db.en_microsegundos("max(c.at)"), **{
    c: historial_db.en_microsegundos(f"s.{c}")
    for c in ("sin_acta_at", "validada_at", "validada_received_at")},
    # FECHA_HORA_ACOPIO of an acta published from its PREP Casilla photo: the photo's
    # time, as INE publishes it (the paquete may reach the CATD hours later).
    acopio_at=historial_db.en_microsegundos(
        "CASE WHEN i.origen = 'CASILLA' THEN i.at ELSE s.acopio_at END"))
# Outside the catalog: acopios whose code resolved to nothing, and acta states of codes
# the catalog does not hold, registered by their acopio or else their first image.
_FUERA = """
    SELECT codigo_leido, eleccion, at, 'CATD' FROM fuera_de_catalogo
    UNION ALL
    SELECT s.clave_acta, s.eleccion,
           coalesce(s.acopio_at, (SELECT min(i.at) FROM acta_images AS i
                                  WHERE i.clave_acta = s.clave_acta)),
           CASE WHEN s.acopio_at IS NOT NULL THEN 'CATD'
                ELSE (SELECT i.origen FROM acta_images AS i
                      WHERE i.clave_acta = s.clave_acta ORDER BY i.position LIMIT 1) END
    FROM acta_states AS s WHERE NOT s.en_catalogo
"""
# Whether this is a drill's central (revision 0012): its cortes say SIMULACRO.
_SIMULACRO = "SELECT simulacro FROM installation WHERE id = 1"

# --- reading only what changed (a running central's cortes, central.publication.memo_corte) --
#
# The snapshot's own instant: its oldest transaction still running (xid8, as bigint),
# the newest it can see (xmax), and the last audit event it sees.
_INSTANTE = """
    SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
           pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
           coalesce((SELECT max(id) FROM audit_log), 0),
           coalesce((SELECT max(id) FROM cortes), 0)
"""
# The actas with a row written by a transaction the previous snapshot may not have seen:
# every transaction from its xmin on. Each row says which transaction last wrote it
# (``cambio``, set by a trigger: revision 0024), indexed: a few index reads, where the
# rows' own xmin made every corte scan the three tables whole. The acta's state, images
# and captures are every row a corte reads of it; the records and stations they join
# are never rewritten (a station's sitio is compared apart, _SITIOS_ESTACIONES).
_CAMBIADAS = """
    SELECT clave_acta FROM acta_states WHERE cambio >= %(xmin)s
    UNION
    SELECT clave_acta FROM acta_images WHERE cambio >= %(xmin)s
    UNION
    SELECT clave_acta FROM acta_captures WHERE cambio >= %(xmin)s
"""
# rebuild-state and a catalog load delete rows (central.pipeline.rebuild): an acta whose
# rows were deleted leaves no recent row behind, so after one everything is read again.
# Audit events are appended under one lock, in id order (central.audit.audit.emit).
_REESCRITAS = """
    SELECT EXISTS (SELECT 1 FROM audit_log
                   WHERE id > %(auditoria)s AND event = 'acta_states_rebuilt')
"""
_SITIOS_ESTACIONES = "SELECT id::text, sitio FROM stations"
#: Past this share of the actas changed, reading everything is as fast.
_PARTE_MAXIMA = 0.25

BATCH = 10_000  # rows per fetch (states and history alike)
_ORIGENES = {o.value: o for o in Origen}
_DIGITALIZACIONES = {d.value: d for d in Digitalizacion}
_CAUSAS = {c.value: c for c in CausaSinActa}


@dataclass(frozen=True)
class Previo:
    """What a running central keeps of its previous snapshot (``CorteMemo.previo``)."""

    snapshot: Snapshot
    xmin: int  # its transaction's oldest running transaction (xid8)
    auditoria: int  # the last audit event it saw
    sitios: Mapping[str, str | None]  # station id → sitio, as it saw them
    ultimo_corte: int = 0  # the last corte recorded it saw (0: none)


def read_snapshot(engine: Engine, memo: CorteMemo | None = None) -> Snapshot:
    """Read the corte's data in one REPEATABLE READ, read-only transaction.

    With ``memo`` (a running central's, :mod:`central.publication.memo_corte`) only the actas
    whose rows changed since the previous snapshot are read again; every other acta keeps
    the previous snapshot's objects (which lets the corte reuse their renders). The
    result equals a whole read's (tests/central/publication/test_snapshot_memo.py). The new snapshot
    becomes the memo's previous one."""
    snapshot = engine.execution_options(isolation_level="REPEATABLE READ",
                                        postgresql_readonly=True)
    with snapshot.connect() as conn, conn.begin():
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            # The first statement fixes the snapshot; now() is the transaction's start.
            cur.execute("SELECT now()")
            corte_row = cur.fetchone()
            assert corte_row is not None
            corte: datetime = corte_row[0]
            with Session(bind=conn) as session:
                current = catalog_store.current(session)
                if current is None:
                    raise SnapshotError("no hay catálogo cargado: no se puede hacer un "
                                        "corte («prep central catalog load»)")
                version, catalog = current
                huella = session.scalar(select(CatalogVersion.digest)
                                        .where(CatalogVersion.version == version))
            cur.execute(_FUERA)
            fuera_rows = cur.fetchall()
            cur.execute(_SIMULACRO)
            modo = cur.fetchone()
            if modo is None:  # only a superuser could remove it (revision 0012)
                raise SnapshotError("falta la fila de «installation» que dice si este nodo "
                                    "es de un simulacro, así que no se publicó el corte. Un "
                                    "administrador de la base de datos debe restaurarla "
                                    "(docs/simulacro.md)")
            simulacro = bool(modo[0])
            cur.execute(_INSTANTE)
            instante = cur.fetchone()
            assert instante is not None
            xmin, xmax, auditoria, ultimo_corte = (int(v) for v in instante)
            cur.execute(_SITIOS_ESTACIONES)
            sitios = dict(cur.fetchall())
            previo = memo.previo if memo is not None else None
            cambiadas = None if not isinstance(previo, Previo) else _cambiadas(
                cur, previo, version, catalog, xmax, sitios)
        estado: dict[str, ActaEnCorte] = {}
        # The images' media types: the first one read, and the actas with another.
        tipos = _Tipos()
        verificadas: set[str] = set()
        corregidas: dict[str, Correccion] = {}
        if cambiadas is None:
            if memo is not None:  # no render of the old objects can be reused: drop them
                memo.clear()     # before reading the new ones (not both in memory)
            consultas, params, previas = [("estados", _STATES), *historial_db.CONSULTAS], None, None
            publicadas = None
            candidatas = None
        else:
            assert isinstance(previo, Previo)
            antes = previo.snapshot
            estado = historial_db.copia(antes.estado)
            tipos.desde(antes.imagenes)
            verificadas.update(antes.verificadas)
            corregidas.update(antes.corregidas)
            for clave in cambiadas:
                estado.pop(clave, None)
                tipos.otros.pop(clave, None)
                verificadas.discard(clave)
                corregidas.pop(clave, None)
            consultas = [("estados", _STATES + historial_db.SOLO),
                         *historial_db.consultas(historial_db.SOLO, historial_db.DESDE)]
            params = {"claves": historial_db.arreglo(cambiadas),
                      "ultimo_corte": previo.ultimo_corte}
            previas, publicadas = antes.historial.actas, antes.historial.publicada_en
            # An acta not read again is as the previous snapshot saw it: recorded since,
            # or among that snapshot's new ones (its corte may have failed before
            # recording them).
            candidatas = None if antes.primeras is None else [*cambiadas, *antes.primeras]
        with Prefetch(raw, consultas, BATCH, params) as filas:
            for rows in filas.batches("estados"):
                _estado(catalog, rows, estado, tipos, verificadas, corregidas)
            historial = historial_db.leer(
                filas, estado, frozenset(verificadas), cambiadas, previas, publicadas)
        with raw.cursor() as cur:  # still the snapshot's transaction
            salud = salud_db.leer(cur, catalog.actas_por_clave,
                                  None if previo is None or cambiadas is None
                                  else previo.snapshot.salud, cambiadas)
            difusores = oficiales(cur)
    # An election code the catalog does not hold names no election: published as not
    # identified («No se sabe»), in every election's file (prep.corte.summary.tabulate).
    codigos = catalog.eleccion_por_codigo
    fuera = tuple(FueraDeCatalogo(str(codigo), str(eleccion) if eleccion in codigos else "",
                                  at, str(origen or ""))
                  for codigo, eleccion, at, origen in fuera_rows if at is not None)
    base = None if cambiadas is None or previo is None or previo.snapshot.cambios is None \
        else previo.snapshot.cambios.ficha
    primeras = historial_db.nuevas(historial, estado, candidatas)
    historial = replace(historial, pendientes=historial_db.pendientes(historial, corregidas))
    snap = Snapshot(corte, version, catalog, estado, fuera,
                    Imagenes(estado, tipos.comun, tipos.otros), simulacro,
                    frozenset(verificadas), corregidas, historial, salud, difusores,
                    None if cambiadas is None else len(cambiadas),
                    Cambios(object(), base, frozenset(cambiadas or ())), tuple(primeras),
                    catalog_huella=huella)
    if memo is not None:
        memo.previo = Previo(snap, xmin, auditoria, sitios, ultimo_corte)
    return snap


def _traslado(acta: Acta, token: str | None) -> str | None:
    """The published MECANISMOS_TRASLADO of an acta with data: ``-`` while its paquete has
    not reached the CATD (the query's token ``-``: data from a PREP Casilla photo), the
    acopio's or the catalog's code once it has, ``None`` where none applies."""
    codigo = codigo_traslado(acta.casilla, None if token == SIN_PAQUETE else token)
    return SIN_PAQUETE if codigo is not None and token == SIN_PAQUETE else codigo



class _Tipos:
    """The media types of a snapshot's images as :class:`Imagenes` holds them."""

    __slots__ = ("comun", "otros")

    def __init__(self) -> None:
        self.comun: str | None = None
        self.otros: dict[str, str] = {}

    def desde(self, imagenes: Mapping[str, Imagen]) -> None:
        """Start from a previous snapshot's."""
        if isinstance(imagenes, Imagenes):
            self.comun, self.otros = imagenes.comun, dict(imagenes.otros)
            return
        for clave, imagen in imagenes.items():
            self.poner(clave, imagen.media_type)

    def poner(self, clave: str, tipo: str) -> None:
        if self.comun is None:
            self.comun = tipo
        elif tipo != self.comun:
            self.otros[clave] = tipo
        else:
            self.otros.pop(clave, None)


def _cambiadas(cur: Any, previo: Previo, version: int, catalog: Catalog, xmax: int,
               sitios: Mapping[str, str | None]) -> list[str] | None:
    """The actas to read again since ``previo`` (None: read every acta): another catalog,
    a station whose sitio changed, a rebuild since, or too many changes."""
    antes = previo.snapshot
    if antes.catalog_version != version or antes.catalog is not catalog:
        return None
    if any(sitios.get(estacion, sitio) != sitio for estacion, sitio in previo.sitios.items()):
        return None
    if xmax < previo.xmin:  # another database, or one restored from before it
        return None
    cur.execute(_REESCRITAS, {"auditoria": previo.auditoria})
    reescritas = cur.fetchone()
    if reescritas is None or reescritas[0]:
        return None
    cur.execute(_CAMBIADAS, {"xmin": previo.xmin})
    cambiadas = [str(r[0]) for r in cur]
    if len(cambiadas) > _PARTE_MAXIMA * len(catalog.actas_por_clave):
        return None
    return cambiadas


def _estado(catalog: Catalog, rows: list[Any], estado: dict[str, ActaEnCorte],
            tipos: _Tipos, verificadas: set[str],
            corregidas: dict[str, Correccion]) -> None:
    actas = catalog.actas_por_clave
    media_types: dict[str, str] = {}
    loads = orjson.loads
    for (clave, est, acopio_at, sin_acta_at, causa, fuente, validada_at, validada_recibida,
         valores_json, origen, digitalizacion, traslado, documento, sha256, media_type,
         capturada_at, con_datos, cotejada, corregida, campos_json, motivo) in rows:
        acta = actas.get(clave)
        if acta is None:  # a stale state of a catalog acta since removed: not published
            continue
        clave = acta.clave  # the catalog's string, not one more copy per acta
        if con_datos and valores_json is not None:
            valores = loads(valores_json)
            campos = acta.layout.campos
            try:
                if len(valores) != len(campos):
                    raise ValueError("distinto número de campos")
                # Each value checked (0–9999, Ilegible or Sin dato) and kept as two
                # bytes (prep.values.CapturaCompacta): 144 bytes an acta instead of 248,
                # about 50 MB less nationally.
                captura = CapturaCompacta.de_codigos(campos, empacar_valores(
                    list(map(valores.__getitem__, campos))))
            except (KeyError, ValueError, TypeError) as exc:
                raise SnapshotError(f"{clave}: los valores validados no corresponden a los "
                                    f"campos del acta en el catálogo ({exc})") from None
            verificada = fuente == "verificacion"
            if verificada:
                verificadas.add(clave)
            if corregida is not None:  # a correction round validated this data
                corregidas[clave] = Correccion(str(corregida), tuple(
                    str(c) for c in loads(campos_json or "null") or ()), motivo)
            # Its fields set directly, the times as read (microseconds): the class's
            # constructor converts and checks each, half a million times per national
            # corte.
            capturada = capturada_at if verificada and capturada_at is not None \
                else validada_at
            # Validated for publication: the verificador's decision, or the arrival of
            # the capture that matched another (the central reconciled it then).
            validada = validada_at if verificada else validada_recibida
            estado[clave] = de_partes(
                clave, captura, sha256, _traslado(acta, traslado),
                tipo_documento_publicado(origen, documento), empacar(
                    NINGUNA if acopio_at is None else acopio_at,
                    NINGUNA if capturada is None else capturada,
                    NINGUNA if validada is None else validada,
                    _ORIGENES.get(origen), _DIGITALIZACIONES.get(digitalizacion), None,
                    bool(cotejada)))
            if sha256 is not None:
                tipos.poner(clave, media_types.setdefault(media_type, media_type))
        elif est == "sin_acta" and causa is not None:
            try:
                cause = _CAUSAS[causa]
            except KeyError:
                raise SnapshotError(f"{clave}: causa de sin acta desconocida {causa!r}"
                                    ) from None
            acopio = acopio_at if acopio_at is not None else sin_acta_at
            estado[clave] = de_partes(
                clave, None, None, codigo_traslado(acta.casilla, None)
                if cause is CausaSinActa.PAQUETE_SIN_SOBRE else None, None, empacar(
                    NINGUNA if acopio is None else acopio, NINGUNA, NINGUNA, None, None,
                    cause, False))
        elif acopio_at is not None:
            estado[clave] = de_partes(clave, None, None, None, None, empacar(
                acopio_at, NINGUNA, NINGUNA, None, None, None, False))
