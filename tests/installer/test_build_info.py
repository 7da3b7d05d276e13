"""The build fingerprint (prep.build_info) on a small bundle made here: what a program
reports when its files are, or are not, those of its manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from prep.build_info import DEVELOPMENT
from prep.build_info import MANIFEST_NAME
from prep.build_info import PACKAGE
from prep.build_info import current_build
from prep.build_info import source_build
from prep.build_info import verify_bundle
from prep.build_info import write_manifest


def _bundle(root: Path) -> str:
    (root / "_internal" / "pkg").mkdir(parents=True)
    (root / "catd").write_bytes(b"\x7fELF bootloader")
    (root / "_internal" / "libqt.so").write_bytes(bytes(range(256)) * 100)
    (root / "_internal" / "pkg" / "datos.toml").write_text("a = 1\n")
    return write_manifest(root)


def test_an_intact_bundle_reports_the_fingerprint_of_its_manifest(tmp_path: Path) -> None:
    fingerprint = _bundle(tmp_path)
    manifest = (tmp_path / MANIFEST_NAME).read_text()
    assert hashlib.sha256(manifest.encode()).hexdigest() == fingerprint
    assert manifest.splitlines()[0].endswith("  _internal/libqt.so")  # sorted, sha256sum
    build = verify_bundle(tmp_path)
    assert (build.fingerprint, build.label, build.origin) == (fingerprint, fingerprint, PACKAGE)
    assert build.intact and build.files == 3 and build.problems == ()


def test_a_modified_added_or_missing_file_changes_the_fingerprint(tmp_path: Path) -> None:
    fingerprint = _bundle(tmp_path)
    (tmp_path / "_internal" / "pkg" / "datos.toml").write_text("a = 2\n")
    modified = verify_bundle(tmp_path)
    assert modified.fingerprint != fingerprint and not modified.intact
    assert modified.problems == ("archivo modificado _internal/pkg/datos.toml",)

    (tmp_path / "_internal" / "pkg" / "datos.toml").write_text("a = 1\n")
    assert verify_bundle(tmp_path).fingerprint == fingerprint  # put back: audited again

    (tmp_path / "_internal" / "sitecustomize.py").write_text("import os\n")
    (tmp_path / "catd").unlink()
    changed = verify_bundle(tmp_path)
    assert changed.fingerprint != fingerprint
    assert changed.problems == ("archivo agregado _internal/sitecustomize.py",
                                "falta el archivo catd")


def test_a_bundle_without_a_readable_manifest_is_not_intact(tmp_path: Path) -> None:
    fingerprint = _bundle(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text("esto no es un manifiesto\n")
    bad = verify_bundle(tmp_path)
    assert bad.problems == ("manifiesto ilegible (línea 1 del manifiesto mal formada)",)
    assert bad.fingerprint == fingerprint  # the files are intact: the same hash of them
    (tmp_path / MANIFEST_NAME).unlink()
    missing = verify_bundle(tmp_path)
    assert not missing.intact and missing.problems[0].startswith("no existe el manifiesto")


def test_a_source_checkout_is_marked_as_development(tmp_path: Path) -> None:
    build = source_build()
    assert build.origin == DEVELOPMENT and not build.intact
    assert build.label == f"desarrollo:{build.fingerprint}"
    assert build.files > 100  # prep, catd, ccv and central: sources and data files
    assert current_build() == current_build()  # computed once per process
    assert current_build().origin == DEVELOPMENT  # the tests run from sources
