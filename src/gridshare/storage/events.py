"""The outbox repository: append events in the caller's transaction, read them back in order.

Functions over the caller's session; they never open or commit a transaction, which is the
point: an event commits or rolls back with the change that caused it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from gridshare.storage.models import EventRow, EventSequence

#: PostgreSQL channel told each committed event's site (NOTIFY is transactional: it is sent
#: at commit, never for a rollback).
CHANNEL = "gridshare_events"
#: Told, in this process, the sites that got events once the transaction that wrote them has
#: committed (the streams' and deliverer's wake-up; other processes hear PostgreSQL's NOTIFY).
_listeners: list[Callable[[set[str]], None]] = []


def on_commit(listener: Callable[[set[str]], None]) -> Callable[[], None]:
    """Call `listener` with the sites of each committed batch of events; returns the undo."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def _remember(session: AsyncSession, site_id: str) -> None:
    sites: set[str] | None = session.info.get("event_sites")
    if sites is None:
        sites = session.info["event_sites"] = set()
        sync = session.sync_session

        def committed(_: object) -> None:
            told = session.info.pop("event_sites", set())
            for listener in list(_listeners):
                listener(told)

        def rolled_back(_: object) -> None:
            session.info.pop("event_sites", None)

        event.listen(sync, "after_commit", committed, once=True)
        event.listen(sync, "after_soft_rollback", rolled_back, once=True)
    sites.add(site_id)


async def _next_seq(session: AsyncSession, site_id: str) -> int:
    """The site's next event number: one upsert that increments the counter (and, on
    PostgreSQL, locks its row until the commit, so a site's events commit in `seq` order)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    upsert = insert(EventSequence).values(site_id=site_id, last_seq=1)
    statement = upsert.on_conflict_do_update(
        index_elements=["site_id"], set_={"last_seq": EventSequence.last_seq + 1}
    ).returning(EventSequence.last_seq)
    return int((await session.execute(statement)).scalar_one())


async def append(
    session: AsyncSession,
    *,
    site_id: str,
    owner_id: str,
    type: str,
    at: datetime,
    body: dict[str, Any],
    device_id: str | None = None,
    client_id: str | None = None,
    private_to: str | None = None,
) -> EventRow:
    """Add one event to the outbox within the caller's unit of work."""
    row = EventRow(
        site_id=site_id,
        seq=await _next_seq(session, site_id),
        type=type,
        at=at,
        owner_id=owner_id,
        device_id=device_id,
        client_id=client_id,
        private_to=private_to,
        body=body,
    )
    session.add(row)
    await session.flush()
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(CHANNEL, site_id)))
    _remember(session, site_id)
    return row


async def site_events_after(
    session: AsyncSession, site_id: str, after_seq: int, limit: int = 500
) -> Sequence[EventRow]:
    """The site's events numbered after `after_seq`, oldest first (a stream's resume)."""
    rows = await session.execute(
        select(EventRow)
        .where(EventRow.site_id == site_id, EventRow.seq > after_seq)
        .order_by(EventRow.seq)
        .limit(limit)
    )
    return rows.scalars().all()


async def last_seq(session: AsyncSession, site_id: str) -> int:
    found = await session.get(EventSequence, site_id)
    return found.last_seq if found is not None else 0


async def owner_events_after(
    session: AsyncSession, owner_id: str, after_id: int, limit: int = 100
) -> Sequence[EventRow]:
    """The homeowner's events after outbox id `after_id`, oldest first (a deliverer's scan)."""
    rows = await session.execute(
        select(EventRow)
        .where(EventRow.owner_id == owner_id, EventRow.id > after_id)
        .order_by(EventRow.id)
        .limit(limit)
    )
    return rows.scalars().all()


async def max_id(session: AsyncSession) -> int:
    return int(
        (await session.execute(select(func.coalesce(func.max(EventRow.id), 0)))).scalar_one()
    )
