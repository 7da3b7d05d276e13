"""The registry of a corte's published files (prep.corte.archivos, issue 65): a file
registered there is described by the LEEME, offered by the site's downloads and checked
by ``verify-corte``, with nothing else edited; and the registered files are the ones
the registry lists every file a corte publishes."""

from __future__ import annotations

from pathlib import Path

import pytest

from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.corte import archivos
from prep.corte.archivo import Archivo
from prep.corte.archivos import Leido
from prep.corte.historial import HISTORIAL
from prep.corte.insumos import Insumo
from prep.corte.insumos import Render
from prep.corte.leeme import leeme_text
from prep.corte.package import LEEME
from prep.corte.package import MANIFEST
from prep.corte.package import build_corte_files
from prep.corte.package import manifest
from prep.corte.package import slug
from prep.corte.salud_catd import AVANCE_CATD
from prep.corte.site import iter_site_files
from prep.corte.verify import verify_corte
from prep.sintetico.capturas import simulate
from tests.site.corte_sitio import corte_time

pytestmark = pytest.mark.rapido

SEED = 11
NOMBRE = "EJEMPLO.csv"


class _Ejemplo:
    """A file the corte does not publish, registered by the test alone."""

    nombre = NOMBRE
    titulo = "Archivo de ejemplo (CSV)"

    def leeme(self, simulacro: bool) -> str:
        return f"{NOMBRE}: un archivo de ejemplo{' de simulacro' if simulacro else ''}."

    def problemas(self, leido: Leido) -> list[str]:
        datos = (leido.directorio / NOMBRE).read_bytes()
        return [f"{NOMBRE}: revisado ({len(datos)} bytes, {len(leido.tablas)} elecciones, "
                f"{NOMBRE in leido.archivos})"]


@pytest.fixture
def registrado(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archivos, "ARCHIVOS", (*archivos.ARCHIVOS, _Ejemplo()))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(SEED, 0.01)


@pytest.mark.usefixtures("registrado")
def test_a_registered_file_is_in_the_leeme_the_site_and_verify_corte(
        catalog: Catalog, tmp_path: Path) -> None:
    corte = corte_time(catalog)
    sim = simulate(catalog, SEED, corte)
    files, tablas = build_corte_files(catalog, sim.estado, sim.fuera, corte,
                                      manifiesto=False)
    # The LEEME describes it when the corte has it, and only then.
    leeme = leeme_text(catalog, corte, sorted([*files, NOMBRE]),
                       archivos=archivos.registrados())
    assert f"\n\n{NOMBRE}: un archivo de ejemplo.\n" in leeme
    assert NOMBRE not in leeme_text(catalog, corte, sorted(files),
                                    archivos=archivos.registrados())
    # The site offers it among the downloads with its title.
    sitio = dict(iter_site_files(catalog, {t.eleccion.codigo: t for t in tablas}, corte, {},
                                 descargas=(NOMBRE,)))
    assert b'"archivo":"EJEMPLO.csv","titulo":"Archivo de ejemplo (CSV)"' \
        in sitio["sitio/datos/indice.js"]
    # verify-corte runs its check (not the election CSVs' one) when the manifest lists it.
    files[NOMBRE] = b"uno,dos\r\n"
    files[LEEME] = leeme.encode("utf-8")
    files[MANIFEST] = manifest(files)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    result = verify_corte(tmp_path)
    assert f"{NOMBRE}: revisado (9 bytes, {len(catalog.elecciones)} elecciones, True)" \
        in result.problemas
    assert NOMBRE not in result.elecciones
    assert not [p for p in result.problemas if p.startswith(NOMBRE) and "revisado" not in p]


def test_the_registry_lists_every_file_a_corte_publishes(catalog: Catalog) -> None:
    nombres = [a.nombre for a in archivos.registrados()]
    assert len(set(nombres)) == len(nombres)
    assert all(archivos.registrado(n) is not None for n in nombres)
    raiz = {n for a in archivos.registrados() if isinstance(a, Archivo)
            for n in a.en(catalog)}
    csvs = {f"{slug(e.nombre)}{sufijo}.csv" for e in catalog.elecciones
            for sufijo in ("", "_CANDIDATURAS")}
    assert raiz == {*csvs, LEEME, HISTORIAL, AVANCE_CATD, "DIFUSORES.csv", "sitio/",
                    "diferencias.json", "PREP_<CORTE>.zip", "imagenes/",
                    "llave_publica.pem", MANIFEST, f"{MANIFEST}.sig"}
    # Each says what it reads and how it is made; the per-tramo ones what their tramos
    # read, which the engine keys what it keeps by.
    for archivo in archivos.registrados():
        assert isinstance(archivo, Archivo)
        assert archivo.hacer is not None or archivo.tramo is not None \
            or archivo.por_eleccion is not None or archivo.hecho_por
        if archivo.render is Render.POR_TRAMO:
            assert archivo.lee_tramo is not None and archivo.lee_tramo.actas
    assert [a.nombre for a in archivos.por_registro()] == [
        "<ELECCION>_CANDIDATURAS.csv", AVANCE_CATD, "DIFUSORES.csv", LEEME]
    assert archivos.lee_tramos(archivos.por_tramo()).actas == frozenset(Insumo)
