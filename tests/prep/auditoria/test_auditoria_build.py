"""The build manifest an evidence package carries (prep.build_info.running_manifest):
its SHA-256 is the fingerprint the program reports, so an auditor recomputes it from the
package alone, also for a bundle whose files no longer match its own manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from prep.build_info import current_build
from prep.build_info import fingerprint_of
from prep.build_info import parse_manifest
from prep.build_info import running_manifest
from prep.build_info import verify_bundle
from prep.build_info import write_manifest

pytestmark = pytest.mark.rapido


def test_the_running_manifest_gives_the_reported_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "_internal").mkdir()
    (tmp_path / "prep").write_bytes(b"\x7fELF")
    (tmp_path / "_internal" / "base_library.zip").write_bytes(b"PK" * 500)
    audited = write_manifest(tmp_path)
    intact = verify_bundle(tmp_path)
    assert fingerprint_of(running_manifest(intact)) == intact.fingerprint == audited

    # A file changed after the audit: the package shows the fingerprint of what runs,
    # and its manifest says which file differs from the audited one.
    (tmp_path / "_internal" / "base_library.zip").write_bytes(b"PK" * 501)
    changed = verify_bundle(tmp_path)
    manifest = running_manifest(changed)
    assert fingerprint_of(manifest) == changed.fingerprint != audited
    audited_entries = parse_manifest((tmp_path / "build-manifest.sha256").read_text())
    differs = {k for k, v in parse_manifest(manifest).items() if audited_entries[k] != v}
    assert differs == {"_internal/base_library.zip"}


def test_a_source_checkout_manifest_lists_the_package_files() -> None:
    build = current_build()
    manifest = running_manifest(build)
    assert fingerprint_of(manifest) == build.fingerprint
    assert "prep/auditoria/verificar.py" in parse_manifest(manifest)
