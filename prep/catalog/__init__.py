"""The electoral catalog: model, file format and synthetic generator."""

from prep.catalog.files import (
    CatalogError,
    catalog_digest,
    catalog_files,
    files_digest,
    load_catalog,
    load_catalog_files,
    write_catalog,
)
from prep.catalog.generate import generate_catalog
from prep.catalog.model import (
    Acta,
    Ambito,
    Asociacion,
    Candidatura,
    Casilla,
    Catalog,
    Demarcacion,
    Distrito,
    Eleccion,
    TipoAsociacion,
)

__all__ = [
    "Acta", "Ambito", "Asociacion", "Candidatura", "Casilla", "Catalog", "CatalogError",
    "Demarcacion", "Distrito", "Eleccion", "TipoAsociacion", "catalog_digest",
    "catalog_files", "files_digest", "generate_catalog", "load_catalog", "load_catalog_files",
    "write_catalog",
]
