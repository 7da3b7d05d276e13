"""«Verificado y firmado por N difusores» on the public site (issue 67), in headless
Chromium over a real night: a central publishes cortes with two registered difusores,
whose cosignatures it stores as it stores a report's; the page of each corte reads the
published log of cortes (``transparencia/``) when viewed, checks the corte's entry, its
inclusion and each cosignature (Ed25519 in WebCrypto), names who cosigned, does not
count a tampered cosignature and names it, says when none has arrived yet, and in a
browser without Ed25519 says the signatures are to be checked with verify-corte."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import Page
from playwright.sync_api import expect

from difusor.registro import llave as llave_difusor
from prep.corte.nombres import MANIFEST
from prep.crypto import SigningKey
from prep.transparencia import nota
from tests.central.publication_night import corte as make_corte
from tests.central.publication_night import corte_in_window
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.work import load_catalog
from tests.site.corte_sitio import serve

T = "transparencia"
SCREENSHOT = Path(__file__).resolve().parents[2] / "build" / "sitio-testigos.png"


def prep_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def _difusor(node: CentralNode, datos: Path, nombre: str, url: str) -> tuple[str, SigningKey]:
    """A difusor given alta and registered (real ``prep difusor registrar``)."""
    done = central_cli(node, "difusor", "alta", "--nombre", nombre, "--url", url)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    registro = prep_cli("difusor", "registrar", "--datos", datos, "--central", node.url,
                        "--codigo", answer["codigo"], "--cert-sha256", node.cert_sha256)
    assert registro.returncode == 0, registro.stdout + registro.stderr
    return answer["difusor"], llave_difusor(datos)


def _cofirmar(node: CentralNode, publicacion: Path, difusor: str, key: SigningKey) -> None:
    """The difusor cosigns the latest checkpoint and the central stores it (the row a
    checked report leaves in ``cofirmas``)."""
    cp = nota.checkpoint(nota.leer((publicacion / T / "checkpoint").read_bytes()))
    firma = nota.cofirmar(cp, difusor, key, int(time.time()))
    query(node.dsn, "INSERT INTO cofirmas (difusor, tamano, linea, hora_cofirma) "
          "VALUES (%s, %s, %s, %s) RETURNING tamano", difusor, cp.tamano, firma.linea(),
          int(time.time()))


def _alterar(path: Path, difusor: str) -> None:
    """Flip one bit of ``difusor``'s signature in a published cofirmas file (key id and
    time kept: only the Ed25519 signature is wrong)."""
    lineas = path.read_text("utf-8").split("\n")
    for k, linea in enumerate(lineas):
        if linea.startswith(f"\u2014 {difusor} "):
            crudo = bytearray(base64.b64decode(linea.rsplit(" ", 1)[1]))
            crudo[-1] ^= 1
            lineas[k] = f"\u2014 {difusor} {base64.b64encode(bytes(crudo)).decode()}"
            break
    else:
        raise AssertionError(f"{difusor} no cofirmó {path}")
    path.write_text("\n".join(lineas), "utf-8")


def test_the_page_shows_and_checks_who_cosigned_its_corte(
        central_node: CentralNode, page: Page, tmp_path: Path) -> None:
    node = central_node
    load_catalog(node, scale=0.005)
    publicacion = tmp_path / "publicacion"
    uni = _difusor(node, tmp_path / "uni", "Universidad de Prueba",
                   "https://prep.prueba.example/")
    diario = _difusor(node, tmp_path / "diario", "Diario de Prueba",
                      "https://prep.diario.example/")
    primero = corte_in_window(node, publicacion)
    for difusor, key in (uni, diario):
        _cofirmar(node, publicacion, difusor, key)
    segundo = make_corte(node, publicacion)  # publishes cofirmas/1 with both

    linea = page.locator("#testigos")
    with serve(publicacion) as url:
        page.goto(f"{url}/{primero.name}/sitio/index.html")
        expect(linea).to_have_attribute("data-firmas", "2", timeout=60_000)
        expect(linea).to_contain_text("Verificado y firmado por 2 difusores:")
        expect(linea).to_contain_text("Diario de Prueba")
        expect(linea).to_contain_text("Universidad de Prueba")
        expect(linea).not_to_contain_text("no válida")
        # Keyboard: the line's link is reachable and explains the log.
        linea.get_by_role("link", name="Qué significa").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#registro h2")).to_have_text("Registro público de cortes")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.goto(f"{url}/{primero.name}/sitio/index.html")
        expect(linea).to_have_attribute("data-firmas", "2", timeout=60_000)
        page.screenshot(path=str(SCREENSHOT))

        # The latest corte: its witnesses cosign it after it is published.
        page.goto(f"{url}/latest/sitio/index.html")
        expect(linea).to_have_attribute("data-firmas", "0", timeout=60_000)
        expect(linea).to_contain_text(
            "Aún sin firmas de difusores: llegan con el siguiente corte")
        assert segundo.name in page.url

        # A tampered cosignature is not counted, and is named.
        _alterar(publicacion / T / "cofirmas" / "1", uni[0])
        page.goto(f"{url}/{primero.name}/sitio/index.html")
        expect(linea).to_have_attribute("data-firmas", "1", timeout=60_000)
        expect(linea).to_contain_text("Verificado y firmado por 1 difusor: Diario de Prueba")
        expect(linea).to_contain_text("Firma no válida de Universidad de Prueba (no se cuenta)")
        alterada = SCREENSHOT.with_name("sitio-testigos-alterada.png")
        page.locator("header").screenshot(path=str(alterada))

        # A corte replaced after publication (its manifest is not the one in the log).
        manifiesto = segundo / MANIFEST
        manifiesto.write_bytes(manifiesto.read_bytes() + b"0" * 64 + b"  otro.csv\n")
        page.goto(f"{url}/{segundo.name}/sitio/index.html")
        expect(linea).to_contain_text(
            "Registro público de cortes: no confirma este corte (la entrada 1 del registro es "
            "este corte con otro manifiesto: el corte fue reemplazado después de publicarse).",
            timeout=60_000)

        # A browser without Ed25519 in WebCrypto (an older one): the key ids are checked,
        # not the signatures, and the page says so and how to check them.
        page.add_init_script("""(() => {
          if (!window.crypto || !crypto.subtle) { return; }
          const importar = crypto.subtle.importKey.bind(crypto.subtle);
          crypto.subtle.importKey = (f, k, alg, ...r) => alg && alg.name === "Ed25519"
            ? Promise.reject(new DOMException("no", "NotSupportedError"))
            : importar(f, k, alg, ...r);
        })()""")
        page.goto(f"{url}/{primero.name}/sitio/index.html")
        expect(linea).to_have_attribute("data-firmas", "2", timeout=60_000)
        expect(linea).to_contain_text("Firmado por 2 difusores:")
        expect(linea).not_to_contain_text("Verificado")
        expect(linea).to_contain_text("Este navegador no comprueba las firmas: compruébelas "
                                      "con «prep verify-corte CARPETA --testigos».")
        page.goto("about:blank")  # no request of the page left when the server stops
