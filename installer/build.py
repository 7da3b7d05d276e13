"""Build the PREP programs and the Debian package.

    python3 installer/build.py [--out DIR] [--work DIR] [--no-deb]

1. PyInstaller (``installer/prep.spec``): one bundle ``DIR/dist/prep/`` with one
   executable, ``prep``, and ``catd`` and ``ccv`` as links to it (installer/launcher.py
   runs the program named by argv[0]), sharing one folder of libraries.
2. The build manifest and fingerprint (``prep/build_info.py``): the SHA-256 of every
   file of the bundle, written into it as ``build-manifest.sha256``.
3. ``DIR/<name>_<version>_<arch>.deb`` (dpkg-deb): the bundle in ``/opt/prep``, wrappers
   in ``/usr/bin``, ``.desktop`` entries, the udev rule of the ticket printers and the
   systemd unit of the central (``installer/linux/``).

Name and version come from ``pyproject.toml``. Prints one JSON line at the end:
fingerprint, paths, sizes and the seconds each step took (``docs/instalacion.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"
LINUX = INSTALLER / "linux"
PROGRAMS = ("prep", "catd", "ccv")
INSTALL_DIR = "opt/prep"
# What the bundle does not carry and Qt's xcb platform or pyusb load from the system.
DEPENDS = ("libc6 (>= 2.34), libusb-1.0-0, libgl1, libegl1, libxkbcommon0, "
           "libxkbcommon-x11-0, libxcb-cursor0, libfontconfig1, libdbus-1-3, "
           "fonts-dejavu-core, passwd")

sys.path.insert(0, str(ROOT))  # prep.build_info, also when run as a plain script
from prep.build_info import write_manifest  # noqa: E402


def project_metadata(root: Path = ROOT) -> tuple[str, str, str]:
    """Name, version and description from ``pyproject.toml``."""
    with (root / "pyproject.toml").open("rb") as stream:
        project = tomllib.load(stream)["project"]
    return project["name"], project["version"], project["description"]


def build_bundle(out: Path, work: Path) -> Path:
    """Run PyInstaller; returns the bundle folder (``out/dist/prep``)."""
    dist = out / "dist"
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level",
                    "WARN", "--distpath", str(dist), "--workpath", str(work),
                    str(INSTALLER / "prep.spec")], check=True, cwd=ROOT)
    bundle = dist / "prep"
    for program in PROGRAMS[1:]:  # one executable; the launcher looks at argv[0]
        if os.name == "nt":  # catd.exe and ccv.exe: copies (installer/windows/prep.iss)
            shutil.copyfile(bundle / "prep.exe", bundle / f"{program}.exe")
        else:
            (bundle / program).symlink_to("prep")
    suffix = ".exe" if os.name == "nt" else ""
    missing = [p for p in PROGRAMS if not (bundle / f"{p}{suffix}").is_file()]
    if missing:
        raise SystemExit(f"build: PyInstaller no produjo {', '.join(missing)}")
    return bundle


def tree_size(path: Path) -> int:
    """Bytes of every file under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build_deb(bundle: Path, out: Path, name: str, version: str, description: str) -> Path:
    """Lay out the package root and run dpkg-deb; returns the ``.deb``."""
    arch = subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True,
                          text=True).stdout.strip()
    root = out / "deb-root"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(bundle, root / INSTALL_DIR, symlinks=True)
    for program in PROGRAMS:
        wrapper = root / "usr/bin" / program
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        wrapper.write_text((LINUX / "wrapper.sh").read_text().replace("@PROGRAM@", program))
        wrapper.chmod(0o755)
    _install(LINUX / "prep-catd.desktop", root / "usr/share/applications", 0o644)
    _install(LINUX / "prep-ccv.desktop", root / "usr/share/applications", 0o644)
    _install(LINUX / "70-prep-impresoras.rules", root / "usr/lib/udev/rules.d", 0o644)
    _install(LINUX / "prep-central.service", root / "usr/lib/systemd/system", 0o644)
    # May hold the database password: readable by root only (systemd reads it as root).
    _install(LINUX / "central.env", root / "etc/prep", 0o600)
    _install(ROOT / "docs" / "instalacion.md", root / "usr/share/doc" / name, 0o644)
    _install(ROOT / "docs" / "monitoreo.md", root / "usr/share/doc" / name, 0o644)
    # Prometheus rules and the Grafana dashboard (docs/instalacion.md, «Monitoreo»).
    monitoreo = root / "usr/share" / name / "monitoreo"
    _install(INSTALLER / "prometheus" / "prep-alertas.yml", monitoreo / "prometheus", 0o644)
    for grafana in ("prep-central.json", "prep-tablero.yml"):
        _install(INSTALLER / "grafana" / grafana, monitoreo / "grafana", 0o644)
    control = root / "DEBIAN"
    control.mkdir()
    for script in ("postinst", "prerm", "postrm"):
        _install(LINUX / script, control, 0o755)
    (control / "conffiles").write_text("/etc/prep/central.env\n")
    summary, _, _ = description.partition(" (")
    installed_kib = (tree_size(root) - tree_size(control)) // 1024 + 1
    (control / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n"
        f"Maintainer: PREP <prep@localhost>\nSection: misc\nPriority: optional\n"
        f"Installed-Size: {installed_kib}\nDepends: {DEPENDS}\n"
        f"Description: {summary}\n"
        " Estaciones de trabajo del CATD y del CCV (catd, ccv) y el nodo central\n"
        " (prep central serve, servicio prep-central). Cada programa verifica al\n"
        " arrancar la huella de su compilación (build-manifest.sha256).\n")
    deb = out / f"{name}_{version}_{arch}.deb"
    # zstd: several times faster than xz on a bundle this size for a similar .deb; dpkg
    # reads it since Debian 12.
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zzstd", "-z3", "--build", str(root),
                    str(deb)], check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(root)
    return deb


def _install(source: Path, directory: Path, mode: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / source.name
    shutil.copyfile(source, target)
    target.chmod(mode)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="installer/build.py", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "installer",
                        help="directorio de salida (predeterminado build/installer)")
    parser.add_argument("--work", type=Path, default=None,
                        help="directorio de trabajo de PyInstaller (predeterminado OUT/work)")
    parser.add_argument("--no-deb", action="store_true", help="solo el bundle y su huella")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    name, version, description = project_metadata()
    seconds: dict[str, float] = {}

    start = time.monotonic()
    bundle = build_bundle(out, (args.work or out / "work").resolve())
    seconds["pyinstaller"] = round(time.monotonic() - start, 1)

    start = time.monotonic()
    fingerprint = write_manifest(bundle)
    seconds["manifest"] = round(time.monotonic() - start, 1)
    report: dict[str, object] = {
        "name": name, "version": version, "fingerprint": fingerprint,
        "bundle": str(bundle), "bundle_bytes": tree_size(bundle)}
    if not args.no_deb and os.name != "nt":
        start = time.monotonic()
        deb = build_deb(bundle, out, name, version, description)
        seconds["deb"] = round(time.monotonic() - start, 1)
        report.update(deb=str(deb), deb_bytes=deb.stat().st_size)
    report["seconds"] = seconds
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
