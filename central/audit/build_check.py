"""The central checks its own build against the audited list before it serves.

Rule (docs/auditoria.md): an **empty** audited list means no audit has been registered
yet (development, tests, drills, the days before the audit): ``serve`` warns and serves.
Once the institute registers any fingerprint (``prep central audited-build add``), the
list is enforced: a central whose own fingerprint is not in it refuses to serve, unless
started with ``--build-no-auditado --motivo "…"``. Every start, whatever the outcome,
is in the audit log (``central_build_checked``), so the evidence package shows which
builds served and under which decision; emptying the list again is itself audited
(``audited_build_removed``).
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.audit import audit
from central.db.auditoria import AuditedBuild
from prep.build_info import BuildInfo

AUDITADA = "auditada"
SIN_LISTA = "sin_lista"
AUTORIZADA = "no_auditada_autorizada"
RECHAZADA = "rechazada"


def check_own_build(engine: Engine, build: BuildInfo, motivo: str | None, actor: str) -> str:
    """Compare ``build`` with the audited list and record the outcome; one of
    :data:`AUDITADA`, :data:`SIN_LISTA`, :data:`AUTORIZADA` (``motivo`` given: the
    explicit override) or :data:`RECHAZADA` (the caller must not serve)."""
    with Session(engine) as session, session.begin():
        audited = set(session.scalars(select(AuditedBuild.fingerprint)))
        if build.label in audited:
            resultado = AUDITADA
        elif not audited:
            resultado = SIN_LISTA
        elif motivo:
            resultado = AUTORIZADA
        else:
            resultado = RECHAZADA
        audit.emit(session, "central_build_checked", actor=actor, detail={
            "fingerprint": build.label, "resultado": resultado, "motivo": motivo,
            "auditadas": len(audited), "problemas": list(build.problems)})
    return resultado
