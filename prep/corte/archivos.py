"""The registry of a corte's published files (issue 65): every file a corte publishes
is one :class:`~prep.corte.archivo.Archivo` here, in the order the LEEME describes them.
The LEEME, the public site's downloads, ``prep verify-corte`` and the central's
``publish`` loop over :func:`registrados` instead of naming the files one by one, so a
new file lands by editing its module and its line here (docs/publicacion.md, «Para
quien desarrolla: un archivo o una columna nuevos»).

Each entry declares the snapshot inputs its text reads (:class:`~prep.corte.insumos.Lee`)
and how it is made (:class:`~prep.corte.insumos.Render`). What the incremental engine
keeps between cortes is keyed by those declarations (:mod:`prep.corte.tramos`).

Made through the registry (``publish`` loops over :func:`por_registro`): the
candidaturas, AVANCE_CATD.csv, DIFUSORES.csv, LEEME.txt (last: it lists the others) and
any file registered with ``hacer``, ``por_eleccion`` or ``tramo``. Made by ``publish``
and the engine by name, their entry saying where (``hecho_por``): the election CSVs,
HISTORIAL.csv, the site, diferencias.json, the zip, the images, the key, the manifest
and its signature. verify-corte runs the ``verifica`` of
the election CSVs, HISTORIAL.csv, AVANCE_CATD.csv, DIFUSORES.csv and the site (which
checks the candidaturas against its election data) from here; the other files' checks
are still its own (prep.corte.verify: signature, hashes, images, zip).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence

from prep.corte import difusores
from prep.corte.anexo import COLUMNS_NO_CAPTURADAS
from prep.corte.anexo import columns
from prep.corte.archivo import Archivo
from prep.corte.archivo import ArchivoPublicado as ArchivoPublicado
from prep.corte.archivo import Cambio
from prep.corte.archivo import Fuente
from prep.corte.archivo import Leido as Leido
from prep.corte.candidaturas import candidaturas_csv
from prep.corte.historial import HISTORIAL
from prep.corte.historial_leeme import leeme_historial
from prep.corte.insumos import Global
from prep.corte.insumos import Insumo
from prep.corte.insumos import Lee
from prep.corte.insumos import Render
from prep.corte.insumos import union
from prep.corte.leeme import firmado
from prep.corte.leeme import leeme_text
from prep.corte.nombres import DIFERENCIAS
from prep.corte.nombres import LEEME
from prep.corte.nombres import MANIFEST
from prep.corte.nombres import PUBLIC_KEY
from prep.corte.nombres import SIGNATURE
from prep.corte.nombres import candidaturas_csv_name
from prep.corte.nombres import csv_name
from prep.corte.salud_catd import AVANCE_CATD
from prep.corte.salud_catd import leeme_salud
from prep.corte.salud_catd import salud_csv
from prep.corte.verify_elecciones import problemas_elecciones
from prep.corte.verify_historial import problemas_historial
from prep.corte.verify_salud_catd import problemas_salud
from prep.corte.verify_sitio import problemas_sitio

_E, _G = Insumo, Global
_PUBLICA = "central.publication.publicar.publish"

#: What diferencias.json counts as a change of an election CSV (central.publication.
#: diferencias reads it here).
CAMBIO_ELECCIONES = Cambio(
    "cada acta: agregada, modificada (columnas antes y ahora, y por qué) o retirada; las "
    "filas fuera de catálogo, contadas", columns, COLUMNS_NO_CAPTURADAS)
#: The election CSVs (Anexo 18.5, prep.corte.anexo): the summary and one line per acta.
#: Per tramo: its acta lines (the summary's rows, counts and the site's rows are kept
#: with them in ``tramos.Pieza``).
ELECCIONES = Archivo(
    "<ELECCION>.csv", Lee.de(_E.ESTADO, _G.CATALOGO, _G.REGLAS, _G.ULTIMO_CORTE,
                             _G.SIMULACRO, _G.CORTE, _G.FUERA),
    Render.POR_TRAMO,
    lee_tramo=Lee.de(_E.ESTADO, _G.CATALOGO, _G.REGLAS, _G.ULTIMO_CORTE),
    verifica=problemas_elecciones,
    cambio=CAMBIO_ELECCIONES,
    hecho_por="prep.corte.package.build_corte_files (prep.corte.paquete_tramos por tramo)",
    nombres=lambda catalog: [csv_name(e) for e in catalog.elecciones])
CANDIDATURAS = Archivo(
    "<ELECCION>_CANDIDATURAS.csv", Lee.de(_G.CATALOGO, _G.SIMULACRO), Render.ENTERO,
    por_eleccion=lambda fuente, e: candidaturas_csv(fuente.catalog, e,
                                                    simulacro=fuente.simulacro),
    nombres=lambda catalog: [candidaturas_csv_name(e) for e in catalog.elecciones])
HISTORIAL_CSV = Archivo(
    HISTORIAL, Lee.de(_E.ESTADO, _E.TRAYECTORIA, _E.PUBLICADA_EN, _E.VERIFICADA,
                      _E.TIPO_IMAGEN, _G.CATALOGO, _G.REGLAS, _G.CORTE, _G.SIMULACRO),
    Render.POR_TRAMO,
    lee_tramo=Lee.de(_E.ESTADO, _E.TRAYECTORIA, _E.PUBLICADA_EN, _E.VERIFICADA,
                     _E.TIPO_IMAGEN, _G.CATALOGO, _G.REGLAS),
    titulo=("Historial de cada acta publicada: acopio, digitalización, capturas, "
            "cotejo y publicación (CSV)"),
    parrafo=leeme_historial,
    verifica=lambda leido: problemas_historial(leido.directorio, leido.tablas),
    hecho_por=f"{_PUBLICA} (_historial, _historial_tramos)")
AVANCE = Archivo(
    AVANCE_CATD, Lee.de(_E.ESTADO, _E.PUBLICADA_EN, _E.DIGITALIZADA, _E.CON_CAPTURA,
                        _G.CATALOGO, _G.SALUD, _G.CORTE, _G.SIMULACRO),
    Render.POR_TRAMO,
    lee_tramo=Lee.de(_E.ESTADO, _E.PUBLICADA_EN, _E.DIGITALIZADA, _E.CON_CAPTURA,
                     _G.CATALOGO),
    titulo=("Avance por centro de acopio (CATD): actas acopiadas, digitalizadas, "
            "capturadas y publicadas, tiempo de publicación y conexión (CSV)"),
    parrafo=leeme_salud,
    verifica=lambda leido: problemas_salud(leido.directorio, leido.tablas),
    # Its rows: counted per tramo by the engine (prep.corte.paquete_tramos.filas_catd),
    # which the site's CATD page shows too.
    hacer=lambda fuente: None if fuente.filas_catd is None
    else salud_csv(fuente.filas_catd, fuente.simulacro),
    fase="avance_catd")


def _difusores(fuente: Fuente) -> bytes | None:
    return difusores.difusores_csv(fuente.difusores, fuente.simulacro) \
        if fuente.difusores else None


DIFUSORES = Archivo(
    difusores.DIFUSORES, Lee.de(_G.DIFUSORES, _G.SIMULACRO), Render.ENTERO,
    titulo=("Difusores oficiales del PREP: nombre y dirección de cada sitio que replica "
            "los cortes (CSV)"),
    parrafo=difusores.leeme_difusores,
    verifica=lambda leido: difusores.problemas(leido.directorio, leido.archivos),
    hacer=_difusores)


def _leeme(fuente: Fuente) -> bytes:
    return (leeme_text(fuente.catalog, fuente.corte, fuente.raiz, fuente.simulacro,
                       archivos=fuente.registro, rules=fuente.reglas,
                       ultimo_corte=fuente.ultimo_corte)
            + firmado(fuente.huella_llave)).encode("utf-8")


#: Made after the others: it lists them (each registered file's paragraph: ``parrafo``).
LEEME_TXT = Archivo(
    LEEME, Lee.de(_G.CATALOGO, _G.CORTE, _G.REGLAS, _G.ULTIMO_CORTE, _G.SIMULACRO,
                  _G.ARCHIVOS, _G.LLAVE),
    Render.ENTERO, hacer=_leeme)
SITIO = Archivo(
    "sitio/", Lee.de(_E.ESTADO, _E.TRAYECTORIA, _E.PUBLICADA_EN, _E.VERIFICADA,
                     _E.TIPO_IMAGEN, *Global),
    Render.POR_TRAMO,
    lee_tramo=Lee.de(_E.ESTADO, _E.TRAYECTORIA, _E.PUBLICADA_EN, _E.VERIFICADA,
                     _E.TIPO_IMAGEN, _G.CATALOGO, _G.REGLAS, _G.ULTIMO_CORTE,
                     _G.SIMULACRO, _G.CON_IMAGENES, _G.CON_SITIO),
    verifica=lambda leido: problemas_sitio(leido.directorio, leido.archivos, leido.tablas),
    hecho_por="prep.corte.site.iter_site_files (prep.corte.site_tramos por tramo)")
DIFERENCIAS_JSON = Archivo(
    DIFERENCIAS, Lee.de(_E.ESTADO, _E.VERIFICADA, _G.CORTE, _G.SIMULACRO, _G.FUERA),
    Render.ENTERO,
    titulo=("Diferencias con el corte anterior: actas nuevas, modificadas y corregidas "
            "por cotejo (JSON)"),
    hecho_por="central.publication.diferencias (what counts: each file's ``cambio``)")
ZIP = Archivo(
    "PREP_<CORTE>.zip", Lee.de(*Insumo, *Global), Render.ENTERO,
    hecho_por="central.publication.zip_corte; checked by prep.corte.verify")
IMAGENES = Archivo(
    "imagenes/", Lee.de(_E.ESTADO, _E.TIPO_IMAGEN, _G.CON_IMAGENES), Render.ENTERO,
    hecho_por="central.publication.staging.Staging.images; checked by prep.corte.verify")
LLAVE = Archivo(
    PUBLIC_KEY, Lee.de(_G.LLAVE), Render.ENTERO,
    titulo="Llave pública del instituto, para verificar la firma del manifiesto (PEM)",
    hecho_por=_PUBLICA)
MANIFIESTO = Archivo(MANIFEST, Lee.de(*Insumo, *Global), Render.ENTERO,
                     hecho_por=f"{_PUBLICA}; checked by prep.corte.verify")
FIRMA = Archivo(
    SIGNATURE, Lee.de(*Insumo, *Global), Render.ENTERO,
    titulo=("Firma Ed25519 del manifiesto de códigos de integridad (prep verify-corte la "
            "comprueba con la llave pública)"),
    hecho_por=f"{_PUBLICA}; checked by prep.corte.verify")

#: Every published file, in the order the LEEME describes them and verify-corte checks
#: them (a file's paragraph and check are used only when the corte has it).
ARCHIVOS: tuple[ArchivoPublicado, ...] = (
    ELECCIONES, CANDIDATURAS, LEEME_TXT, HISTORIAL_CSV, AVANCE, DIFUSORES, SITIO,
    DIFERENCIAS_JSON, ZIP, IMAGENES, LLAVE, MANIFIESTO, FIRMA)


def registrados() -> tuple[ArchivoPublicado, ...]:
    """The registered files (:data:`ARCHIVOS`), read when asked."""
    return ARCHIVOS


def registrado(nombre: str) -> ArchivoPublicado | None:
    """The registered file called ``nombre``, if any."""
    return next((a for a in registrados() if a.nombre == nombre), None)


def por_registro(archivos: Iterable[ArchivoPublicado] | None = None
                 ) -> tuple[Archivo, ...]:
    """The registered files whose text the registry makes (``hacer``: whole,
    ``por_eleccion``: one per election, ``tramo``: per tramo), in order (``archivos``:
    another registry, e.g. a test's), those that list the corte's other files
    (:attr:`~prep.corte.insumos.Global.ARCHIVOS`) last."""
    hechos = [a for a in (registrados() if archivos is None else archivos)
              if isinstance(a, Archivo) and (a.hacer is not None or a.tramo is not None
                                             or a.por_eleccion is not None)]
    return tuple(sorted(hechos, key=lambda a: Global.ARCHIVOS in a.lee.corte))


def por_tramo(archivos: Iterable[ArchivoPublicado] | None = None) -> tuple[Archivo, ...]:
    """The registered files made per tramo (the engine keeps their tramos' texts)."""
    return tuple(a for a in (registrados() if archivos is None else archivos)
                 if isinstance(a, Archivo) and a.render is Render.POR_TRAMO)


def lee_tramos(archivos: Sequence[Archivo]) -> Lee:
    """What the tramos' texts of ``archivos`` read, all together."""
    return union(a.lee_tramo or a.lee for a in archivos)
