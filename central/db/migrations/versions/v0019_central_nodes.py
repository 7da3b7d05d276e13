"""The central's serve nodes, for the stations' bundle: ``central_nodes`` (issue 31).

Each row is a node stations may reach (its URL) and the TLS certificate it presents
there; the signed bundle carries the list, so a station pins every listed certificate
and moves to another node after failures (:mod:`central.stations.nodes`, docs/continuidad.md).
Removing a node marks its row, so ``revision`` (the bundle's nodes version) only grows.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "central_nodes",
        sa.Column("url", sa.String(200), nullable=False),
        sa.Column("cert_sha256", sa.String(64), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("reserva", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("removed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.CheckConstraint("revision > 0", name=op.f("ck_central_nodes_revision_positive")),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_central_nodes")),
        sa.UniqueConstraint("revision", name=op.f("uq_central_nodes_revision")),
    )


def downgrade() -> None:
    op.drop_table("central_nodes")
