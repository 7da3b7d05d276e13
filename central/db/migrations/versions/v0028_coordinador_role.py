"""``prep_coordinador``: the dashboard's actions as a role that can do only a coordinator's
actions, each bound to a login (issue 62, worktree 62c).

Before this revision the dashboard's action lane connected as the schema owner (a
superuser with the embedded PostgreSQL) and loaded the central's signing key, and the
login in the dashboard bound nothing in the database. Now:

- Role ``prep_coordinador`` (NOLOGIN; a DBA gives each dashboard a login in it,
  ``prep central usuario-coordinacion``) may read what the actions read, acknowledge an
  anomaly (``anomalies.acknowledged``), enable or disable a station (``stations.enabled``
  and end its active leases), create an enrollment code or a non-coordinator account,
  ask for a corte (``corte_peticiones``) and append audit events. Never a password hash,
  never the key: the corte is made by ``serve`` (:mod:`central.publication.peticiones`).
- ``coordinador_sesiones``: a coordinator logs in through :func:`prep_abrir_sesion`
  (SECURITY DEFINER: it compares the scrypt key the client derived from the password
  with the stored one, which the role cannot read, counts wrong passwords in
  ``coordinador_intentos`` and returns a random token, keeping only its SHA-256).
- Triggers: whatever ``prep_coordinador`` writes needs the token of an open session in
  the connection's ``prep.sesion`` setting, and an audit event it appends must name that
  session's coordinator as actor. A corte outside the publication window needs a second
  coordinator's open session (``corte_peticiones.segundo_token``, replaced by that
  coordinator's id and never stored).

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | None = None
depends_on: str | None = None

ROLE = "prep_coordinador"
#: A session lasts at most 12 hours (``interval '12 hours'`` below).

_SUPER = "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
_CAN_CREATE = ("EXISTS (SELECT FROM pg_roles WHERE rolname = current_user "
               "AND (rolsuper OR rolcreaterole))")
_FUNCTIONS = """
    SELECT p.oid::regprocedure::text FROM pg_proc p
    WHERE p.pronamespace = 'pg_catalog'::regnamespace
      AND (starts_with(p.proname, 'pg_advisory') OR p.proname = 'pg_notify')
"""
SELECT = ("anomalies", "audit_log", "stations", "publicacion", "cortes", "catalog_versions",
          "catd_distritos", "corte_peticiones")
INSERT = ("audit_log", "enrollment_codes", "operators", "corte_peticiones")
UPDATE_COLUMNS = {"anomalies": ("acknowledged",), "stations": ("enabled",),
                  "leases": ("status", "ended_at")}
SELECT_COLUMNS = {"operators": ("id", "name", "role", "sitio", "enabled", "revision"),
                  "leases": ("station", "status")}
SEQUENCES = (("audit_log", "id"), ("corte_peticiones", "id"))
#: Tables whose every change by the role needs an open session.
GUARDED = ("anomalies", "stations", "leases", "enrollment_codes", "operators")

_DEFINER = """
CREATE FUNCTION prep_operador_de_token(p_token text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER AS $f$
  SELECT s.operator FROM coordinador_sesiones s JOIN operators o ON o.id = s.operator
  WHERE p_token IS NOT NULL AND p_token <> ''
    AND s.token_sha256 = sha256(convert_to(p_token, 'UTF8'))
    AND s.cerrada_at IS NULL AND s.expira_at > now()
    AND o.enabled AND o.role = 'coordinador' AND o.sitio = 'CENTRAL'
$f$;

CREATE FUNCTION prep_sal_coordinador(p_operator text,
    OUT salt bytea, OUT n integer, OUT r integer, OUT p integer, OUT largo integer)
LANGUAGE sql STABLE SECURITY DEFINER AS $f$
  SELECT scrypt_salt, scrypt_n, scrypt_r, scrypt_p, length(scrypt_hash) FROM operators
  WHERE id = p_operator
$f$;

CREATE FUNCTION prep_abrir_sesion(p_operator text, p_clave bytea,
    OUT token text, OUT motivo text, OUT espera double precision, OUT fallos integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $f$
DECLARE
  o operators%ROWTYPE;
  i coordinador_intentos%ROWTYPE;
BEGIN
  espera := 0; fallos := 0;
  SELECT * INTO o FROM operators WHERE id = p_operator;
  IF NOT FOUND THEN motivo := 'desconocida'; RETURN; END IF;
  SELECT * INTO i FROM coordinador_intentos WHERE operator = o.id FOR UPDATE;
  IF FOUND AND i.hasta IS NOT NULL AND i.hasta > clock_timestamp() THEN
    motivo := 'bloqueada';
    espera := extract(epoch FROM i.hasta - clock_timestamp());
    fallos := i.fallos;
    RETURN;
  END IF;
  IF p_clave IS NULL OR o.scrypt_hash IS DISTINCT FROM p_clave THEN
    fallos := coalesce(i.fallos, 0) + 1;
    INSERT INTO coordinador_intentos (operator, fallos, hasta)
    VALUES (o.id, fallos, CASE WHEN fallos >= 5 THEN clock_timestamp()
            + least(30 * 2 ^ least(fallos - 5, 10), 900) * interval '1 second' END)
    ON CONFLICT (operator) DO UPDATE SET fallos = EXCLUDED.fallos, hasta = EXCLUDED.hasta;
    motivo := 'contraseña';
    RETURN;
  END IF;
  DELETE FROM coordinador_intentos WHERE operator = o.id;
  IF NOT o.enabled THEN motivo := 'deshabilitada'; RETURN; END IF;
  IF o.role <> 'coordinador' OR o.sitio <> 'CENTRAL' THEN
    motivo := 'no_coordinador'; RETURN;
  END IF;
  token := encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'hex');
  INSERT INTO coordinador_sesiones (token_sha256, operator, expira_at)
  VALUES (sha256(convert_to(token, 'UTF8')), o.id, now() + interval '12 hours');
  motivo := 'ok';
END
$f$;

CREATE FUNCTION prep_cerrar_sesion(p_token text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER AS $f$
  UPDATE coordinador_sesiones SET cerrada_at = now()
  WHERE token_sha256 = sha256(convert_to(coalesce(p_token, ''), 'UTF8'))
    AND cerrada_at IS NULL
$f$;
"""

# Trigger functions run as the writer (not SECURITY DEFINER): current_user is who writes.
_TRIGGERS = """
CREATE FUNCTION prep_actua_como_coordinador() RETURNS boolean
LANGUAGE sql STABLE AS $f$
  SELECT NOT r.rolsuper AND pg_has_role(current_user, 'prep_coordinador', 'USAGE')
  FROM pg_roles r WHERE r.rolname = current_user
$f$;

CREATE FUNCTION prep_exige_sesion() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
  quien text;
BEGIN
  IF NOT prep_actua_como_coordinador() THEN
    RETURN NEW;
  END IF;
  quien := prep_operador_de_token(current_setting('prep.sesion', true));
  -- (PL/pgSQL evaluates both sides of AND: a field of NEW only inside its table's IF.)
  IF TG_TABLE_NAME = 'audit_log' THEN
    IF NEW.event = 'dashboard_login_refused' THEN
      RETURN NEW;  -- a refused login has no session, by definition
    END IF;
  END IF;
  IF quien IS NULL THEN
    RAISE EXCEPTION 'sin sesión de coordinador abierta'
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Inicie sesión como coordinador en el tablero';
  END IF;
  IF TG_TABLE_NAME = 'audit_log' THEN
    IF NEW.actor IS DISTINCT FROM quien THEN
      RAISE EXCEPTION 'el evento dice actuar como %, pero la sesión abierta es de %',
        NEW.actor, quien USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  IF TG_TABLE_NAME IN ('operators', 'enrollment_codes') THEN
    IF NEW.created_by IS DISTINCT FROM quien THEN
      RAISE EXCEPTION 'created_by debe ser el coordinador de la sesión'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  IF TG_TABLE_NAME = 'operators' THEN
    IF NEW.role = 'coordinador' THEN
      RAISE EXCEPTION 'las cuentas de coordinador no se crean desde el tablero'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'prep central operator add --central --role coordinador';
    END IF;
  END IF;
  IF TG_TABLE_NAME = 'corte_peticiones' THEN
    NEW.actor := quien;
    NEW.estado := 'pendiente';
    NEW.mensaje := NULL;
    NEW.atendido_at := NULL;
    NEW.segundo := NULL;
    IF NEW.fuera_de_ventana IS NOT NULL THEN
      NEW.segundo := prep_operador_de_token(NEW.segundo_token);
      IF NEW.segundo IS NULL THEN
        RAISE EXCEPTION 'un corte fuera de la ventana necesita la sesión de un segundo '
          'coordinador' USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF NEW.segundo = quien THEN
        RAISE EXCEPTION 'el segundo coordinador debe ser otra persona'
          USING ERRCODE = 'insufficient_privilege';
      END IF;
    END IF;
    NEW.segundo_token := NULL;
  END IF;
  RETURN NEW;
END
$f$;
"""


def upgrade() -> None:
    op.create_table(
        "coordinador_sesiones",
        sa.Column("token_sha256", sa.LargeBinary(), nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("abierta_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("expira_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cerrada_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["operator"], ["operators.id"],
                                name=op.f("fk_coordinador_sesiones_operator_operators")),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_coordinador_sesiones")),
    )
    op.create_table(
        "coordinador_intentos",
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("fallos", sa.Integer(), nullable=False),
        sa.Column("hasta", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["operator"], ["operators.id"],
                                name=op.f("fk_coordinador_intentos_operator_operators")),
        sa.PrimaryKeyConstraint("operator", name=op.f("pk_coordinador_intentos")),
    )
    op.create_table(
        "corte_peticiones",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("pedido_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("ultimo", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("motivo", sa.Text(), nullable=True),
        sa.Column("fuera_de_ventana", sa.Text(), nullable=True),
        sa.Column("segundo", sa.String(64), nullable=True),
        sa.Column("segundo_token", sa.Text(), nullable=True),
        sa.Column("estado", sa.String(16), server_default=sa.text("'pendiente'"),
                  nullable=False),
        sa.Column("mensaje", sa.Text(), nullable=True),
        sa.Column("atendido_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("estado IN ('pendiente', 'en_curso', 'hecho', 'rechazado', "
                           "'fallido')", name=op.f("ck_corte_peticiones_estado")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corte_peticiones")),
    )
    op.execute(_DEFINER)
    op.execute(_TRIGGERS)
    for table in (*GUARDED, "audit_log", "corte_peticiones"):
        op.execute(f"CREATE TRIGGER {table}_sesion_coordinador BEFORE INSERT OR UPDATE "
                   f"ON {table} FOR EACH ROW EXECUTE FUNCTION prep_exige_sesion()")
    grants = [
        f"GRANT USAGE ON SCHEMA ' || quote_ident(current_schema()) || ' TO {ROLE}",
        f"GRANT SELECT ON {', '.join(SELECT)} TO {ROLE}",
        f"GRANT INSERT ON {', '.join(INSERT)} TO {ROLE}",
        "GRANT SELECT, UPDATE (estado, mensaje, atendido_at) ON corte_peticiones TO prep_api",
    ]
    grants += [f"GRANT UPDATE ({', '.join(cols)}) ON {table} TO {ROLE}"
               for table, cols in UPDATE_COLUMNS.items()]
    grants += [f"GRANT SELECT ({', '.join(cols)}) ON {table} TO {ROLE}"
               for table, cols in SELECT_COLUMNS.items()]
    grants += [f"GRANT USAGE ON SEQUENCE ' || pg_get_serial_sequence('{table}', "
               f"'{column}') || ' TO {ROLE}" for table, column in SEQUENCES]
    functions = ("prep_operador_de_token(text)", "prep_sal_coordinador(text)",
                 "prep_abrir_sesion(text, bytea)", "prep_cerrar_sesion(text)")
    grants += [f"REVOKE EXECUTE ON FUNCTION {f} FROM PUBLIC" for f in functions]
    grants += [f"GRANT EXECUTE ON FUNCTION {f} TO {ROLE}" for f in functions]
    grants += [f"ALTER FUNCTION {f} SET search_path = ' || quote_ident(current_schema()) "
               f"|| ', pg_temp" for f in functions]
    body = "\n".join(f"      EXECUTE '{g}';" for g in grants)
    op.execute(f"""
    DO $$
    DECLARE
      fn text;
    BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        IF {_CAN_CREATE} THEN
          CREATE ROLE {ROLE} NOLOGIN;
        ELSE
          RAISE EXCEPTION 'falta el rol {ROLE} y el usuario % no puede crearlo', current_user
            USING HINT = 'Un administrador de PostgreSQL debe ejecutar «CREATE ROLE {ROLE} '
                         'NOLOGIN» y volver a ejecutar «prep central init» '
                         '(docs/seguridad.md, «Roles de PostgreSQL»)';
        END IF;
      END IF;
{body}
      IF {_SUPER} THEN
        FOR fn IN {_FUNCTIONS} LOOP
          EXECUTE 'GRANT EXECUTE ON FUNCTION ' || fn || ' TO {ROLE}';
        END LOOP;
      END IF;
    END
    $$;
    """)


def downgrade() -> None:
    for table in (*GUARDED, "audit_log", "corte_peticiones"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_sesion_coordinador ON {table}")
    for fn in ("prep_exige_sesion()", "prep_actua_como_coordinador()",
               "prep_cerrar_sesion(text)", "prep_abrir_sesion(text, bytea)",
               "prep_sal_coordinador(text)", "prep_operador_de_token(text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.drop_table("corte_peticiones")
    op.drop_table("coordinador_intentos")
    op.drop_table("coordinador_sesiones")
    op.execute(f"""
    DO $$
    BEGIN
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA ' || quote_ident(current_schema())
                || ' FROM {ROLE}';
        EXECUTE 'REVOKE ALL ON ALL SEQUENCES IN SCHEMA ' || quote_ident(current_schema())
                || ' FROM {ROLE}';
        EXECUTE 'REVOKE USAGE ON SCHEMA ' || quote_ident(current_schema()) || ' FROM {ROLE}';
      END IF;
    END
    $$;
    """)  # noqa: S608
