"""The LEEME of a corte package: what every file and every column means (Spanish).

Besides naming every column, it gives the values each coded column can take, the line
layout of the files, the columns of the candidaturas files and how to join them to the
results, and the publication choices a reader needs to read the rows right (issue 28;
``docs/publicacion.md`` explains them to the institute's staff).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from datetime import datetime

from prep.catalog.model import MECANISMOS_TRASLADO
from prep.catalog.model import TIPO_CASILLA_ORDER
from prep.catalog.model import TIPOS_CASILLA
from prep.catalog.model import TIPOS_SIN_TRASLADO
from prep.catalog.model import Ambito
from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.corte.anexo import NO_APLICA
from prep.corte.anexo import SIN_DATO
from prep.corte.anexo import columnas_leeme
from prep.corte.anexo import linea_corte
from prep.corte.archivo import ArchivoPublicado
from prep.corte.leeme_reglas import ULTIMO_CORTE
from prep.corte.leeme_reglas import definiciones
from prep.corte.leeme_reglas import descripcion
from prep.corte.model import Digitalizacion
from prep.corte.model import Origen
from prep.corte.nombres import DIFERENCIAS
from prep.corte.nombres import IMAGENES
from prep.corte.nombres import MANIFEST
from prep.corte.nombres import PUBLIC_KEY
from prep.corte.nombres import SIGNATURE
from prep.corte.nombres import SITIO
from prep.corte.simulacro import AVISO
from prep.corte.simulacro import LINEA_MANIFIESTO
from prep.corte.simulacro import titulo as marca_simulacro
from prep.corte.summary import RESUMEN
from prep.paquete import TipoDocumento
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

_CONVENCIONES = """\
Convenciones:
- Archivos CSV en UTF-8 con BOM, separados por comas, con fin de línea CRLF.
- '-' indica que aún no hay dato; 'N/A' que el campo no aplica (por ejemplo, una
  asociación que no compite en el distrito o demarcación de la casilla, la imagen de un
  acta registrada Sin Acta o el traslado de un paquete que no existió).
- 'Ilegible': el campo no se pudo leer ni en letra ni en número; 'Sin dato': no se
  escribió ni en letra ni en número. Cuando letra y número difieren, prevalece la letra.
- Los porcentajes se truncan a cuatro decimales; no se redondean.
- Las filas se ordenan por distrito, sección, tipo, número y extensión de casilla; las
  actas fuera de catálogo van al final: CLAVE_CASILLA '-' (no son de ninguna casilla del
  catálogo), CLAVE_ACTA el código tal como se leyó, ID_ENTIDAD y ENTIDAD si el código
  nombra esta entidad, ORIGEN y FECHA_HORA_ACOPIO de su registro, y '-' en lo que no
  se sabe.
- MANIFIESTO.sha256 lista el SHA-256 de cada archivo; verifíquelo con
  'sha256sum -c MANIFIESTO.sha256'.
"""

_SIMULACRO = f"""\
AVISO: SIMULACRO. {AVISO}
Lo dicen la línea 1 de cada archivo CSV (su título, que en un simulacro empieza con
«SIMULACRO — »), la línea 1 de este LEEME y la línea 1 del manifiesto firmado:
  {LINEA_MANIFIESTO}
y, en el corte publicado por el nodo central, diferencias.json («"simulacro": true») y un
aviso al inicio de cada página del sitio. Fuera de esa marca, los archivos de un
simulacro tienen exactamente la forma de los de la noche de la elección: los mismos
nombres, las mismas líneas antes del encabezado y las mismas columnas, para que un
programa probado en los simulacros lea los cortes reales sin cambios.
'prep verify-corte' lo informa y rechaza un corte cuyos archivos no concuerdan con su
manifiesto."""


def leeme_text(catalog: Catalog, corte: datetime, files: Sequence[str],
               simulacro: bool = False, *, archivos: Iterable[ArchivoPublicado],
               rules: RuleSet = DEFAULT_RULES, ultimo_corte: bool = False) -> str:
    """The LEEME text: files, conventions, and every column of every CSV (a drill's
    says SIMULACRO on line 1 and explains the stamp: :mod:`prep.corte.simulacro`);
    ``archivos``: the registered files (:func:`prep.corte.archivos.registrados`), each
    of ``files`` described by its paragraph."""
    out = [marca_simulacro(f"PREP {catalog.entidad} — corte del "
                           f"{linea_corte(corte, ultimo_corte)}", simulacro), ""]
    if simulacro:
        out += [_SIMULACRO, ""]
    if ultimo_corte:  # the Consejo's rules: prep.corte.leeme_reglas
        out += [ULTIMO_CORTE, ""]
    out += ["Archivos de este corte:"]
    out += [f"- {name}" for name in files]
    out += ["", _CONVENCIONES, _LINEAS]
    out += [f"  {c}: {descripcion(c, rules, ultimo_corte) or d}" for c, d in RESUMEN.items()]
    out += ["", "Columnas de las filas de actas (línea 7 y siguientes), en este orden:"]
    out += [f"  {c}: {d}" for c, d in columnas_leeme()]
    out += ["", *_valores(catalog, rules), "", *_CANDIDATURAS, "", _DECISIONES]
    parrafos = (archivo.leeme(simulacro) for archivo in archivos
                if archivo.nombre in files)
    out += [s for parrafo in parrafos if parrafo is not None for s in ("", parrafo)]
    for e in catalog.elecciones:
        out += ["", f"{e.nombre} (código {e.codigo}) {_AMBITO[e.ambito]}",
                "  Asociaciones (columnas de votos):"]
        out += [f"    {a.clave}: {a.nombre}" for a in e.asociaciones]
    return "\n".join(out) + "\n"


_LINEAS = """\
Cada CSV de elección (<ELECCIÓN>.csv), línea por línea:
- Línea 1: nombre de la elección.
- Línea 2: fecha y hora del corte al segundo (dd/mm/aaaa hh:mm:ss), con su diferencia
  respecto de UTC; dos cortes nunca dicen la misma hora. En el último corte le sigue
  « — ÚLTIMO CORTE» y, si la participación de ese corte cuenta las casillas especiales,
  «(participación de la entidad con casillas especiales)».
- Línea 3: vacía.
- Línea 4: encabezado del resumen; línea 5: sus valores (abajo).
- Línea 6: vacía.
- Línea 7: encabezado de las filas de actas.
- Línea 8 en adelante: una fila por acta del catálogo y, al final, las fuera de catálogo.

Columnas del resumen (líneas 4 y 5):"""

_AMBITO = {
    Ambito.ENTIDAD: "se decide en toda la entidad: una sola contienda.",
    Ambito.DISTRITO: "se decide por distrito local: cada distrito es una contienda "
                     "(ID_DISTRITO_LOCAL).",
    Ambito.DEMARCACION: "se decide por demarcación: cada alcaldía es una contienda, con "
                        "sus propias candidaturas. Sus filas llevan ID_DEMARCACION y "
                        "DEMARCACION; sume los votos de cada demarcación por separado: "
                        "la suma de toda la entidad no es el resultado de ninguna "
                        "contienda.",
}

_CANDIDATURAS = (
    "Archivos de candidaturas (<ELECCIÓN>_CANDIDATURAS.csv): la línea 1 es el título "
    "«CANDIDATURAS DE <ELECCIÓN>», el encabezado va en la línea 2 y sigue una fila por "
    "candidatura registrada, ordenadas por contienda y asociación.",
    "  ID_ENTIDAD, ENTIDAD: la entidad, como en el CSV de la elección.",
    "  ID_DISTRITO_LOCAL, DISTRITO_LOCAL: solo en las elecciones por distrito: la "
    "contienda de la candidatura.",
    "  ID_DEMARCACION, DEMARCACION: solo en las elecciones por demarcación: la contienda "
    "de la candidatura.",
    "  PARTIDO_CI: la asociación que la postula; es el nombre de una columna de votos del "
    "CSV de la elección.",
    "  CANDIDATURA_PROPIETARIA: nombre de la persona propietaria.",
    "  CANDIDATURA_SUPLENTE: nombre de la persona suplente; vacío donde el cargo no tiene "
    "suplente (en la Ciudad de México, Jefatura de Gobierno y alcaldías).",
    "  Una coalición o candidatura común registra una sola persona por contienda: la fila "
    "de cada partido que la forma nombra a la misma persona.",
    "  Para unir resultados y candidaturas: en una elección de toda la entidad, por "
    "PARTIDO_CI; por distrito, por ID_DISTRITO_LOCAL y PARTIDO_CI; por demarcación, por "
    "ID_DEMARCACION y PARTIDO_CI. Una combinación de coalición no tiene fila propia: sus "
    "votos son de las candidaturas comunes de sus partidos.",
)

_DECISIONES = f"""\
Cómo se publican algunos casos:
- MECANISMOS_TRASLADO publica el mecanismo que se registró al recibir el paquete o, si no
  se registró otro, el que el Consejo aprobó para la casilla. Es '{SIN_DATO}' mientras el
  paquete no llega, y '{NO_APLICA}' cuando no hubo paquete que trasladar: casilla no
  instalada, paquete no entregado, y las mesas de voto anticipado, prisión preventiva y
  en el extranjero, cuyos votos se cuentan en la sede.
- UBICACION_CASILLA es '{NO_APLICA}' en esas mesas, salvo que el catálogo la indique.
- Esas mesas no pertenecen a ninguna sección: SECCION, REPRESENTANTES_PP_CI,
  TOTAL_BOLETAS_SOBRANTES y TOTAL_REP_PARTIDO_CI_VOTARON son '{NO_APLICA}'.
  ID_DISTRITO_LOCAL es el distrito cuyo CATD cuenta la mesa. Sus votos cuentan en la
  contienda de la elección (la entidad, o su distrito o demarcación en las elecciones
  que se deciden así) y en ningún resultado por debajo de ella: el sitio las lista
  aparte.
- Una mesa de voto en el extranjero solo tiene actas de las elecciones en que ese voto
  cuenta; en las demás elecciones no hay fila suya ni se espera su acta.
- TIPO_ACTA distingue el formato del acta: el de las casillas especiales, el que imprime
  la urna electrónica y el de las mesas es distinto del de las casillas básicas,
  contiguas y extraordinarias.
- Cuando falta el Acta PREP, los datos pueden capturarse de otro ejemplar del acta de
  escrutinio y cómputo; TIPO_DOCUMENTO dice cuál fue.
- En una casilla de urna electrónica, si la urna no pudo imprimir el acta, se publica
  Sin Acta por esa contingencia."""


def _valores(catalog: Catalog, rules: RuleSet) -> list[str]:
    """The values every coded column can take."""
    tipos = [f"{t} {TIPOS_CASILLA[t].lower()}" for t in TIPO_CASILLA_ORDER]
    sin_ubicacion = ", ".join(sorted(TIPOS_SIN_TRASLADO))
    out = ["Valores de las columnas codificadas:",
           f"  TIPO_CASILLA: {', '.join(tipos)}.",
           "  EXT_CONTIGUA: 0 si la casilla no es contigua a una extraordinaria; si lo es, "
           "su número.",
           f"  UBICACION_CASILLA: 1 urbana, 2 no urbana; {NO_APLICA} en las mesas de tipo "
           f"{sin_ubicacion} sin ubicación en el catálogo.",
           "  TIPO_ACTA, por elección y tipo de casilla:"]
    for e in catalog.elecciones:
        out.append(f"    {e.nombre}: {_tipos_acta(e)}.")
    traslados = "; ".join(f"{c} {d}" for c, d in MECANISMOS_TRASLADO.items())
    documentos = ", ".join(f"«{d.publicado}»" for d in TipoDocumento)
    out += [
        "  CONTABILIZADA: 1 se suma a los resultados; 0 no se suma; '-' aún sin datos.",
        f"  MECANISMOS_TRASLADO: {traslados}; {NO_APLICA} no hubo paquete que trasladar; "
        f"'{SIN_DATO}' el paquete aún no llega.",
        f"  ORIGEN: {Origen.CATD} (la imagen se digitalizó en un centro de acopio), "
        f"{Origen.CASILLA} (la tomó el PREP Casilla en la casilla).",
        f"  DIGITALIZACION: {Digitalizacion.ESCANER}, {Digitalizacion.MOVIL}.",
        f"  TIPO_DOCUMENTO: {documentos}.",
        "  COTEJADA: 1 cotejada contra el papel (confirmada, o corregida y validada); 0 "
        "aún no.",
        f"  OBSERVACIONES: {'; '.join(_observaciones(rules))}. Varias se separan con "
        f"«{rules.separador}»; '-' si no tiene. Qué quiere decir cada una:",
        *definiciones(rules),
    ]
    return out


def _tipos_acta(e: Eleccion) -> str:
    propios = dict(e.tipos_acta)
    comun = [t for t in TIPO_CASILLA_ORDER if t not in propios]
    partes = [f"{e.tipo_acta} (casillas {', '.join(comun)})"]
    partes += [f"{valor} ({TIPOS_CASILLA[tipo].lower()}, {tipo})"
               for tipo, valor in e.tipos_acta]
    return "; ".join(partes)


def _observaciones(rules: RuleSet) -> list[str]:
    labels = [rules.ilegible, rules.sin_dato, rules.excede, rules.todos_ilegibles,
              rules.todos_vacios, rules.todos_ilegibles_o_sin_dato,
              *rules.sin_acta.values(), rules.fuera_de_catalogo]
    no_identificada = getattr(rules, "eleccion_no_identificada", "")
    if no_identificada:
        labels.append(f"{rules.fuera_de_catalogo}{rules.separador}{no_identificada}")
    return [f"«{label}»" for label in labels]


def firmado(huella_llave: str) -> str:
    """What the LEEME of a corte published by the central ends with: how its files are
    signed and checked (``huella_llave``: the SHA-256 fingerprint of the central's
    public key)."""
    return f"""
Publicación firmada:
- {MANIFEST} lista el SHA-256 de cada archivo del corte (incluidas las imágenes en
  {IMAGENES}/<sha256>.<ext> y el sitio en {SITIO}/); {SIGNATURE} es la firma Ed25519
  de ese manifiesto con la llave del nodo central ({PUBLIC_KEY}).
- Huella SHA-256 de la llave pública del nodo central: {huella_llave}
  Compárela con la que publica el instituto.
- Verificación completa: 'prep verify-corte <directorio>'; o bien
  'openssl pkeyutl -verify -pubin -inkey {PUBLIC_KEY} -rawin -in {MANIFEST}
  -sigfile {SIGNATURE}' y 'sha256sum -c {MANIFEST}'.
- CODIGO_INTEGRIDAD de cada acta es el SHA-256 de su imagen: {IMAGENES}/<CODIGO_INTEGRIDAD>.<ext>.
- {DIFERENCIAS} dice qué actas se agregaron, cuáles cambiaron y por qué, respecto del
  corte anterior.
"""
