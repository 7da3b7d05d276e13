"""``prep verify-corte DIR``: anyone can check a downloaded corte.

Checks, in order, and reports every problem found (Spanish):

1. ``MANIFIESTO.sha256`` is signed (``MANIFIESTO.sha256.sig``, Ed25519) by the key in
   ``llave_publica.pem`` (or the one given with ``--llave``; ``--huella`` pins its
   SHA-256, which the institute publishes);
2. every file the manifest lists exists and has that SHA-256, and no file is there that
   the manifest does not list;
3. every acta image ``imagenes/<sha256>.<ext>`` hashes to its name, and every
   CODIGO_INTEGRIDAD of the election CSVs has its image;
4. each election CSV is well formed and its summary (line 5) is what its rows give; no
   participación over 100 % in it, in any territory its rows give, nor in the site
   (:mod:`prep.corte.verify_elecciones`: the election CSVs' registry entry's check);
5. the zip holds exactly the CSVs and LEEME of the directory;
   HISTORIAL.csv, if there, lists only actas the CSVs publish with data, with their
   image and acopio time (:mod:`prep.corte.verify_historial`); AVANCE_CATD.csv, if
   there, agrees per CATD and in its sums with the election CSVs
   (:mod:`prep.corte.verify_salud_catd`); DIFUSORES.csv, if there, is well formed
   and the site lists the same difusores (:mod:`prep.corte.difusores`); the site's
   data files, if there, are each readable by the page and of this corte, and its
   bloques of secciones carry every acta row of the CSVs once, as the CSVs have them
   (:mod:`prep.corte.verify_sitio`);
6. SIMULACRO: a manifest that opens with the drill's line (:mod:`prep.corte.simulacro`)
   needs the stamp on line 1 of every CSV and of LEEME, in the zip's name and on every
   page of the site; a manifest without it, none of them.

Qt-free and independent of the central: only the published files are read.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from prep import cadena
from prep.corte import simulacro as marca
from prep.corte.archivos import Leido
from prep.corte.archivos import registrado
from prep.corte.archivos import registrados
from prep.corte.nombres import IMAGENES
from prep.corte.nombres import LEEME
from prep.corte.nombres import MANIFEST
from prep.corte.nombres import PUBLIC_KEY
from prep.corte.nombres import SIGNATURE
from prep.corte.reader import CsvEleccion
from prep.corte.reader import CsvFormatError
from prep.corte.reader import read_eleccion_csv
from prep.corte.verify_elecciones import stem
from prep.crypto import SignatureError
from prep.crypto import VerifyKey
from prep.filehash import sha256_file
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

MAX_MANIFEST_BYTES = 256 * 1024 * 1024
MAX_KEY_BYTES = 4096
MAX_ZIP_MEMBER = 2 * 2**30
_LINE = re.compile(r"([0-9a-f]{64})  (\S.*)")
_MAX_REPORTED = 50


@dataclass
class Verificacion:
    """The outcome: what was checked and every problem found."""

    directorio: Path
    huella_llave: str = ""
    archivos: int = 0
    imagenes: int = 0
    elecciones: dict[str, str] = field(default_factory=dict)  # file → summary verdict
    problemas: list[str] = field(default_factory=list)
    #: The election CSVs as parsed here, for a caller that checks their rows further
    #: (the drill's verdict) without parsing 40,000 rows again.
    tablas: dict[str, CsvEleccion] = field(default_factory=dict, repr=False)
    #: The signed manifest says the corte is a drill's (SIMULACRO).
    simulacro: bool = False
    #: The audit chain's head the signed manifest carries (None: a corte made before
    #: issue 62).
    bitacora: cadena.Cabeza | None = None
    #: The publication rules the summaries are recomputed with (which OBSERVACIONES
    #: are inconsistencias: ``prep verify-corte --reglas``).
    reglas: RuleSet = DEFAULT_RULES
    #: What ``--testigos`` found in the public log of cortes (prep.corte.verify_testigos).
    testigos: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problemas

    def report(self) -> str:
        """The Spanish report printed by ``prep verify-corte``."""
        out = [f"Corte: {self.directorio}"]
        if self.huella_llave:
            out.append(f"Llave del nodo central (SHA-256): {self.huella_llave}")
        out.append(f"Archivos verificados: {self.archivos}; imágenes: {self.imagenes}")
        if self.simulacro:
            out.append(f"{marca.MARCA}: {marca.AVISO} (lo dice el manifiesto firmado)")
        if self.bitacora is not None:
            out.append(f"Bitácora del nodo central al hacer el corte (firmada): "
                       f"{self.bitacora.eventos} eventos, el último id {self.bitacora.id}, "
                       f"huella {self.bitacora.sha256}")
        out += [f"  {name}: {verdict}" for name, verdict in self.elecciones.items()]
        out += self.testigos
        if self.ok:
            tipo = f" DE UN {marca.MARCA}" if self.simulacro else ""
            out.append(f"Resultado: CORTE ÍNTEGRO{tipo} (firma, huellas, imágenes y "
                       "resúmenes verificados)")
        else:
            out.append(f"Resultado: CORTE NO VÁLIDO ({len(self.problemas)} problemas)")
            out += [f"  - {p}" for p in self.problemas[:_MAX_REPORTED]]
            if len(self.problemas) > _MAX_REPORTED:
                out.append(f"  … y {len(self.problemas) - _MAX_REPORTED} más")
        return "\n".join(out)


#: A file's identity on disk (device, inode, size, modification time) → its SHA-256.
HashCache = dict[tuple[int, int, int, int], str]


def verify_corte(directory: Path, llave: Path | None = None,
                 huella: str | None = None, hashed: HashCache | None = None,
                 rules: RuleSet = DEFAULT_RULES) -> Verificacion:
    """Check the corte in ``directory`` (see the module docstring).

    ``hashed``, shared across calls, skips hashing again a file already hashed under
    the same identity: the cortes of one publication hard-link their images, so a
    program checking every corte of a night (the drill's verdict) hashes each image
    once instead of once per corte. Only for files nobody rewrites in place meanwhile;
    ``prep verify-corte`` never uses it. ``rules``: the institute's publication rules
    (its ``reglas.toml``), when they count other inconsistencias than the default."""
    result = Verificacion(directory, reglas=rules)
    if not directory.is_dir():
        result.problemas.append(f"{directory} no es un directorio")
        return result
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        result.problemas.append(f"falta {MANIFEST}")
        return result
    if manifest_path.stat().st_size > MAX_MANIFEST_BYTES:
        result.problemas.append(f"{MANIFEST} excede {MAX_MANIFEST_BYTES // 2**20} MiB")
        return result
    manifest = manifest_path.read_bytes()
    _check_signature(result, directory, manifest, llave, huella)
    listed = _parse_manifest(result, manifest)
    digests = _check_files(result, directory, listed, hashed)
    _check_images(result, digests)
    leido = Leido(directory, sorted(digests), result.tablas,
                  _leer_elecciones(result, directory, digests), rules, result.elecciones)
    # <ELECCION>.csv, HISTORIAL.csv, AVANCE_CATD.csv, sitio/… (prep.corte.archivos): a
    # file, a folder or, named by a pattern in <>, the files it names.
    for archivo in registrados():
        if archivo.nombre in digests or archivo.nombre.endswith("/") \
                or archivo.nombre.startswith("<"):
            result.problemas += archivo.problemas(leido)
    _check_zip(result, directory, digests)
    result.problemas += marca.problemas(directory, digests, result.simulacro)
    return result


def _check_signature(result: Verificacion, directory: Path, manifest: bytes,
                     llave: Path | None, huella: str | None) -> None:
    key_path = llave or directory / PUBLIC_KEY
    try:
        if key_path.stat().st_size > MAX_KEY_BYTES:
            raise ValueError("demasiado grande")
        key = load_key(key_path.read_bytes())
    except (OSError, ValueError) as exc:
        result.problemas.append(f"no se pudo leer la llave pública {key_path.name}: {exc}")
        return
    result.huella_llave = key.fingerprint()
    if huella is not None and huella.strip().lower() != result.huella_llave:
        result.problemas.append(f"la llave del corte ({result.huella_llave}) no es la "
                                f"esperada ({huella.strip().lower()})")
    sig_path = directory / SIGNATURE
    if not sig_path.is_file():
        result.problemas.append(f"falta la firma {SIGNATURE}")
        return
    try:
        key.verify(sig_path.read_bytes()[:1024], manifest)
    except SignatureError:
        result.problemas.append(f"la firma {SIGNATURE} no corresponde a {MANIFEST} con esa "
                                "llave: el manifiesto fue alterado o no lo firmó el nodo "
                                "central")


def load_key(data: bytes) -> VerifyKey:
    """An Ed25519 public key in PEM (SubjectPublicKeyInfo) or raw base64."""
    if data.lstrip().startswith(b"-----BEGIN"):
        public = serialization.load_pem_public_key(data)
        if not isinstance(public, Ed25519PublicKey):
            raise ValueError("no es una llave Ed25519")
        return VerifyKey(public)
    try:
        return VerifyKey.from_b64(data.decode("ascii").strip())
    except (SignatureError, UnicodeDecodeError):
        raise ValueError("no es una llave Ed25519 (PEM o base64)") from None


def _parse_manifest(result: Verificacion, manifest: bytes) -> dict[str, str]:
    listed: dict[str, str] = {}
    try:
        text = manifest.decode("utf-8")
    except UnicodeDecodeError:
        result.problemas.append(f"{MANIFEST} no es UTF-8")
        return listed
    for number, line in enumerate(text.splitlines(), start=1):
        if number == 1 and line == marca.LINEA_MANIFIESTO:
            result.simulacro = True
            continue
        if line.startswith(cadena.PREFIJO):
            try:
                cabeza = cadena.leer_linea(line)
            except ValueError as exc:
                result.problemas.append(f"{MANIFEST}, línea {number}: {exc}")
                continue
            if result.bitacora is not None:
                result.problemas.append(f"{MANIFEST}, línea {number}: segunda cabeza de la "
                                        "bitácora")
            result.bitacora = cabeza
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            result.problemas.append(f"{MANIFEST}, línea {number}: no tiene la forma "
                                    "«<sha256>  <archivo>»")
            continue
        digest, name = match.groups()
        if name.startswith("/") or ".." in name.split("/") or name in (MANIFEST, SIGNATURE):
            result.problemas.append(f"{MANIFEST}, línea {number}: ruta no permitida {name!r}")
            continue
        if name in listed:
            result.problemas.append(f"{MANIFEST}, línea {number}: {name} aparece dos veces")
        listed[name] = digest
    return listed


def _check_files(result: Verificacion, directory: Path, listed: dict[str, str],
                 hashed: HashCache | None = None) -> dict[str, str]:
    """Hash every file present; report mismatches, missing and unlisted files. Returns
    the digests of the files that match the manifest."""
    present = dict(_walk(directory))
    present.pop(MANIFEST, None)
    present.pop(SIGNATURE, None)
    good: dict[str, str] = {}
    for name in sorted(set(present) - set(listed)):
        result.problemas.append(f"{name}: archivo que el manifiesto no lista")
    for name, expected in sorted(listed.items()):
        path = present.get(name)
        if path is None:
            result.problemas.append(f"{name}: falta (el manifiesto lo lista)")
            continue
        actual = sha256_file(path) if hashed is None else _sha256_cached(path, hashed)
        result.archivos += 1
        if actual != expected:
            result.problemas.append(f"{name}: su SHA-256 no coincide con el manifiesto "
                                    "(archivo alterado)")
            continue
        good[name] = actual
    return good


def _walk(directory: str | Path, prefix: str = "") -> Iterable[tuple[str, str]]:
    """Every entry under ``directory`` that is not a directory (a symlink, even to a
    directory, is listed, not followed), by its path relative to ``directory`` with
    ``/``. One ``scandir`` per directory: a corte holds 40,000 images."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(entry.path, f"{prefix}{entry.name}/")
            else:
                yield f"{prefix}{entry.name}", entry.path


def _sha256_cached(path: str, hashed: HashCache) -> str:
    st = os.stat(path)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    digest = hashed.get(key)
    if digest is None:
        digest = hashed[key] = sha256_file(path)
    return digest


def _check_images(result: Verificacion, digests: dict[str, str]) -> None:
    for name, digest in digests.items():
        folder, _, file = name.partition("/")
        if folder != IMAGENES or not file or "/" in file:
            continue
        result.imagenes += 1
        if digest != stem(file):
            result.problemas.append(f"{name}: la imagen no coincide con su SHA-256 ({digest})")


def _leer_elecciones(result: Verificacion, directory: Path,
                     digests: dict[str, str]) -> dict[str, str]:
    """Read every election CSV into ``result.tablas`` (every check reads them); those
    that cannot be read, by name: why (their registry entry reports it,
    :func:`prep.corte.verify_elecciones.problemas_elecciones`)."""
    ilegibles: dict[str, str] = {}
    for name in sorted(digests):
        if "/" in name or not name.endswith(".csv") or name.endswith("_CANDIDATURAS.csv") \
                or registrado(name) is not None:
            continue
        try:
            result.tablas[name] = read_eleccion_csv((directory / name).read_bytes())
        except CsvFormatError as exc:
            ilegibles[name] = str(exc)
    return ilegibles


def _check_zip(result: Verificacion, directory: Path, digests: dict[str, str]) -> None:
    zips = [n for n in digests if "/" not in n and n.endswith(".zip")]
    expected = {n for n in digests if "/" not in n and (n.endswith(".csv") or n == LEEME)}
    for name in zips:
        try:
            with zipfile.ZipFile(directory / name) as archive:
                if any(i.file_size > MAX_ZIP_MEMBER for i in archive.infolist()):
                    result.problemas.append(f"{name}: un miembro excede "
                                            f"{MAX_ZIP_MEMBER // 2**30} GiB")
                    continue
                members = set(archive.namelist())
                if members != expected:
                    result.problemas.append(f"{name}: no contiene exactamente los CSV y el "
                                            f"{LEEME} del corte")
                for member in sorted(members & expected):
                    data = archive.read(member)
                    if hashlib.sha256(data).hexdigest() != digests[member]:
                        result.problemas.append(f"{name}: {member} difiere del archivo del "
                                                "corte")
        except (zipfile.BadZipFile, OSError) as exc:
            result.problemas.append(f"{name}: zip ilegible ({exc})")
