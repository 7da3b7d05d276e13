"""The Linux package as a technician installs it: built with installer/build.py,
unpacked into a temporary root, and every program run from there."""

from __future__ import annotations

import hashlib
import shutil
import socket
import stat
import subprocess
import tomllib
from pathlib import Path

from central.db import head_revision
from tests.harness.cli_ayuda import COLUMNAS
from tests.harness.cli_ayuda import INSTANTANEA
from tests.harness.cli_ayuda import ayudas
from tests.installer.conftest import REPO
from tests.installer.conftest import Built
from tests.installer.conftest import run_program

PROGRAMS = ("prep", "catd", "ccv")


def test_the_package_is_named_and_versioned_from_pyproject(built: Built) -> None:
    with (REPO / "pyproject.toml").open("rb") as stream:
        project = tomllib.load(stream)["project"]
    fields = subprocess.run(["dpkg-deb", "-f", str(built.deb), "Package", "Version"],
                            capture_output=True, text=True, check=True).stdout
    assert fields.splitlines() == [f"Package: {project['name']}",
                                   f"Version: {project['version']}"]
    assert built.deb.name == f"{project['name']}_{project['version']}_amd64.deb"
    listing = subprocess.run(["dpkg-deb", "-c", str(built.deb)], capture_output=True,
                             text=True, check=True).stdout
    for path in ("./opt/prep/prep", "./opt/prep/build-manifest.sha256", "./usr/bin/catd",
                 "./usr/share/applications/prep-catd.desktop",
                 "./usr/share/applications/prep-ccv.desktop",
                 "./usr/lib/udev/rules.d/70-prep-impresoras.rules",
                 "./usr/lib/systemd/system/prep-central.service",
                 "./etc/prep/central.env",
                 "./usr/share/prep-suite/monitoreo/prometheus/prep-alertas.yml",
                 "./usr/share/prep-suite/monitoreo/grafana/prep-central.json",
                 "./usr/share/prep-suite/monitoreo/grafana/prep-tablero.yml"):
        assert f" {path}\n" in listing, path
    # One executable for the three programs, one copy of the libraries.
    assert " ./opt/prep/catd -> prep\n" in listing and " ./opt/prep/ccv -> prep\n" in listing
    # Nothing the programs do not use: no web engine, QML or test tools.
    for unused in ("QtWebEngine", "libQt6Quick", "libQt6Qml", "/playwright/", "/pytest/",
                   "/numpy/", "qtbase_de.qm"):
        assert unused not in listing, unused
    assert "/Qt/translations/qtbase_es.qm" in listing


def test_wrappers_and_desktop_entries_start_the_installed_programs(built: Built) -> None:
    for program in PROGRAMS:
        wrapper = built.root / "usr" / "bin" / program
        assert f'exec /opt/prep/{program} "$@"' in wrapper.read_text()
        assert wrapper.stat().st_mode & stat.S_IXOTH
    for program in ("catd", "ccv"):
        entry = (built.root / "usr/share/applications" / f"prep-{program}.desktop").read_text()
        assert f"Exec=/usr/bin/{program}\n" in entry
        assert f"Name=PREP {program.upper()}\n" in entry


def test_the_printer_rule_gives_the_seat_user_access_never_everyone(built: Built) -> None:
    path = built.root / "usr/lib/udev/rules.d/70-prep-impresoras.rules"
    rules = [line for line in path.read_text().splitlines()
             if line and not line.startswith("#") and "idVendor" in line]
    vendors = {line.split('ATTR{idVendor}=="')[1][:4] for line in rules}
    assert {"04b8", "0519", "1504"} <= vendors  # Epson, Star, Bixolon
    for line in rules:
        assert 'MODE="0660"' in line and 'TAG+="uaccess"' in line, line
    assert "0666" not in path.read_text()
    assert not path.stat().st_mode & stat.S_IWOTH


def test_the_central_service_runs_hardened_as_its_own_user(built: Built) -> None:
    unit = (built.root / "usr/lib/systemd/system/prep-central.service").read_text()
    lines = set(unit.splitlines())
    assert {"User=prep-central", "NoNewPrivileges=yes", "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/prep-central", "PrivateTmp=yes", "ProtectHome=yes",
            "CapabilityBoundingSet=", "LimitNOFILE=65536", "Restart=on-failure",
            "RestartSec=5", "KillMode=mixed", "RemoveIPC=no"} <= lines
    assert ("ExecStart=/opt/prep/prep central serve --data-dir /var/lib/prep-central "
            "$PREP_CENTRAL_OPTS") in lines
    postinst = subprocess.run(["dpkg-deb", "-I", str(built.deb), "postinst"],
                              capture_output=True, text=True, check=True).stdout
    assert "useradd --system" in postinst and "prep-central" in postinst
    conffiles = subprocess.run(["dpkg-deb", "-I", str(built.deb), "conffiles"],
                               capture_output=True, text=True, check=True).stdout
    assert conffiles.split() == ["/etc/prep/central.env"]
    env = built.root / "etc/prep/central.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600  # may hold the database password


def test_the_manifest_is_checkable_with_sha256sum_and_hashes_to_the_fingerprint(
        built: Built) -> None:
    manifest = built.bundle / "build-manifest.sha256"
    assert hashlib.sha256(manifest.read_bytes()).hexdigest() == built.fingerprint
    check = subprocess.run(["sha256sum", "--check", "--quiet", "--strict", manifest.name],
                           cwd=built.bundle, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = {line.split("  ", 1)[1] for line in manifest.read_text().splitlines()}
    on_disk = {p.relative_to(built.bundle).as_posix() for p in built.bundle.rglob("*")
               if p.is_file() and p != manifest}
    assert listed == on_disk


def test_the_workstations_pass_their_self_test_from_the_package(built: Built,
                                                                 tmp_path: Path) -> None:
    for program, name in (("catd", "PREP CATD"), ("ccv", "PREP CCV")):
        data = tmp_path / f"{program}-datos"
        done = run_program(built, program, "--self-test", "--data-dir", str(data),
                           tmp_path=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith(f"Autoprueba de {name} ")
        assert f"huella {built.fingerprint} (paquete íntegro" in done.stdout
        assert "plataforma offscreen" in done.stdout
        assert f"almacén SQLite abierto en {data}" in done.stdout
        assert "zxing-cpp lee códigos QR" in done.stdout
        assert "python-escpos y libusb-1.0 listos" in done.stdout
        assert done.stdout.rstrip().endswith("Resultado: APROBADA")
        assert (data / "station.sqlite3").is_file()


def test_the_central_passes_its_self_test_from_the_package(built: Built, tmp_path: Path,
                                                           pg_database: str) -> None:
    data = tmp_path / "central"
    init = run_program(built, "prep", "central", "init", "--data-dir", str(data), "--dsn",
                       pg_database, tmp_path=tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    assert f"esquema de la base de datos: {head_revision()}" in init.stdout
    done = run_program(built, "prep", "central", "self-test", "--data-dir", str(data),
                       "--dsn", pg_database, tmp_path=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"esquema en la versión {head_revision()}" in done.stdout
    assert f"huella {built.fingerprint} (paquete íntegro" in done.stdout
    # The frozen bundle starts the process each corte writes its files with.
    assert "el proceso que escribe los archivos de cada corte inicia y escribe" in done.stdout
    # Nothing was written into the installed bundle (no __pycache__ of the migrations).
    assert not list(built.bundle.rglob("__pycache__"))


def test_the_central_self_test_names_what_fails(built: Built, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nobody listens there
    done = run_program(built, "prep", "central", "self-test", "--data-dir",
                       str(tmp_path / "no-inicializado"), "--dsn",
                       f"host=127.0.0.1 port={port} dbname=prep connect_timeout=5",
                       tmp_path=tmp_path)
    assert done.returncode == 15, done.stdout + done.stderr  # the first failure: data dir
    assert "no está inicializado" in done.stdout and "ejecute «prep central init»" in done.stdout
    assert "PostgreSQL no responde" in done.stdout and "(código 14)" in done.stdout
    assert "Resultado: REPROBADA (código 15)" in done.stdout


def test_a_modified_file_changes_the_fingerprint_the_program_reports(built: Built,
                                                                     tmp_path: Path) -> None:
    copy = tmp_path / "root"
    # Hard links: a copy in no time; the file changed below is replaced, not edited in
    # place, so the session's unpacked package stays intact.
    subprocess.run(["cp", "-al", str(built.root), str(copy)], check=True)
    tampered = Built(built.report, built.deb, copy)
    target = tampered.bundle / "_internal" / "resources" / "reglas.toml"
    content = target.read_bytes()
    target.unlink()
    target.write_bytes(content + b"\n# cambiado\n")
    (tampered.bundle / "_internal" / "extra.py").write_text("print('hola')\n")

    done = run_program(tampered, "catd", "--self-test", "--data-dir", str(tmp_path / "d"),
                       tmp_path=tmp_path)
    assert done.returncode == 10, done.stdout + done.stderr
    assert built.fingerprint not in done.stdout
    assert "NO coincide con el manifiesto" in done.stdout
    assert "archivo modificado _internal/resources/reglas.toml" in done.stdout
    assert "archivo agregado _internal/extra.py" in done.stdout
    # The rest still runs: only the build check failed.
    assert done.stdout.count("[FALLA]") == 1

    shutil.rmtree(copy)
    assert (built.bundle / "_internal" / "resources" / "reglas.toml").read_bytes() == content


def test_the_packaged_prep_offers_every_program_with_the_checkouts_help(
        built: Built, tmp_path: Path) -> None:
    """prep loads its programs by name and leaves out one that is not installed (an
    auditor's machine has the core alone), and PyInstaller sees only static imports: a
    program missing from installer/prep.spec would vanish from the package without an
    error. Its help texts are the checkout's (tests/data/cli_ayuda.txt), the dashboard's
    too since it became a package of its own (issue 66)."""
    expected = ayudas(INSTANTANEA.read_text(encoding="utf-8"))
    for prog in ("prep", "prep dashboard"):
        done = run_program(built, "prep", *prog.split()[1:], "--help", tmp_path=tmp_path,
                           env={"COLUMNS": str(COLUMNAS), "LC_ALL": "C.UTF-8"})
        assert done.returncode == 0, done.stderr
        assert done.stdout == expected[prog], prog
