"""``prep auditoria evidencia --out DIR``: the central's evidence package for the
auditor (layout in :mod:`prep.auditoria.paquete`; verified anywhere by
:mod:`prep.auditoria.verificar`).

Everything the database holds is read in one REPEATABLE READ snapshot, so the audit
log, the cortes, the stations and the anomalies of the package agree with each other.
The package is written into a hidden directory next to ``--out``, signed, and renamed
into place in the transaction that records it in the audit log
(``auditoria_evidencia_generada``): a failure leaves nothing half-made.

Secrets never go in: no private key (the central's or TLS), no DSN password, no
operator password hash, no enrollment code; the operators are not exported at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

import prep
from central.audit import audit
from central.db.auditoria import Anomaly
from central.db.auditoria import AuditedBuild
from central.db.auditoria import AuditEntry
from central.db.catalogo import CatalogVersion
from central.db.estaciones import CatdDistrito
from central.db.estaciones import Station
from central.db.estaciones import StationHealth
from central.db.instalacion import Installation
from central.db.publicacion import CatdEstadoOculto
from central.db.publicacion import CorteRow
from central.db.publicacion import Publicacion
from central.node.config import DataDir
from central.node.config import Identity
from prep.auditoria import paquete as p
from prep.build_info import DEV_PREFIX
from prep.build_info import DEVELOPMENT
from prep.build_info import current_build
from prep.build_info import fingerprint_of
from prep.build_info import running_manifest
from prep.corte.package import MANIFEST
from prep.corte.package import SIGNATURE
from prep.corte.verify import HashCache
from prep.corte.verify import verify_corte
from prep.records import format_time
from prep.rules import RuleSet

_SECRET_KEYS = ("password", "sslpassword", "passfile", "sslkey")
_MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Fuentes:
    """Where the files outside the database are: the publication (cortes), the puesta
    en ceros PDF (``None``: the path its audit event names), the rules."""

    publicacion: Path
    ceros: Path | None
    rules: RuleSet
    reglas: Path | None
    dsn: str


@dataclass(frozen=True)
class Evidencia:
    """What was written (for the command's message)."""

    directorio: Path
    indice_sha256: str
    archivos: int
    cortes: int
    cortes_no_validos: int
    eventos: int
    bitacora_integra: bool
    compilacion: str
    resultado_compilacion: str
    estaciones_no_auditadas: int
    ceros: bool


def write_evidencia(engine: Engine, identity: Identity, data_dir: DataDir, out: Path,
                    fuentes: Fuentes, actor: str) -> Evidencia:
    """Write the signed package to ``out`` (which must not exist, or be empty)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} ya existe y no está vacío: dé un directorio nuevo")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        with engine.connect() as conn:
            snapshot = conn.execution_options(isolation_level="REPEATABLE READ")
            with Session(bind=snapshot) as session:
                summary = _gather(session, tmp, identity, data_dir, fuentes)
        generado = format_time(datetime.now(UTC))
        _write_resumen(tmp, identity, generado, summary)
        indice_sha256 = p.sign_package(tmp, identity.key, {
            "nodo": identity.node, "generado": generado, "prep": prep.__version__})
        archivos = sum(1 for name, _ in p.walk(tmp) if name not in (p.INDICE, p.FIRMA))
        with Session(engine) as session, session.begin():
            audit.emit(session, "auditoria_evidencia_generada", actor=actor, detail={
                "directorio": str(out.resolve()), "indice_sha256": indice_sha256,
                "archivos": archivos, "cortes": summary["cortes"],
                "eventos": summary["eventos"]})
            session.flush()
            if out.exists():
                out.rmdir()
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Evidencia(out, indice_sha256, archivos, summary["cortes"],
                     summary["cortes_no_validos"], summary["eventos"],
                     summary["bitacora_integra"], summary["compilacion"],
                     summary["resultado_compilacion"], summary["estaciones_no_auditadas"],
                     summary["ceros"])


def _gather(session: Session, root: Path, identity: Identity, data_dir: DataDir,
            fuentes: Fuentes) -> dict[str, Any]:
    auditadas = _compilacion(session, root)
    summary: dict[str, Any] = {"compilacion": auditadas[0],
                               "resultado_compilacion": auditadas[1]}
    summary["estaciones_no_auditadas"] = _estaciones(session, root, auditadas[2])
    summary["eventos"], summary["bitacora_integra"] = _bitacora(session, root)
    summary["cortes"], summary["cortes_no_validos"] = _cortes(session, root, identity,
                                                              fuentes)
    summary["ceros"] = _ceros(session, root, fuentes.ceros)
    _anomalias(session, root)
    _catalogo(session, root)
    _configuracion(session, root, identity, data_dir, fuentes)
    return summary


def _compilacion(session: Session, root: Path) -> tuple[str, str, set[str]]:
    """The central's own build and the audited list; (label, verdict, audited set)."""
    build = current_build()
    manifest = running_manifest(build)
    problemas = list(build.problems)
    if fingerprint_of(manifest) != build.fingerprint:
        problemas.append("los archivos de la compilación cambiaron mientras se generaba "
                         "la evidencia")
    fingerprint = fingerprint_of(manifest)
    label = (DEV_PREFIX if build.origin == DEVELOPMENT else "") + fingerprint
    rows = session.scalars(select(AuditedBuild).order_by(AuditedBuild.added_at,
                                                         AuditedBuild.fingerprint)).all()
    auditadas = {r.fingerprint for r in rows}
    (root / "compilacion").mkdir()
    (root / p.MANIFIESTO_BUILD).write_text(manifest, encoding="utf-8")
    p.write_json(root / p.AUDITADAS, [
        {"fingerprint": r.fingerprint, "nombre": r.nombre, "added_by": r.added_by,
         "added_at": format_time(r.added_at)} for r in rows])
    p.write_json(root / p.HUELLA, {
        "huella": fingerprint, "etiqueta": label, "origen": build.origin,
        "archivos": len(manifest.splitlines()), "problemas": problemas,
        "auditada": label in auditadas, "raiz": str(build.root)})
    verdict = ("auditada" if label in auditadas else
               "SIN LISTA de auditadas" if not auditadas else "NO AUDITADA")
    return label, verdict, auditadas


def _estaciones(session: Session, root: Path, auditadas: set[str]) -> int:
    rows = session.execute(select(Station, StationHealth).outerjoin(
        StationHealth, StationHealth.station == Station.id).order_by(Station.id)).all()
    estaciones = []
    for station, health in rows:
        build = health.build if health is not None else None
        estaciones.append({
            "estacion": station.id, "rol": station.role, "sitio": station.sitio,
            "hostname": station.hostname, "habilitada": station.enabled,
            "recepcion_casilla": station.intake,
            "llave_sha256": _sha256(station.public_key),
            "ultimo_latido": _time(health.heartbeat_at if health else None),
            "version": health.version if health else None,
            "compilacion": build, "auditada": build is not None and build in auditadas})
    p.write_json(root / p.ESTACIONES, estaciones)
    return sum(1 for e in estaciones if not e["auditada"])


def _bitacora(session: Session, root: Path) -> tuple[int, bool]:
    """Every audit row, and verify-audit's outcome on the same snapshot."""
    (root / "bitacora").mkdir()
    last = None
    with (root / p.BITACORA).open("w", encoding="utf-8") as out:
        query = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
        for entry in session.scalars(query):
            out.write(json.dumps({
                "id": entry.id, "at": format_time(entry.at), "actor": entry.actor,
                "event": entry.event, "detail": entry.detail, "prev": entry.prev_sha256,
                "sha256": entry.sha256}, ensure_ascii=False, sort_keys=True) + "\n")
            last = entry.sha256
    check = audit.verify_chain(session)
    p.write_json(root / p.BITACORA_VERIFICACION, {
        "eventos": check.rows, "integra": check.ok, "evento_roto": check.broken_id,
        "motivo": check.reason, "ultimo_sha256": last})
    return check.rows, check.ok


def _cortes(session: Session, root: Path, identity: Identity, fuentes: Fuentes
            ) -> tuple[int, int]:
    """verify-corte of every recorded corte on the publication directory; each one's
    signed manifest copied."""
    (root / p.CORTES_DIR).mkdir()
    hashed: HashCache = {}
    huella = identity.key.public.fingerprint()
    cortes, malos = [], 0
    for row in session.scalars(select(CorteRow).order_by(CorteRow.id)):
        directory = fuentes.publicacion / row.directorio
        target = root / p.CORTES_DIR / row.directorio
        target.mkdir()
        verificacion: dict[str, Any] = {"encontrado": directory.is_dir()}
        if directory.is_dir():
            result = verify_corte(directory, huella=huella, hashed=hashed,
                                  rules=fuentes.rules)
            for name in (MANIFEST, SIGNATURE):
                if (directory / name).is_file():
                    shutil.copyfile(directory / name, target / name)
            coincide = ((target / MANIFEST).is_file() and _sha256(
                (target / MANIFEST).read_bytes()) == row.manifiesto_sha256)
            problemas = list(result.problemas)
            if not coincide:
                problemas.insert(0, "su manifiesto no es el que registró el nodo central")
            (target / "verificacion.txt").write_text(result.report() + "\n",
                                                     encoding="utf-8")
            verificacion.update({"integro": result.ok and coincide,
                                 "archivos": result.archivos, "imagenes": result.imagenes,
                                 "problemas": problemas[:_MAX_PROBLEMS]})
        else:
            verificacion.update({"integro": False, "problemas": [
                f"no está en {fuentes.publicacion} (dé --publicacion)"]})
        malos += not verificacion["integro"]
        cortes.append({
            "id": row.id, "directorio": row.directorio, "corte_at": format_time(row.corte_at),
            "manifiesto_sha256": row.manifiesto_sha256, "catalogo_version":
            row.catalog_version, "actas_esperadas": row.actas_esperadas,
            "actas_capturadas": row.actas_capturadas,
            "actas_contabilizadas": row.actas_contabilizadas,
            "fuera_de_catalogo": row.fuera_de_catalogo, "imagenes": row.imagenes,
            "ultimo": row.ultimo, "motivo": row.motivo, "verificacion": verificacion})
    p.write_json(root / p.CORTES, cortes)
    return len(cortes), malos


def _ceros(session: Session, root: Path, given: Path | None) -> bool:
    """The latest puesta en ceros certificate the audit log records, with its files
    when found (``given``, else the path the event names)."""
    entry = session.scalars(select(AuditEntry).where(AuditEntry.event == p.EVENTO_CEROS)
                            .order_by(AuditEntry.id.desc()).limit(1)).first()
    if entry is None:
        return False
    (root / p.CEROS_DIR).mkdir()
    p.write_json(root / p.CEROS_EVENTO, {"id": entry.id, "at": format_time(entry.at),
                                         "actor": entry.actor, "detail": entry.detail})
    pdf = given or Path(str(entry.detail.get("file", "")))
    companions = (pdf, pdf.with_name(pdf.name + ".json"), pdf.with_name(pdf.name + ".sig"))
    if not all(f.is_file() for f in companions):
        if given is not None:
            raise ValueError(f"--ceros {given}: no están el PDF y sus archivos .json y .sig")
        return False
    for source, suffix in zip(companions, ("", ".json", ".sig"), strict=True):
        shutil.copyfile(source, root / (p.CEROS_PDF + suffix))
    return True


def _anomalias(session: Session, root: Path) -> None:
    p.write_json(root / p.ANOMALIAS, [
        {"id": a.id, "tipo": a.type, "estacion": a.station, "detalle": a.detail,
         "at": format_time(a.at), "atendida": a.acknowledged}
        for a in session.scalars(select(Anomaly).order_by(Anomaly.id))])


def _catalogo(session: Session, root: Path) -> None:
    versiones = []
    for version in session.scalars(select(CatalogVersion).order_by(CatalogVersion.version)):
        folder = root / "catalogo" / f"v{version.version}"
        folder.mkdir(parents=True)
        archivos = {}
        for name, encoded in sorted(version.files.items()):
            data = base64.b64decode(encoded)
            (folder / name).write_bytes(data)
            archivos[name] = _sha256(data)
        versiones.append({"version": version.version, "digest": version.digest,
                          "loaded_at": format_time(version.loaded_at),
                          "loaded_by": version.loaded_by, "archivos": archivos})
    p.write_json(root / p.CATALOGO, versiones)


def _configuracion(session: Session, root: Path, identity: Identity, data_dir: DataDir,
                   fuentes: Fuentes) -> None:
    """The node's configuration, secrets left out (see the module docstring)."""
    facts = session.execute(text(
        "SELECT current_setting('server_version'), (SELECT version_num FROM "
        "alembic_version), current_setting('synchronous_standby_names')")).one()
    reglas = (fuentes.reglas.read_text(encoding="utf-8") if fuentes.reglas is not None
              else None)
    p.write_json(root / p.CONFIGURACION, {
        "nodo": identity.node,
        "llave_central_sha256": identity.key.public.fingerprint(),
        "llave_central_publica": identity.key.public.b64(),
        "certificado_tls_sha256": identity.cert_sha256,
        "certificado_tls_pem": identity.cert_pem.decode("ascii"),
        "directorio_de_datos": str(data_dir.root),
        "postgresql": _redacted_dsn(fuentes.dsn), "postgresql_version": facts[0],
        "esquema": facts[1], "synchronous_standby_names": facts[2],
        "publicacion": str(fuentes.publicacion),
        "reglas": {"archivo": str(fuentes.reglas) if fuentes.reglas else None,
                   "contenido": reglas},
        "prep": prep.__version__, "python": platform.python_version(),
        "sistema": f"{platform.system()} {platform.release()} {platform.machine()}",
        "instalacion": _rows(session, Installation, ("simulacro", "changed_at")),
        "ventana_publicacion": _rows(session, Publicacion,
                                     ("inicio", "fin", "ultimo_corte", "changed_at")),
        "catd_distritos": _rows(session, CatdDistrito,
                                ("distrito", "catd", "assigned_at", "assigned_by")),
        "catd_estado_oculto": _rows(session, CatdEstadoOculto,
                                    ("sitio", "motivo", "ocultado_por", "ocultado_at"))})


def _rows(session: Session, model: Any, columns: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for row in session.scalars(select(model)):
        values = {c: getattr(row, c) for c in columns}
        out.append({c: _time(v) if isinstance(v, datetime) else v for c, v in values.items()})
    return out


def _redacted_dsn(dsn: str) -> dict[str, str]:
    """The connection parameters without any password or key."""
    return {k: ("(omitido)" if k in _SECRET_KEYS else str(v))
            for k, v in sorted(conninfo_to_dict(dsn).items())}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _time(value: datetime | None) -> str | None:
    return None if value is None else format_time(value)


def _write_resumen(root: Path, identity: Identity, generado: str,
                   summary: dict[str, Any]) -> None:
    lines = [
        "Paquete de evidencia para la auditoría del PREP",
        f"Nodo central: {identity.node}",
        f"Generado: {generado}",
        f"Llave del nodo central (SHA-256): {identity.key.public.fingerprint()}",
        "",
        f"Compilación del nodo central: {summary['compilacion']} "
        f"({summary['resultado_compilacion']})",
        f"Estaciones con compilación no auditada: {summary['estaciones_no_auditadas']}",
        f"Bitácora: {summary['eventos']} eventos, "
        f"{'íntegra' if summary['bitacora_integra'] else 'ALTERADA'}",
        f"Cortes: {summary['cortes']}, no válidos: {summary['cortes_no_validos']}",
        "Constancia de puesta en ceros: "
        + ("incluida" if summary["ceros"] else "no incluida (ver ceros/ y la bitácora)"),
        "",
        "Verifíquelo en cualquier equipo con PREP instalado:",
        f"  prep auditoria verificar DIRECTORIO --huella "
        f"{identity.key.public.fingerprint()}",
    ]
    (root / p.RESUMEN).write_text("\n".join(lines) + "\n", encoding="utf-8")
