"""The ``prep`` command itself: help, version and a bad option, as a user sees them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from prep import __version__


def _prep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", *args], capture_output=True,
                          text=True, timeout=60)


def test_help_lists_the_subcommands() -> None:
    done = _prep("--help")
    assert done.returncode == 0, done.stderr
    for command in ("catalog", "simulacro"):
        assert command in done.stdout


def test_version() -> None:
    done = _prep("--version")
    assert done.returncode == 0 and __version__ in done.stdout


def test_help_is_spanish_down_to_the_version_option() -> None:
    """Issue 35: ``prep -h`` said «show program's version number and exit»."""
    done = _prep("-h")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("uso: prep ")
    assert "--version" in done.stdout
    assert "muestra la versión del programa y termina" in done.stdout, done.stdout
    assert "muestra esta ayuda y termina" in done.stdout
    for english in ("show program", "show this help", "usage:", "options:",
                    "positional arguments"):
        assert english not in done.stdout, english


def test_bad_scale_is_explained_in_spanish() -> None:
    done = _prep("simulacro", "--scale", "2")
    assert done.returncode == 2
    assert "la escala debe estar entre 0 (excluido) y 1" in done.stderr


def test_argparse_speaks_spanish() -> None:
    done = _prep("central", "operator", "add", "--bogus")
    assert done.returncode == 2
    assert done.stderr.startswith("uso: prep central operator add"), done.stderr
    assert "faltan estos argumentos: --name, --role" in done.stderr
    assert "usage:" not in done.stderr and "required" not in done.stderr
    done = _prep("catalog", "check", "a", "b")
    assert "argumentos no reconocidos: b" in done.stderr, done.stderr
    done = _prep("central", "operator", "add", "--role", "jefe")
    assert "opción no válida: 'jefe'" in done.stderr, done.stderr


def test_central_init_prints_its_result_not_the_libraries_transcripts(tmp_path: Path) -> None:
    done = _prep("central", "init", "--data-dir", str(tmp_path / "nodo"))
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "Nodo central" in output and "certificado TLS (SHA-256)" in output
    for chatter in ("pgserver", "initdb", "pg_ctl", "alembic", "Running upgrade",
                    "Success. You can now start"):
        assert chatter not in output, output
    assert len(output.splitlines()) <= 8, output
    verbose = _prep("-v", "central", "self-test", "--data-dir", str(tmp_path / "nodo"))
    assert "pgserver" in verbose.stdout + verbose.stderr  # still there when asked for


def test_central_init_with_an_unreachable_dsn_makes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "nodo"
    done = _prep("central", "init", "--data-dir", str(data_dir),
                 "--dsn", "postgresql://prep:x@127.0.0.1:1/prep")
    assert done.returncode == 2
    assert "no se pudo conectar con PostgreSQL" in done.stderr and "Revise --dsn" in done.stderr
    assert "Traceback" not in done.stderr
    assert not data_dir.exists()


def test_a_mistyped_station_data_dir_is_refused_not_created(tmp_path: Path) -> None:
    typo = tmp_path / "estacoin"
    for command in ("status", "sync"):
        done = _prep("station", command, "--data-dir", str(typo))
        assert done.returncode == 2, done.stdout
        assert f"No hay una estación en {typo}" in done.stderr
        assert not typo.exists()


def test_a_system_error_is_spanish_and_the_detail_waits_for_v(tmp_path: Path) -> None:
    """Issue 33: «error: [Errno 13] Permission denied: '…'» was Python's English."""
    blocked = tmp_path / "solo-lectura"
    blocked.mkdir()
    blocked.chmod(0o500)
    target = blocked / "catalogo"
    try:
        done = _prep("catalog", "generate", "--seed", "1", "--scale", "0.001",
                     "--out", str(target))
        verbose = _prep("-v", "catalog", "generate", "--seed", "1", "--scale", "0.001",
                        "--out", str(target))
    finally:
        blocked.chmod(0o700)
    if done.returncode == 0:  # root ignores the mode: make the path a file's child instead
        (tmp_path / "archivo").write_text("x")
        target = tmp_path / "archivo" / "catalogo"
        done = _prep("catalog", "generate", "--seed", "1", "--scale", "0.001",
                     "--out", str(target))
        verbose = _prep("-v", "catalog", "generate", "--seed", "1", "--scale", "0.001",
                        "--out", str(target))
        reason = "parte de la ruta es un archivo, no una carpeta"
    else:
        reason = "este usuario no tiene permiso"
    assert done.returncode == 2
    assert done.stderr == (f"error: {target}: {reason}. Revise la ruta, el espacio en disco "
                           "y los permisos, y vuelva a intentarlo. Con -v se muestra el "
                           "detalle.\n")
    assert "Errno" in verbose.stderr and "Traceback" in verbose.stderr  # for support
