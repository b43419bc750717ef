"""The webhook repository: subscriptions, their delivery claims and their attempt log.

Functions over the caller's session; they never open or commit a transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridshare.storage.models import EventRow, WebhookAttempt, WebhookSubscription


def add(session: AsyncSession, subscription: WebhookSubscription) -> None:
    session.add(subscription)


async def of_partner(
    session: AsyncSession, client_id: str, owner_id: str
) -> Sequence[WebhookSubscription]:
    rows = await session.execute(
        select(WebhookSubscription)
        .where(WebhookSubscription.client_id == client_id, WebhookSubscription.owner_id == owner_id)
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
    )
    return rows.scalars().all()


async def one(
    session: AsyncSession, subscription_id: str, client_id: str, owner_id: str
) -> WebhookSubscription | None:
    row = await session.get(WebhookSubscription, subscription_id)
    if row is None or row.client_id != client_id or row.owner_id != owner_id:
        return None
    return row


async def remove(session: AsyncSession, subscription_id: str) -> None:
    await session.execute(
        delete(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    )


async def claim_due(
    session: AsyncSession, owner: str, now: datetime, until: datetime, limit: int
) -> list[str]:
    """Lease up to `limit` active subscriptions that are due and not leased by a live process.

    On PostgreSQL the candidates are read `FOR UPDATE SKIP LOCKED`, so concurrent deliverers
    pass over each other's rows instead of waiting; on SQLite the write transaction holds the
    database. The update re-checks the lease either way."""
    subs = WebhookSubscription
    free = or_(subs.lease_until.is_(None), subs.lease_until <= now)
    query = (
        select(subs.id)
        .where(subs.status == "active", subs.next_attempt_at <= now, free)
        .order_by(subs.next_attempt_at)
        .limit(limit)
    )
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect != "sqlite":
        query = query.with_for_update(skip_locked=True)
    ids = list((await session.execute(query)).scalars())
    if not ids:
        return []
    await session.execute(
        update(subs).where(subs.id.in_(ids), free).values(lease_owner=owner, lease_until=until)
    )
    return ids


async def leased(
    session: AsyncSession, subscription_id: str, owner: str
) -> WebhookSubscription | None:
    """The subscription, if `owner` still holds its lease."""
    row = await session.get(WebhookSubscription, subscription_id, populate_existing=True)
    if row is None or row.lease_owner != owner:
        return None
    return row


async def events_after(
    session: AsyncSession,
    owner_id: str,
    cursors: Mapping[str, int],
    site_ids: Sequence[str] | None,
    limit: int,
) -> Sequence[EventRow]:
    """The homeowner's events past each site's cursor (sites without one: from the start),
    limited to `site_ids` when given, oldest first."""
    past = [and_(EventRow.site_id == site, EventRow.seq > seq) for site, seq in cursors.items()]
    past.append(EventRow.site_id.notin_(list(cursors)))
    query = select(EventRow).where(EventRow.owner_id == owner_id, or_(*past))
    if site_ids is not None:
        query = query.where(EventRow.site_id.in_(list(site_ids)))
    rows = await session.execute(query.order_by(EventRow.id).limit(limit))
    return rows.scalars().all()


def add_attempt(session: AsyncSession, attempt: WebhookAttempt) -> None:
    session.add(attempt)


async def attempts(
    session: AsyncSession, subscription_id: str, limit: int
) -> Sequence[WebhookAttempt]:
    rows = await session.execute(
        select(WebhookAttempt)
        .where(WebhookAttempt.subscription_id == subscription_id)
        .order_by(WebhookAttempt.at.desc(), WebhookAttempt.id.desc())
        .limit(limit)
    )
    return rows.scalars().all()
