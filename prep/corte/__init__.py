"""Cortes: the per-election summary, the Anexo 18.5 CSV package and its manifest.

This package's own names are the arithmetic's and the reader's only: importing any module
of ``prep.corte`` runs this file first, so it must not reach the incremental engine that
``prep.corte.package`` drives (``verify-corte`` imports no cache code; issue 65). The
package's writer is ``prep.corte.package.build_corte_files`` / ``write_corte``.
"""

from prep.corte.model import ActaEnCorte
from prep.corte.model import Digitalizacion
from prep.corte.model import FueraDeCatalogo
from prep.corte.model import Origen
from prep.corte.reader import CsvEleccion
from prep.corte.reader import CsvFormatError
from prep.corte.reader import read_eleccion_csv
from prep.corte.summary import Resumen
from prep.corte.summary import TablaEleccion
from prep.corte.summary import percentage
from prep.corte.summary import tabulate

__all__ = [
    "ActaEnCorte", "CsvEleccion", "CsvFormatError", "Digitalizacion", "FueraDeCatalogo",
    "Origen", "Resumen", "TablaEleccion", "percentage", "read_eleccion_csv", "tabulate",
]
