"""Registered difusores (issue 30): a coordinator gives a difusor alta, the difusor
registers with the one-time code (a real ``prep difusor registrar`` process), follows
the central's cortes and reports, signed, the one it serves; the central refuses a
report signed by another key or naming a corte it never published; each corte lists
the official difusores in DIFUSORES.csv, which verify-corte checks."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from central.publication.feed import INDICE
from difusor.config import Config
from difusor.estado import cargar as cargar_estado
from difusor.registro import cargar as cargar_registro
from difusor.registro import llave
from difusor.seguir import consultar
from prep.corte.difusores import DATOS as DATOS_SITIO
from prep.corte.difusores import DIFUSORES
from prep.corte.difusores import leer
from prep.corte.difusores import problemas
from prep.corte.package import MANIFEST
from prep.corte.verify import verify_corte
from prep.crypto import SigningKey
from prep.crypto import VerifyKey
from prep.crypto import b64encode
from prep.protocol import DIFUSOR_HEADER
from prep.protocol import DIFUSOR_REPORTE_PATH
from prep.protocol import request_message
from prep.transparencia.nota import COFIRMA
from prep.transparencia.nota import llave_texto
from tests.central.publication_night import corte as make_corte
from tests.central.publication_night import corte_in_window
from tests.central.station import REPO
from tests.central.station import central_cli
from tests.central.station import error_of
from tests.central.station import query
from tests.difusor.origen import OrigenHttps
from tests.difusor.origen import identidad
from tests.harness.central import CentralNode
from tests.harness.work import load_catalog


def _alta(node: CentralNode, nombre: str, url: str) -> tuple[str, str]:
    done = central_cli(node, "difusor", "alta", "--nombre", nombre, "--url", url)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "un solo uso" in done.stderr and node.cert_sha256 in done.stderr
    return answer["difusor"], answer["codigo"]


def _registrar(node: CentralNode, datos: Path, codigo: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "difusor", "registrar", "--datos",
                           str(datos), "--central", node.url, "--codigo", codigo,
                           "--cert-sha256", node.cert_sha256], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


def _reporte(node: CentralNode, difusor: str, key: SigningKey,
             body: dict[str, object]) -> tuple[int, bytes]:
    data = json.dumps(body).encode()
    signature = key.sign(request_message("POST", DIFUSOR_REPORTE_PATH,
                                         hashlib.sha256(data).hexdigest()))
    return node.request("POST", DIFUSOR_REPORTE_PATH, data, {
        DIFUSOR_HEADER: difusor, "X-Prep-Signature": b64encode(signature)})


def test_a_registered_difusor_reports_the_corte_it_serves_and_is_listed(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    load_catalog(node, scale=0.02)
    publicacion = tmp_path / "publicacion"
    primero = corte_in_window(node, publicacion)
    assert not (primero / DIFUSORES).exists()  # no official difusor yet: no list

    difusor_id, codigo = _alta(node, "Universidad  Autónoma de Prueba", "https://prep.uap.mx/")
    datos = tmp_path / "difusor"
    done = _registrar(node, datos, codigo)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"registrado como {difusor_id}" in done.stdout
    registro = cargar_registro(datos)
    assert registro is not None and registro.difusor == difusor_id
    assert registro.nombre == "Universidad Autónoma de Prueba"
    assert query(node.dsn, "SELECT public_key FROM difusores WHERE id = %s",
                 difusor_id) == [(llave(datos).public.raw(),)]

    # The code served once: a second registration with it is refused, the key kept.
    again = _registrar(node, tmp_path / "otro", codigo)
    assert again.returncode == 2 and "ya se usó" in again.stdout, again.stdout
    assert query(node.dsn, "SELECT public_key FROM difusores WHERE id = %s",
                 difusor_id) == [(llave(datos).public.raw(),)]

    segundo = make_corte(node, publicacion)
    # With its witness key: the key it registered, as a cosigner named by its id.
    assert leer((segundo / DIFUSORES).read_bytes()) == [
        ("Universidad Autónoma de Prueba", "https://prep.uap.mx/",
         llave_texto(difusor_id, llave(datos).public, COFIRMA))]
    # The public site lists them too, from the same rows (the page «Difusores oficiales»).
    lista = segundo / "sitio" / DATOS_SITIO
    assert lista.is_file(), "el corte de la central no trae la lista de difusores del sitio"
    assert problemas(segundo, [f"sitio/{DATOS_SITIO}"]) == []
    assert "Universidad Autónoma de Prueba" in lista.read_text(encoding="utf-8")
    llave_central = VerifyKey.from_b64(json.loads((publicacion / INDICE).read_bytes())["llave"])
    verificacion = verify_corte(segundo, huella=llave_central.fingerprint())
    assert verificacion.ok, verificacion.problemas

    identity = identidad(tmp_path / "tls")
    origen = OrigenHttps(publicacion, identity)
    try:
        config = Config(origenes=(origen.url,), huella=llave_central.fingerprint(),
                        raiz=tmp_path / "www", ca=identity.cert_file)
        hecho = consultar(config, datos)
    finally:
        origen.stop()
    assert hecho.ok and hecho.corte == segundo.name, hecho.mensaje
    estado = cargar_estado(datos)
    assert estado.reporte_falla is None and estado.reporte_corte == segundo.name
    assert estado.ultimo_corte_central == segundo.name
    manifest = hashlib.sha256((segundo / MANIFEST).read_bytes()).hexdigest()
    assert query(node.dsn, "SELECT corte, error, reportado_at IS NOT NULL FROM difusores "
                 "WHERE id = %s", difusor_id) == [(segundo.name, None, True)]
    assert query(node.dsn, "SELECT detail->>'corte', detail->>'manifiesto_sha256' FROM "
                 "audit_log WHERE event = 'difusor_reporte' AND actor = %s",
                 difusor_id) == [(segundo.name, manifest)]

    # A report signed by another key changes nothing.
    status, body = _reporte(node, difusor_id, SigningKey.generate(), {
        "corte": primero.name, "manifiesto_sha256": manifest, "error": None,
        "hora": "2027-06-07T05:00:00.000000Z"})
    assert status == 401 and error_of(body)[0] == "bad_signature"
    # Signed by the difusor, but a corte the central never published: refused, an
    # anomaly for the coordinator.
    status, body = _reporte(node, difusor_id, llave(datos), {
        "corte": "20991231_2359", "manifiesto_sha256": manifest, "error": None,
        "hora": "2027-06-07T05:00:00.000000Z"})
    assert status == 409 and error_of(body)[0] == "difusor_corte_desconocido", body
    assert query(node.dsn, "SELECT corte FROM difusores WHERE id = %s",
                 difusor_id) == [(segundo.name,)]
    assert query(node.dsn, "SELECT detail->>'corte' FROM anomalies WHERE type = "
                 "'difusor_corte_desconocido'") == [("20991231_2359",)]

    # Given baja: its reports are refused and the next corte no longer lists it.
    baja = central_cli(node, "difusor", "baja", difusor_id, "--motivo", "dejó de replicar",
                       coordinador=True)
    assert baja.returncode == 0, baja.stderr
    status, body = _reporte(node, difusor_id, llave(datos), {
        "corte": segundo.name, "manifiesto_sha256": manifest,
        "hora": "2027-06-07T05:01:00.000000Z"})
    assert status == 403 and error_of(body)[0] == "unknown_station"
    assert not (make_corte(node, publicacion) / DIFUSORES).exists()


def test_a_station_code_does_not_register_a_difusor_nor_a_difusor_code_a_station(
        shared_central: CentralNode, tmp_path: Path) -> None:
    node = shared_central
    done = _registrar(node, tmp_path / "d", node.enroll_code(catd=9))
    assert done.returncode == 2 and "no existe" in done.stdout, done.stdout
    _difusor, codigo = _alta(node, "Diario de Prueba", "https://prep.diario.example/")
    status, body = node.request("POST", "/v1/enroll", json.dumps({
        "code": codigo, "public_key": SigningKey.generate().public.b64(),
        "hostname": "estacion"}).encode(), source="127.0.0.41")
    assert status == 403 and error_of(body)[0] == "unknown_code"
    assert _registrar(node, tmp_path / "d", codigo).returncode == 0  # still unspent


def test_the_coordinator_gets_a_clear_message_for_a_bad_address(
        shared_central: CentralNode) -> None:
    done = central_cli(shared_central, "difusor", "alta", "--nombre", "X", "--url",
                       "javascript:alert(1)")
    assert done.returncode == 2
    assert "dirección inválida" in done.stderr and "https://" in done.stderr


def test_a_name_that_a_spreadsheet_reads_as_a_formula_is_never_published_as_one(
        central_node: CentralNode, tmp_path: Path) -> None:
    """Issue 62: «=HYPERLINK(…)» as a difusor's name was published as is in
    DIFUSORES.csv, where a spreadsheet runs it. The alta refuses such a name, and one
    given alta before that is published after an apostrophe (text), in the CSV and the
    site alike, and the corte still verifies."""
    node = central_node
    load_catalog(node, scale=0.02)
    publicacion = tmp_path / "publicacion"
    corte_in_window(node, publicacion)
    formula = '=HYPERLINK("https://malo.example/","Clic")'
    for nombre in (formula, "+1+1", "-2+3", "@SUM(A1)"):
        done = central_cli(node, "difusor", "alta", f"--nombre={nombre}", "--url",
                           "https://prep.malo.example/")
        assert done.returncode == 2, (nombre, done.stdout, done.stderr)
        assert "fórmula" in done.stderr
    assert query(node.dsn, "SELECT count(*) FROM difusores") == [(0,)]

    difusor_id, codigo = _alta(node, "Diario Anterior", "https://prep.anterior.example/")
    assert query(node.dsn, "UPDATE difusores SET nombre = %s WHERE id = %s RETURNING id",
                 formula, difusor_id) == [(difusor_id,)]  # as a central before the fix kept it
    assert _registrar(node, tmp_path / "d", codigo).returncode == 0
    corte = make_corte(node, publicacion)
    assert [fila[:2] for fila in leer((corte / DIFUSORES).read_bytes())] == [
        ("'" + formula, "https://prep.anterior.example/")]
    assert problemas(corte, [f"sitio/{DATOS_SITIO}"]) == []
    llave_central = VerifyKey.from_b64(json.loads((publicacion / INDICE).read_bytes())["llave"])
    verificacion = verify_corte(corte, huella=llave_central.fingerprint())
    assert verificacion.ok, verificacion.problemas


def test_a_difusors_key_cannot_flood_the_audit_log_nor_the_anomalies(
        shared_central: CentralNode, tmp_path: Path) -> None:
    """Issue 62: every signed report wrote an audit row, and every report naming a corte
    the central never published an audit row and an anomaly, without limit. Now the
    accepted ones reach the log once a minute per difusor (saying how many came
    meanwhile; the difusor's row still shows the last), and the refused ones are
    audited (with an anomaly) once a minute per difusor as well."""
    node = shared_central
    difusor_id, codigo = _alta(node, "Radio de Prueba", "https://prep.radio.example/")
    datos = tmp_path / "difusor"
    assert _registrar(node, datos, codigo).returncode == 0
    key = llave(datos)
    for number in range(40):
        status, body = _reporte(node, difusor_id, key, {
            "corte": None, "manifiesto_sha256": None, "error": f"aviso {number}",
            "hora": "2027-06-07T05:00:00.000000Z"})
        assert status == 200, body
    assert query(node.dsn, "SELECT error FROM difusores WHERE id = %s",
                 difusor_id) == [("aviso 39",)]
    auditados = query(node.dsn, "SELECT detail->>'error' FROM audit_log WHERE event = "
                      "'difusor_reporte' AND actor = %s", difusor_id)
    assert len(auditados) <= 2 and auditados[0] == ("aviso 0",), auditados

    for _ in range(40):
        status, body = node.request("POST", DIFUSOR_REPORTE_PATH, *_firmado(
            difusor_id, key, {"corte": "20991231_2358", "manifiesto_sha256": "0" * 64,
                              "error": None, "hora": "2027-06-07T05:00:00.000000Z"}),
            source="127.0.0.61")
        assert status == 409 and error_of(body)[0] == "difusor_corte_desconocido", body
    # One a minute: two if the forty straddled a minute on a loaded machine.
    anomalias = query(node.dsn, "SELECT count(*) FROM anomalies WHERE type = "
                      "'difusor_corte_desconocido' AND detail->>'difusor' = %s", difusor_id)
    assert 1 <= anomalias[0][0] <= 2, anomalias
    filas = query(node.dsn, "SELECT count(*) FROM audit_log WHERE event = "
                  "'difusor_reporte_rechazado' AND detail->>'difusor' = %s", difusor_id)
    assert filas == anomalias


def _firmado(difusor: str, key: SigningKey, body: dict[str, object]
             ) -> tuple[bytes, dict[str, str]]:
    data = json.dumps(body).encode()
    signature = key.sign(request_message("POST", DIFUSOR_REPORTE_PATH,
                                         hashlib.sha256(data).hexdigest()))
    return data, {DIFUSOR_HEADER: difusor, "X-Prep-Signature": b64encode(signature)}
