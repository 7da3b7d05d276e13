"""The central's whole PostgreSQL schema: every table module, so that :data:`METADATA`
holds every table. Alembic compares against it (``migrations/env.py``), and so does the
test that the migrations build exactly this schema (``tests/central/commands/test_init.py``).

The tables are created and changed only by the Alembic migrations
(``migrations/versions``), never by ``create_all``. Records, batches and the audit log
are append-only (triggers in the migrations). Each table lives in the module of its role,
and code that uses a table imports it from there, never from here:

- :mod:`central.db.estaciones`: stations, enrollment codes, station health, operators,
  which CATD receives each distrito, difusores, the central's serve nodes;
- :mod:`central.db.lotes`: batches and records as received, what was set apart, images' bytes;
- :mod:`central.db.actas`: the acta pipeline (states, images, captures, fuera de catálogo,
  journal, leases, work nonces);
- :mod:`central.db.publicacion`: cortes, first publications, the Consejo's window, the
  centres AVANCE_CATD.csv leaves out; :mod:`central.db.transparencia`: the public log of
  cortes and the difusores' cosignatures;
- :mod:`central.db.coordinacion`: coordinators' sessions, attempts and corte requests;
- :mod:`central.db.auditoria`: audit log, anomalies, audited builds;
- :mod:`central.db.catalogo`: catalog versions; :mod:`central.db.instalacion`: whether
  this central is a drill's.
"""

from __future__ import annotations

from central.db import actas
from central.db import auditoria
from central.db import catalogo
from central.db import coordinacion
from central.db import estaciones
from central.db import instalacion
from central.db import lotes
from central.db import publicacion
from central.db import transparencia
from central.db.base import Base

#: The table modules, by role (imported for the tables they declare).
TABLE_MODULES = (estaciones, lotes, actas, publicacion, transparencia, coordinacion,
                 auditoria, catalogo, instalacion)

#: Every table of the central's schema.
METADATA = Base.metadata
