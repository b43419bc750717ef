"""Webhook subscriptions and their delivery log.

A subscription remembers, per site, the last event number (`seq`) it has dealt with: a site's
events commit in `seq` order (the outbox's counter row serialises them), so a per-site cursor
never skips an event that commits late, which a single cursor over the outbox id could.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.storage.base import Base
from gridshare.storage.types import UTCDateTime


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        Index("ix_webhook_subscriptions_client_owner", "client_id", "owner_id"),
        Index("ix_webhook_subscriptions_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    callback_url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    #: None: every site of the homeowner, present and future.
    site_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    #: The scopes of the token that subscribed: what the subscription may be told.
    scopes: Mapped[list[str]] = mapped_column(JSON)
    #: `[{"secret": "whsec_...", "until": iso or None}]`, newest first; two during a rotation.
    secrets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: active | failing (retries exhausted) | ended (the grant was revoked)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: Per site: the last event `seq` delivered or passed over.
    cursors: Mapped[dict[str, int]] = mapped_column(JSON)
    #: Failed attempts at the current event, and when the first of them was.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Which process is delivering (a lease: no two deliver the same attempt at once).
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookAttempt(Base):
    """One delivery attempt, as the partner's delivery log shows it."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_subscription", "subscription_id", "at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(BigInteger)
    #: `webhook-id`: the event's message id, the same on every retry (receivers dedupe on it).
    message_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
