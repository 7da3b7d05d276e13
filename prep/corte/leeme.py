"""The LEEME of a corte package: what every file and every column means (Spanish)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from prep.catalog.model import Catalog
from prep.corte.anexo import COLUMNS_AFTER, COLUMNS_BEFORE, format_corte_time
from prep.corte.summary import RESUMEN_COLUMNS

DESCRIPCIONES: dict[str, str] = {
    "ACTAS_ESPERADAS": "Número de actas de las casillas aprobadas por el Consejo para esta "
                       "elección.",
    "ACTAS_REGISTRADAS": "Actas capturadas más actas fuera de catálogo.",
    "ACTAS_FUERA_CATALOGO": "Actas recibidas cuyo código no corresponde a ninguna acta del "
                            "catálogo; no se contabilizan.",
    "ACTAS_CAPTURADAS": "Actas del catálogo con datos publicados (incluye las registradas "
                        "Sin Acta).",
    "PORCENTAJE_ACTAS_CAPTURADAS": "ACTAS_CAPTURADAS × 100 / ACTAS_ESPERADAS, truncado a "
                                   "cuatro decimales (no redondeado).",
    "ACTAS_CONTABILIZADAS": "Actas capturadas cuyos votos se suman a los resultados.",
    "PORCENTAJE_ACTAS_CONTABILIZADAS": "ACTAS_CONTABILIZADAS × 100 / ACTAS_ESPERADAS, "
                                       "truncado a cuatro decimales.",
    "PORCENTAJE_ACTAS_INCONSISTENCIAS": "Actas con OBSERVACIONES × 100 / ACTAS_ESPERADAS, "
                                        "truncado a cuatro decimales.",
    "ACTAS_NO_CONTABILIZADAS": "ACTAS_CAPTURADAS − ACTAS_CONTABILIZADAS.",
    "LISTA_NOMINAL_ACTAS_CONTABILIZADAS": "Suma de LISTA_NOMINAL de las actas contabilizadas.",
    "TOTAL_VOTOS_C_CS": "Suma de TOTAL_VOTOS_CALCULADO de las actas contabilizadas, con "
                        "casillas especiales.",
    "TOTAL_VOTOS_S_CS": "Suma de TOTAL_VOTOS_CALCULADO de las actas contabilizadas, sin "
                        "casillas especiales.",
    "PORCENTAJE_PARTICIPACION_CIUDADANA": "TOTAL_VOTOS_S_CS × 100 / "
                                          "LISTA_NOMINAL_ACTAS_CONTABILIZADAS (en el último "
                                          "corte puede usarse TOTAL_VOTOS_C_CS), truncado a "
                                          "cuatro decimales.",
    "CLAVE_CASILLA": "Entidad (2), sección (4), tipo (1), número (2) y extensión contigua (2), "
                     "entre comillas simples para conservar los ceros a la izquierda.",
    "CLAVE_ACTA": "CLAVE_CASILLA seguida del código de elección (2), entre comillas simples.",
    "ID_ENTIDAD": "Número de la entidad federativa.",
    "ENTIDAD": "Nombre de la entidad federativa.",
    "ID_DISTRITO_LOCAL": "Número del distrito electoral local.",
    "DISTRITO_LOCAL": "Cabecera del distrito electoral local.",
    "SECCION": "Sección electoral.",
    "ID_CASILLA": "Número de la casilla.",
    "TIPO_CASILLA": "B básica, C contigua, E extraordinaria, S especial, A voto anticipado, "
                    "P prisión preventiva, M en el extranjero, U urna electrónica.",
    "EXT_CONTIGUA": "Número de la casilla contigua a una extraordinaria (0 si no aplica).",
    "UBICACION_CASILLA": "1 urbana, 2 no urbana.",
    "TIPO_ACTA": "Tipo de acta de la elección.",
    "TOTAL_BOLETAS_SOBRANTES": "Boletas sobrantes anotadas en el acta.",
    "TOTAL_PERSONAS_VOTARON": "Personas que votaron, anotadas en el acta.",
    "TOTAL_REP_PARTIDO_CI_VOTARON": "Representantes de partidos y candidaturas independientes "
                                    "que votaron sin estar en la lista nominal.",
    "TOTAL_VOTOS_SACADOS": "Votos sacados de la urna, anotados en el acta.",
    "NO_REGISTRADAS": "Votos por candidaturas no registradas.",
    "NULOS": "Votos nulos.",
    "TOTAL_VOTOS_ASENTADO": "Total de votos anotado en el acta.",
    "TOTAL_VOTOS_CALCULADO": "Suma de los votos por asociación, no registradas y nulos "
                             "(Ilegible y Sin dato cuentan 0).",
    "LISTA_NOMINAL": "Personas en la lista nominal de la casilla (0 en casillas especiales).",
    "REPRESENTANTES_PP_CI": "Representantes acreditados que pueden votar en la casilla.",
    "OBSERVACIONES": "Ilegible, Sin dato, Excede Lista Nominal, Todos los campos ilegibles, "
                     "Todos los campos vacíos, Todos los campos ilegibles o sin dato, Sin Acta "
                     "con su causa o Fuera de catálogo; '-' si no tiene.",
    "CONTABILIZADA": "1 si sus votos se suman a los resultados, 0 si no; '-' sin datos aún.",
    "MECANISMOS_TRASLADO": "Mecanismo de traslado del paquete electoral, si lo hubo.",
    "CODIGO_INTEGRIDAD": "SHA-256 de la imagen del acta publicada; cualquiera puede "
                         "recalcularlo con la imagen descargada.",
    "FECHA_HORA_ACOPIO": "Fecha y hora de acopio del acta (dd/mm/aaaa hh:mm:ss, hora del "
                         "centro de México).",
    "FECHA_HORA_CAPTURA": "Fecha y hora en que quedó validada la captura.",
    "FECHA_HORA_VERIFICACION": "Fecha y hora de la verificación, si la hubo.",
    "ORIGEN": "CATD si la imagen se digitalizó en un centro de acopio, CASILLA si la tomó el "
              "PREP Casilla.",
    "DIGITALIZACION": "Escáner o Móvil.",
    "TIPO_DOCUMENTO": "Documento del que se capturaron los datos.",
    "COTEJADA": "1 si el acta ya se cotejó contra el papel, 0 si no.",
}

_CONVENCIONES = """\
Convenciones:
- Archivos CSV en UTF-8 con BOM, separados por comas, con fin de línea CRLF.
- '-' indica que aún no hay dato; 'N/A' que el campo no aplica (por ejemplo, una
  asociación que no compite en el distrito o demarcación de la casilla).
- 'Ilegible': el campo no se pudo leer ni en letra ni en número; 'Sin dato': no se
  escribió ni en letra ni en número. Cuando letra y número difieren, prevalece la letra.
- Los porcentajes se truncan a cuatro decimales; no se redondean.
- Las filas se ordenan por distrito, sección, tipo, número y extensión de casilla; las
  actas fuera de catálogo van al final con '-' en sus claves.
- MANIFIESTO.sha256 lista el SHA-256 de cada archivo; verifíquelo con
  'sha256sum -c MANIFIESTO.sha256'.
"""


def leeme_text(catalog: Catalog, corte: datetime, files: Sequence[str]) -> str:
    """The LEEME text: files, conventions, and every column of every CSV."""
    out = [f"PREP {catalog.entidad} — corte del {format_corte_time(corte)}", "",
           "Archivos de este corte:"]
    out += [f"- {name}" for name in files]
    out += ["", _CONVENCIONES, "Líneas 1 a 5 de cada CSV de elección: nombre de la elección, "
            "fecha y hora del corte, línea vacía, encabezado y valores del resumen:"]
    out += [f"  {c}: {DESCRIPCIONES[c]}" for c in RESUMEN_COLUMNS]
    out += ["", "Línea 7 en adelante: una fila por acta, con estas columnas:"]
    for c in (*COLUMNS_BEFORE, "TOTAL_BOLETAS_SOBRANTES", "TOTAL_PERSONAS_VOTARON",
              "TOTAL_REP_PARTIDO_CI_VOTARON", "TOTAL_VOTOS_SACADOS"):
        out.append(f"  {c}: {DESCRIPCIONES[c]}")
    out.append("  <asociaciones>: votos de cada partido, combinación de coalición o "
               "candidatura independiente, según la elección (ver abajo).")
    for c in ("NO_REGISTRADAS", "NULOS", "TOTAL_VOTOS_ASENTADO", *COLUMNS_AFTER):
        out.append(f"  {c}: {DESCRIPCIONES[c]}")
    for e in catalog.elecciones:
        out += ["", f"Asociaciones de {e.nombre} (código {e.codigo}):"]
        out += [f"  {a.clave}: {a.nombre}" for a in e.asociaciones]
    return "\n".join(out) + "\n"
