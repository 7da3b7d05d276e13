"""The *puesta en ceros* certificate, made before publication starts.

It states, for the notary and the auditor who sign it on paper:

- the database holds no results: no records, batches, images, captures, validated or
  reported actas, fuera-de-catálogo registrations, leases nor cortes (only the catalog,
  with every acta *esperada*);
- the software: versions (prep, Python, PostgreSQL, schema revision) and the SHA-256 of
  every file of the installed ``prep`` and ``central`` packages, with one digest over
  all of them;
- the keys: the central's Ed25519 key and TLS certificate fingerprints, the catalog's
  digest.

That statement is canonical JSON (``FILE.json``), signed with the central's Ed25519 key:
the statement's SHA-256 and the signature are printed on the PDF. The PDF itself is
signed too, detached (``FILE.sig``: the base64 signature of the PDF's bytes).
A database that is not empty gets no certificate: :class:`NotZero` says what it holds.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from reportlab.lib.units import cm
from reportlab.platypus import Flowable
from reportlab.platypus import KeepTogether
from reportlab.platypus import PageBreak

import central
import prep
from central.controlroom.reports import pdf
from central.controlroom.reports.pdf import gap
from central.controlroom.reports.pdf import paragraph
from prep.build_info import current_build
from prep.canonical import canonical_bytes
from prep.crypto import SigningKey
from prep.crypto import VerifyKey
from prep.crypto import b64decode
from prep.crypto import b64encode

#: What must be empty: label → statement (constant SQL).
ZERO_CHECKS = {
    "registros": "SELECT count(*) FROM records",
    "lotes": "SELECT count(*) FROM batches",
    "imagenes": "SELECT count(*) FROM acta_images",
    "capturas": "SELECT count(*) FROM acta_captures",
    "actas_no_esperadas": "SELECT count(*) FROM acta_states WHERE estado <> 'esperada'",
    "actas_validadas": "SELECT count(*) FROM acta_states WHERE estado = 'validada'",
    "fuera_de_catalogo": "SELECT count(*) FROM fuera_de_catalogo",
    "asignaciones": "SELECT count(*) FROM leases",
    "cortes": "SELECT count(*) FROM cortes",
}
ZERO_LABELS = {"registros": "Registros de las estaciones", "lotes": "Lotes recibidos",
               "imagenes": "Imágenes de actas", "capturas": "Capturas y verificaciones",
               "actas_no_esperadas": "Actas con algún avance (no «esperada»)",
               "actas_validadas": "Actas validadas",
               "fuera_de_catalogo": "Actas fuera de catálogo",
               "asignaciones": "Asignaciones de trabajo", "cortes": "Cortes publicados"}
PACKAGE_SUFFIXES = (".py", ".toml", ".md", ".mako", ".json", ".csv", ".html", ".css",
                    ".js", ".svg")


class NotZero(ValueError):
    """The database holds results: no certificate (Spanish, lists what it holds)."""


@dataclass(frozen=True)
class Identity:
    """The central's keys as the certificate names them."""

    node: str
    key: SigningKey
    cert_sha256: str


@dataclass(frozen=True)
class Certificate:
    """What was written: the statement, its hash and both signatures."""

    statement: dict[str, Any]
    statement_sha256: str
    signature: str
    pdf_sha256: str
    pdf_signature: str


def package_files(package_dir: Path, name: str) -> list[tuple[str, str]]:
    """(path relative to the package's parent, SHA-256) of every source/data file."""
    rows = []
    for path in sorted(package_dir.rglob("*")):
        if (path.is_file() and "__pycache__" not in path.parts
                and path.suffix in PACKAGE_SUFFIXES):
            rel = f"{name}/{path.relative_to(package_dir).as_posix()}"
            rows.append((rel, hashlib.sha256(path.read_bytes()).hexdigest()))
    return rows


def software() -> dict[str, Any]:
    """Versions and file hashes of the installed packages, and the build's fingerprint
    (:func:`prep.build_info.current_build`): what an auditor compares with the audited
    list and the build manifest of the evidence package (``prep auditoria verificar``)."""
    packages = {}
    for module in (prep, central):
        files = package_files(Path(module.__file__ or "").parent, module.__name__)
        listing = "".join(f"{sha}  {rel}\n" for rel, sha in files).encode("utf-8")
        packages[module.__name__] = {"archivos": len(files),
                                     "sha256_conjunto": hashlib.sha256(listing).hexdigest(),
                                     "sha256": dict(files)}
    build = current_build()
    return {"prep": prep.__version__, "python": platform.python_version(),
            "compilacion": {"huella": build.label, "archivos": build.files,
                            "problemas": list(build.problems)},
            "sistema": f"{platform.system()} {platform.release()} {platform.machine()}",
            "paquetes": packages}


def zero_counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    counts = {}
    with conn.cursor() as cur:
        for label, query in ZERO_CHECKS.items():
            cur.execute(query)  # constant statements above
            row = cur.fetchone()
            counts[label] = int(row[0]) if row else 0
    return counts


def database_facts(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    with conn.cursor() as cur:
        cur.execute("SELECT now(), current_setting('server_version'), "
                    "(SELECT version_num FROM alembic_version), "
                    "(SELECT count(*) FROM acta_states WHERE en_catalogo), "
                    "(SELECT max(version) FROM catalog_versions)")
        row = cur.fetchone()
        assert row is not None
        now, server, schema, actas, version = row
        digest = None
        if version is not None:
            cur.execute("SELECT digest FROM catalog_versions WHERE version = %s", (version,))
            found = cur.fetchone()
            digest = found[0] if found else None
    return {"at": now, "postgresql": server, "esquema": schema, "actas_esperadas": actas,
            "catalogo_version": version, "catalogo_sha256": digest}


def certify(conn: psycopg.Connection[Any], identity: Identity, path: Path) -> Certificate:
    """Check the database is empty of results and write the certificate to ``path``,
    its statement to ``path.json`` and the PDF's detached signature to ``path.sig``."""
    counts = zero_counts(conn)
    conn.rollback()
    held = {k: v for k, v in counts.items() if v}
    if held:
        lista = ", ".join(f"{ZERO_LABELS[k].lower()}: {v:,}" for k, v in held.items())
        raise NotZero(f"La base de datos NO está en ceros ({lista}). No se emite la "
                      "constancia; use una base de datos recién inicializada.")
    facts = database_facts(conn)
    conn.rollback()
    at: datetime = facts.pop("at")
    statement = {
        "constancia": "puesta_en_ceros", "fecha": at.isoformat(), "nodo": identity.node,
        "llave_central_sha256": identity.key.public.fingerprint(),
        "llave_central_publica": identity.key.public.b64(),
        "certificado_tls_sha256": identity.cert_sha256,
        "base_de_datos": {**facts, "conteos": counts}, "software": software()}
    body = canonical_bytes(statement)
    statement_sha256 = hashlib.sha256(body).hexdigest()
    signature = b64encode(identity.key.sign(body))
    path.with_name(path.name + ".json").write_bytes(body)
    _write_pdf(path, statement, statement_sha256, signature, at)
    data = path.read_bytes()
    pdf_signature = b64encode(identity.key.sign(data))
    path.with_name(path.name + ".sig").write_text(pdf_signature + "\n", encoding="ascii")
    return Certificate(statement, statement_sha256, signature,
                       hashlib.sha256(data).hexdigest(), pdf_signature)


def verify(path: Path, public_key_b64: str) -> None:
    """Check ``path`` against ``path.sig`` and ``path.json`` against the signature
    printed in it; raises :class:`prep.crypto.SignatureError`."""
    key = VerifyKey.from_b64(public_key_b64)
    key.verify(b64decode(path.with_name(path.name + ".sig").read_text().strip(), 64),
               path.read_bytes())


def _write_pdf(path: Path, statement: dict[str, Any], statement_sha256: str,
               signature: str, at: datetime) -> None:
    db = statement["base_de_datos"]
    sw = statement["software"]
    zero_rows = [["Concepto", "Cantidad"]] + [[ZERO_LABELS[k], str(v)]
                                            for k, v in db["conteos"].items()]
    keys = [["Concepto", "Valor"],
            ["Nodo central", statement["nodo"]],
            ["Llave Ed25519 del nodo (SHA-256)", statement["llave_central_sha256"]],
            ["Certificado TLS (SHA-256)", statement["certificado_tls_sha256"]],
            ["Catálogo (versión, SHA-256)",
             f"v{db['catalogo_version']} · {db['catalogo_sha256']}"
             if db["catalogo_version"] else "sin catálogo cargado"]]
    versions = [["Componente", "Versión"], ["PREP (prep, central)", sw["prep"]],
                ["Python", sw["python"]], ["PostgreSQL", db["postgresql"]],
                ["Esquema de la base de datos", db["esquema"] or "—"],
                ["Sistema", sw["sistema"]],
                _build_row(sw["compilacion"]["huella"])]
    for name, info in sw["paquetes"].items():
        versions.append([f"Paquete {name}: {info['archivos']} archivos (SHA-256 conjunto)",
                         info["sha256_conjunto"]])
    story: list[Flowable] = [
        paragraph("Constancia de puesta en ceros", pdf.TITLE),
        paragraph(f"Fecha y hora: <b>{pdf.local(at, True)}</b> (hora de la Ciudad de "
                  f"México). La base de datos del nodo central no contiene resultados: "
                  f"ningún registro, imagen, captura, acta validada ni corte. El catálogo "
                  f"tiene {db['actas_esperadas']:,} actas, todas en estado «esperada»."),
        paragraph("Base de datos", pdf.H2),
        pdf.table(zero_rows, [11 * cm, 3 * cm]),
        paragraph("Llaves y catálogo", pdf.H2),
        pdf.table(keys, [5.2 * cm, pdf.WIDTH - 5.2 * cm], numeric_from=-1, font_size=7.5),
        paragraph("Software instalado", pdf.H2),
        pdf.table(versions, [7.6 * cm, pdf.WIDTH - 7.6 * cm], numeric_from=-1,
                  font_size=7.5),
        paragraph("Firma electrónica del nodo central", pdf.H2),
        paragraph("Esta constancia se emitió con la declaración firmada que la acompaña "
                  "(archivo .json). Su huella SHA-256 y su firma Ed25519 con la llave del "
                  "nodo central son:"),
        paragraph(f"SHA-256 de la declaración: {statement_sha256}", pdf.MONO),
        paragraph(f"Firma (base64): {signature}", pdf.MONO),
        paragraph(f"Llave pública (base64): {statement['llave_central_publica']}", pdf.MONO),
        paragraph(f"Huella de la llave (SHA-256): {statement['llave_central_sha256']}",
                  pdf.MONO),
        paragraph("El archivo .sig contiene la firma Ed25519 de este PDF.", pdf.SMALL),
        gap(0.6), KeepTogether(_signatures()), PageBreak(),
        paragraph("Anexo: huellas SHA-256 de los archivos instalados", pdf.H2)]
    for name, info in sw["paquetes"].items():
        rows = [[f"{name}: archivo", "SHA-256"]] + [[rel, sha]
                                                    for rel, sha in info["sha256"].items()]
        story += [pdf.table(rows, [7.2 * cm, pdf.WIDTH - 7.2 * cm], numeric_from=-1,
                            font_size=6.2), gap(0.3)]
    pdf.write(path, "Puesta en ceros", story, at, "Constancia")


def _build_row(label: str) -> list[str]:
    """The build's line: a source checkout's ``desarrollo:`` said in the first column,
    so the 64 hexadecimal digits fit in the second."""
    origin, _, fingerprint = label.rpartition(":")
    what = "Compilación (huella de su manifiesto" + (f", {origin})" if origin else ")")
    return [what, fingerprint]


def _signatures() -> Flowable:
    line = "_" * 34
    rows = [[line, line, line],
            ["Notaria o notario público", "Auditora o auditor", "Coordinación del PREP"],
            ["Nombre:", "Nombre:", "Nombre:"], ["Fecha:", "Fecha:", "Fecha:"]]
    return pdf.table(rows, [pdf.WIDTH / 3] * 3, numeric_from=-1, font_size=8.5)
