"""The declarative base every table of the central's schema shares (its naming convention,
type map and the column types several tables use), apart from the tables so that they
can live in modules by role (:mod:`central.db.estaciones`, :mod:`central.db.actas`…);
:mod:`central.db.schema` gathers them all. A table whose foreign key names another
module's table names its column (``ForeignKey(Station.id)``), so importing any table
module brings the tables its foreign keys need.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from typing import ClassVar

from sqlalchemy import DateTime
from sqlalchemy import LargeBinary
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SHA256 = String(64)
STATION_ID = String(64)
CLAVE_ACTA = String(13)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSONB,
        bytes: LargeBinary,
    }
