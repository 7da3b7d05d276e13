"""The catalog as the central keeps it (:mod:`central.catalog.catalog_store`): numbered
versions, never edited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from central.db.base import SHA256
from central.db.base import Base


class CatalogVersion(Base):
    """One loaded catalog: its files (name → base64) and digest; append-only."""

    __tablename__ = "catalog_versions"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(SHA256)
    files: Mapped[dict[str, Any]]
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(128))
