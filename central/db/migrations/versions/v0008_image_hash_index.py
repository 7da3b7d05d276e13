"""An index on the images' SHA-256: PREP Casilla intake looks every photo up by it to
refuse the same bytes twice.

Revision ID: 0008
Revises: 0007
Create Date: 2027-02-10
"""

from __future__ import annotations

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_acta_images_sha256", "acta_images", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_acta_images_sha256", table_name="acta_images")
