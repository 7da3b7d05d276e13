"""The audit chain is anchored outside the database (issue 62): each signed corte's
manifest and the signed index carry the chain's head, so the database's owner can no
longer delete events, link the rest again and have ``verify-audit`` and the auditor's
kit call the chain «íntegra».

The attack is the audit's: a real central, real signed cortes, then as the owner of the
real PostgreSQL database the append-only trigger is switched off, 600 events deleted
and every later row's link and hash recomputed. The chain alone then verifies (that is
what both tools used to check); what was published contradicts it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from central.audit import ancla
from central.audit import audit
from central.db import make_engine
from central.db.auditoria import AuditEntry
from prep import cadena
from prep.corte.package import MANIFEST
from prep.corte.verify import verify_corte
from prep.protocol import GENESIS
from tests.central.publication_night import corte as make_corte
from tests.central.publication_night import corte_in_window
from tests.central.station import central_cli
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.espera import esperar
from tests.harness.espera import holgado
from tests.harness.work import load_catalog

ATTACKED = 600


def _events(dsn: str, n: int) -> list[int]:
    """``n`` events the night adds (coordinators acknowledging anomalies); their ids."""
    engine = make_engine(dsn, pool_size=1)
    try:
        with Session(engine) as session, session.begin():
            rows = audit.emit_many(session, "anomaly_acknowledged", actor="coordinador:ana",
                                   details=[{"id": i, "type": "clock_skew", "station": "x",
                                             "nota": f"revisado {i}"} for i in range(n)])
            return [r.id for r in rows]
    finally:
        engine.dispose()


def _rewrite(dsn: str, ids: list[int]) -> None:
    """The attack: delete ``ids`` and link every later event again, as the owner."""
    engine = make_engine(dsn, pool_size=1)
    try:
        with Session(engine) as session, session.begin():
            session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            session.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids)))
            prev = session.scalar(select(AuditEntry.sha256).where(AuditEntry.id < min(ids))
                                  .order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
            later = session.scalars(select(AuditEntry).where(AuditEntry.id > max(ids))
                                    .order_by(AuditEntry.id)).all()
            for entry in later:
                entry.prev_sha256 = prev
                entry.sha256 = audit.entry_sha256(entry.at, entry.actor, entry.event,
                                                  entry.detail, prev)
                prev = entry.sha256
                session.flush()
            session.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        with Session(engine) as session:
            assert audit.verify_chain(session).ok  # what verify-audit used to check
    finally:
        engine.dispose()


def _head(dsn: str) -> cadena.Cabeza:
    """The database's chain's head now."""
    engine = make_engine(dsn, pool_size=1)
    try:
        with Session(engine) as session:
            head = ancla.cabeza(session)
            assert head is not None
            return head
    finally:
        engine.dispose()


def _prep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)


def test_a_rewritten_audit_chain_contradicts_the_published_cortes(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    load_catalog(node, scale=0.02)
    publicacion = tmp_path / "publicacion"
    primero = corte_in_window(node, publicacion)
    borrados = _events(node.dsn, ATTACKED)
    segundo = make_corte(node, publicacion)
    done = central_cli(node, "verify-audit", "--publicacion", str(publicacion))
    assert done.returncode == 0, done.stderr
    assert "Bitácora íntegra" in done.stdout and "coincide con" in done.stdout

    # Each signed manifest carries the head; verify-corte still passes and shows it.
    heads = []
    for corte in (primero, segundo):
        check = verify_corte(corte, huella=node.central_key.fingerprint())
        assert check.ok, check.problemas
        assert check.bitacora is not None
        assert check.bitacora == cadena.de_manifiesto((corte / MANIFEST).read_bytes())
        heads.append(check.bitacora)
    assert heads[1].eventos >= heads[0].eventos + ATTACKED
    indice = json.loads((publicacion / "indice.json").read_bytes())
    assert indice["bitacora"] == heads[1].to_json()
    assert [c["bitacora"] for c in indice["cortes"]] == [h.to_json() for h in heads]

    _rewrite(node.dsn, borrados)

    # verify-audit: the published index says where it changed, with no anchor from
    # before the rewrite. The running serve copies the head every few seconds: its
    # anchor of the rewritten chain (which holds it, with fewer events than the second
    # corte and a later id) must not be named as where the chain still held. Waited
    # for, so the order is always this one (it was a race: a flake once).
    rewritten = _head(node.dsn)
    assert heads[0].eventos < rewritten.eventos < heads[1].eventos
    # Moved away first (one rename), so the serve writing meanwhile cannot fail rmtree.
    (node.data_dir / "ancla").rename(tmp_path / "ancla-anterior")
    shutil.rmtree(tmp_path / "ancla-anterior")
    esperar(lambda: rewritten in [p.cabeza for p in ancla.cabezas(node.data_dir / "ancla")],
            holgado(60), "el serve copia al ancla la cabeza de la bitácora reescrita")
    done = central_cli(node, "verify-audit", "--publicacion", str(publicacion))
    assert done.returncode == 1, done.stdout
    assert "Bitácora ALTERADA" in done.stderr and "NO es la que se publicó" in done.stderr
    assert f"después del evento n.º {heads[0].eventos} (id {heads[0].id}" in done.stderr
    assert "coincide con el ancla" not in done.stderr  # it held, and says nothing here
    assert f"hasta el n.º {heads[1].eventos} (id {heads[1].id})" in done.stderr
    assert f"el corte {segundo.name}" in done.stderr

    # The auditor's kit: the package is intact, and it shows the rewrite.
    paquete = tmp_path / "evidencia"
    done = _prep("auditoria", "evidencia", "--out", str(paquete), "--data-dir",
                 str(node.data_dir), "--dsn", node.dsn, "--publicacion", str(publicacion))
    assert done.returncode == 0, done.stderr
    done = _prep("auditoria", "verificar", str(paquete), "--huella",
                 node.central_key.fingerprint(), "--publicacion", str(publicacion))
    assert "la bitácora de la base de datos NO es la que se publicó" in done.stdout, \
        done.stdout
    assert f"después del evento n.º {heads[0].eventos}" in done.stdout
    assert f"hasta el n.º {heads[1].eventos}" in done.stdout
