"""The auditor's kit (issue 32): ``prep auditoria evidencia`` on a real central that
certified its puesta en ceros, heard a station and published a corte; ``prep auditoria
verificar`` on the package anywhere (a copy, a process that cannot import the central),
catching a changed byte, an added file, a re-signed forgery and a wrong key; and
``serve`` refusing an unaudited build of its own unless told why."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC
from datetime import datetime
from pathlib import Path

from central.node.config import DataDir
from central.node.config import load_identity
from prep.auditoria import paquete
from prep.build_info import SOURCE_PACKAGES
from prep.build_info import current_build
from prep.crypto import SigningKey
from prep.records import Kind
from tests.central.station import Station
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.work import load_catalog

STRANGER_BUILD = "b" * 64


def _prep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)


def _evidencia(node: CentralNode, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _prep("auditoria", "evidencia", "--out", str(out), "--data-dir",
                 str(node.data_dir), "--dsn", node.dsn, *extra)


def _verificar(package: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _prep("auditoria", "verificar", str(package), *extra)


def _huella(node: CentralNode) -> str:
    return node.central_key.fingerprint()


def _night(node: CentralNode, tmp_path: Path) -> tuple[Path, Path, str]:
    """Puesta en ceros, the central's build audited, a station running another build,
    one corte. (publication directory, certificate, station id)."""
    load_catalog(node)
    ceros = tmp_path / "constancia" / "ceros.pdf"
    ceros.parent.mkdir()
    done = central_cli(node, "report", "puesta-en-ceros", "--out", str(ceros))
    assert done.returncode == 0, done.stderr
    done = central_cli(node, "audited-build", "add", current_build().label,
                       "--nombre", "PREP de pruebas")
    assert done.returncode == 0, done.stderr
    station = Station.enroll(node, catd=1)
    heartbeat = {"version": "1", "backlog": 0, "backlog_bytes": 0, "last_error": "",
                 "build": STRANGER_BUILD}
    _, body = station.batch(station.records(1, Kind.HEARTBEAT, heartbeat,
                                            at=datetime.now(UTC)))
    assert station.post(body)[0] == 200
    publicacion = tmp_path / "publicacion"
    for args in (("ventana", "--inicio", "ahora"),
                 ("corte", "--publicacion", str(publicacion))):
        done = central_cli(node, *args)
        assert done.returncode == 0, done.stderr
    return publicacion, ceros, station.id


def test_the_evidence_package_verifies_and_a_changed_byte_is_caught(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    publicacion, _ceros, station = _night(node, tmp_path)
    package = tmp_path / "evidencia"
    made = _evidencia(node, package, "--publicacion", str(publicacion))
    assert made.returncode == 0, made.stderr
    assert "cortes: 1, no válidos: 0" in made.stdout
    assert "estaciones con compilación no auditada: 1" in made.stdout
    assert "constancia de puesta en ceros: incluida" in made.stdout
    assert f"--huella {_huella(node)}" in made.stdout
    [(detail,)] = query(node.dsn, "SELECT detail FROM audit_log WHERE event = "
                        "'auditoria_evidencia_generada'")
    indice = (package / paquete.INDICE).read_bytes()
    assert detail["indice_sha256"] == hashlib.sha256(indice).hexdigest()
    listed = {e["nombre"] for e in json.loads(indice)["archivos"]}
    assert {paquete.BITACORA, paquete.HUELLA, paquete.MANIFIESTO_BUILD, paquete.ESTACIONES,
            paquete.CORTES, paquete.CEROS_PDF, paquete.ANOMALIAS, paquete.CATALOGO,
            paquete.CONFIGURACION, paquete.RESUMEN} <= listed
    _assert_no_secrets(node, package)

    # Anywhere: a copy, checked with the key the institute publishes.
    copy = tmp_path / "copia"
    shutil.copytree(package, copy)
    checked = _verificar(copy, "--huella", _huella(node), "--publicacion", str(publicacion))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = checked.stdout
    assert "Resultado: PAQUETE ÍNTEGRO" in report
    assert "la cadena de huellas se recalculó y está íntegra" in report
    assert "Constancia de puesta en ceros" in report
    assert ("La puesta en ceros se hizo con la compilación que corre el nodo central "
            f"({current_build().label})") in report
    assert "manifiestos firmados por la llave del nodo central: 1" in report
    assert "verify-corte de cada corte publicado en" in report
    # What the auditor must look at: the station running a build nobody audited.
    assert f"la estación {station}" in report and STRANGER_BUILD in report
    # And that this central served once before any build was registered as audited.
    assert "arrancó 1 vez con la compilación" in report
    assert "sin lista de auditadas" in report

    # One changed byte of the exported audit log.
    log = copy / paquete.BITACORA
    data = bytearray(log.read_bytes())
    data[len(data) // 2] ^= 0x01
    log.write_bytes(bytes(data))
    altered = _verificar(copy, "--huella", _huella(node))
    assert altered.returncode == 1
    assert "Resultado: PAQUETE NO VÁLIDO" in altered.stdout
    assert f"{paquete.BITACORA}: su SHA-256 no coincide con el índice" in altered.stdout

    # The index itself, and a file slipped in.
    shutil.rmtree(copy)
    shutil.copytree(package, copy)
    (copy / paquete.INDICE).write_bytes(indice.replace(b'"generado": "',
                                                       b'"generado": "1'))
    (copy / "nota.txt").write_text("agregado después\n")
    tampered = _verificar(copy)
    assert tampered.returncode == 1
    assert f"la firma {paquete.FIRMA} no corresponde" in tampered.stdout
    assert "nota.txt: archivo que el índice no lista" in tampered.stdout


def test_a_reindexed_forgery_is_caught_by_the_pinned_key(central_node: CentralNode,
                                                         tmp_path: Path) -> None:
    """Someone edits a row of the audit log, recomputes the chain, and re-signs the
    index with a key of their own: only the key's fingerprint tells."""
    node = central_node
    package = tmp_path / "evidencia"
    assert _evidencia(node, package).returncode == 0
    rows = [json.loads(line) for line in
            (package / paquete.BITACORA).read_text().splitlines()]
    rows[0]["actor"] = "alguien más"
    from prep.canonical import canonical_hash
    from prep.protocol import GENESIS

    prev = GENESIS
    for row in rows:
        row["prev"] = prev
        row["sha256"] = prev = canonical_hash({k: row[k] for k in ("at", "actor", "event",
                                                                   "detail")} | {"prev": prev})
    (package / paquete.BITACORA).write_text("".join(json.dumps(r, ensure_ascii=False)
                                                    + "\n" for r in rows))
    claim = json.loads((package / paquete.BITACORA_VERIFICACION).read_text())
    paquete.write_json(package / paquete.BITACORA_VERIFICACION, {**claim,
                                                                 "ultimo_sha256": prev})
    indice = json.loads((package / paquete.INDICE).read_text())
    meta = {k: indice[k] for k in ("nodo", "generado", "prep")}
    paquete.sign_package(package, SigningKey.generate(), meta)

    unpinned = _verificar(package)
    assert unpinned.returncode == 0, unpinned.stdout
    assert "NO se fijó con --huella" in unpinned.stdout
    pinned = _verificar(package, "--huella", _huella(node))
    assert pinned.returncode == 1
    assert "no es la esperada" in pinned.stdout and "no lo firmó ese nodo central" \
        in pinned.stdout


def test_verificar_needs_only_prep(central_node: CentralNode, tmp_path: Path) -> None:
    """The auditor's machine has no central, no PostgreSQL driver, no SQLAlchemy."""
    package = tmp_path / "evidencia"
    assert _evidencia(central_node, package).returncode == 0
    script = ("import sys\n"
              "for name in ('central', 'sqlalchemy', 'psycopg', 'PySide6'):\n"
              "    sys.modules[name] = None\n"
              "from prep.auditoria.verificar import verificar\n"
              "result = verificar(__import__('pathlib').Path(sys.argv[1]), sys.argv[2])\n"
              "print(result.report())\n"
              "sys.exit(0 if result.ok else 1)\n")
    done = subprocess.run([sys.executable, "-c", script, str(package),
                           _huella(central_node)], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PAQUETE ÍNTEGRO" in done.stdout
    # No audit yet: the empty list is itself a finding, and so is the missing certificate.
    assert "la lista de compilaciones auditadas está vacía" in done.stdout
    assert "ninguna constancia de puesta en ceros" in done.stdout


def test_an_existing_directory_is_not_overwritten(central_node: CentralNode,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "ocupado"
    out.mkdir()
    (out / "algo.txt").write_text("de otro\n")
    done = _evidencia(central_node, out)
    assert done.returncode == 2 and "ya existe y no está vacío" in done.stderr
    assert [p.name for p in out.iterdir()] == ["algo.txt"]
    # A package that fails half-way leaves nothing behind (not even a hidden directory).
    central_cli(central_node, "report", "puesta-en-ceros", "--out", str(tmp_path / "c.pdf"))
    (tmp_path / "c.pdf.sig").unlink()
    failed = _evidencia(central_node, tmp_path / "nuevo", "--ceros", str(tmp_path / "c.pdf"))
    assert failed.returncode == 2 and "no están el PDF y sus archivos" in failed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pdf", "c.pdf.json",
                                                          "central-node", "ocupado"]


def _assert_no_secrets(node: CentralNode, package: Path) -> None:
    """Neither the central's private key, nor the TLS key, nor a DSN password."""
    identity = load_identity(DataDir(node.data_dir))
    raw = identity.key.raw()
    secrets = [raw, raw.hex().encode(), __import__("base64").b64encode(raw),
               DataDir(node.data_dir).tls_key.read_bytes().strip(), b"PRIVATE KEY"]
    for path in package.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                assert secret not in data, f"{path.relative_to(package)} holds a secret"


def _starts(node: CentralNode) -> list[tuple[str, str | None]]:
    return [(r[0], r[1]) for r in query(
        node.dsn, "SELECT detail->>'resultado', detail->>'motivo' FROM audit_log WHERE "
        "event = 'central_build_checked' ORDER BY id")]


def test_serve_refuses_an_unaudited_build_of_its_own_unless_told_why(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    # No audit registered yet (tests, drills, before the audit): it warned and served.
    assert _starts(node) == [("sin_lista", None)]
    node.wait_for_log("aún no hay compilaciones auditadas registradas")

    # Once any build is registered, the list is enforced.
    assert central_cli(node, "audited-build", "add", "a" * 64,
                       "--nombre", "PREP 1.0, auditada").returncode == 0
    node.stop()
    serve = ("central", "serve", "--data-dir", str(node.data_dir), "--dsn", node.dsn,
             "--port", "0")
    refused = _prep(*serve)
    assert refused.returncode == 2
    assert "no está en la lista de compilaciones auditadas" in refused.stderr
    assert current_build().label in refused.stderr
    assert refused.stdout == ""  # never listened
    lone = _prep(*serve, "--build-no-auditado")
    assert lone.returncode == 2 and "--build-no-auditado y --motivo van juntos" in lone.stderr

    # The explicit, audited override.
    node.extra_args = ["--build-no-auditado", "--motivo", "auditoría en curso"]
    node.start()
    node.wait_for_log("NO auditada")
    # And with its own build registered, it serves without being told anything.
    assert central_cli(node, "audited-build", "add", current_build().label,
                       "--nombre", "desarrollo").returncode == 0
    node.extra_args = []
    node.restart()
    assert _starts(node) == [("sin_lista", None), ("rechazada", None),
                             ("no_auditada_autorizada", "auditoría en curso"),
                             ("auditada", None)]

    # The evidence shows every start that was not on an audited build.
    package = tmp_path / "evidencia"
    assert _evidencia(node, package).returncode == 0
    report = _verificar(package, "--huella", _huella(node)).stdout
    label = current_build().label
    assert (f"arrancó 1 vez con la compilación {label}: NO auditada, con autorización "
            "(«auditoría en curso»)") in report
    assert f"arrancó 1 vez con la compilación {label}: NO auditada: se negó" in report
    assert "PAQUETE ÍNTEGRO" in report


def test_a_puesta_en_ceros_made_by_another_build_is_a_finding(central_node: CentralNode,
                                                               tmp_path: Path) -> None:
    """The proof that the audited version is the one operated: the central certified
    empty by a copy of the PREP with one file changed (run from that copy, as a machine
    whose software was altered would) is named in the evidence of the build that runs
    now, with the file that differs."""
    node = central_node
    load_catalog(node)
    altered = tmp_path / "otra-compilacion"
    for name in SOURCE_PACKAGES:
        shutil.copytree(REPO / name, altered / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    changed = altered / "prep" / "qr.py"
    changed.write_text(changed.read_text(encoding="utf-8") + "# cambiado\n", encoding="utf-8")
    ceros = tmp_path / "ceros.pdf"
    done = subprocess.run([sys.executable, "-m", "prep", "central", "report",
                           "puesta-en-ceros", "--out", str(ceros), "--data-dir",
                           str(node.data_dir), "--dsn", node.dsn], cwd=altered,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    statement = json.loads(ceros.with_name("ceros.pdf.json").read_bytes())
    other = statement["software"]["compilacion"]["huella"]
    assert other != current_build().label  # it ran the copy, not this checkout
    done = central_cli(node, "audited-build", "add", current_build().label,
                       "--nombre", "PREP de pruebas")
    assert done.returncode == 0, done.stderr

    package = tmp_path / "evidencia"
    assert _evidencia(node, package, "--ceros", str(ceros)).returncode == 0
    checked = _verificar(package, "--huella", _huella(node))
    assert checked.returncode == 0, checked.stdout  # intact: what it shows is a finding
    report = checked.stdout
    assert (f"la puesta en ceros se hizo con la compilación {other}, que no está en la "
            "lista de auditadas") in report
    assert (f"la puesta en ceros se hizo con la compilación {other} y el nodo central "
            f"corre {current_build().label}") in report
    assert ("archivos distintos entre la constancia de puesta en ceros y la compilación "
            "que corre (1): prep/qr.py") in report
