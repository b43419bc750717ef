"""The transactional outbox: events written in the same transaction as the change behind them.

Webhook delivery and the live event streams read this table; nothing is pushed that was not
committed, and nothing committed is lost if a process dies before delivering it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.storage.base import Base
from gridshare.storage.types import UTCDateTime


class EventRow(Base):
    """One event. `seq` orders a site's events (1, 2, 3, ... without gaps: what a stream's
    `Last-Event-ID` resumes from); `id` orders all events for the deliverers."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("site_id", "seq", name="uq_events_site_seq"),
        Index("ix_events_owner_id", "owner_id", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.site_id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The homeowner whose site it is (partners see only their homeowners' sites).
    owner_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: The partner whose write caused the event (None: the twin or the homeowner).
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Only this partner may see the event (`grant.revoked`); None: every connected partner.
    private_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class EventSequence(Base):
    """The last `seq` handed out per site: incremented in the writing transaction, so it also
    serialises a site's event writers (a row lock on PostgreSQL)."""

    __tablename__ = "event_sequences"

    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.site_id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(BigInteger)
