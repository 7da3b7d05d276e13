"""The build fingerprint: proof of which software a program is running.

At build time (``installer/build.py``) :func:`write_manifest` lists the SHA-256 of every
file of the bundle in ``MANIFEST_NAME`` at its root, in ``sha256sum`` format (an auditor
checks an installed copy with ``cd /opt/prep && sha256sum -c build-manifest.sha256``).
The SHA-256 of that manifest is the build's **fingerprint**, the value an institute
audits and registers with ``prep central audited-build add``.

At run time :func:`current_build` does not trust the manifest: it hashes the files on
disk again and rebuilds the manifest from them, so a modified, missing or added file
gives a different fingerprint (and is listed in ``problems``); only an intact bundle
reports the audited one. A frozen program checks its own bundle (the folder of its
executable); from a source checkout the fingerprint covers the files of the installed
``prep``, ``catd``, ``ccv``, ``central`` and ``dashboard`` packages and is marked
``desarrollo:`` so it can never pass for a package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from functools import cache
from pathlib import Path

from prep.filehash import sha256_file

MANIFEST_NAME = "build-manifest.sha256"
DEVELOPMENT = "desarrollo"
PACKAGE = "paquete"
DEV_PREFIX = f"{DEVELOPMENT}:"
# What a heartbeat carries and ``audited-build add`` accepts.
LABEL = re.compile(rf"^(?:{DEV_PREFIX})?[0-9a-f]{{64}}$")
LABEL_MAX = 80
SOURCE_PACKAGES = ("prep", "catd", "ccv", "central", "dashboard")
_MAX_PROBLEMS = 20


@dataclass(frozen=True)
class BuildInfo:
    """The fingerprint of the running software and how it was obtained."""

    fingerprint: str
    origin: str  # PACKAGE (a frozen bundle) or DEVELOPMENT (a source checkout)
    root: Path
    files: int
    # Spanish, one line each: modified, missing or added files, a missing manifest.
    problems: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        """What the station reports and the central compares: the fingerprint, with
        ``desarrollo:`` in front when it is not a built package."""
        if self.origin == DEVELOPMENT:
            return DEV_PREFIX + self.fingerprint
        return self.fingerprint

    @property
    def intact(self) -> bool:
        """A package whose files are exactly those of its manifest."""
        return self.origin == PACKAGE and not self.problems


def manifest_text(entries: Mapping[str, str]) -> str:
    """``sha256sum`` lines (``<hex>  <path>``), sorted by path: the manifest's bytes."""
    return "".join(f"{entries[path]}  {path}\n" for path in sorted(entries))


def fingerprint_of(text: str) -> str:
    """The fingerprint of a manifest: the SHA-256 of its text (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_manifest(text: str) -> dict[str, str]:
    """The entries of a manifest; raises ``ValueError`` (Spanish) for a malformed line."""
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        digest, sep, path = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest) or not path:
            raise ValueError(f"línea {number} del manifiesto mal formada")
        entries[path] = digest
    return entries


def bundle_files(root: Path) -> list[Path]:
    """Every file under ``root`` except the manifest itself (symbolic links included as
    files: their target's bytes are what runs)."""
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and p.relative_to(root).as_posix() != MANIFEST_NAME)


def hash_tree(root: Path, files: Iterable[Path]) -> dict[str, str]:
    """Relative POSIX path → SHA-256 of each file."""
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in files}


def write_manifest(root: Path) -> str:
    """Build time: write ``root/MANIFEST_NAME`` for every file of the bundle; returns the
    fingerprint."""
    text = manifest_text(hash_tree(root, bundle_files(root)))
    (root / MANIFEST_NAME).write_text(text, encoding="utf-8")
    return fingerprint_of(text)


def verify_bundle(root: Path) -> BuildInfo:
    """Hash the bundle at ``root`` again and compare it with its manifest."""
    actual = hash_tree(root, bundle_files(root))
    problems: list[str] = []
    manifest = root / MANIFEST_NAME
    try:
        expected = parse_manifest(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        expected = {}
        problems.append(f"no existe el manifiesto {manifest}")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        expected = {}
        problems.append(f"manifiesto ilegible ({exc})")
    if expected:
        for path in sorted(expected.keys() | actual.keys()):
            if path not in actual:
                problems.append(f"falta el archivo {path}")
            elif path not in expected:
                problems.append(f"archivo agregado {path}")
            elif actual[path] != expected[path]:
                problems.append(f"archivo modificado {path}")
    if len(problems) > _MAX_PROBLEMS:
        extra = len(problems) - _MAX_PROBLEMS
        problems = [*problems[:_MAX_PROBLEMS], f"… y {extra} diferencias más"]
    return BuildInfo(fingerprint_of(manifest_text(actual)), PACKAGE, root, len(actual),
                     tuple(problems))


def source_build() -> BuildInfo:
    """The development fingerprint: the files of the installed PREP packages (sources and
    data; no bytecode caches), keyed by package-relative path."""
    entries, roots = _source_entries()
    root = roots[0].parent if roots else Path.cwd()
    return BuildInfo(fingerprint_of(manifest_text(entries)), DEVELOPMENT, root, len(entries))


def _source_entries() -> tuple[dict[str, str], list[Path]]:
    entries: dict[str, str] = {}
    roots: list[Path] = []
    for name in SOURCE_PACKAGES:
        # find_spec on a top-level package locates it without importing it.
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        package = Path(next(iter(spec.submodule_search_locations)))
        roots.append(package)
        files = [p for p in package.rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
        for path, digest in hash_tree(package.parent, files).items():
            entries[path] = digest
    return entries, roots


def running_manifest(info: BuildInfo) -> str:
    """The manifest of ``info``'s files as they are now (hashed again): its SHA-256 is
    ``info.fingerprint`` unless a file changed since. What an auditor's evidence package
    carries, so the fingerprint can be recomputed anywhere."""
    if info.origin == PACKAGE:
        return manifest_text(hash_tree(info.root, bundle_files(info.root)))
    return manifest_text(_source_entries()[0])


def bundle_root() -> Path | None:
    """The folder of the frozen bundle (where its executables are), or ``None`` when
    running from sources."""
    if not getattr(sys, "frozen", False):
        return None
    return Path(sys.executable).resolve().parent


@cache
def current_build() -> BuildInfo:
    """The running program's build, computed once per process (hashing a bundle reads
    every file of it: a few hundred MB, under a second or two)."""
    root = bundle_root()
    return verify_bundle(root) if root is not None else source_build()
