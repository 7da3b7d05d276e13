"""``prep auditoria verificar DIR``: re-check an evidence package anywhere, with only
``prep`` installed (no central, no database).

Two kinds of outcome, reported apart:

- **problemas**: the package is not what the central signed, or contradicts itself (a
  changed, missing or added byte, a signature that does not verify, a key other than
  the one pinned with ``--huella``, a claim the package's own data does not support).
  Any of them makes the package invalid (exit 1).
- **hallazgos**: what the evidence shows and an auditor must look at (a build not in
  the audited list, a station running one, a broken audit chain, a corte that does not
  verify, no puesta en ceros certificate). The package is still intact.

What can be re-run offline is re-run: every file's SHA-256, the index's signature, the
audit log's hash chain recomputed from its exported rows and held against the chain's
heads the signed corte manifests published (:mod:`prep.cadena`: a chain whose owner
deleted events and linked the rest again verifies on its own, not against those), the
build fingerprint from
its manifest, each corte manifest's signature and hash, the puesta en ceros
certificate's signatures, each catalog version's digest; and, with ``--publicacion``,
``verify-corte`` of every corte on the auditor's own copy of the publication.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from prep import cadena
from prep.auditoria import paquete as p
from prep.build_info import DEV_PREFIX
from prep.build_info import fingerprint_of
from prep.build_info import parse_manifest
from prep.canonical import canonical_hash
from prep.catalog.files import FILES as CATALOG_FILES
from prep.catalog.files import files_digest
from prep.corte.package import MANIFEST
from prep.corte.package import SIGNATURE
from prep.corte.verify import HashCache
from prep.corte.verify import verify_corte
from prep.crypto import SignatureError
from prep.crypto import VerifyKey
from prep.crypto import b64decode
from prep.filehash import sha256_file
from prep.protocol import GENESIS
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

MAX_INDICE_BYTES = 64 * 2**20
_MAX_LISTED = 50


@dataclass
class Verificacion:
    """What ``verificar`` checked, the package's problems and the evidence's findings."""

    directorio: Path
    nodo: str = ""
    generado: str = ""
    huella_llave: str = ""
    huella_fijada: bool = False
    archivos: int = 0
    comprobado: list[str] = field(default_factory=list)
    problemas: list[str] = field(default_factory=list)
    hallazgos: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problemas

    def report(self) -> str:
        """The Spanish report printed by ``prep auditoria verificar``."""
        out = [f"Paquete de evidencia: {self.directorio}"]
        if self.nodo:
            out.append(f"Nodo central: {self.nodo}; generado: {self.generado}")
        if self.huella_llave:
            fijada = ("coincide con la dada en --huella" if self.huella_fijada else
                      "NO se fijó con --huella: la firma solo prueba que el paquete no "
                      "cambió desde que lo firmó quien tenga esta llave")
            out.append(f"Llave del nodo central (SHA-256): {self.huella_llave} ({fijada})")
        if self.comprobado:
            out.append("Comprobado:")
            out += [f"  - {line}" for line in self.comprobado]
        out.append(f"Hallazgos ({len(self.hallazgos)}):" if self.hallazgos
                   else "Hallazgos: ninguno")
        out += _listed(self.hallazgos)
        if self.ok:
            out.append(f"Resultado: PAQUETE ÍNTEGRO ({self.archivos} archivos; firma, "
                       "huellas y contenido verificados)")
        else:
            out.append(f"Resultado: PAQUETE NO VÁLIDO ({len(self.problemas)} problemas)")
            out += _listed(self.problemas)
        return "\n".join(out)


def _listed(lines: list[str]) -> list[str]:
    out = [f"  - {line}" for line in lines[:_MAX_LISTED]]
    if len(lines) > _MAX_LISTED:
        out.append(f"  … y {len(lines) - _MAX_LISTED} más")
    return out


@dataclass
class _Paquete:
    """The package being checked: its verified files only."""

    directorio: Path
    key: VerifyKey
    result: Verificacion
    good: dict[str, Path]

    def has(self, name: str) -> bool:
        return name in self.good

    def read(self, name: str) -> bytes | None:
        """The bytes of a verified file; ``None`` (the problem already reported when the
        file was altered or missing, or the package simply has no such file)."""
        path = self.good.get(name)
        return None if path is None else path.read_bytes()

    def json(self, name: str) -> Any:
        data = self.read(name)
        if data is None:
            return None
        try:
            return json.loads(data)
        except (UnicodeDecodeError, ValueError):
            self.result.problemas.append(f"{name}: no es JSON válido")
            return None

    def json_list(self, name: str, problema: str) -> list[Any] | None:
        """The JSON list ``name``; ``None``, with ``problema`` among the problems, when
        it is missing or not a list."""
        data = self.json(name)
        if not isinstance(data, list):
            self.result.problemas.append(problema)
            return None
        return data


def verificar(directory: Path, huella: str | None = None, publicacion: Path | None = None,
              rules: RuleSet = DEFAULT_RULES) -> Verificacion:
    """Check the evidence package in ``directory`` (see the module docstring).
    ``huella`` pins the SHA-256 of the central's public key; ``publicacion`` is a copy
    of the publication directory whose cortes are verified too."""
    result = Verificacion(directory)
    indice_and_key = _check_index(result, directory, huella)
    if indice_and_key is None:
        return result
    indice, key = indice_and_key
    package = _Paquete(directory, key, result, _check_files(result, directory, indice))
    rows: list[dict[str, Any]] = []
    auditadas: set[str] = set()
    publicadas: list[cadena.Publicada] = []
    checks: list[tuple[str, Callable[[], object]]] = [
        ("la bitácora", lambda: rows.extend(_check_bitacora(package))),
        ("la compilación", lambda: auditadas.update(_check_compilacion(package, rows))),
        ("las estaciones", lambda: _check_estaciones(package, auditadas)),
        ("los cortes", lambda: publicadas.extend(_check_cortes(package, publicacion,
                                                               rules))),
        ("la bitácora contra lo publicado",
         lambda: _check_cabezas(package, rows, publicadas)),
        ("la puesta en ceros", lambda: _check_ceros(package, rows, auditadas)),
        ("el catálogo", lambda: _check_catalogo(package)),
        ("las anomalías", lambda: _summarize_anomalias(package))]
    for what, check in checks:
        try:
            check()
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # Only a package the central did not write gets here (its files verified
            # but their content has another shape): invalid, never a traceback.
            result.problemas.append(f"{what}: contenido mal formado "
                                    f"({type(exc).__name__}: {exc})")
    return result


def _check_index(result: Verificacion, directory: Path, huella: str | None
                 ) -> tuple[dict[str, Any], VerifyKey] | None:
    if not directory.is_dir():
        result.problemas.append(f"{directory} no es un directorio")
        return None
    path = directory / p.INDICE
    try:
        if path.stat().st_size > MAX_INDICE_BYTES:
            raise ValueError(f"excede {MAX_INDICE_BYTES // 2**20} MiB")
        body = path.read_bytes()
        indice = json.loads(body)
        if not isinstance(indice, dict) or indice.get("paquete") != p.TIPO:
            raise ValueError("no es el índice de un paquete de evidencia del PREP")
        if indice.get("formato") != p.FORMATO:
            raise ValueError(f"formato {indice.get('formato')!r} desconocido")
        key = VerifyKey.from_b64(str(indice["llave_central_publica"]))
    except FileNotFoundError:
        result.problemas.append(f"falta {p.INDICE}")
        return None
    except (OSError, ValueError, KeyError, SignatureError) as exc:
        result.problemas.append(f"{p.INDICE} ilegible: {exc}")
        return None
    result.nodo = str(indice.get("nodo", ""))
    result.generado = str(indice.get("generado", ""))
    result.huella_llave = key.fingerprint()
    if indice.get("llave_central_sha256") != result.huella_llave:
        result.problemas.append(f"{p.INDICE}: la huella de la llave no es la de la llave "
                                "que contiene")
    if huella is not None:
        if huella.strip().lower() != result.huella_llave:
            result.problemas.append(f"la llave del paquete ({result.huella_llave}) no es la "
                                    f"esperada ({huella.strip().lower()}): no lo firmó ese "
                                    "nodo central")
        else:
            result.huella_fijada = True
    try:
        signature = b64decode((directory / p.FIRMA).read_text("ascii").strip(), 64)
        key.verify(signature, body)
    except FileNotFoundError:
        result.problemas.append(f"falta la firma {p.FIRMA}")
    except (OSError, UnicodeDecodeError, SignatureError):
        result.problemas.append(f"la firma {p.FIRMA} no corresponde a {p.INDICE} con esa "
                                "llave: el índice fue alterado o no lo firmó el nodo central")
    return indice, key


def _check_files(result: Verificacion, directory: Path, indice: dict[str, Any]
                 ) -> dict[str, Path]:
    """Every listed file present with its SHA-256 and size, and nothing unlisted; the
    files that match."""
    listed: dict[str, dict[str, Any]] = {}
    for entry in indice.get("archivos") or []:
        name = str(entry.get("nombre", "")) if isinstance(entry, dict) else ""
        if not name or name.startswith("/") or ".." in name.split("/") \
                or name in (p.INDICE, p.FIRMA):
            result.problemas.append(f"{p.INDICE}: ruta no permitida {name!r}")
            continue
        listed[name] = entry
    present = {name: path for name, path in p.walk(directory)
               if name not in (p.INDICE, p.FIRMA)}
    for name in sorted(present.keys() - listed.keys()):
        result.problemas.append(f"{name}: archivo que el índice no lista")
    good: dict[str, Path] = {}
    for name, entry in sorted(listed.items()):
        path = present.get(name)
        if path is None:
            result.problemas.append(f"{name}: falta (el índice lo lista)")
        elif path.is_symlink() or not path.is_file():
            result.problemas.append(f"{name}: no es un archivo regular")
        elif (path.stat().st_size != entry.get("bytes")
              or sha256_file(path) != entry.get("sha256")):
            result.problemas.append(f"{name}: su SHA-256 no coincide con el índice "
                                    "(archivo alterado)")
        else:
            good[name] = path
    result.archivos = len(good)
    return good


def _check_bitacora(package: _Paquete) -> list[dict[str, Any]]:
    """Recompute the audit log's hash chain from the exported rows and compare it with
    verify-audit's outcome at the central. Returns the rows."""
    result = package.result
    data = package.read(p.BITACORA)
    claim = package.json(p.BITACORA_VERIFICACION)
    if data is None or not isinstance(claim, dict):
        result.problemas.append("no se pudo comprobar la bitácora (falta o está alterada)")
        return []
    rows: list[dict[str, Any]] = []
    prev, broken, reason = GENESIS, None, ""
    try:
        for line in data.decode("utf-8").splitlines():
            row = json.loads(line)
            rows.append(row)
            if broken is not None:
                continue
            if row["prev"] != prev:
                broken, reason = row["id"], "prev no coincide con el evento anterior"
            elif canonical_hash({"at": row["at"], "actor": row["actor"],
                                 "event": row["event"], "detail": row["detail"],
                                 "prev": prev}) != row["sha256"]:
                broken, reason = row["id"], "el contenido no coincide con su huella"
            prev = row["sha256"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        result.problemas.append(f"{p.BITACORA}: renglón mal formado ({exc})")
        return rows
    if (claim.get("eventos") != len(rows) or claim.get("integra") != (broken is None)
            or (broken is None and claim.get("ultimo_sha256") != prev)):
        result.problemas.append(f"{p.BITACORA_VERIFICACION} no coincide con la bitácora "
                                "exportada (eventos, integridad o último eslabón)")
    if broken is None:
        result.comprobado.append(f"Bitácora: {len(rows)} eventos; la cadena de huellas "
                                 "se recalculó y está íntegra")
    else:
        result.hallazgos.append(f"la bitácora del nodo central está ALTERADA en el evento "
                                f"{broken}: {reason}")
    return rows


def _check_compilacion(package: _Paquete, rows: list[dict[str, Any]]) -> set[str]:
    """The central's build: its fingerprint recomputed from the manifest and compared
    with the audited list; every ``serve`` start recorded in the audit log. Returns the
    audited fingerprints."""
    result = package.result
    auditadas_json = package.json(p.AUDITADAS)
    auditadas = ({str(a.get("fingerprint")) for a in auditadas_json}
                 if isinstance(auditadas_json, list) else set())
    huella = package.json(p.HUELLA)
    manifest = package.read(p.MANIFIESTO_BUILD)
    if not isinstance(huella, dict) or manifest is None or auditadas_json is None:
        result.problemas.append("no se pudo comprobar la compilación (faltan o están "
                                "alterados sus archivos)")
        return auditadas
    fingerprint = fingerprint_of(manifest.decode("utf-8", "replace"))
    label = (DEV_PREFIX + fingerprint if huella.get("origen") == "desarrollo"
             else fingerprint)
    if huella.get("huella") != fingerprint or huella.get("etiqueta") != label:
        result.problemas.append(f"{p.MANIFIESTO_BUILD}: su SHA-256 ({fingerprint}) no es la "
                                f"huella declarada en {p.HUELLA}")
        return auditadas
    if huella.get("auditada") != (label in auditadas):
        result.problemas.append(f"{p.HUELLA} dice auditada={huella.get('auditada')} y la "
                                "lista de auditadas del paquete dice lo contrario")
    result.comprobado.append(f"Compilación del nodo central: {label} "
                             f"({huella.get('archivos')} archivos; la huella se recalculó "
                             "de su manifiesto)")
    if not auditadas:
        result.hallazgos.append("la lista de compilaciones auditadas está vacía: el nodo "
                                "central y las estaciones no se comparan con ninguna")
    elif label not in auditadas:
        result.hallazgos.append(f"la compilación del nodo central ({label}) no está en la "
                                "lista de auditadas")
    for problema in huella.get("problemas") or []:
        result.hallazgos.append(f"compilación del nodo central: {problema}")
    _check_arranques(result, rows)
    return auditadas


def _check_arranques(result: Verificacion, rows: list[dict[str, Any]]) -> None:
    starts = Counter[tuple[str, str, str]]()
    for row in rows:
        if row.get("event") == p.EVENTO_ARRANQUE and isinstance(row.get("detail"), dict):
            detail = row["detail"]
            starts[(str(detail.get("fingerprint")), str(detail.get("resultado")),
                    str(detail.get("motivo") or ""))] += 1
    if not starts:
        return
    result.comprobado.append(f"Arranques del nodo central en la bitácora: "
                             f"{sum(starts.values())}")
    for (fingerprint, resultado, motivo), veces in sorted(starts.items()):
        if resultado == "auditada":
            continue
        texto = {"sin_lista": "sin lista de auditadas",
                 "no_auditada_autorizada": f"NO auditada, con autorización («{motivo}»)",
                 "rechazada": "NO auditada: se negó a atender"}.get(resultado, resultado)
        result.hallazgos.append(f"el nodo central arrancó {_veces(veces)} con la "
                                f"compilación {fingerprint}: {texto}")


def _veces(n: int) -> str:
    return "1 vez" if n == 1 else f"{n} veces"


def _check_estaciones(package: _Paquete, auditadas: set[str]) -> None:
    result = package.result
    estaciones = package.json_list(p.ESTACIONES, "no se pudo comprobar la compilación de "
                                                 "las estaciones")
    if estaciones is None:
        return
    fuera = 0
    for e in estaciones:
        build = e.get("compilacion")
        audited = build is not None and build in auditadas
        if e.get("auditada") != audited:
            result.problemas.append(f"{p.ESTACIONES}: la estación {e.get('estacion')} dice "
                                    f"auditada={e.get('auditada')} contra la lista del paquete")
        if not audited:
            fuera += 1
            result.hallazgos.append(
                f"la estación {e.get('estacion')} ({e.get('rol')}, sitio {e.get('sitio')}) "
                f"reporta la compilación {build or 'ninguna (sin latido con huella)'}, que no "
                "está en la lista de auditadas")
    result.comprobado.append(f"Estaciones: {len(estaciones)}; con compilación auditada: "
                             f"{len(estaciones) - fuera}")


def _check_cortes(package: _Paquete, publicacion: Path | None, rules: RuleSet
                  ) -> list[cadena.Publicada]:
    """Each corte's signed manifest (and, with ``publicacion``, the auditor's copy);
    the audit chain's heads the signed manifests carry (issue 62)."""
    result = package.result
    cortes = package.json_list(p.CORTES, "no se pudieron comprobar los cortes")
    cabezas: list[cadena.Publicada] = []
    if cortes is None:
        return cabezas
    firmados = 0
    hashed: HashCache = {}
    for corte in cortes:
        name = str(corte.get("directorio"))
        base = f"{p.CORTES_DIR}/{name}"
        manifest = package.read(f"{base}/{MANIFEST}")
        signature = package.read(f"{base}/{SIGNATURE}")
        central = corte.get("verificacion") or {}
        if not central.get("integro"):
            problemas = "; ".join(central.get("problemas") or []) or "sin detalle"
            result.hallazgos.append(f"corte {name}: no verificó en el nodo central "
                                    f"({problemas})")
        if manifest is None or signature is None:
            if central.get("encontrado"):
                result.problemas.append(f"corte {name}: falta su manifiesto o su firma")
            continue
        if hashlib.sha256(manifest).hexdigest() != corte.get("manifiesto_sha256"):
            result.hallazgos.append(f"corte {name}: su manifiesto no es el que registró el "
                                    "nodo central al publicarlo")
        try:
            package.key.verify(signature[:1024], manifest)
            firmados += 1
            if (cabeza := cadena.de_manifiesto(manifest)) is not None:
                cabezas.append(cadena.Publicada(cabeza, f"el corte {name}"))
        except SignatureError:
            result.hallazgos.append(f"corte {name}: la firma de su manifiesto no verifica "
                                    "con la llave del nodo central")
        if publicacion is not None:
            cabeza = _check_published(result, publicacion / name, manifest, hashed, rules)
            if cabeza is not None:
                cabezas.append(cadena.Publicada(cabeza, f"el corte publicado "
                                                        f"{publicacion / name}"))
    result.comprobado.append(f"Cortes: {len(cortes)}; manifiestos firmados por la llave "
                             f"del nodo central: {firmados}")
    if publicacion is not None:
        result.comprobado.append(f"verify-corte de cada corte publicado en {publicacion} "
                                 f"({len(cortes)})")
    return cabezas


def _check_published(result: Verificacion, directory: Path, manifest: bytes,
                     hashed: HashCache, rules: RuleSet) -> cadena.Cabeza | None:
    """verify-corte on the auditor's copy, and the copy is the corte of the package;
    the audit chain's head the copy's signed manifest carries."""
    check = verify_corte(directory, huella=result.huella_llave, hashed=hashed, rules=rules)
    if not check.ok:
        result.hallazgos.append(f"corte publicado {directory}: NO VÁLIDO "
                                f"({'; '.join(check.problemas[:3])})")
        return None
    if (directory / MANIFEST).read_bytes() != manifest:
        result.hallazgos.append(f"corte publicado {directory}: no es el corte que registró "
                                "el nodo central (otro manifiesto)")
    return check.bitacora


def _check_cabezas(package: _Paquete, rows: list[dict[str, Any]],
                   publicadas: list[cadena.Publicada]) -> None:
    """The exported audit log holds every head the signed cortes published (issue 62):
    a chain whose owner deleted events and linked the rest again still verifies on its
    own, but no longer holds the heads published before."""
    result = package.result
    if not publicadas or not rows:
        return
    contraste = cadena.contrastar([(int(r["id"]), str(r["sha256"])) for r in rows],
                                  publicadas)
    if contraste.ok:
        result.comprobado.append(f"Bitácora contra lo publicado: contiene las "
                                 f"{contraste.coinciden} cabezas de la bitácora que "
                                 "publicaron los manifiestos firmados de los cortes")
    else:
        result.hallazgos.append(contraste.hallazgo)


def _check_ceros(package: _Paquete, rows: list[dict[str, Any]], auditadas: set[str]
                 ) -> None:
    result = package.result
    evento = package.json(p.CEROS_EVENTO)
    if evento is None:
        if not package.has(p.CEROS_EVENTO):
            result.hallazgos.append("la bitácora no registra ninguna constancia de puesta "
                                    "en ceros")
        return
    recorded = [r for r in rows if r.get("id") == evento.get("id")]
    if not recorded or recorded[0].get("event") != p.EVENTO_CEROS \
            or recorded[0].get("detail") != evento.get("detail"):
        result.problemas.append(f"{p.CEROS_EVENTO} no es el evento de la bitácora que dice")
        return
    detail = evento["detail"]
    pdf = package.read(p.CEROS_PDF)
    statement = package.read(p.CEROS_PDF + ".json")
    pdf_signature = package.read(p.CEROS_PDF + ".sig")
    if pdf is None or statement is None or pdf_signature is None:
        result.hallazgos.append(f"la constancia de puesta en ceros ({detail.get('file')}) "
                                "no se incluyó en el paquete: dé su PDF con --ceros")
        return
    problemas = []
    if hashlib.sha256(pdf).hexdigest() != detail.get("pdf_sha256"):
        problemas.append("el PDF no es el que registró la bitácora")
    if hashlib.sha256(statement).hexdigest() != detail.get("statement_sha256"):
        problemas.append("la declaración (.json) no es la que registró la bitácora")
    try:
        declared = json.loads(statement)
        if declared.get("llave_central_sha256") != result.huella_llave:
            problemas.append("la firmó otra llave que la del nodo central")
        if any(declared["base_de_datos"]["conteos"].values()):
            problemas.append("la declaración no está en ceros")
        package.key.verify(b64decode(str(detail.get("signature")), 64), statement)
        package.key.verify(b64decode(pdf_signature.decode("ascii").strip(), 64), pdf)
    except (ValueError, KeyError, TypeError, AttributeError, SignatureError):
        problemas.append("sus firmas no verifican con la llave del nodo central")
    if problemas:
        result.hallazgos.append(f"constancia de puesta en ceros: {'; '.join(problemas)}")
        return
    result.comprobado.append(f"Constancia de puesta en ceros del {evento.get('at')}: "
                             "PDF y declaración firmados por el nodo central, en ceros")
    _check_ceros_build(package, declared["software"], auditadas)


def _check_ceros_build(package: _Paquete, software: dict[str, Any],
                       auditadas: set[str]) -> None:
    """The build the central ran at its puesta en ceros (the certificate's signed
    statement) against the audited list and the build it runs now (the package's
    manifest): the software certified empty is the one audited and the one operated.
    Each file the certificate lists is compared with the manifest's line for it."""
    result = package.result
    compilacion = software.get("compilacion")
    if not isinstance(compilacion, dict):
        result.hallazgos.append("la constancia de puesta en ceros no registra la huella "
                                "de su compilación (la emitió una versión anterior del "
                                "PREP): compare a mano sus huellas de archivos")
        return
    label = str(compilacion.get("huella"))
    huella = package.json(p.HUELLA)
    running = huella.get("etiqueta") if isinstance(huella, dict) else None
    if label not in auditadas:
        result.hallazgos.append(f"la puesta en ceros se hizo con la compilación {label}, "
                                "que no está en la lista de auditadas")
    if label == running:
        result.comprobado.append(f"La puesta en ceros se hizo con la compilación que "
                                 f"corre el nodo central ({label})")
        return
    result.hallazgos.append(f"la puesta en ceros se hizo con la compilación {label} y el "
                            f"nodo central corre {running}")
    manifest = package.read(p.MANIFIESTO_BUILD)
    if manifest is None:
        return
    entries = parse_manifest(manifest.decode("utf-8", "replace"))
    by_name: dict[str, list[tuple[str, str]]] = {}
    for path, sha in entries.items():
        by_name.setdefault(path.rsplit("/", 1)[-1], []).append((path, sha))
    distintos = sorted(
        rel for info in (software.get("paquetes") or {}).values()
        for rel, sha in (info.get("sha256") or {}).items()
        if (actual := _manifest_entry(by_name, rel)) is not None and actual != sha)
    if distintos:
        result.hallazgos.append(
            f"archivos distintos entre la constancia de puesta en ceros y la compilación "
            f"que corre ({len(distintos)}): {', '.join(distintos[:10])}"
            + (" …" if len(distintos) > 10 else ""))


def _manifest_entry(by_name: dict[str, list[tuple[str, str]]], rel: str) -> str | None:
    """The manifest's SHA-256 of a package file the certificate names by its
    package-relative path (a source build lists it so; a bundle under its folder), or
    None when the manifest has no such file or more than one would fit."""
    candidates = by_name.get(rel.rsplit("/", 1)[-1], [])
    for path, sha in candidates:
        if path == rel:
            return sha
    matches = [sha for path, sha in candidates if path.endswith("/" + rel)]
    return matches[0] if len(matches) == 1 else None


def _check_catalogo(package: _Paquete) -> None:
    result = package.result
    versiones = package.json_list(p.CATALOGO, "no se pudieron comprobar las versiones del catálogo")
    if versiones is None:
        return
    for v in versiones:
        files = {name: package.read(f"catalogo/v{v.get('version')}/{name}")
                 for name in CATALOG_FILES}
        present = {name: data for name, data in files.items() if data is not None}
        if len(present) != len(files) or files_digest(present) != v.get("digest"):
            result.problemas.append(f"catálogo versión {v.get('version')}: sus archivos no "
                                    "dan la huella registrada")
    result.comprobado.append(f"Catálogo: {len(versiones)} "
                             f"{'versión' if len(versiones) == 1 else 'versiones'}; la "
                             "huella de cada una se recalculó de sus archivos")


def _summarize_anomalias(package: _Paquete) -> None:
    anomalias = package.json_list(p.ANOMALIAS, "no se pudieron leer las anomalías")
    if anomalias is None:
        return
    tipos = Counter(str(a.get("tipo")) for a in anomalias)
    pendientes = sum(1 for a in anomalias if not a.get("atendida"))
    detalle = ", ".join(f"{t} {n}" for t, n in sorted(tipos.items())) or "ninguna"
    package.result.comprobado.append(f"Anomalías: {len(anomalias)} ({detalle}); sin "
                                     f"atender: {pendientes}")
