"""What each PostgreSQL role of the central may do to each table: the one place where a
table's grants are decided (docs/seguridad.md, «Roles de PostgreSQL», shows this table).

- The **owner** (the user that runs ``prep central init``, the migrations and the
  administrative commands) owns every table: it is not listed here.
- ``prep_api`` (:data:`API_ROLE`): what ``prep central serve`` does while it serves
  (ingest, work API, enrollment, image uploads, scheduled cortes) and ``prep central
  corte``. It may insert records, batches and audit events, never update or delete
  them, and may update only the rows that legitimately change (acta state, leases,
  station last-seen...), column by column where the table holds more than that.
  It owns nothing, so it cannot alter the schema, drop a trigger or truncate.
- ``prep_lectura``: the dashboard's read-only role (revisions 0006 and 0011,
  :mod:`central.db.read_only`).
- ``prep_coordinador`` (:data:`COORDINATOR_ROLE`): the dashboard's actions (revision
  0028, :data:`COORDINADOR`): only a coordinator's actions, each while the connection
  carries the token of an open coordinator session (:mod:`central.controlroom.login`).

A new table gets its decision here **and** its ``GRANT`` in its own migration (the
revision that creates it: ``GRANT SELECT, INSERT ON nueva TO prep_api``, and
``GRANT SELECT ... TO prep_lectura`` if the dashboard shows it). The test
``tests/central/db/test_api_role.py`` fails for a table that has no entry here and for a
database whose privileges differ from these.
"""

from __future__ import annotations

from dataclasses import dataclass

API_ROLE = "prep_api"
READ_ROLE = "prep_lectura"
COORDINATOR_ROLE = "prep_coordinador"
#: libpq ``options`` that make a connection act as :data:`API_ROLE` from its start
#: (``RESET ROLE`` goes back to it too: it is the session's default).
API_OPTIONS = f"-c role={API_ROLE}"


@dataclass(frozen=True)
class Grants:
    """One table's decision.

    ``api``: table-wide privileges of ``prep_api`` (``SELECT``, ``INSERT``, ``UPDATE``);
    ``api_update``: the only columns it may ``UPDATE`` when not the whole table;
    ``lectura``: whether the dashboard reads it, or only these columns; ``why``: the
    reason, in Spanish, as docs/seguridad.md shows it to the DBA.
    """

    api: tuple[str, ...]
    why: str
    api_update: tuple[str, ...] = ()
    lectura: bool | tuple[str, ...] = False


_R = ("SELECT",)
_RI = ("SELECT", "INSERT")
_RIU = ("SELECT", "INSERT", "UPDATE")

TABLES: dict[str, Grants] = {
    # Facts: inserted once, never changed (append-only triggers as well).
    "records": Grants(_RI, "registros de las estaciones: solo se agregan"),
    "batches": Grants(_RI, "lotes recibidos: solo se agregan"),
    "audit_log": Grants(_RI, "bitácora encadenada: solo se agregan eventos", lectura=True),
    "quarantine": Grants(_RI, "lotes rechazados, guardados como llegaron"),
    "quarantined_records": Grants(_RI, "registros no autorizados, con su motivo",
                                  lectura=True),
    "pipeline_journal": Grants(_RI, "orden en que se aplicaron los lotes"),
    "acta_images": Grants(_RI, "imágenes de cada acta (rebuild-state las rehace como "
                               "dueño)", lectura=True),
    "acta_captures": Grants(_RI, "capturas de cada acta (ídem)", lectura=True),
    "fuera_de_catalogo": Grants(_RI, "actas fuera de catálogo (ídem)", lectura=True),
    "blob_contents": Grants(_RI, "bytes de cada imagen, para réplicas y respaldos"),
    "work_nonces": Grants(_RI, "nonces de un solo uso de las peticiones de trabajo"),
    "cortes": Grants(_RI, "cortes publicados (el programador de cortes de serve)",
                     lectura=True),
    "actas_publicadas": Grants(_RI, "primer corte que publicó cada acta",
                               lectura=True),
    "correcciones_publicadas": Grants(_RI, "corte que publicó cada corrección de un acta",
                                      lectura=True),
    "registro_cortes": Grants(_RI, "registro público de cortes: cada corte agrega su hoja "
                                   "con su fila en cortes", lectura=True),
    "cofirmas": Grants(_RI, "cofirmas de los difusores (testigos) del registro de cortes, "
                            "comprobadas antes de guardarlas", lectura=True),
    # Rows that change while serving: only what changes.
    "acta_states": Grants(_RIU, "estado calculado de cada acta (se recalcula de los "
                                "registros con rebuild-state)", lectura=True),
    "station_health": Grants(_RIU, "salud de cada estación, reescrita con cada lote",
                             lectura=True),
    "leases": Grants(_RI, "asignaciones de trabajo: se otorgan, renuevan y terminan "
                          "(un trigger congela las terminadas)",
                     api_update=("status", "ended_at", "expires_at", "record_id"),
                     lectura=True),
    "stations": Grants(_RI, "alta de estaciones; cada lote avanza su último lote y "
                            "su última vez vista (habilitar o deshabilitar: dueño)",
                       api_update=("last_batch", "last_batch_sha256", "last_seq",
                                   "last_seen_at"), lectura=True),
    "enrollment_codes": Grants(_R, "el alta gasta el código (crearlos: dueño, "
                                   "enroll-code)",
                               api_update=("used_at", "station_id")),
    "anomalies": Grants(_RI, "anomalías nuevas y la cuenta de rechazos sin firma "
                             "(reconocerlas: tablero o dueño)",
                        api_update=("detail",), lectura=True),
    "publicacion": Grants(_R, "el último corte cierra la publicación (fijar o "
                              "reabrir la ventana: dueño)",
                          api_update=("ultimo_corte", "changed_at"), lectura=True),
    "difusores": Grants(_R, "el registro de un difusor guarda su llave y cada reporte "
                            "el corte que sirve (alta, código y baja: dueño)",
                        api_update=("public_key", "hostname", "registrado_at", "corte",
                                    "error", "reporte_hora", "reportado_at", "version"),
                        lectura=True),
    # Read while serving, written only by the owner's commands.
    "central_nodes": Grants(_R, "nodos de atención que las estaciones reciben firmados "
                                "(agregar o quitar: dueño, prep central nodos)"),
    "operators": Grants(_R, "cuentas de operadores que se envían a las estaciones "
                            "(altas y cambios: dueño)",
                        lectura=("id", "name", "role", "sitio", "enabled")),
    "catalog_versions": Grants(_R, "catálogo vigente (cargarlo: dueño)", lectura=True),
    "catd_distritos": Grants(_R, "distritos de cada CATD (dueño)", lectura=True),
    "catd_estado_oculto": Grants(_R, "CATD cuyo estado no se publica (dueño)"),
    "audited_builds": Grants(_R, "compilaciones auditadas (dueño)", lectura=True),
    "installation": Grants(_R, "indicador SIMULACRO (dueño, en init)", lectura=True),
    "alembic_version": Grants(_R, "serve comprueba que el esquema esté al día; migrar: "
                                  "dueño"),
    # The dashboard's actions (revision 0028): kept by functions of the owner.
    "coordinador_sesiones": Grants((), "sesiones de coordinador del tablero (solo el hash "
                                       "de su ficha; las abre la función de inicio de "
                                       "sesión)"),
    "coordinador_intentos": Grants((), "contraseñas equivocadas seguidas por cuenta de "
                                       "coordinador (la función de inicio de sesión)"),
    "corte_peticiones": Grants(_R, "cortes que pide el tablero: serve los hace con su "
                                   "llave y anota el resultado",
                               api_update=("estado", "mensaje", "atendido_at")),
}

#: What ``prep_coordinador`` may do, table by table (revision 0028; docs/seguridad.md,
#: «El rol del tablero para acciones»): privilege → columns (``()``: the whole table).
#: Every write also needs an open coordinator session (trigger ``prep_exige_sesion``).
COORDINADOR: dict[str, dict[str, tuple[str, ...]]] = {
    "anomalies": {"SELECT": (), "UPDATE": ("acknowledged",)},
    "audit_log": {"SELECT": (), "INSERT": ()},
    "stations": {"SELECT": (), "UPDATE": ("enabled",)},
    "leases": {"SELECT": ("station", "status"), "UPDATE": ("status", "ended_at")},
    "operators": {"SELECT": ("id", "name", "role", "sitio", "enabled", "revision"),
                  "INSERT": ()},
    "enrollment_codes": {"INSERT": ()},
    "corte_peticiones": {"SELECT": (), "INSERT": ()},
    "publicacion": {"SELECT": ()},
    "cortes": {"SELECT": ()},
    "catalog_versions": {"SELECT": ()},
    "catd_distritos": {"SELECT": ()},
}

