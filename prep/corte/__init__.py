"""Cortes: the per-election summary, the Anexo 18.5 CSV package and its manifest."""

from prep.corte.model import ActaEnCorte
from prep.corte.model import Digitalizacion
from prep.corte.model import FueraDeCatalogo
from prep.corte.model import Origen
from prep.corte.package import CorteEscrito
from prep.corte.package import build_corte_files
from prep.corte.package import write_corte
from prep.corte.reader import CsvEleccion
from prep.corte.reader import CsvFormatError
from prep.corte.reader import read_eleccion_csv
from prep.corte.summary import Resumen
from prep.corte.summary import TablaEleccion
from prep.corte.summary import percentage
from prep.corte.summary import tabulate

__all__ = [
    "ActaEnCorte", "CorteEscrito", "CsvEleccion", "CsvFormatError", "Digitalizacion",
    "FueraDeCatalogo", "Origen", "Resumen", "TablaEleccion", "build_corte_files",
    "percentage", "read_eleccion_csv", "tabulate", "write_corte",
]
