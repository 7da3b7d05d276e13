"""``prep auditoria verificar`` on packages the central did not write: signed by some
key, with files of another shape or none at all. Each is reported invalid, in Spanish,
never with a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from prep.auditoria import paquete
from prep.auditoria.verificar import verificar
from prep.crypto import SigningKey

REPO = Path(__file__).resolve().parents[3]


def _sign(directory: Path) -> SigningKey:
    key = SigningKey.generate()
    paquete.sign_package(directory, key, {"nodo": "central-falso", "generado": "ayer"})
    return key


def test_an_empty_signed_package_is_not_evidence(tmp_path: Path) -> None:
    key = _sign(tmp_path)
    result = verificar(tmp_path, key.public.fingerprint())
    assert not result.ok and result.huella_fijada
    assert "no se pudo comprobar la bitácora (falta o está alterada)" in result.problemas
    assert "no se pudieron comprobar los cortes" in result.problemas


def test_files_of_another_shape_are_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "compilacion").mkdir()
    (tmp_path / paquete.ESTACIONES).write_text("[1, 2]\n")
    (tmp_path / paquete.CORTES_DIR).mkdir()
    (tmp_path / paquete.CORTES).write_text('[{"directorio": 7, "verificacion": "sí"}]\n')
    (tmp_path / paquete.ANOMALIAS).write_text("{no es json\n")
    key = _sign(tmp_path)
    done = subprocess.run([sys.executable, "-m", "prep", "auditoria", "verificar",
                           str(tmp_path), "--huella", key.public.fingerprint()],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "las estaciones: contenido mal formado" in done.stdout
    assert "los cortes: contenido mal formado" in done.stdout
    assert f"{paquete.ANOMALIAS}: no es JSON válido" in done.stdout


def test_a_path_outside_the_package_is_refused(tmp_path: Path) -> None:
    _sign(tmp_path)
    indice = json.loads((tmp_path / paquete.INDICE).read_text())
    indice["archivos"].append({"nombre": "../fuera.txt", "sha256": "0" * 64, "bytes": 1})
    (tmp_path / paquete.INDICE).write_text(json.dumps(indice))
    result = verificar(tmp_path)
    assert f"{paquete.INDICE}: ruta no permitida '../fuera.txt'" in result.problemas
    assert any("la firma INDICE.json.sig no corresponde" in p for p in result.problemas)
