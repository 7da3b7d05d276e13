"""The directory of a published corte (layout in docs/publicacion.md).

::

    publicacion/
      latest -> 20270606_2305        symlink, replaced atomically
      latest.txt                     the same name, for servers that do not follow links
      20270606_2305/
        <ELECCION>.csv, <ELECCION>_CANDIDATURAS.csv, LEEME.txt
        HISTORIAL.csv                every event of every published acta (issue 29)
        AVANCE_CATD.csv              the pipeline's progress per CATD (issue 29)
        DIFUSORES.csv                the official difusores, if any (issue 30)
        PREP_20270606_2305.zip       the CSVs and LEEME (the same name in a drill)
        diferencias.json             vs the previous corte
        imagenes/<sha256>.<ext>      every published acta image, by its hash
        sitio/…                      the static public site (prep.corte.site)
        llave_publica.pem            the central's Ed25519 public key
        MANIFIESTO.sha256            sha256sum -c compatible, every file above
        MANIFIESTO.sha256.sig        Ed25519 signature of MANIFIESTO.sha256 (64 raw bytes)

A drill's central (``installation.simulacro``) stamps SIMULACRO on every one of those
files that can carry it (:mod:`prep.corte.simulacro`); a real central on none.

Everything is written into a hidden ``.<name>.tmp-…`` directory beside the final one,
flushed to the disk at once (one syncfs: :meth:`Staging.publish`), then renamed into
place in one step and only then pointed at by ``latest``: a reader sees a whole corte
or none. Readers ignore names
starting with a dot. Two cortes in the same minute get ``<YYYYMMDD_HHMM>_2``, ``_3``…
(a published corte is never replaced).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from pathlib import PurePosixPath
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from central.publication.diferencias import diferencias
from central.publication.publicar_historial import cambios_conocidos
from central.publication.publicar_historial import catalogo_memo
from central.publication.publicar_historial import escribir_historial
from central.publication.publicar_historial import trozos
from central.publication.snapshot import Imagen
from central.publication.snapshot import Imagenes
from central.publication.snapshot import Snapshot
from central.publication.staging import IMAGENES
from central.publication.staging import CorteError as CorteError
from central.publication.staging import Staging
from central.publication.zip_corte import ZipConHistorial
from prep.cadena import Cabeza
from prep.catalog.model import Catalog
from prep.corte import simulacro
from prep.corte.archivos import ArchivoPublicado
from prep.corte.archivos import lee_tramos
from prep.corte.archivos import por_registro
from prep.corte.archivos import por_tramo
from prep.corte.archivos import registrados
from prep.corte.difusores import DIFUSORES
from prep.corte.historial import HISTORIAL
from prep.corte.insumos import Global
from prep.corte.insumos import Lee
from prep.corte.insumos import contexto
from prep.corte.insumos import fuentes
from prep.corte.insumos import valores_globales
from prep.corte.memo import RenderMemo
from prep.corte.nombres import SITIO as SITIO
from prep.corte.package import DIFERENCIAS
from prep.corte.package import MANIFEST
from prep.corte.package import PUBLIC_KEY
from prep.corte.package import SIGNATURE
from prep.corte.package import build_corte_files
from prep.corte.package import corte_dirname
from prep.corte.paquete_tramos import archivo_por_tramos
from prep.corte.paquete_tramos import declarados_pieza
from prep.corte.paquete_tramos import filas_catd
from prep.corte.paquete_tramos import tabular
from prep.corte.site import difusores_files
from prep.corte.site import election_file
from prep.corte.site import iter_site_files
from prep.corte.site_tramos import sitio_por_tramos
from prep.corte.summary import Resumen
from prep.corte.summary import TablaEleccion
from prep.corte.tramos import Secciones
from prep.crypto import SigningKey
from prep.durable import fsync_dir as _fsync_dir
from prep.durable import write_synced as _write_synced
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

LATEST = "latest"
LATEST_TXT = "latest.txt"
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/tiff": "tif",
              "image/webp": "webp", "application/pdf": "pdf"}


@dataclass(frozen=True)
class Publicado:
    """A corte on disk: where, its manifest's SHA-256 and what it says."""

    path: Path
    manifest_sha256: str
    resumenes: tuple[Resumen, ...]  # per election, in catalog order
    files: int
    imagenes: int
    diferencias: Mapping[str, Any]
    seconds: Mapping[str, float]  # per phase: csv, diferencias, sitio, escritura…

    @property
    def name(self) -> str:
        return self.path.name


def image_name(sha256: str, media_type: str) -> str:
    """``imagenes/<sha256>.<ext>``: where an image is published inside a corte."""
    return f"{IMAGENES}/{sha256}.{EXTENSIONS.get(media_type, 'bin')}"


def _imagenes(imagenes: Mapping[str, Imagen]) -> Iterator[tuple[str, str, str]]:
    """(CLAVE_ACTA, SHA-256, media type) of each image of a snapshot."""
    if isinstance(imagenes, Imagenes):
        return imagenes.tipos()
    return ((clave, i.sha256, i.media_type) for clave, i in imagenes.items())


def publish(publicacion: Path, snap: Snapshot, key: SigningKey, *,  # noqa: PLR0913
            blobs: Path | None,
            anterior: Path | None, rules: RuleSet = DEFAULT_RULES, ultimo_corte: bool = False,
            sitio: bool = True, taken: frozenset[str] = frozenset(),
            memo: RenderMemo | None = None, bitacora: Cabeza | None = None,
            antes_de_publicar: Callable[[Publicado, Path], None] | None = None,
            archivos: Sequence[ArchivoPublicado] | None = None,
            antes_de_latest: Callable[[], None] | None = None) -> Publicado:
    """Write the corte of ``snap`` under ``publicacion`` and point ``latest`` at it.

    ``blobs`` is the central's blob store (images are hard-linked or copied from it,
    each new one re-hashed first); ``None`` publishes no images (benchmarks).
    ``anterior`` is the previous corte's directory, for ``diferencias.json``.
    ``sitio``: with the public site's files (:mod:`prep.corte.site`). ``taken``: names
    already used by recorded cortes (even if their directory is gone). ``memo``: the
    per-acta renders of this process's previous cortes, reused where the snapshot's
    objects are the same (:mod:`prep.corte.memo`); the bytes are the same without it.
    ``bitacora``: the audit chain's head, signed in the manifest (:mod:`prep.cadena`).
    The caller pauses the cyclic garbage collector around it, as ``make_corte`` does for
    the snapshot and the files alike (each full collection would walk millions of
    objects).

    ``antes_de_publicar(publicado, preparado)``: called once every file, the manifest
    and its signature are on disk in the hidden directory ``preparado`` and before the
    corte is renamed into place and ``latest`` moves (``make_corte`` commits the corte's
    row there: a corte the database did not record is never published). If it raises,
    the hidden directory is removed and nothing was published.

    ``archivos``: the registry of published files (:mod:`prep.corte.archivos`; None:
    the project's). The files it makes (``hacer``, ``tramo``) are made here in its
    order; what the engine keeps of the files made per tramo is keyed by what each
    declares it reads (:class:`prep.corte.insumos.Lee`), compared by value.
    ``antes_de_latest()``: called once the corte is in place, before ``latest`` moves
    (``make_corte`` writes the public log there: :mod:`central.publication.transparencia`).
    """
    registro = registrados() if archivos is None else tuple(archivos)
    publicacion.mkdir(parents=True, exist_ok=True)
    name = _free_name(publicacion, corte_dirname(snap.corte), taken)
    imagenes = {clave: (sha256, image_name(sha256, tipo))
                for clave, sha256, tipo in _imagenes(snap.imagenes)} if blobs is not None else {}
    zip_name = simulacro.zip_name(name)
    clock = _Clock()
    staging = Staging(publicacion, name, anterior=anterior)
    try:
        # The images go in first, by a thread of their own, while the corte goes on.
        images = dict(sorted({path: sha for sha, path in imagenes.values()}.items()))
        if images:
            assert blobs is not None
            staging.images(images, blobs, anterior)
        # Files are written (and dropped) as soon as they are made, so a national corte
        # never holds its CSVs, zip and site in memory at once.
        globales = valores_globales(catalogo_memo(snap), rules, ultimo_corte, snap.simulacro,
                                    blobs is not None, sitio)
        # Each acta's row is a function of its state, the catalog and the rules.
        actas = None if memo is None or not memo.filas else memo.store(
            "actas", contexto(Lee.de(Global.CATALOGO, Global.REGLAS), globales))
        # Or each sección's work of the previous corte, reused where the inputs its
        # files declare did not change; the store's key is what they read of the whole
        # corte (prep.corte.tramos, prep.corte.insumos).
        por_tramo_ = por_tramo(registro)
        hechos = [a for a in por_tramo_ if a.tramo is None]  # by the engine, by name
        digitalizadas, con_captura = (frozenset(), frozenset()) if snap.salud is None \
            else (snap.salud.digitalizadas, snap.salud.con_captura)
        secciones: Secciones | None = None
        if memo is not None and not memo.filas:
            secciones = memo.store("secciones", contexto(lee_tramos(por_tramo_), globales)
                                   ).setdefault("secciones", Secciones(memo.carrete))
        tramos = None if secciones is None else secciones.preparar(
            snap.catalog, snap.estado, snap.historial, snap.imagenes, digitalizadas,
            con_captura, cambios=snap.cambios, pieza=declarados_pieza(hechos),
            textos={a.nombre: (a.lee_tramo or a.lee).actas for a in por_tramo_
                    if a.tramo is not None})
        tablas = tabular(snap.catalog, snap.estado, snap.fuera, rules, ultimo_corte, actas,
                         tramos)
        filas_salud, salud_seconds = None, time.perf_counter()
        if snap.salud is not None:
            filas_salud = filas_catd(snap.catalog, tablas, snap.salud,
                                     snap.historial.publicada_en, snap.corte, tramos)
        salud_seconds = time.perf_counter() - salud_seconds
        sitio_hecho = _Sitio(staging, snap, tablas, imagenes, zip_name, name,
                             filas_salud) if sitio else None
        # The zip is written with the history; each election's CSV is written and
        # deflated into it as it is made (three national CSVs are 160 MB).
        zipped = ZipConHistorial(staging.path(zip_name), {}, staging.path(HISTORIAL),
                                 snap.corte)
        staging.al_descartar(zipped.abort)  # its threads start with the first CSV
        entrega = _Entrega(staging, zipped, sitio_hecho)
        # This package's manifest covers every file, below. Each election's site files
        # are made right after its CSV, from the same rows, which are then dropped (a
        # national election's are hundreds of megabytes).
        files, tablas = build_corte_files(snap.catalog, snap.estado, snap.fuera, snap.corte,
                                          rules, ultimo_corte, snap.simulacro,
                                          manifiesto=False, tablas=tablas,
                                          memo=actas, entrega=entrega, completo=False)
        entregados = entrega.nombres
        # The files the registry makes (the candidaturas, AVANCE_CATD.csv, DIFUSORES.csv,
        # LEEME.txt…), in its order; those that list the corte's files last.
        hechos_por_registro = por_registro(registro)
        listan = [a.nombre for a in hechos_por_registro if Global.ARCHIVOS in a.lee.corte]
        fuente = _Fuente(snap, rules, ultimo_corte, key.public.fingerprint(), filas_salud,
                         registro, lambda: [*sorted([
                             *files, *listan, *entregados, HISTORIAL, zip_name,
                             DIFERENCIAS, PUBLIC_KEY, MANIFEST, SIGNATURE]),
                             f"{IMAGENES}/", f"{SITIO}/"])
        # The engine's count of AVANCE_CATD's rows is that file's phase.
        aparte = {"avance_catd": salud_seconds} if filas_salud is not None else {}
        valores = None
        for archivo in hechos_por_registro:
            inicio = time.perf_counter()
            if archivo.por_eleccion is not None:
                for eleccion, nombre in zip(snap.catalog.elecciones,
                                            archivo.en(snap.catalog), strict=True):
                    files[nombre] = archivo.por_eleccion(fuente, eleccion)
            elif archivo.hacer is not None:
                data = archivo.hacer(fuente)
                if data is None:
                    continue
                files[archivo.nombre] = data
            else:
                valores = valores or fuentes(snap.estado, snap.historial, snap.imagenes,
                                             digitalizadas, con_captura)
                files[archivo.nombre] = archivo_por_tramos(
                    archivo, fuente, (name, snap.corte), valores, tramos)
            if archivo.fase is not None:
                aparte[archivo.fase] = aparte.get(archivo.fase, 0.0) \
                    + time.perf_counter() - inicio
        clock.lap("csv", menos=sum(aparte.values())
                  + (sitio_hecho.seconds if sitio_hecho else 0.0))
        for fase, segundos in aparte.items():
            clock.lap(fase, mas=segundos)
        # Every other file of the zip is made: written now, beside the CSVs (the zip is
        # finished after them and may read them back: zip_corte.ZipConHistorial).
        for file_name in list(files):
            data = files.pop(file_name)
            zipped.agregar(file_name, data)
            staging.put(file_name, data)
        staging.run(zipped.start)
        escribir_historial(staging, snap, tablas, name, rules, sitio, zipped.write, memo,
                   tramos)
        clock.lap("historial")
        # diferencias.json compares the CSVs' lines that the tramos know changed; without
        # them (another catalog, a new process…), the files themselves, read back one at
        # a time once written; a first corte has nothing to compare with.
        conocidos = cambios_conocidos(secciones, tramos, anterior)
        if conocidos is None and anterior is not None:
            staging.wait()
        diff = json.dumps({
            "corte": name, **({"simulacro": True} if snap.simulacro else {}),
            "corte_anterior": anterior.name if anterior is not None else None,
            "elecciones": diferencias(tablas, entregados, staging.tmp, anterior,
                                      snap.verificadas, snap.corregidas, conocidos)},
            ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
        clock.lap("diferencias")
        staging.put_file(zip_name, zipped.finish)
        staging.put(DIFERENCIAS, diff)
        staging.put(PUBLIC_KEY, _public_pem(key))
        if sitio_hecho is not None:
            sitio_hecho.resto()
            clock.lap("sitio", mas=sitio_hecho.seconds)
        resumenes = tuple(t.resumen for t in tablas)
        fuera = {t.eleccion.codigo: len(t.fuera) for t in tablas}
        del tablas
        staging.wait()
        clock.lap("escritura")
        manifest = "".join([*([f"{simulacro.LINEA_MANIFIESTO}\n"] if snap.simulacro else []),
                            *(f"{d}  {n}\n" for n, d in sorted(staging.digests.items())),
                            *([f"{bitacora.linea()}\n"] if bitacora is not None else [])]
                           ).encode("utf-8")
        staging.put(MANIFEST, manifest, listed=False)
        staging.put(SIGNATURE, key.sign(manifest), listed=False)
        staging.preparar()
        if antes_de_publicar is not None:
            antes_de_publicar(Publicado(
                staging.final, hashlib.sha256(manifest).hexdigest(), resumenes,
                len(staging.digests) + 2, len(images), files_summary(diff), clock.laps),
                staging.tmp)
        final = staging.colocar()
    except BaseException:
        staging.discard()
        raise
    if antes_de_latest is not None:
        antes_de_latest()
    point_latest(publicacion, name)
    if secciones is not None and tramos is not None:
        secciones.cerrar(tramos, name, snap.corte, fuera)  # what the next corte reuses
    clock.lap("publicacion")
    return Publicado(final, hashlib.sha256(manifest).hexdigest(), resumenes,
                     len(staging.digests) + 2, len(images), files_summary(diff), clock.laps)


@dataclass(frozen=True)
class _Fuente:
    """What the files the registry makes read of this corte
    (:class:`prep.corte.archivo.Fuente`): the snapshot and how ``publish`` makes it."""

    snap: Snapshot
    reglas: RuleSet
    ultimo_corte: bool
    huella_llave: str
    filas_catd: Sequence[Sequence[str]] | None
    registro: Sequence[ArchivoPublicado]
    nombres: Callable[[], Sequence[str]]

    @property
    def corte(self) -> datetime:
        return self.snap.corte

    @property
    def catalog(self) -> Catalog:
        return self.snap.catalog

    @property
    def simulacro(self) -> bool:
        return self.snap.simulacro

    @property
    def difusores(self) -> tuple[tuple[str, str, str], ...]:
        return self.snap.difusores

    @property
    def raiz(self) -> Sequence[str]:
        return self.nombres()


class _Sitio:
    """The public site's files, made as the corte goes: each election's right after its
    CSV (:meth:`eleccion`, while its rows are at hand), then the rest (:meth:`resto`);
    each file written as soon as it is made (a national site is hundreds of MB)."""

    def __init__(self, staging: Staging, snap: Snapshot,
                 tablas: Sequence[TablaEleccion], imagenes: Mapping[str, tuple[str, str]],
                 zip_name: str, name: str,
                 filas_salud: Sequence[Sequence[str]] | None) -> None:
        descargas = (zip_name, DIFERENCIAS, PUBLIC_KEY, SIGNATURE,
                     *((DIFUSORES,) if snap.difusores else ()))
        # HISTORIAL.csv's site files are written by _historial (historial_aparte); every
        # data file names its corte (``nombre``, docs/sitio.md); a table made by tramos
        # has its areas and rows of the previous corte reused (sitio_por_tramos).
        self._files = iter_site_files(snap.catalog, {t.eleccion.codigo: t for t in tablas},
                                      snap.corte, imagenes, descargas=descargas,
                                      simulacro=snap.simulacro, salud_catd=filas_salud,
                                      historial_aparte=True, nombre=name,
                                      reuso=sitio_por_tramos)
        self._staging = staging
        self._snap = snap
        self._name = name
        self.seconds = 0.0  # spent on the elections' files, during the CSVs

    def eleccion(self, tabla: TablaEleccion) -> None:
        """Make the files of ``tabla``'s election (the site makes the elections' files in
        catalog order, each ending with its ``election_file``), then drop its rows."""
        started = time.perf_counter()
        ultimo = election_file(tabla.eleccion.codigo)
        for path, data in self._files:
            self._put(path, data)
            if path == ultimo:
                break
        tabla.derived.clear()
        self.seconds += time.perf_counter() - started

    def resto(self) -> None:
        """Every file not made yet, and the difusores' list."""
        for path, data in self._files:
            self._put(path, data)
        if self._snap.difusores:
            for path, data in difusores_files(self._snap.difusores, self._name).items():
                self._staging.put(path, data)

    def _put(self, path: str, data: bytes) -> None:
        if PurePosixPath(path).parts[0] != SITIO:
            raise CorteError(f"el sitio público devolvió {path!r}, fuera de {SITIO}/")
        self._staging.put(path, data)


class _Entrega:
    """The :class:`prep.corte.package.Entrega` of a corte being staged: each election's
    CSV written, hashed and deflated into the zip piece by piece, in order, as its
    tramos are read (never whole in memory), and its site files made right after it,
    from the same rows."""

    def __init__(self, staging: Staging, zipped: ZipConHistorial,
                 sitio: _Sitio | None) -> None:
        self._staging = staging
        self._zipped = zipped
        self._sitio = sitio
        self.nombres: list[str] = []  # each election's CSV, in order

    def csv(self, nombre: str, partes: Iterator[bytes]) -> None:
        """Write election CSV ``nombre`` and deflate it into the zip."""
        with self._staging.stream(nombre, self._zipped.abrir(nombre)) as write:
            for trozo in trozos(partes):
                write(trozo)
        self._staging.run(lambda: self._zipped.cerrar(nombre))
        self.nombres.append(nombre)

    def hecha(self, tabla: TablaEleccion) -> None:
        """Make the site's files of ``tabla``'s election, then drop its rows."""
        if self._sitio is not None:
            self._sitio.eleccion(tabla)


class _Clock:
    """Seconds spent per phase (reported with the corte; cortes run every few minutes
    and their cost must stay visible)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str, *, menos: float = 0.0, mas: float = 0.0) -> None:
        """Close ``phase``; ``menos``: seconds of it spent on another phase, ``mas``:
        seconds of it spent before (both reported where they belong)."""
        now = time.perf_counter()
        self.laps[phase] = round(now - self._last - menos + mas, 3)
        self._last = now


def files_summary(diferencias_json: bytes) -> dict[str, Any]:
    """Counts of ``diferencias.json`` per election (for the audit log)."""
    data = json.loads(diferencias_json)
    return {nombre: {"agregadas": len(e["agregadas"]), "modificadas": len(e["modificadas"]),
                     "retiradas": len(e["retiradas"])}
            for nombre, e in data["elecciones"].items()}


def _free_name(publicacion: Path, base: str, taken: frozenset[str]) -> str:
    name, n = base, 1
    while name in taken or (publicacion / name).exists():
        n += 1
        name = f"{base}_{n}"
    return name


def _public_pem(key: SigningKey) -> bytes:
    public = Ed25519PublicKey.from_public_bytes(key.public.raw())
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def completar(publicacion: Path, name: str,
              antes_de_latest: Callable[[], None] | None = None) -> bool:
    """Publish corte ``name`` if its row was committed but the process died before its
    prepared directory was renamed into place (``antes_de_publicar``); whether it did.
    ``antes_de_latest`` as :func:`publish`'s."""
    if (publicacion / name).exists():
        return False
    for staged in sorted(publicacion.glob(f".{name}.tmp-*")):
        if (staged / SIGNATURE).is_file():
            os.rename(staged, publicacion / name)
            _fsync_dir(publicacion)
            if antes_de_latest is not None:
                antes_de_latest()
            point_latest(publicacion, name)
            return True
    return False


def point_latest(publicacion: Path, name: str) -> None:
    """Point ``latest`` (symlink) and ``latest.txt`` at ``name``, each replaced in one
    rename."""
    link = publicacion / f".{LATEST}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    os.symlink(name, link)
    os.replace(link, publicacion / LATEST)
    text = publicacion / f".{LATEST_TXT}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    _write_synced(text, f"{name}\n".encode("ascii"))
    os.replace(text, publicacion / LATEST_TXT)
    _fsync_dir(publicacion)
