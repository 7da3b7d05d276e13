"""The render memo (``publish(..., memo=RenderMemo())``): a running central reuses each
acta's renders of its earlier cortes where the snapshot holds the very objects they were
made from, and every published byte is the same as without it, whatever changed
between the cortes (prep.corte.memo)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path

import pytest

from central.publication import diferencias as diferencias_mod
from central.publication.publicar import publish
from central.publication.snapshot import Imagen
from central.publication.snapshot import Snapshot
from prep.catalog import generate_catalog
from prep.corte import anexo
from prep.corte import historial as historial_mod
from prep.corte.historial import Historial
from prep.corte.memo import RenderMemo
from prep.corte.model import ActaEnCorte
from prep.corte.package import corte_dirname
from prep.corte.summary import Fila
from prep.corte.tramos import rangos
from prep.corte.trayectoria import CotejoH
from prep.crypto import SigningKey
from prep.rules import DEFAULT_RULES
from prep.rules import CausaSinActa
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import day_after
from tests.harness.corte_data import historial_simulado
from tests.harness.corte_data import image_bytes
from tests.harness.corte_data import image_sha256

KEY = SigningKey.generate()


def _blob(blobs: Path, clave: str, version: int) -> str:
    sha = image_sha256(clave, version)
    (blobs / sha[:2]).mkdir(parents=True, exist_ok=True)
    (blobs / sha[:2] / sha[2:]).write_bytes(image_bytes(clave, version))
    return sha


@pytest.fixture(scope="module")
def primero(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapshot, Path]:
    """The snapshot of a small simulated night (with images and history) and the
    central's blob store."""
    blobs = tmp_path_factory.mktemp("blobs")
    catalog = generate_catalog(3, 0.005)
    corte = day_after(catalog, time(6, 0))
    sim = simulate(catalog, 3, corte, pendientes=0.1)
    estado: dict[str, ActaEnCorte] = {}
    imagenes: dict[str, Imagen] = {}
    for clave, est in sim.estado.items():
        if est.captura is not None:
            sha = _blob(blobs, clave, 1)
            est = replace(est, sha256=sha)
            imagenes[clave] = Imagen(sha, "image/png")
        estado[clave] = est
    snap = Snapshot(corte, 1, catalog, estado, tuple(sim.fuera), imagenes,
                    historial=historial_simulado(estado))
    return snap, blobs


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


class Publicador:
    """Publishes each snapshot into a directory of its own (same name, same bytes if
    the renders are the same), with one memo kept across its cortes; ``comparar``:
    each corte, with or without the memo, is compared (diferencias.json) with the last
    one published with the memo, as a running central's next corte is."""

    def __init__(self, base: Path, blobs: Path, filas: bool = True,
                 comparar: bool = False) -> None:
        self.base = base
        self.blobs = blobs
        self.memo = RenderMemo(filas=filas)
        self.n = 0
        self.comparar = comparar
        self.anterior: Path | None = None

    def __call__(self, snap: Snapshot, memo: bool, **kwargs: object) -> dict[str, bytes]:
        self.n += 1
        publicado = publish(self.base / f"p{self.n}", snap, KEY, blobs=self.blobs,
                            anterior=self.anterior, memo=self.memo if memo else None,
                            **kwargs)  # type: ignore[arg-type]
        if memo and self.comparar:
            self.anterior = publicado.path
        return _files(publicado.path)


def _same(with_memo: dict[str, bytes], without: dict[str, bytes]) -> None:
    assert sorted(with_memo) == sorted(without)
    distintos = [n for n in without if with_memo[n] != without[n]]
    assert not distintos, f"distintos con el memo: {distintos[:10]}"


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The actas whose HISTORIAL rows were rendered (not taken from the memo)."""
    hechas: list[str] = []
    eventos = historial_mod._eventos

    def contadas(est: ActaEnCorte, *args: object) -> object:
        hechas.append(est.clave)
        return eventos(est, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(historial_mod, "_eventos", contadas)
    yield hechas


@pytest.fixture
def filas(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The actas whose CSV row was made (not taken from the memo)."""
    hechas: list[str] = []
    row = anexo._row

    def contadas(catalog: object, eleccion: object, fila: Fila, *args: object) -> object:
        hechas.append(fila.acta.clave)
        return row(catalog, eleccion, fila, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(anexo, "_row", contadas)
    yield hechas


@pytest.mark.parametrize("con_filas", [True, False])
def test_the_same_snapshot_twice_gives_the_same_bytes_and_renders_nothing_again(
        primero: tuple[Snapshot, Path], tmp_path: Path, renders: list[str],
        filas: list[str], con_filas: bool) -> None:
    snap, blobs = primero
    publicar = Publicador(tmp_path, blobs, con_filas)
    sin = publicar(snap, memo=False)
    renders.clear()
    filas.clear()
    _same(publicar(snap, memo=True), sin)
    publicadas = sum(1 for e in snap.estado.values() if e.publicada)
    assert len(renders) == publicadas > 0
    assert len(filas) == snap.catalog.total_actas
    renders.clear()
    filas.clear()
    if not con_filas:
        # Per sección (prep.corte.tramos): the next corte reads from the database that
        # the first published them; nothing else changed, so nothing is made again.
        snap = _registrada(snap)
        sin = publicar(snap, memo=False)
        renders.clear()
        filas.clear()
    _same(publicar(snap, memo=True), sin)
    assert renders == []  # everything came from the memo, to the same bytes
    assert filas == []


def _cambiado(snap: Snapshot, blobs: Path) -> tuple[Snapshot, set[str]]:
    """The next corte's snapshot: the same objects for most actas, changed ones (new
    values and times, a new image, a sin acta, a newly published acta, a trajectory
    with a cotejo) for a few; the actas published before recorded in ``publicada_en``
    with the first corte's name."""
    estado = dict(snap.estado)
    imagenes = dict(snap.imagenes)
    actas = dict(snap.historial.actas)
    validadas = sorted(c for c, e in estado.items() if e.captura is not None)
    pendientes = sorted(c for c, e in estado.items() if not e.publicada)
    assert len(validadas) > 10 and len(pendientes) > 1
    cambiadas: set[str] = set()
    # New times of the same values (CSV row and the history's VALIDACION).
    clave = validadas[0]
    est = estado[clave]
    antes = est.fecha_verificacion or est.fecha_captura
    assert antes is not None
    estado[clave] = replace(est, fecha_verificacion=antes + timedelta(minutes=7),
                            cotejada=True)
    cambiadas.add(clave)
    # Other values: another acta's capture of the same layout.
    clave, otra = validadas[1], next(
        c for c in validadas[2:] if estado[c].captura.campos  # type: ignore[union-attr]
        == estado[validadas[1]].captura.campos  # type: ignore[union-attr]
        and estado[c].captura != estado[validadas[1]].captura)
    estado[clave] = replace(estado[clave], captura=estado[otra].captura)
    cambiadas.add(clave)
    # A new image.
    clave = validadas[3]
    sha = _blob(blobs, clave, 2)
    estado[clave] = replace(estado[clave], sha256=sha)
    imagenes[clave] = Imagen(sha, "image/png")
    cambiadas.add(clave)
    # Registered sin acta after all (no image, no capture).
    clave = validadas[4]
    estado[clave] = ActaEnCorte(clave, acopio=estado[clave].acopio,
                                causa_sin_acta=CausaSinActa.CASILLA_NO_INSTALADA)
    del imagenes[clave]
    cambiadas.add(clave)
    # Equal values in a new object: no change (the memo compares by value, issue 65).
    clave = validadas[5]
    estado[clave] = replace(estado[clave])
    # A trajectory with a cotejo (the state is the same object).
    clave = validadas[6]
    t = snap.historial.trayectoria(clave)
    actas[clave] = t._replace(cotejos=(CotejoH(
        estado[clave].fecha_verificacion or snap.corte, "01", True, snap.corte),))
    cambiadas.add(clave)
    # Newly published: a pending acta registered sin acta.
    clave = pendientes[0]
    estado[clave] = ActaEnCorte(clave, acopio=snap.corte - timedelta(hours=1),
                                causa_sin_acta=CausaSinActa.PAQUETE_NO_ENTREGADO)
    cambiadas.add(clave)
    # Published data no longer published (only its acopio left).
    clave = validadas[7]
    estado[clave] = ActaEnCorte(clave, acopio=estado[clave].acopio)
    imagenes.pop(clave, None)
    cambiadas.add(clave)
    # An acopio no longer known (its row back to no data at all).
    del estado[pendientes[1]]
    cambiadas.add(pendientes[1])
    siguiente = snap.corte + timedelta(minutes=5)
    anterior = (corte_dirname(snap.corte), snap.corte)
    publicada_en = {c: anterior for c, e in snap.estado.items() if e.publicada}
    historial = Historial(actas, publicada_en, snap.historial.verificadas)
    return replace(snap, corte=siguiente, estado=estado, imagenes=imagenes,
                   historial=historial), cambiadas


@pytest.mark.parametrize("con_filas", [True, False])
def test_changed_actas_are_rendered_again_and_the_rest_reused(
        primero: tuple[Snapshot, Path], tmp_path: Path, renders: list[str],
        filas: list[str], con_filas: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    snap, blobs = primero
    publicar = Publicador(tmp_path, blobs, con_filas, comparar=True)
    publicar(snap, memo=True)
    segundo, cambiadas = _cambiado(snap, blobs)
    sin = publicar(segundo, memo=False)
    renders.clear()
    filas.clear()
    leidos: list[bytes] = []  # CSVs diferencias.json read and split into lines
    csv_lines = diferencias_mod.csv_lines
    monkeypatch.setattr(diferencias_mod, "csv_lines",
                        lambda data: leidos.append(data) or csv_lines(data))
    _same(publicar(segundo, memo=True), sin)
    # Per sección, the lines that differ are known: no CSV is read again (the per-acta
    # memo compares the files).
    assert (leidos != []) is con_filas
    # Only the changed ones were rendered again (the pending one and the new sin acta
    # included); the others' PUBLICACION, now read from publicada_en, is the same. A
    # trajectory is not in the CSV row.
    diff = json.loads(sin["diferencias.json"])
    assert diff["corte_anterior"] == corte_dirname(snap.corte)
    cambios = [m for e in diff["elecciones"].values() for m in e["modificadas"]]
    agregadas = [c for e in diff["elecciones"].values() for c in e["agregadas"]]
    retiradas = [r for e in diff["elecciones"].values() for r in e["retiradas"]]
    assert cambios and agregadas and retiradas  # what the memo's lines must give as well
    publicadas_cambiadas = {c for c in cambiadas if c in segundo.estado
                            and segundo.estado[c].publicada}
    if not con_filas:
        # Per tramo: every acta of a tramo (of an election) with a changed acta has its
        # row made again, once, and nothing else; of those, only the changed actas have
        # their history made again (the others' is cut from the first corte's text).
        tocadas = _tramos(snap, cambiadas)
        assert set(renders) == publicadas_cambiadas
        assert len(renders) == len(set(renders))
        assert publicadas_cambiadas < {c for c, e in segundo.estado.items()
                                       if e.publicada and _tramo(snap, c) in tocadas}
        assert sorted(filas) == sorted(a.clave for a in snap.catalog.iter_actas()
                                       if _tramo(snap, a.clave) in tocadas)
        assert 0 < len(filas) < snap.catalog.total_actas / 2
        return
    assert set(renders) == publicadas_cambiadas
    assert set(filas) == cambiadas - {_con_cotejo(snap, segundo)}
    # The memo holds the states of this corte only (none of an acta no longer published).
    (historial,) = [s for n, (_, s) in publicar.memo._stores.items() if n == "historial"]
    assert len(historial) == sum(1 for e in segundo.estado.values() if e.publicada)
    assert all(h[0] == segundo.estado[c] for c, h in historial.items())


def _registrada(snap: Snapshot) -> Snapshot:
    """``snap`` as the next corte reads it: every acta it publishes recorded as
    published by ``snap``'s corte."""
    h = snap.historial
    antes = (corte_dirname(snap.corte), snap.corte)
    return replace(snap, historial=Historial(
        h.actas, {c: antes for c, e in snap.estado.items() if e.publicada},
        h.verificadas))


def _tramo(snap: Snapshot, clave: str) -> tuple[str, int]:
    """The election and tramo of an acta: a run of at most ``TRAMO_ACTAS`` actas of one
    sección (a sección with more actas has several tramos)."""
    acta = snap.catalog.actas_por_clave[clave]
    r = rangos(snap.catalog.actas(acta.eleccion))
    pos = r.posicion.get(clave)
    assert pos is not None
    return (acta.eleccion.codigo, r.tramo_de[pos])


def _tramos(snap: Snapshot, claves: set[str]) -> set[tuple[str, int]]:
    return {_tramo(snap, c) for c in claves}


def _con_cotejo(antes: Snapshot, ahora: Snapshot) -> str:
    (clave,) = [c for c, t in ahora.historial.actas.items()
                if t is not antes.historial.actas.get(c)]
    return clave


@pytest.mark.parametrize("con_filas", [True, False])
def test_an_acta_published_by_a_corte_that_was_not_recorded_says_this_corte(
        primero: tuple[Snapshot, Path], tmp_path: Path, con_filas: bool) -> None:
    """The same objects, but no earlier corte recorded: every PUBLICACION event is the
    new corte's (the memo's renders of the first corte name the first)."""
    snap, blobs = primero
    publicar = Publicador(tmp_path, blobs, con_filas)
    publicar(snap, memo=True)
    otro = replace(snap, corte=snap.corte + timedelta(minutes=5))
    _same(publicar(otro, memo=True), publicar(otro, memo=False))
    # And back: the first corte again, its renders no longer in the memo.
    _same(publicar(snap, memo=True), publicar(snap, memo=False))


@pytest.mark.parametrize("cambio", ["reglas", "ultimo_corte", "simulacro", "verificada"])
def test_a_corte_wide_change_gives_the_bytes_of_a_corte_without_memo(
        primero: tuple[Snapshot, Path], tmp_path: Path, cambio: str) -> None:
    snap, blobs = primero
    publicar = Publicador(tmp_path, blobs)
    publicar(snap, memo=True)
    kwargs: dict[str, object] = {}
    otro = snap
    if cambio == "reglas":
        kwargs["rules"] = replace(DEFAULT_RULES, ilegible="Ilegible (regla local)",
                                  sin_acta={c: f"{t} (local)"
                                            for c, t in DEFAULT_RULES.sin_acta.items()})
    elif cambio == "ultimo_corte":
        kwargs["ultimo_corte"] = True
    elif cambio == "simulacro":
        otro = replace(snap, simulacro=True)
    else:  # the same states and trajectories, decided by a verificador now
        h = snap.historial
        otro = replace(snap, historial=Historial(
            h.actas, h.publicada_en, frozenset(c for c, e in snap.estado.items()
                                               if e.captura is not None)))
    _same(publicar(otro, memo=True, **kwargs), publicar(otro, memo=False, **kwargs))


@pytest.mark.parametrize("con_filas", [True, False])
def test_an_escaped_value_is_rendered_as_without_memo(
        primero: tuple[Snapshot, Path], tmp_path: Path, con_filas: bool) -> None:
    """A value CSV quotes and JSON escapes (a rules label with a quote and a comma)
    is never cut into the memo's plain text."""
    snap, blobs = primero
    assert any(e.causa_sin_acta is not None for e in snap.estado.values())
    rules = replace(DEFAULT_RULES, sin_acta={c: f'{t}: "urna",\\sin sobre'
                                             for c, t in DEFAULT_RULES.sin_acta.items()})
    publicar = Publicador(tmp_path, blobs, con_filas)
    for _ in range(2):
        _same(publicar(snap, memo=True, rules=rules), publicar(snap, memo=False,
                                                                rules=rules))


def test_a_corte_name_is_in_every_reused_render(primero: tuple[Snapshot, Path]) -> None:
    """(A check of the test's own premise: the first corte's name is the one its
    newly published actas carry, so a stale render would be seen.)"""
    snap, _ = primero
    assert isinstance(snap.corte, datetime)
    assert corte_dirname(snap.corte) != corte_dirname(snap.corte + timedelta(minutes=5))
