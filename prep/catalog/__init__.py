"""The electoral catalog: model, file format and synthetic generator."""

from prep.catalog.files import CatalogError
from prep.catalog.files import catalog_digest
from prep.catalog.files import catalog_files
from prep.catalog.files import files_digest
from prep.catalog.files import load_catalog
from prep.catalog.files import load_catalog_files
from prep.catalog.files import write_catalog
from prep.catalog.generate import generate_catalog
from prep.catalog.model import Acta
from prep.catalog.model import Ambito
from prep.catalog.model import Asociacion
from prep.catalog.model import Candidatura
from prep.catalog.model import Casilla
from prep.catalog.model import Catalog
from prep.catalog.model import Demarcacion
from prep.catalog.model import Distrito
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion

__all__ = [
    "Acta", "Ambito", "Asociacion", "Candidatura", "Casilla", "Catalog", "CatalogError",
    "Demarcacion", "Distrito", "Eleccion", "TipoAsociacion", "catalog_digest",
    "catalog_files", "files_digest", "generate_catalog", "load_catalog", "load_catalog_files",
    "write_catalog",
]
