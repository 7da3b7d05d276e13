"""The images inside PostgreSQL too: ``blob_contents`` (issue 31).

Each image blob the central accepts (a station's upload, a PREP Casilla photo) is also
stored here, in the transaction that answers the upload, so PostgreSQL's replication
carries it: with a synchronous standby, an acknowledged image is on two machines, and a
backup (``pg_basebackup``, the archived WAL) holds it. The files under ``blobs/`` stay
what ingest, the cortes and the site read; a node that lacks a file its database holds
(a promoted standby, a restored node) writes it back from here
(:func:`central.db.blobs.materialize_missing`). Storage EXTERNAL: JPEG and PNG do not
compress, so PostgreSQL does not try.

Revision ID: 0018
Revises: 0017
Create Date: 2027-04-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "blob_contents",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blob_contents")),
    )
    op.execute("ALTER TABLE blob_contents ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("blob_contents")
