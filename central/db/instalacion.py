"""What this central is: a drill's or a real one's (read and set by
:mod:`central.db.simulacro`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlalchemy import SmallInteger
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from central.db.base import Base


class Installation(Base):
    """What this central is: one row, ``id`` 1 (revision 0012). ``simulacro``: a drill's
    central, whose cortes are all stamped SIMULACRO (docs/simulacro.md); a trigger
    refuses to change it once the database holds results."""

    __tablename__ = "installation"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    simulacro: Mapped[bool] = mapped_column(server_default=false())
    changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
