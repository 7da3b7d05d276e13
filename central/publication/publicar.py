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
from collections.abc import Iterable
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

from central.publication.diferencias import Cambios
from central.publication.diferencias import diferencias
from central.publication.snapshot import Imagen
from central.publication.snapshot import Imagenes
from central.publication.snapshot import Snapshot
from central.publication.staging import CHUNK
from central.publication.staging import IMAGENES
from central.publication.staging import CorteError as CorteError
from central.publication.staging import Staging
from central.publication.zip_corte import ZipConHistorial
from prep.cadena import Cabeza
from prep.catalog.model import Catalog
from prep.corte import simulacro
from prep.corte.anexo import TimeFormatter
from prep.corte.anexo import time_formatter
from prep.corte.archivos import ArchivoPublicado
from prep.corte.archivos import lee_tramos
from prep.corte.archivos import por_registro
from prep.corte.archivos import por_tramo
from prep.corte.archivos import registrados
from prep.corte.carrete import texto
from prep.corte.difusores import DIFUSORES
from prep.corte.historial import HISTORIAL
from prep.corte.historial import cuerpos_de
from prep.corte.historial import encabezado_csv
from prep.corte.historial import lineas_csv
from prep.corte.historial import lineas_de_cuerpo
from prep.corte.historial import lineas_por_acta
from prep.corte.insumos import Global
from prep.corte.insumos import Lee
from prep.corte.insumos import contexto
from prep.corte.insumos import fuentes
from prep.corte.insumos import igual
from prep.corte.insumos import valores_globales
from prep.corte.memo import Mismo
from prep.corte.memo import RenderMemo
from prep.corte.nombres import SITIO as SITIO
from prep.corte.package import DIFERENCIAS
from prep.corte.package import MANIFEST
from prep.corte.package import PUBLIC_KEY
from prep.corte.package import SIGNATURE
from prep.corte.package import build_corte_files
from prep.corte.package import corte_dirname
from prep.corte.paquete_tramos import archivo_por_tramos
from prep.corte.paquete_tramos import filas_catd
from prep.corte.paquete_tramos import tabular
from prep.corte.site import difusores_files
from prep.corte.site import election_file
from prep.corte.site import iter_site_files
from prep.corte.site_historial import entradas_por_acta
from prep.corte.site_historial import historial_acta
from prep.corte.site_historial import historial_acta_de_cuerpo
from prep.corte.site_historial import historial_archivos
from prep.corte.site_historial import historial_archivos_en_orden
from prep.corte.site_tramos import sitio_por_tramos
from prep.corte.summary import Resumen
from prep.corte.summary import TablaEleccion
from prep.corte.tramos import Secciones
from prep.corte.tramos import Tramos
from prep.crypto import SigningKey
from prep.durable import fsync_dir as _fsync_dir
from prep.durable import write_synced as _write_synced
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

LATEST = "latest"
LATEST_TXT = "latest.txt"
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/tiff": "tif",
              "image/webp": "webp", "application/pdf": "pdf"}
_LINEAS = 2_000  # actas of HISTORIAL.csv per piece written


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
        globales = valores_globales(_catalogo(snap), rules, ultimo_corte, snap.simulacro,
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
            con_captura, cambios=snap.cambios, pieza=lee_tramos(hechos).actas,
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
        _historial(staging, snap, tablas, name, rules, sitio, zipped.write, memo,
                   tramos)
        clock.lap("historial")
        # diferencias.json compares the CSVs' lines that the tramos know changed; without
        # them (another catalog, a new process…), the files themselves, read back one at
        # a time once written; a first corte has nothing to compare with.
        conocidos = _cambios(secciones, tramos, anterior)
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


def _historial(staging: Staging, snap: Snapshot, tablas: Sequence[TablaEleccion],
               name: str, rules: RuleSet, sitio: bool, also: Callable[[bytes], None],
               memo: RenderMemo | None = None,
               tramos: Mapping[str, Tramos] | None = None) -> None:
    """HISTORIAL.csv and, with ``sitio``, the site's history files (one per bloque of
    secciones): each acta's rows are made once, written to both and dropped (a national
    corte has three million of them), one election at a time. ``also``: given each piece
    of HISTORIAL.csv after it is written (in the writing thread). ``memo``: each acta's
    rows of earlier cortes, reused where made from the same objects; ``tramos``: per
    election, its secciones' text of the previous corte, reused where none of their
    actas changed (:mod:`prep.corte.tramos`; the per-acta memo is then not used)."""
    fmt = time_formatter()
    # Each acta's history is a function of its state, trajectory, publication and
    # verification (the memo's key, prep.corte.historial.cuerpos_de) and of the rules.
    store = None if memo is None or tramos is not None else memo.store(
        "historial", contexto(Lee.de(Global.CATALOGO, Global.REGLAS),
                              {Global.CATALOGO: _catalogo(snap), Global.REGLAS: rules}))
    publicadas = 0
    with staging.stream(HISTORIAL, also) as write:
        write(encabezado_csv(snap.simulacro).encode("utf-8-sig"))
        for tabla in tablas:
            lineas: list[str] = []
            por_seccion: dict[tuple[int, int], list[bytes]] = {}
            if tramos is not None:
                for trozo in _trozos(_historial_tramos(tabla, tramos[tabla.eleccion.codigo],
                                                       snap, name, rules, fmt, sitio,
                                                       staging.put)):
                    write(trozo)
            for fila, hecho in () if tramos is not None else cuerpos_de(
                    tabla, snap.historial, name, snap.corte, rules, fmt, store):
                publicadas += 1
                clave = fila.acta.clave
                if isinstance(hecho, str):
                    lineas.append(lineas_de_cuerpo(clave, hecho))
                    entrada = historial_acta_de_cuerpo(clave, hecho) if sitio else None
                else:  # a value CSV or JSON escapes: from the rows, as they escape it
                    lineas.append(lineas_csv(clave, hecho))
                    entrada = historial_acta(clave, hecho) if sitio else None
                if entrada is not None:
                    casilla = fila.acta.casilla
                    por_seccion.setdefault((casilla.distrito_id, casilla.seccion), []).append(
                        entrada.encode())
                if len(lineas) == _LINEAS:
                    write("".join(lineas).encode("utf-8"))
                    lineas.clear()
            write("".join(lineas).encode("utf-8"))
            if sitio and tramos is None:
                for path, data in historial_archivos(snap.catalog, tabla.eleccion.codigo,
                                                     por_seccion, name):
                    staging.put(path, data)
                del por_seccion
    if store is not None and len(store) > publicadas:
        # An acta no longer published (or no longer in the snapshot) would keep its old
        # state and trajectory alive in the memo: forgotten.
        for clave in [c for c, hecho in store.items() if not igual(hecho[0], snap.estado.get(c))]:
            del store[clave]


def _catalogo(snap: Snapshot) -> object:
    """The catalog as the memo compares it: its SHA-256 (a national catalog is half a
    million actas; its version's digest is what comparing it by value costs). A
    snapshot made by hand has none: then the catalog object itself, by identity
    (:class:`prep.corte.memo.Mismo`; a catalog is never changed in place, so the same
    object is the same value, and another object only costs a corte made whole)."""
    return snap.catalog_huella if snap.catalog_huella is not None else Mismo(snap.catalog)


def _trozos(piezas: Iterable[bytes], tamano: int = CHUNK) -> Iterator[bytes]:
    """``piezas`` joined in runs of about ``tamano`` bytes: a national election's history
    is a hundred megabytes, which joined whole would sit in memory twice (and a fresh
    block that size is paid for page by page)."""
    run: list[bytes] = []
    size = 0
    for pieza in piezas:
        run.append(pieza)
        size += len(pieza)
        if size >= tamano:
            yield b"".join(run)
            run.clear()
            size = 0
    if run:
        yield b"".join(run)


def _cambios(secciones: Secciones | None, tramos: Mapping[str, Tramos] | None,
             anterior: Path | None) -> dict[str, Cambios] | None:
    """Per election, the CSV lines that differ from ``anterior``'s, when ``anterior`` is
    the corte the tramos' previous pieces were published in (otherwise the files are
    compared)."""
    if secciones is None or tramos is None or anterior is None \
            or secciones.nombre != anterior.name:
        return None
    out: dict[str, Cambios] = {}
    for codigo, t in tramos.items():
        lineas = t.lineas_cambiadas()
        if lineas is None or codigo not in secciones.fuera:
            return None
        out[codigo] = (*lineas, secciones.fuera[codigo])
    return out


def _historial_tramos(tabla: TablaEleccion, tramos: Tramos, snap: Snapshot, name: str,
                      rules: RuleSet, fmt: TimeFormatter, sitio: bool,
                      poner: Callable[[str, bytes], None]) -> Iterator[bytes]:
    """``tabla``'s HISTORIAL.csv lines (UTF-8, returned) and, with ``sitio``, its site
    history files (given to ``poner`` first, each bloque's as soon as its secciones are
    read), tramo by tramo: a tramo's of the previous corte where none of its actas
    changed, made again (and kept in its piece, then in the carrete:
    ``Tramos.guardar``) otherwise."""
    try:
        piezas = tramos.hechas()
    except ValueError as exc:
        raise CorteError(str(exc)) from None
    for i, pieza in enumerate(piezas):
        if pieza.historial is None or (sitio and pieza.historial_sitio is None):
            previos = _historial_previo(tramos, i, sitio)
            hechos: dict[str, tuple[str, str]] = {}
            for fila, hecho in cuerpos_de(
                    tabla, snap.historial, name, snap.corte, rules, fmt, None,
                    pieza.filas if not previos else
                    [f for f in pieza.filas if f.acta.clave not in previos]):
                clave = fila.acta.clave
                if isinstance(hecho, str):
                    hechos[clave] = (lineas_de_cuerpo(clave, hecho),
                                     historial_acta_de_cuerpo(clave, hecho) if sitio else "")
                else:  # a value CSV or JSON escapes: from the rows, as they escape it
                    hechos[clave] = (lineas_csv(clave, hecho),
                                     historial_acta(clave, hecho) if sitio else "")
            if not previos:
                pieza.historial = "".join(t for t, _ in hechos.values()).encode("utf-8")
                pieza.historial_sitio = ",".join(
                    e for _, e in hechos.values()).encode() if sitio else None
                continue
            textos: list[bytes] = []
            entradas: list[bytes] = []
            for fila in pieza.filas:  # in order: an unchanged acta's text as it was
                clave = fila.acta.clave
                previo = previos.get(clave)
                if previo is not None:
                    textos.append(previo[0])
                    entradas.append(previo[1])
                elif clave in hechos:
                    suyas, entrada = hechos[clave]
                    textos.append(suyas.encode("utf-8"))
                    entradas.append(entrada.encode())
            pieza.historial = b"".join(textos)
            pieza.historial_sitio = b",".join(entradas) if sitio else None
    if sitio:
        # A sección's tramos are consecutive: read at once. The catalog lists them in
        # order, and each bloque's file is made as soon as its secciones are read.
        grupos = ((seccion, entradas_) for seccion, entradas_ in tramos.grupos(
            "historial_sitio", tramos.rangos.secciones) if entradas_)
        for path, data in historial_archivos_en_orden(
                snap.catalog, tabla.eleccion.codigo, grupos, name):
            poner(path, data)
        tramos.guardar("historial_sitio")
    lineas = tramos.partes("historial", CHUNK)
    tramos.guardar("historial")
    return lineas


def _historial_previo(tramos: Tramos, i: int, sitio: bool) -> dict[str, tuple[bytes, bytes]]:
    """Per acta of tramo ``i`` whose inputs did not change since the previous corte
    (``Tramos.cambiadas``) and that had history there, its HISTORIAL.csv lines and (with
    ``sitio``) its site entry of that corte, which are this corte's: a tramo is made
    again for one changed acta, its other actas' history is taken as it was (two of a
    tramo of three with one changed acta). Empty when the previous texts are not at
    hand or cannot be cut per acta."""
    antigua = tramos.antigua(i)
    cambiadas = tramos.cambiadas
    if antigua is None or cambiadas is None or antigua.historial is None \
            or (sitio and antigua.historial_sitio is None):
        return {}
    inicio, fin = tramos.rangos.limites[i]
    claves = tramos.rangos.claves[inicio:fin]
    quedan = [c for k, c in enumerate(claves, inicio) if k not in cambiadas]
    if not quedan:
        return {}
    lineas = lineas_por_acta(texto(antigua.historial, i), claves)
    if lineas is None:
        return {}
    if not sitio:
        return {c: (lineas[c], b"") for c in quedan if c in lineas}
    assert antigua.historial_sitio is not None
    entradas = entradas_por_acta(texto(antigua.historial_sitio, i), claves)
    if entradas is None or entradas.keys() != lineas.keys():
        return {}
    return {c: (lineas[c], entradas[c]) for c in quedan if c in lineas}


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
            for trozo in _trozos(partes):
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
