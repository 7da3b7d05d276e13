"""``prep central report …``: the PDFs say what the database holds (text read back with
pypdf), and the puesta en ceros certificate is signed with the central's key."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import psycopg
from pypdf import PdfReader

from central.controlroom.reports.ceros import verify
from central.node.config import DataDir
from central.node.config import load_identity
from prep.catalog import generate_catalog
from prep.catalog import write_catalog
from prep.crypto import b64decode
from tests.dashboard.conftest import Scenario
from tests.dashboard.conftest import scenario  # noqa: F401  (the fixture)
from tests.harness.central import REPO


def report(data_dir: Path, dsn: str, kind: str, out: Path,
           *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "central", "report", kind,
                           "--data-dir", str(data_dir), "--dsn", dsn, "--out", str(out),
                           *extra], cwd=REPO, capture_output=True, text=True, timeout=300,
                          check=False)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def cells_after(text: str, heading: str, first: str, n: int) -> list[str]:
    """The ``n`` cells after the cell ``first`` that follows ``heading`` (pypdf gives
    a table one cell per line)."""
    lines = text.splitlines()
    start = lines.index(first, lines.index(heading))
    return lines[start + 1: start + 1 + n]


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_progress_report_matches_the_database(scenario: Scenario, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "avance.pdf"
    done = report(scenario.node.data_dir, scenario.node.dsn, "progreso", out)
    assert done.returncode == 0, done.stderr
    text = pdf_text(out)
    assert "Avance del PREP por CATD" in text
    for distrito in (1, 2):
        esperadas, acopiadas, validadas = scenario.sql(
            "SELECT count(*), count(*) FILTER (WHERE acopio_record IS NOT NULL OR "
            "sin_acta_record IS NOT NULL), count(*) FILTER (WHERE estado = 'validada') "
            "FROM acta_states WHERE distrito = %s", distrito)[0]
        row = cells_after(text, "Actas por fase y CATD (todas las elecciones)",
                          f"{distrito:02d}", 7)
        assert row[1:3] == [f"{esperadas:,}", f"{acopiadas:,}"], row
        assert row[5] == f"{validadas:,}", row
    total, validadas = scenario.sql("SELECT count(*), count(*) FILTER (WHERE estado = "
                                    "'validada') FROM acta_states WHERE en_catalogo")[0]
    row = cells_after(text, "Actas de la entidad por fase", "Total", 5)
    assert row[0] == f"{total:,}" and row[4].startswith(f"{validadas:,} ("), row
    [(sha,)] = scenario.sql("SELECT detail->>'sha256' FROM audit_log WHERE event = "
                            "'report_generated' AND detail->>'file' = %s", str(out))
    assert sha == hashlib.sha256(out.read_bytes()).hexdigest()


def test_final_report_lists_cortes_and_anomalies(scenario: Scenario,  # noqa: F811
                                                 tmp_path: Path) -> None:
    out = tmp_path / "final.pdf"
    done = report(scenario.node.data_dir, scenario.node.dsn, "final", out)
    assert done.returncode == 0, done.stderr
    text = pdf_text(out)
    cortes, manifest = scenario.sql("SELECT count(*), max(manifiesto_sha256) FROM cortes")[0]
    assert f"Cortes publicados: {cortes}." in text
    assert manifest in flat(text)
    duplicados = scenario.scalar("SELECT count(*) FROM anomalies "
                                 "WHERE type = 'acopio_duplicado'")
    row = cells_after(text, "Anomalías", "acopio_duplicado", 3)
    assert row[2] == f"{duplicados}", row
    stations = scenario.scalar("SELECT count(*) FROM stations")
    assert f"Estaciones dadas de alta: {stations} " in text


def test_no_certificate_for_a_database_with_results(scenario: Scenario,  # noqa: F811
                                                    tmp_path: Path) -> None:
    out = tmp_path / "ceros.pdf"
    done = report(scenario.node.data_dir, scenario.node.dsn, "puesta-en-ceros", out)
    assert done.returncode == 1
    assert "NO está en ceros" in done.stderr and "registros de las estaciones" in done.stderr
    assert not out.exists()


def test_puesta_en_ceros_is_signed_and_says_the_database_is_empty(
        pg_database: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "central"
    init = subprocess.run([sys.executable, "-m", "prep", "central", "init", "--data-dir",
                           str(data_dir), "--dsn", pg_database], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert init.returncode == 0, init.stderr
    catalog_dir = tmp_path / "catalogo"
    write_catalog(generate_catalog(3, 0.005), catalog_dir)
    load = subprocess.run([sys.executable, "-m", "prep", "central", "catalog", "load",
                           "--data-dir", str(data_dir), "--dsn", pg_database,
                           str(catalog_dir)], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)
    assert load.returncode == 0, load.stderr
    out = tmp_path / "ceros.pdf"

    done = report(data_dir, pg_database, "puesta-en-ceros", out)

    assert done.returncode == 0, done.stderr
    key = load_identity(DataDir(data_dir)).key.public
    text = pdf_text(out)
    assert "Constancia de puesta en ceros" in text
    for concepto in ("Registros de las estaciones", "Capturas y verificaciones",
                     "Actas validadas", "Cortes publicados"):
        assert cells_after(text, "Base de datos", concepto, 1) == ["0"], concepto
    assert key.fingerprint() in flat(text)
    statement = (out.parent / "ceros.pdf.json").read_bytes()
    with psycopg.connect(pg_database) as conn:
        signature, statement_sha = conn.execute(
            "SELECT detail->>'signature', detail->>'statement_sha256' FROM audit_log "
            "WHERE event = 'puesta_en_ceros_certified'").fetchone() or ("", "")
        actas = conn.execute("SELECT count(*) FROM acta_states").fetchone()
    assert signature in flat(text) and statement_sha in flat(text)
    key.verify(b64decode(signature, 64), statement)  # the printed signature
    verify(out, key.b64())  # the detached .sig of the PDF
    assert actas is not None and f"tiene {actas[0]:,} actas" in text
    assert "Notaria o notario público" in text and "Auditora o auditor" in text
    assert "prep/values.py" in text  # the annex lists the installed files
