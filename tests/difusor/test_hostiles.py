"""An origin that attacks the difusor instead of failing plainly (issue 62, «Difusores»):
an unsigned index nested 400,000 deep, a validly signed index hours old, an origin that
sends one byte at a time, a gzip bomb. Each time the real ``prep difusor run`` process
survives, moves on to the contingency origin, and ``prep difusor status`` exits non-zero
while no origin gave a current index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest

from central.publication.feed import INDICE
from central.publication.feed import INDICE_FIRMA
from tests.difusor.cortes import HUELLA
from tests.difusor.cortes import KEY
from tests.difusor.cortes import Publicacion
from tests.difusor.origen import OrigenHttps
from tests.harness.espera import esperar
from tests.harness.netns_targets import TlsIdentity

MiB = 2**20
#: ``python3 -c _CON_PICO FILE ARGS…``: ``prep ARGS…``, then the peak resident memory of
#: its own address space (VmHWM, which starts anew at exec) written to FILE. Not wait4's
#: ru_maxrss: that keeps the high-water mark of the address space the child was forked
#: from, a pytest worker that may hold hundreds of MiB after a long session.
_CON_PICO = """
import runpy, sys
pico_en = sys.argv.pop(1)
sys.argv[0] = "prep"
try:
    runpy.run_module("prep", run_name="__main__", alter_sys=True)
finally:
    with open("/proc/self/status") as status:
        pico = next(l.split()[1] for l in status if l.startswith("VmHWM:"))
    with open(pico_en, "w") as out:
        out.write(pico)
"""


def prep(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "difusor", *args],
                          capture_output=True, text=True, timeout=timeout)


def _init(datos: Path, www: Path, identity: TlsIdentity, *urls: str,
          limites: str = "") -> None:
    done = prep("init", "--datos", str(datos), *(a for u in urls for a in ("--origen", u)),
                "--huella", HUELLA, "--raiz", str(www), "--ca", str(identity.cert_file),
                "--periodo", "5")
    assert done.returncode == 0, done.stdout + done.stderr
    if limites:
        with (datos / "difusor.toml").open("a", encoding="utf-8") as toml:
            toml.write(f"\n[limites]\n{limites}\n")


@pytest.fixture
def hostil(tmp_path: Path, identity: TlsIdentity) -> Iterator[OrigenHttps]:
    """The «institute's» site the attacker controls: its own publicacion/ directory."""
    directory = tmp_path / "hostil" / "publicacion"
    directory.mkdir(parents=True)
    server = OrigenHttps(directory, identity)
    yield server
    server.stop()


def _status(datos: Path) -> tuple[int, dict[str, object]]:
    done = prep("status", "--datos", str(datos), "--json")
    return done.returncode, json.loads(done.stdout)


def test_an_index_nested_400000_deep_is_refused_and_the_contingency_is_followed(
        publicacion: Publicacion, origen: OrigenHttps, hostil: OrigenHttps,
        identity: TlsIdentity, tmp_path: Path) -> None:
    """Before: ``RecursionError`` ended ``prep difusor run`` and the contingency origin
    was never asked; ``status`` said nothing was wrong."""
    corte = publicacion.corte()
    (hostil.directory / INDICE).write_bytes(b"[" * 400_000)
    (hostil.directory / INDICE_FIRMA).write_bytes(b"\0" * 64)
    datos, www = tmp_path / "datos", tmp_path / "www"
    _init(datos, www, identity, hostil.url, origen.url)
    done = prep("run", "--datos", str(datos), "--una-vez")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"corte {corte.name} verificado y publicado desde {origen.url}" in done.stdout
    assert os.readlink(www / "latest") == corte.name
    code, estado = _status(datos)
    assert code == 0, estado
    errores = estado["errores"]
    assert isinstance(errores, list)
    assert errores[-1]["origen"] == hostil.url
    assert "no es un índice válido" in errores[-1]["mensaje"]


def _envejecer(publicacion: Publicacion, destino: Path, horas: float) -> None:
    """Copy the publication as it is now to ``destino``, with its index rewritten as the
    central wrote it ``horas`` ago and signed with the institute's key: a frozen or
    replayed site serves exactly that."""
    shutil.copytree(publicacion.path, destino, dirs_exist_ok=True)
    indice = json.loads((publicacion.path / INDICE).read_bytes())
    indice["generado"] = (datetime.now(UTC) - timedelta(hours=horas)).isoformat(
        timespec="seconds")
    data = json.dumps(indice, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
    (destino / INDICE).write_bytes(data)
    (destino / INDICE_FIRMA).write_bytes(KEY.sign(data))


def test_a_validly_signed_old_index_is_stale_and_the_contingency_is_followed(
        publicacion: Publicacion, origen: OrigenHttps, hostil: OrigenHttps,
        identity: TlsIdentity, tmp_path: Path) -> None:
    """Before: the first origin's two-hour-old index, signed by the institute, was taken
    as current («al día»), and the newer corte at the contingency origin never came."""
    viejo = publicacion.corte()
    _envejecer(publicacion, hostil.directory, horas=2)
    nuevo = publicacion.corte()
    datos, www = tmp_path / "datos", tmp_path / "www"
    _init(datos, www, identity, hostil.url, origen.url)
    done = prep("run", "--datos", str(datos), "--una-vez")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"corte {nuevo.name} verificado y publicado desde {origen.url}" in done.stdout
    assert os.readlink(www / "latest") == nuevo.name != viejo.name
    code, estado = _status(datos)
    assert code == 0
    assert "desactualizado" in str(estado["errores"])

    # The contingency goes down, and the first origin now replays a two-hour-old index
    # naming the very corte served: before, «al día». The poll fails, the corte served
    # stays, and status exits 1 (a monitor's alarm), saying why.
    _envejecer(publicacion, hostil.directory, horas=2)
    origen.stop()
    done = prep("run", "--datos", str(datos), "--una-vez")
    assert done.returncode == 1, done.stdout
    assert "desactualizado" in done.stdout and "escrito hace 120 min" in done.stdout
    assert os.readlink(www / "latest") == nuevo.name
    code, estado = _status(datos)
    assert code == 1, estado
    assert "desactualizado" in str(estado["error"])
    texto = prep("status", "--datos", str(datos))
    assert texto.returncode == 1 and "Estado: FALLA" in texto.stdout


def test_status_says_when_no_poll_succeeded_lately(
        publicacion: Publicacion, origen: OrigenHttps, identity: TlsIdentity,
        tmp_path: Path) -> None:
    """A difusor whose ``run`` stopped or hangs writes nothing more: ``status`` exits 3
    once its last success is older than twice the corte period (and before any)."""
    publicacion.corte()
    datos, www = tmp_path / "datos", tmp_path / "www"
    _init(datos, www, identity, origen.url)
    assert prep("status", "--datos", str(datos)).returncode == 3
    assert prep("run", "--datos", str(datos), "--una-vez").returncode == 0
    assert _status(datos)[0] == 0
    estado = json.loads((datos / "estado.json").read_bytes())
    estado["ultimo_exito"] = (datetime.now(UTC) - timedelta(minutes=11)).isoformat(
        timespec="seconds")
    (datos / "estado.json").write_text(json.dumps(estado), encoding="utf-8")
    done = prep("status", "--datos", str(datos))
    assert done.returncode == 3, done.stdout
    assert "DESACTUALIZADO" in done.stdout


def test_an_origin_that_sends_a_byte_at_a_time_is_left_at_the_polls_deadline(
        publicacion: Publicacion, origen: OrigenHttps, hostil: OrigenHttps,
        identity: TlsIdentity, tmp_path: Path) -> None:
    """Each byte comes within the read timeout, so only a deadline over the whole
    reading ends it. Before: the poll stayed on that origin as long as it kept sending
    (the test's bound ended it); the contingency origin was never asked."""
    corte = publicacion.corte()
    _envejecer(publicacion, hostil.directory, horas=0)
    hostil.reglas[f"/{hostil.directory.name}/{INDICE}"] = ("goteo", "")
    datos, www = tmp_path / "datos", tmp_path / "www"
    _init(datos, www, identity, hostil.url, origen.url,
          limites="segundos = 5.0\nplazo_indice = 4.0")
    try:
        done = prep("run", "--datos", str(datos), "--una-vez", timeout=120)
    finally:
        hostil.liberar.set()
    assert hostil.goteando.is_set()
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"corte {corte.name} verificado y publicado desde {origen.url}" in done.stdout
    code, estado = _status(datos)
    assert code == 0
    assert "plazo de la consulta" in str(estado["errores"])


def _bomba(tamano: int) -> bytes:
    """``tamano`` zero bytes, gzip-compressed (about a thousandth of that)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    ceros = bytes(MiB)
    return b"".join([*(comp.compress(ceros) for _ in range(tamano // MiB)), comp.flush()])


@pytest.mark.parametrize("que", ["manifiesto", "archivo"])
def test_a_gzip_bomb_costs_the_difusor_little_memory(
        que: str, publicacion: Publicacion, origen: OrigenHttps, identity: TlsIdentity,
        tmp_path: Path) -> None:
    """A manifest (or a file) that the origin sends as 300 MiB of zeros in 300 KiB of
    gzip is refused before it is undone: the difusor's peak memory stays far below the
    bomb (before: ≈624 MB per poll for the manifest)."""
    corte = publicacion.corte()
    rel = "MANIFIESTO.sha256" if que == "manifiesto" else next(
        p.relative_to(corte).as_posix() for p in sorted(corte.rglob("*.csv")))
    ruta = f"/{publicacion.path.name}/{corte.name}/{rel}"
    origen.reglas[ruta] = ("crudo", "")
    origen.crudos[ruta] = ({"Content-Encoding": "gzip"}, _bomba(300 * MiB))
    datos, www = tmp_path / "datos", tmp_path / "www"
    _init(datos, www, identity, origen.url)
    salida_txt, pico_txt = tmp_path / "salida.txt", tmp_path / "pico.txt"
    with salida_txt.open("w") as out:
        proceso = subprocess.Popen([sys.executable, "-c", _CON_PICO, str(pico_txt),
                                    "difusor", "run", "--datos", str(datos), "--una-vez"],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        esperar(lambda: proceso.poll() is not None, 180, "prep difusor run --una-vez termina")
    finally:
        if proceso.poll() is None:
            proceso.kill()
            proceso.wait()
    salida = salida_txt.read_text()
    assert proceso.returncode == 1, salida
    assert rel in salida and ("bomba de compresión" in salida or "excede el límite" in salida)
    assert "Traceback" not in salida
    pico = int(pico_txt.read_text()) / 1024
    assert pico < 200, f"pico de memoria del difusor: {pico:.0f} MiB"
    assert not os.path.exists(www / "latest")


def test_after_the_ultimo_corte_an_index_that_stops_changing_is_not_stale(
        publicacion: Publicacion, origen: OrigenHttps, hostil: OrigenHttps,
        identity: TlsIdentity, tmp_path: Path) -> None:
    """The central writes no index after the último corte: hours later the difusor
    serving it is still «al día» (status 0), while the same old index naming an
    ordinary corte is stale."""
    publicacion.corte()
    ultimo = publicacion.corte(ultimo=True)
    datos, www = tmp_path / "datos", tmp_path / "www"
    _init(datos, www, identity, hostil.url)
    _envejecer(publicacion, hostil.directory, horas=0)
    assert prep("run", "--datos", str(datos), "--una-vez").returncode == 0
    assert os.readlink(www / "latest") == ultimo.name
    _envejecer(publicacion, hostil.directory, horas=3)
    done = prep("run", "--datos", str(datos), "--una-vez")
    assert done.returncode == 0, done.stdout
    assert f"al día: se sirve {ultimo.name}" in done.stdout
    assert _status(datos)[0] == 0


ARABES = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def test_a_corte_name_in_other_digits_is_refused_by_every_pattern(
        publicacion: Publicacion, origen: OrigenHttps, hostil: OrigenHttps,
        identity: TlsIdentity, tmp_path: Path) -> None:
    """``\\d`` takes Arabic-Indic digits too: a signed index (a central with a bug, or a
    stolen key) naming «٢٠٢٧٠٦٠٧_٠٠١٠» passed as a corte name. The difusor refuses it and
    follows the contingency; the central's own patterns (its index, its packager, a
    difusor's report) refuse it as well."""
    from central.publication.feed import orden as orden_central
    from prep.corte.package import NOMBRE_CORTE

    corte = publicacion.corte()
    otro = corte.name.translate(ARABES)
    assert otro != corte.name and not NOMBRE_CORTE.fullmatch(otro)
    assert orden_central(otro) is None and orden_central(corte.name) is not None
    shutil.copytree(publicacion.path, hostil.directory, dirs_exist_ok=True)
    indice = json.loads((publicacion.path / INDICE).read_bytes())
    indice["cortes"][-1]["nombre"] = otro
    data = json.dumps(indice, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
    (hostil.directory / INDICE).write_bytes(data)
    (hostil.directory / INDICE_FIRMA).write_bytes(KEY.sign(data))
    datos, www = tmp_path / "datos", tmp_path / "www"
    _init(datos, www, identity, hostil.url, origen.url)
    done = prep("run", "--datos", str(datos), "--una-vez")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"publicado desde {origen.url}" in done.stdout
    assert os.readlink(www / "latest") == corte.name
    assert "nombre de corte inválido" in str(_status(datos)[1]["errores"])
