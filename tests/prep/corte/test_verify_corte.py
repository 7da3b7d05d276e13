"""``prep verify-corte``: a downloaded corte is checked by anyone, and any change to it
(a byte in any file or image, a signature by another key, a file added or removed, a
summary that does not follow from the rows) is reported and exits 1."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from central.publication.publicar import publish
from central.publication.snapshot import Imagen
from central.publication.snapshot import Snapshot
from prep.catalog import generate_catalog
from prep.cli import main
from prep.corte.package import MANIFEST
from prep.corte.site_datos import NOMBRE_CORTE
from prep.corte.site_datos import data_file
from prep.corte.site_datos import parse_data_file
from prep.corte.verify import verify_corte
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import day_after
from tests.harness.corte_data import image_bytes
from tests.harness.corte_data import image_sha256

KEY = SigningKey.generate()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole corte (CSVs, zip, images, site, diff, signed manifest) of a small
    simulated election, made by the central's packager without a database."""
    base = tmp_path_factory.mktemp("corte")
    catalog = generate_catalog(3, 0.005)
    corte = day_after(catalog, time(6, 0))
    sim = simulate(catalog, 3, corte, pendientes=0.1)
    blobs = base / "blobs"
    estado, imagenes = {}, {}
    for clave, est in sim.estado.items():
        if est.captura is not None:
            data = image_bytes(clave)
            sha = image_sha256(clave)
            (blobs / sha[:2]).mkdir(parents=True, exist_ok=True)
            (blobs / sha[:2] / sha[2:]).write_bytes(data)
            est = replace(est, sha256=sha)
            imagenes[clave] = Imagen(sha, "image/png")
        estado[clave] = est
    snap = Snapshot(corte, 1, catalog, estado, tuple(sim.fuera), imagenes)
    return publish(base / "publicacion", snap, KEY, blobs=blobs, anterior=None).path


@pytest.fixture
def corte(published: Path, tmp_path: Path) -> Path:
    """A fresh copy of the published corte to tamper with."""
    return Path(shutil.copytree(published, tmp_path / published.name))


def test_an_intact_corte_verifies_and_says_so(published: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify-corte", str(published), "--huella", KEY.public.fingerprint()]) == 0
    out = capsys.readouterr().out
    assert "CORTE ÍNTEGRO" in out
    assert KEY.public.fingerprint() in out
    assert "resumen recalculado de las filas: coincide" in out
    result = verify_corte(published)
    assert result.imagenes > 0 and result.archivos > result.imagenes
    assert len(result.elecciones) == 3


def test_a_changed_byte_in_any_file_or_image_is_caught(corte: Path) -> None:
    files = sorted(p for p in corte.rglob("*") if p.is_file())
    assert any(p.parent.name == "imagenes" for p in files)
    assert any("sitio" in p.parts for p in files)
    for path in files:
        original = path.read_bytes()
        changed = bytearray(original)
        changed[len(changed) // 2] ^= 0x01
        path.write_bytes(bytes(changed))
        try:
            result = verify_corte(corte)
            assert not result.ok, f"{path.relative_to(corte)} alterado y no detectado"
        finally:
            path.write_bytes(original)
    assert verify_corte(corte).ok


def test_a_signature_by_another_key_or_an_unexpected_key_is_refused(
        corte: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = SigningKey.generate()
    (corte / f"{MANIFEST}.sig").write_bytes(other.sign((corte / MANIFEST).read_bytes()))
    assert main(["verify-corte", str(corte)]) == 1
    out = capsys.readouterr().out
    assert "CORTE NO VÁLIDO" in out and "la firma MANIFIESTO.sha256.sig no corresponde" in out
    (corte / f"{MANIFEST}.sig").write_bytes(KEY.sign((corte / MANIFEST).read_bytes()))
    assert main(["verify-corte", str(corte), "--huella", other.public.fingerprint()]) == 1
    assert "no es la esperada" in capsys.readouterr().out


def test_an_extra_or_missing_file_is_reported(corte: Path) -> None:
    (corte / "sitio" / "extra.js").write_text("alert(1)")
    result = verify_corte(corte)
    assert "sitio/extra.js: archivo que el manifiesto no lista" in result.problemas
    (corte / "sitio" / "extra.js").unlink()
    image = next((corte / "imagenes").iterdir())
    image.unlink()
    result = verify_corte(corte)
    assert f"imagenes/{image.name}: falta (el manifiesto lo lista)" in result.problemas
    assert any(f"falta la imagen imagenes/{image.stem}" in p for p in result.problemas)


def test_a_symlinked_folder_is_reported_not_followed(corte: Path, tmp_path: Path) -> None:
    """A link planted in a corte (here to a folder outside it holding a copy of the
    images) is a file the manifest does not list; what it points to is never read as
    part of the corte."""
    outside = tmp_path / "fuera"
    shutil.copytree(corte / "imagenes", outside)
    (corte / "sitio" / "enlace").symlink_to(outside, target_is_directory=True)
    result = verify_corte(corte)
    assert result.problemas == ["sitio/enlace: archivo que el manifiesto no lista"]
    assert result.imagenes == len(list((corte / "imagenes").iterdir()))


def _resign(corte: Path, name: str, data: bytes) -> None:
    """Replace ``name`` and re-sign the manifest with the central's own key (what a
    faulty central would publish): only the content checks can catch it."""
    (corte / name).write_bytes(data)
    lines = (corte / MANIFEST).read_text(encoding="utf-8").splitlines()
    digest = hashlib.sha256(data).hexdigest()
    fixed = [f"{digest}  {name}" if line.split("  ", 1)[1] == name else line
             for line in lines]
    manifest = ("\n".join(fixed) + "\n").encode()
    (corte / MANIFEST).write_bytes(manifest)
    (corte / f"{MANIFEST}.sig").write_bytes(KEY.sign(manifest))


def test_a_summary_that_does_not_follow_from_the_rows_is_reported(corte: Path) -> None:
    name = "JEFATURA_DE_GOBIERNO.csv"
    lines = (corte / name).read_bytes().split(b"\r\n")
    values = lines[4].split(b",")
    values[3] = str(int(values[3]) + 1).encode()  # ACTAS_CAPTURADAS
    lines[4] = b",".join(values)
    _resign(corte, name, b"\r\n".join(lines))
    result = verify_corte(corte)
    assert any(p.startswith(f"{name}: el resumen no coincide con las filas en "
                            "ACTAS_CAPTURADAS") for p in result.problemas), result.problemas


def test_an_image_swapped_under_its_name_is_reported(corte: Path) -> None:
    image = next((corte / "imagenes").iterdir())
    _resign(corte, f"imagenes/{image.name}", b"\x89PNG\r\n\x1a\notra imagen")
    result = verify_corte(corte)
    assert any(p.startswith(f"imagenes/{image.name}: la imagen no coincide con su SHA-256")
               for p in result.problemas), result.problemas


def test_a_shared_hash_cache_hashes_a_linked_image_once_and_still_catches_a_swap(
        published: Path, tmp_path: Path) -> None:
    """Checking every corte of a night (the drill's verdict) with one cache: an image
    hard-linked into two cortes is hashed once, and a file replaced in the second corte
    (another inode) is hashed again and caught."""
    first, second = (Path(shutil.copytree(published, tmp_path / name,
                                          copy_function=os.link)) for name in ("uno", "dos"))
    hashed: dict[tuple[int, int, int, int], str] = {}
    assert verify_corte(first, hashed=hashed).ok
    files = len(hashed)
    assert files > 0
    assert verify_corte(second, hashed=hashed).ok
    assert len(hashed) == files  # every file of the second corte: the same inodes
    image = next(p for p in sorted((second / "imagenes").iterdir()))
    swapped = bytearray(image.read_bytes())
    swapped[len(swapped) // 2] ^= 0x01
    fresh = image.with_name(".nuevo")
    fresh.write_bytes(bytes(swapped))
    os.replace(fresh, image)  # written aside and renamed over: a new file
    result = verify_corte(second, hashed=hashed)
    assert not result.ok
    assert any(image.name in p for p in result.problemas), result.problemas
    assert verify_corte(first, hashed=hashed).ok  # its link still holds the original


def _datos(corte: Path, ruta: str) -> dict[str, Any]:
    found = parse_data_file((corte / "sitio" / "datos" / f"{ruta}.js").read_bytes())
    assert found[0] == ruta
    datos: dict[str, Any] = found[1]
    return datos


def _bloques(corte: Path) -> list[str]:
    """The rutas of the site's bloques of acta rows of the first election, in order."""
    return sorted(str(p.relative_to(corte / "sitio" / "datos"))[:-3]
                  for p in (corte / "sitio" / "datos" / "e01").glob("d*/s*.js"))


def test_site_rows_that_are_not_the_csv_rows_are_reported(corte: Path) -> None:
    """A faulty central's site (re-signed) that shows other figures than the CSV, drops
    an acta, or puts it in another sección's bloque is not a valid corte."""
    primera, segunda = _bloques(corte)[:2]
    datos = _datos(corte, primera)
    col = datos["columnas"].index("TOTAL_VOTOS_CALCULADO")
    fila = next(f for f in datos["actas"] if f[col].isdigit())
    fila[col] = str(int(fila[col]) + 1)
    _resign(corte, f"sitio/datos/{primera}.js", data_file(primera, datos))
    result = verify_corte(corte)
    assert result.problemas == [f"sitio/datos/{primera}.js: la fila del acta {fila[1]} no es "
                                "la de JEFATURA_DE_GOBIERNO.csv"]
    # The acta moved to another bloque: not where secciones.js sends the page.
    datos["actas"].remove(fila)
    _resign(corte, f"sitio/datos/{primera}.js", data_file(primera, datos))
    result = verify_corte(corte)
    assert any(p.startswith("sitio/datos/: 1 actas de JEFATURA_DE_GOBIERNO.csv no están en "
                            "ningún bloque") for p in result.problemas), result.problemas
    otro = _datos(corte, segunda)
    fila[col] = str(int(fila[col]) - 1)
    otro["actas"].append(fila)
    _resign(corte, f"sitio/datos/{segunda}.js", data_file(segunda, otro))
    result = verify_corte(corte)
    seccion = fila[datos["columnas"].index("SECCION")]
    assert result.problemas == [f"sitio/datos/{segunda}.js: el acta {fila[1]} (distrito "
                                f"{int(primera[5:8])}, sección {seccion}) no es de este bloque"]


def test_a_site_file_of_another_corte_or_path_is_reported(corte: Path) -> None:
    """The page refuses a data file of another corte or under another name, so a site
    holding one would show an error instead of results."""
    ruta = _bloques(corte)[0]
    datos = _datos(corte, ruta)
    _resign(corte, f"sitio/datos/{ruta}.js", data_file(ruta, {
        **datos, NOMBRE_CORTE: "20200101_0000"}))
    result = verify_corte(corte)
    assert result.problemas[0] == (f"sitio/datos/{ruta}.js: es del corte '20200101_0000', no "
                                   f"del de indice.js ({corte.name!r})")
    _resign(corte, f"sitio/datos/{ruta}.js", data_file("e01/d001", datos))
    result = verify_corte(corte)
    assert f"sitio/datos/{ruta}.js: dice ser 'e01/d001'; la página no lo aceptaría" in \
        result.problemas


def test_a_history_of_an_acta_without_data_is_reported(corte: Path) -> None:
    ruta = _bloques(corte)[0]
    historia = ruta.replace("/s", "/h")
    filas = _datos(corte, ruta)
    col = filas["columnas"].index("CONTABILIZADA")
    pendiente = next((f[1] for b in _bloques(corte) for f in _datos(corte, b)["actas"]
                      if f[col] == "-"), None)
    assert pendiente is not None
    datos = _datos(corte, historia)
    datos["actas"][pendiente] = [["ACOPIO", "07/06/2027 20:00:00", "01", "", "", "", "", "",
                                  ""]]
    _resign(corte, f"sitio/datos/{historia}.js", data_file(historia, datos))
    result = verify_corte(corte)
    assert result.problemas[0] == (f"sitio/datos/{historia}.js: el acta {pendiente} no tiene "
                                   "datos en JEFATURA_DE_GOBIERNO.csv")


_VERIFY_ALONE = """
import contextlib, io, json, sys
from pathlib import Path
if sys.argv[2] == "cli":  # the command an auditor types, on a machine with everything
    from prep.cli import main
    with contextlib.redirect_stdout(io.StringIO()) as out:
        ok = main(["verify-corte", sys.argv[1]]) == 0
    archivos = int("CORTE ÍNTEGRO" in out.getvalue())
else:
    from prep.corte.verify import verify_corte
    result = verify_corte(Path(sys.argv[1]))
    ok, archivos = result.ok, result.archivos
print(json.dumps({"ok": ok, "archivos": archivos,
                  "modules": sorted(m for m in sys.modules
                                    if m.startswith(("prep.corte", "central", "simulacro",
                                                     "difusor", "catd", "ccv")))}))
"""


@pytest.mark.parametrize("como", ["biblioteca", "cli"])
def test_verify_corte_runs_without_loading_the_publishers_engine(published: Path,
                                                                 como: str) -> None:
    """What an auditor runs shares no code with the cache that made the corte: checking
    a whole corte in a fresh process never loads the incremental engine (nor the
    package writer that drives it, nor the central), whether it calls the library or
    types ``prep verify-corte`` where the central and the other programs are installed."""
    done = subprocess.run([sys.executable, "-c", _VERIFY_ALONE, str(published), como],
                          check=True, capture_output=True, text=True)
    seen = json.loads(done.stdout)
    assert seen["ok"] and seen["archivos"] > 0
    assert "prep.corte.verify_sitio" in seen["modules"]
    engine = {"prep.corte.tramos", "prep.corte.paquete_tramos", "prep.corte.site_tramos",
              "prep.corte.memo", "prep.corte.carrete", "prep.corte.package"}
    assert not engine & set(seen["modules"])
    assert not [m for m in seen["modules"] if not m.startswith("prep.corte")]
