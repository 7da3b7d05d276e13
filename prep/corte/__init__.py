"""Cortes: the per-election summary, the Anexo 18.5 CSV package and its manifest."""

from prep.corte.model import ActaEnCorte, Digitalizacion, FueraDeCatalogo, Origen
from prep.corte.package import CorteEscrito, build_corte_files, write_corte
from prep.corte.reader import CsvEleccion, CsvFormatError, read_eleccion_csv
from prep.corte.summary import Resumen, TablaEleccion, percentage, tabulate

__all__ = [
    "ActaEnCorte", "CorteEscrito", "CsvEleccion", "CsvFormatError", "Digitalizacion",
    "FueraDeCatalogo", "Origen", "Resumen", "TablaEleccion", "build_corte_files",
    "percentage", "read_eleccion_csv", "tabulate", "write_corte",
]
