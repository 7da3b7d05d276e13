"""The LEEME section that describes HISTORIAL.csv (:mod:`prep.corte.historial`)."""

from __future__ import annotations

from prep.corte.historial import CCV
from prep.corte.historial import COLUMNS
from prep.corte.historial import COTEJO_COINCIDE
from prep.corte.historial import COTEJO_DIFERENCIAS
from prep.corte.historial import HISTORIAL
from prep.corte.historial import TITULO
from prep.corte.historial import Evento
from prep.corte.model import Digitalizacion
from prep.corte.model import Origen
from prep.corte.simulacro import linea_titulo

_EVENTOS = {
    Evento.ACOPIO: "se recibió el paquete con el acta en el centro de acopio (FECHA_HORA "
                   "es FECHA_HORA_ACOPIO del CSV de la elección).",
    Evento.SIN_ACTA: "el paquete se registró sin el acta; DETALLE dice la causa, como "
                     "OBSERVACIONES (FECHA_HORA es FECHA_HORA_ACOPIO).",
    Evento.DIGITALIZACION: "se recibió una imagen del acta: IMAGEN es su número (1, 2… "
                           "en orden de llegada), CODIGO_INTEGRIDAD su SHA-256, ORIGEN y "
                           "DIGITALIZACION cómo se obtuvo; DETALLE «reemplaza una imagen "
                           "anterior» si se volvió a digitalizar.",
    Evento.CAPTURA: "una captura de los datos del acta, a ciegas, hecha sobre la imagen "
                    "IMAGEN en la ronda RONDA; DETALLE «captura 1», «captura 2» o "
                    "«captura 3» (la tercera se pide cuando las dos primeras difieren).",
    Evento.CORRECCION: "una captura de una ronda de corrección, abierta por un cotejo con "
                       "diferencias; DETALLE como en CAPTURA.",
    Evento.VERIFICACION: "una persona verificadora decidió los datos al ver la imagen y "
                         "las capturas, que no coincidieron.",
    Evento.VALIDACION: "los datos publicados quedaron validados (FECHA_HORA es "
                       "FECHA_HORA_VERIFICACION del CSV); CODIGO_INTEGRIDAD, ORIGEN y "
                       "DIGITALIZACION son los de la imagen publicada (los del CSV); "
                       "DETALLE «coincidieron dos capturas», «la tercera captura coincidió "
                       "con una de las anteriores» o «decidió un verificador».",
    Evento.COTEJO: f"se comparó el dato publicado con el acta en papel; DETALLE "
                   f"«{COTEJO_COINCIDE}» o «{COTEJO_DIFERENCIAS}».",
    Evento.PUBLICACION: "el corte en que el acta se publicó por primera vez: FECHA_HORA es "
                        "la hora de ese corte y DETALLE su nombre (AAAAMMDD_HHMM).",
    Evento.CORRECCION_PUBLICADA: "una corrección de los datos publicados del acta (un "
                                 "cotejo encontró diferencias y la ronda de corrección "
                                 "quedó validada): FECHA_HORA es la hora del corte que la "
                                 "publicó por primera vez; DETALLE empieza con el nombre "
                                 "de ese corte y dos puntos, y sigue con la razón: los "
                                 "campos que señaló el cotejo, lo que cambió («cambios: "
                                 "CAMPO: antes → después», cuando el corte anterior "
                                 "estaba a la mano) y, al final, el motivo del cotejo. "
                                 "Hay una fila por cada corrección del acta; las filas "
                                 "que el acta tenía antes (su VALIDACION anterior "
                                 "incluida) se quedan.",
}


def leeme_historial(simulacro: bool = False) -> str:
    """The description of HISTORIAL.csv: lines, columns and the values of each."""
    linea = linea_titulo(TITULO, simulacro)
    eventos = "\n".join(f"    {e.value}: {texto}" for e, texto in _EVENTOS.items())
    return f"""\
{HISTORIAL}: cómo se llegó a los datos de cada acta publicada. Una fila por evento de
cada acta con datos en este corte (las de ACTAS_CAPTURADAS: validadas o Sin Acta), en el
orden de los CSV de las elecciones; los eventos de cada acta, en orden de fecha y hora.
El historial solo crece: toda fila que publicó un corte está en todos los siguientes.
UTF-8 con BOM, CRLF; {linea}. Una celda vacía quiere decir que la columna no aplica a ese
evento. No se publica quién hizo cada paso ni en qué equipo: solo el centro.
  Columnas: {", ".join(COLUMNS)}.
  CLAVE_ACTA: la del CSV de la elección, entre comillas simples.
  EVENTO: qué pasó (valores abajo).
  FECHA_HORA: dd/mm/aaaa hh:mm:ss, hora del centro de la Ciudad de México, según el
    reloj del equipo que lo registró.
  CATD: número del centro de acopio y transmisión de datos donde ocurrió (dos dígitos),
    {CCV} si fue en el centro de captura y verificación, vacía si no aplica (una imagen
    del PREP Casilla, la publicación).
  RONDA: en CAPTURA, CORRECCION, VERIFICACION y VALIDACION, la ronda de captura: cada
    imagen nueva que se captura (por ejemplo, porque la anterior era ilegible) y cada
    corrección abren otra.
  IMAGEN: número de la imagen (el de su evento DIGITALIZACION) sobre la que se hizo la
    captura, o la imagen publicada en VALIDACION.
  CODIGO_INTEGRIDAD: SHA-256 de la imagen (DIGITALIZACION, VALIDACION).
  ORIGEN: {Origen.CATD} o {Origen.CASILLA}; DIGITALIZACION: {Digitalizacion.ESCANER} o \
{Digitalizacion.MOVIL}.
  DETALLE: según el evento (abajo).
  Valores de EVENTO:
{eventos}
  Comprobaciones: toda CLAVE_ACTA está en el CSV de su elección; el CODIGO_INTEGRIDAD de
  su VALIDACION es el del CSV; la FECHA_HORA de ACOPIO o SIN_ACTA es su FECHA_HORA_ACOPIO.
  Cuántas capturas tuvo un acta, si hubo tercera captura o verificación, y cada ronda
  se cuentan con sus filas CAPTURA, CORRECCION y VERIFICACION."""
