"""The carrete (prep.corte.carrete): the tramos' texts a running central keeps between
cortes go to files without a name, are read back exactly as they were given, across
generaciones that reuse each other's runs, and stay in memory when the disk refuses them.
Real files in a real directory; the full disk is a real tmpfs of 64 KB in a mount
namespace of the test's own."""

from __future__ import annotations

import gc
import logging
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from prep.corte import carrete
from prep.corte.carrete import GENERACIONES
from prep.corte.carrete import Carrete
from prep.corte.carrete import Generacion
from prep.corte.carrete import completa
from prep.corte.carrete import escribir
from prep.corte.carrete import partes
from prep.corte.carrete import soltar_bloques
from prep.corte.carrete import texto
from prep.corte.tramos import Pieza
from tests.harness.descriptores import abiertos
from tests.harness.tools import require_tool

REPO = Path(__file__).resolve().parents[3]


def _textos(rng: random.Random, n: int) -> list[bytes]:
    # Some empty (a tramo without published actas has no history entries).
    return [b"" if rng.random() < 0.1 else
            "".join(rng.choice("abcñ0129\"[]") for _ in range(rng.randrange(1, 60))).encode()
            for _ in range(n)]


@pytest.mark.rapido
@pytest.mark.parametrize("sep", [b"", b","])
def test_texts_come_back_as_given_across_generaciones(tmp_path: Path, sep: bytes) -> None:
    rng = random.Random(30)
    textos = _textos(rng, 300)
    valores: list[bytes | Generacion] = list(textos)
    for ronda in range(6):
        generacion = escribir(tmp_path, valores, sep)
        valores = [generacion] * len(textos)
        # A corte makes a few tramos again (some now empty, some no longer).
        for i in rng.sample(range(len(textos)), 20 + ronda):
            textos[i] = _textos(rng, 1)[0]
            valores[i] = textos[i]
        assert [texto(v, i) for i, v in enumerate(valores)] == textos
        esperado = sep.join(t for t in textos if t) if sep else b"".join(textos)
        for tope in (None, 1, 100, 1_000_000):
            leidas = list(partes(valores, 0, tope))
            assert all(leidas)
            assert (sep.join(leidas) if sep else b"".join(leidas)) == esperado
            if tope == 100:  # cut between tramos, each read within the limit or one tramo
                assert len(leidas) > 10
        # From the middle: what a bloque of tramos reads.
        assert sep.join(partes(valores[40:90], 40)) == sep.join(t for t in textos[40:90] if t)


@pytest.mark.rapido
def test_short_reads_come_from_blocks_and_each_text_is_still_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tens of thousands of short reads a corte makes become a few block reads (each
    # system call let the other threads take the GIL); each text is still its own, in
    # any order, and only a few generaciones hold a block, none after the corte.
    monkeypatch.setattr(carrete, "BLOQUE", 256)
    lecturas: list[int] = []
    pread = os.pread

    def contar(fd: int, n: int, offset: int) -> bytes:
        lecturas.append(n)
        return pread(fd, n, offset)

    monkeypatch.setattr(carrete.os, "pread", contar)
    rng = random.Random(31)
    generaciones = []
    for _ in range(12):
        textos = _textos(rng, 200)
        generacion = escribir(tmp_path, textos, b",")
        assert [texto(generacion, i) for i in range(200)] == textos
        generaciones.append((generacion, textos))
    assert len(lecturas) < 12 * 200 / 4
    assert all(n <= 256 for n in lecturas)
    con_bloque = [g for g, _ in generaciones if g._bloque is not None]
    assert 0 < len(con_bloque) <= 8
    for generacion, textos in generaciones:  # out of order, across blocks
        orden = list(range(200))
        rng.shuffle(orden)
        assert [texto(generacion, i) for i in orden] == [textos[i] for i in orden]
    soltar_bloques()
    assert all(g._bloque is None for g, _ in generaciones)


@pytest.mark.rapido
def test_a_corte_that_made_few_tramos_again_writes_only_those(tmp_path: Path) -> None:
    # What a running central's carrete does corte after corte: the tramos made again go
    # to a generación of their own while they are few; every so often one holds every
    # tramo again, and the older ones close.
    rng = random.Random(31)
    n = 2_000
    textos = _textos(rng, n)
    piezas = _piezas(textos)
    carrete = Carrete(tmp_path)
    escritos: list[tuple[int, int, bool]] = []  # (texts made again, bytes written, every)
    for corte in range(30):
        if corte:
            cambiados = rng.sample(range(n), 2 if corte % 7 else 60)  # now and then more
            for i in cambiados:
                textos[i] = _textos(rng, 1)[0]
                piezas[i].sitio = textos[i]
        nuevos = sum(type(p.sitio) is bytes for p in piezas)
        todas = completa([p.sitio for p in piezas])  # type: ignore[misc]
        carrete.guardar(piezas, "sitio", b",")
        carrete.esperar()
        generaciones = {id(p.sitio): p.sitio for p in piezas}
        assert all(isinstance(g, Generacion) for g in generaciones.values())
        assert len(generaciones) <= GENERACIONES
        if todas:  # one generación holds every tramo, the others closed
            assert len(generaciones) == 1
            ultima = next(iter(generaciones.values()))
        else:  # the new one holds only the texts made again
            ultima = next(g for g in generaciones.values() if g.tramos is not None
                          and len(g.tramos) == nuevos)
        escritos.append((nuevos, os.fstat(ultima._fd).st_size, todas))
        # Every text reads back as given, one by one and in runs.
        assert [texto(p.sitio, i) for i, p in enumerate(piezas)] == textos  # type: ignore[arg-type]
        assert b",".join(partes([p.sitio for p in piezas], 0, 300)) \
            == b",".join(t for t in textos if t)  # type: ignore[misc]
    assert escritos[0][2]  # the first corte: every tramo
    pocos = [e for e in escritos[1:] if not e[2]]
    assert len(pocos) > 15 and all(e[1] < 60 * 70 for e in pocos)  # only what changed
    assert 1 < sum(e[2] for e in escritos) < 10
    del piezas, generaciones, ultima
    gc.collect()
    assert abiertos(tmp_path) == []


@pytest.mark.rapido
def test_a_generacion_has_no_name_and_closes_when_nothing_points_at_it(
        tmp_path: Path) -> None:
    primera = escribir(tmp_path, [b"uno", b"dos", b"tres"], b",")
    segunda = escribir(tmp_path, [primera, b"DOS", primera], b",")
    assert sorted(os.listdir(tmp_path)) == []  # nothing in the directory can be opened
    archivos = abiertos(tmp_path)
    assert len(archivos) == 2
    assert all(d.endswith("(deleted)") and e.st_mode & 0o777 == 0o600 for d, e in archivos)
    assert b",".join(partes([segunda] * 3)) == b"uno,DOS,tres"
    del primera
    gc.collect()
    assert len(abiertos(tmp_path)) == 1  # the second copied what it needed
    assert b",".join(partes([segunda] * 3)) == b"uno,DOS,tres"
    del segunda
    gc.collect()
    assert abiertos(tmp_path) == []


def _piezas(textos: list[bytes]) -> list[Pieza]:
    return [Pieza((), (0, 0, 0, 0, 0, 0), sitio=t) for t in textos]


@pytest.mark.rapido
def test_pieces_point_at_their_generacion_or_keep_their_bytes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    textos = _textos(random.Random(3), 50)
    piezas = _piezas(textos)
    carrete = Carrete(tmp_path)
    carrete.guardar(piezas, "sitio", b",")
    carrete.esperar()
    generaciones = {id(p.sitio) for p in piezas}
    assert len(generaciones) == 1 and isinstance(piezas[0].sitio, Generacion)
    assert [texto(p.sitio, i) for i, p in enumerate(piezas)] == textos  # type: ignore[arg-type]
    assert carrete.fallos == 0

    # A directory that cannot hold them: logged, and the pieces keep their bytes.
    otras = _piezas(textos)
    perdido = Carrete(tmp_path / "no-existe")
    with caplog.at_level(logging.WARNING, logger="prep.corte.carrete"):
        perdido.guardar(otras, "sitio", b",")
        perdido.esperar()
    assert perdido.fallos == 1
    assert [p.sitio for p in otras] == textos
    assert "no se pudo guardar el texto de los tramos" in caplog.text
    assert "lo conserva en memoria" in caplog.text


_LLENO = textwrap.dedent("""
    import os, sys
    from prep.corte.carrete import Carrete, Generacion
    from prep.corte.tramos import Pieza
    directorio = sys.argv[1]
    def piezas(n, tam):
        return [Pieza((), (0,) * 6, csv=bytes([65 + i % 26]) * tam) for i in range(n)]
    grandes, chicas = piezas(100, 4096), piezas(10, 100)  # 400 KB, 1 KB
    carrete = Carrete(directorio)
    carrete.guardar(grandes, "csv", b"")
    carrete.esperar()
    carrete.guardar(chicas, "csv", b"")
    carrete.esperar()
    print(carrete.fallos,
          all(type(p.csv) is bytes and len(p.csv) == 4096 for p in grandes),
          all(isinstance(p.csv, Generacion) for p in chicas),
          os.statvfs(directorio).f_bfree == os.statvfs(directorio).f_blocks - 1)
""")


def test_a_full_disk_leaves_the_texts_in_memory(tmp_path: Path) -> None:
    unshare = require_tool("unshare", "util-linux")
    lleno = tmp_path / "lleno"
    lleno.mkdir()
    salida = subprocess.run(
        [unshare, "-m", "--propagation", "private", "sh", "-c",
         f'mount -t tmpfs -o size=64k tmpfs "{lleno}" && exec "{sys.executable}" -c "$0" '
         f'"{lleno}"', _LLENO],
        capture_output=True, text=True, timeout=60, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert salida.returncode == 0, salida.stderr
    # The big texts did not fit: logged, kept; the small ones went to the disk; the
    # failed file was released (only the small one's block is used).
    assert salida.stdout.split() == ["1", "True", "True", "True"], salida.stdout
    assert "No space left on device" in salida.stderr
