"""Where each site's simulation stands: the twin's resumable state, one row per site."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.storage.base import Base
from gridshare.storage.types import UTCDateTime


class TwinStateRow(Base):
    """`state` is `TwinState.to_dict()` as of `sim_minute` (the next minute to simulate).

    The row is updated in the same transaction as the samples it accounts for, so after a crash
    the twin resumes exactly where the last acknowledged write left it.
    """

    __tablename__ = "twin_states"

    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.site_id", ondelete="CASCADE"), primary_key=True
    )
    sim_minute: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Last time the controls were read into the state (clears a stale smart plan on change).
    controls_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Which process is advancing this site (a lease, so several servers share the work).
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
