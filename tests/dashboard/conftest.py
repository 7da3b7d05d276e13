"""A central with an election in progress, made the real way, and a read-only login for
the dashboard.

One central subprocess per package (``prep central serve`` over HTTPS): a small
catalog loaded, stations of CATD 01, CATD 02 and the CCV enrolled, actas acopiadas, sin
acta and digitized through signed batches, captured by three capturistas through the
work leases, each at a workstation of their own at CATD 01 (the queue never gives one
station two captures of an acta in a round, issue 36; one of them types some actas
wrong, so a third capture, at the third station, settles them), a duplicate acopio (an
anomaly), PREP Casilla photos through the central's intake station, and one corte.
The dashboard reads it through a login user that holds only ``prep_lectura``; a
coordinator of the central has an account for its actions.
"""

from __future__ import annotations

import asyncio
import secrets
import zlib
from collections.abc import Iterator
from contextlib import AsyncExitStack
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from PySide6.QtCore import QCoreApplication
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from central.db import make_engine
from central.db.privileges import COORDINATOR_ROLE
from central.db.read_only import set_read_only_login
from central.node.config import DataDir
from central.node.config import load_identity
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.publication.ventana import fijar_ventana
from central.stations.operators import add_operator
from dashboard import theme
from prep.catalog import Acta
from prep.catalog import Catalog
from prep.records import Kind
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import truth


@dataclass
class Scenario:
    """The running central, its catalog and stations, and the dashboard's DSN."""

    node: CentralNode
    catalog: Catalog
    reader_dsn: str
    catd1: WorkStation  # CATD 01's first workstation: acopio, digitization, capture
    catd2: WorkStation
    ccv: WorkStation
    intake: WorkStation  # the central's own PREP Casilla intake station
    capturistas: list[str]
    acopiador: str
    publicacion: Path
    coordinador: str  # a coordinator's account at the central (password COORDINATOR_PASSWORD)
    #: CATD 01's other two workstations, where the second and third capturistas work.
    catd1_capture: tuple[WorkStation, ...] = ()
    #: The dashboard's actions login: only prep_coordinador (``usuario-coordinacion``).
    actions_dsn: str = ""
    #: A second coordinator at the central (password COORDINATOR_PASSWORD), who confirms
    #: a corte outside the window.
    segundo: str = ""

    @property
    def stations(self) -> tuple[WorkStation, ...]:
        """Every station enrolled, the intake's too."""
        return (self.catd1, *self.catd1_capture, self.catd2, self.ccv, self.intake)

    def sql(self, query: str, *params: object) -> list[tuple[object, ...]]:
        """Rows of ``query`` as the central's own user sees them (the truth)."""
        with psycopg.connect(self.node.dsn) as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]

    def scalar(self, query: str, *params: object) -> object:
        return self.sql(query, *params)[0][0]


def wrong(acta_clave: str, valores: dict[str, int]) -> dict[str, int]:
    """A capture with one field mistyped."""
    campo = sorted(valores)[zlib.crc32(acta_clave.encode()) % len(valores)]
    return {**valores, campo: (valores[campo] + 7) % 300}


def actas_of(catalog: Catalog, distrito: int) -> list[Acta]:
    return [a for e in catalog.elecciones for a in catalog.actas(e)
            if a.casilla.distrito_id == distrito]


async def _capture(desks: list[tuple[WorkStation, str]], by_clave: dict[str, Acta],
                   limit: int, mistaken: str) -> None:
    """The operators, each at their own ``(station, operator)`` desk, take turns leasing
    and capturing until ``limit`` leases were served; ``mistaken`` types every third of
    its actas wrong."""
    served = 0
    async with AsyncExitStack() as stack:
        for station, _operator in desks:
            await stack.enter_async_context(station)
        while served < limit:
            progress = False
            for station, operator in desks:
                if served >= limit:
                    break
                for lease in await station.next(operator, prefetch=1):
                    acta = by_clave[lease["clave_acta"]]
                    valores = truth(acta)
                    if operator == mistaken and zlib.crc32(acta.clave.encode()) % 3 == 0:
                        valores = wrong(acta.clave, valores)
                    await station.capture(operator, lease, valores)
                    served += 1
                    progress = True
            if not progress:
                return


async def _stage(node: CentralNode, catalog: Catalog, catd1: WorkStation,
                 catd1_capture: tuple[WorkStation, ...], catd2: WorkStation,
                 intake: WorkStation, capturistas: list[str], acopiador: str) -> None:
    d1 = actas_of(catalog, 1)
    d2 = actas_of(catalog, 2)
    async with catd1:  # by the site's acopiador and digitalizador
        await catd1.digitize(d1[: len(d1) * 3 // 4])
        # Acopio only (waiting for the scanner), a sin acta, and a duplicate acopio.
        rest = d1[len(d1) * 3 // 4:]
        await catd1.send([(Kind.ACOPIO, acopiador, {"clave_acta": a.clave})
                          for a in rest[:3]])
        await catd1.send([(Kind.SIN_ACTA, acopiador, {"clave_acta": rest[3].clave,
                                                     "causa": "paquete_no_entregado"}),
                          (Kind.ACOPIO, acopiador, {"clave_acta": d1[0].clave})])
    async with catd2:
        await catd2.digitize(d2[: len(d2) // 4])
    async with intake:  # PREP Casilla photos of CATD 02 actas, not yet acopiadas
        await intake.digitize(d2[len(d2) // 4: len(d2) // 3], origen="CASILLA",
                              acopio=False)
    by_clave = {a.clave: a for a in d1 + d2}
    desks = list(zip((catd1, *catd1_capture), capturistas, strict=True))
    await _capture(desks, by_clave, limit=len(d1), mistaken=capturistas[1])



@pytest.fixture(autouse=True)
def no_window_outlives_its_test(qapp: QApplication) -> Iterator[None]:
    """Every top-level widget a dashboard test leaves (pytest-qt closes its windows but
    does not delete them) is deleted when the test ends. Two closed dashboard windows
    kept alive crashed a later module's ``app.setStyleSheet`` on the same worker
    (a segmentation fault while it re-polished them)."""
    yield
    for widget in QApplication.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

@pytest.fixture(scope="package")
def scenario(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    base = tmp_path_factory.mktemp("tablero")
    with running_central(base, pg_dsn) as node:
        catalog = load_catalog(node, scale=0.01, seed=4)
        capturistas = add_operators(node, [("Ana Robles", "capturista", "01"),
                                           ("Beto Salas", "capturista", "01"),
                                           ("Carla Ruiz", "capturista", "01")])
        [acopiador] = add_operators(node, [("Dora Paz", "acopiador", "01")])
        coordinador = add_coordinator(node.dsn, "Olga Rivas")
        catd1 = WorkStation.enroll(node, 1)
        catd1_capture = (WorkStation.enroll(node, 1), WorkStation.enroll(node, 1))
        catd2 = WorkStation.enroll(node, 2)
        ccv = WorkStation.enroll(node, None)
        intake = WorkStation.enroll_intake(node)
        asyncio.run(_stage(node, catalog, catd1, catd1_capture, catd2, intake, capturistas,
                           acopiador))
        publicacion = base / "publicacion"
        engine = make_engine(node.dsn, pool_size=1)
        try:
            # The Consejo's window is open: «Corte ahora» needs no reason (issue 28).
            fijar_ventana(engine, datetime.now(UTC) - timedelta(hours=1), 24,
                          actor="pruebas")
            key = load_identity(DataDir(node.data_dir)).key
            make_corte(engine, key, CorteSettings(publicacion, DataDir(node.data_dir).blobs),
                       motivo=A_PEDIDO, actor="pruebas")
        finally:
            engine.dispose()
        segundo = add_coordinator(node.dsn, "Pablo Mena")
        with reader_login(node.dsn) as reader, actions_login(node.dsn) as actions:
            yield Scenario(node, catalog, reader, catd1, catd2, ccv, intake, capturistas,
                           acopiador, publicacion, coordinador, catd1_capture, actions,
                           segundo)


@pytest.fixture
def restore_theme(qapp: QApplication) -> Iterator[None]:
    """The dashboard's theme is the application's: put back the one other tests use."""
    style, font = qapp.styleSheet(), qapp.font()
    yield
    qapp.setStyleSheet(style)
    qapp.setFont(font)


@pytest.fixture
def themed(qapp: QApplication, restore_theme: None) -> None:
    """The dashboard's theme applied, as ``prep dashboard`` runs it (put back after)."""
    theme.apply(qapp)


#: ASCII, so QTest can type it (it sends no key events for other characters).
COORDINATOR_PASSWORD = "sala-de-control-7"


def add_coordinator(dsn: str, name: str, role: str = "coordinador",
                    sitio: str = "CENTRAL") -> str:
    """An account (by default a coordinator at the central) with COORDINATOR_PASSWORD;
    its id."""
    engine = make_engine(dsn, pool_size=1)
    try:
        return add_operator(engine, name, role, sitio, COORDINATOR_PASSWORD,
                            actor="pruebas").id
    finally:
        engine.dispose()


@pytest.fixture
def reader_dsn(scenario: Scenario) -> str:
    return scenario.reader_dsn


def reader_login(admin_dsn: str) -> _ReaderLogin:
    """A login user granted only ``prep_lectura`` (as docs/dashboard.md tells the DBA);
    dropped on exit."""
    return _ReaderLogin(admin_dsn)


class _ReaderLogin:
    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.name = f"tablero_{secrets.token_hex(4)}"

    def __enter__(self) -> str:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(self.name)))
            conn.execute(sql.SQL("GRANT prep_lectura TO {}").format(
                sql.Identifier(self.name)))
        return make_conninfo(self.admin_dsn, user=self.name)

    def __exit__(self, *exc: object) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(self.name)))


@contextmanager
def actions_login(admin_dsn: str) -> Iterator[str]:
    """The dashboard's actions login, made as ``prep central usuario-coordinacion`` makes
    it (only ``prep_coordinador``); its DSN, dropped on exit."""
    name = f"acciones_{secrets.token_hex(4)}"
    yield set_read_only_login(admin_dsn, name, COORDINATOR_ROLE).dsn
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
