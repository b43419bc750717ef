"""The twin-state repository: each site's resumable simulation state and its lease.

Functions over the caller's session; they never open or commit a transaction. The state is a
JSON document to this module (`TwinState.to_dict()`): what it means is the twin's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridshare.storage.models import TwinStateRow


async def state_row(session: AsyncSession, site_id: str) -> TwinStateRow | None:
    return await session.get(TwinStateRow, site_id)


async def add_if_missing(
    session: AsyncSession, site_id: str, sim_minute: int, state: dict[str, Any], now: datetime
) -> bool:
    """Give the site its first state unless it has one; whether it was added."""
    if await session.get(TwinStateRow, site_id) is not None:
        return False
    session.add(TwinStateRow(site_id=site_id, sim_minute=sim_minute, state=state, updated_at=now))
    await session.flush()
    return True


async def advance(
    session: AsyncSession,
    site_id: str,
    *,
    from_minute: int,
    to_minute: int,
    state: dict[str, Any],
    controls_seen_at: datetime | None,
    now: datetime,
) -> bool:
    """Move the state on from `from_minute`; False if another process moved it first (the
    optimistic guard: the update only matches the minute it was simulated from)."""
    claimed = await session.execute(
        update(TwinStateRow)
        .where(TwinStateRow.site_id == site_id, TwinStateRow.sim_minute == from_minute)
        .values(
            sim_minute=to_minute, state=state, controls_seen_at=controls_seen_at, updated_at=now
        )
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


async def leases(session: AsyncSession) -> list[tuple[str, str | None, datetime | None]]:
    """(site, lease owner, lease end) of every twin."""
    rows = await session.execute(
        select(TwinStateRow.site_id, TwinStateRow.lease_owner, TwinStateRow.lease_until)
    )
    return [(site_id, owner, until) for site_id, owner, until in rows]


async def renew(
    session: AsyncSession, site_ids: Sequence[str], owner: str, until: datetime
) -> None:
    """Extend `owner`'s leases on `site_ids` (only those it still holds)."""
    rows = TwinStateRow
    await session.execute(
        update(rows)
        .where(rows.site_id.in_(list(site_ids)), rows.lease_owner == owner)
        .values(lease_owner=owner, lease_until=until)
    )


async def take_free(
    session: AsyncSession, site_ids: Sequence[str], owner: str, until: datetime, now: datetime
) -> None:
    """Take the leases on `site_ids` that are free or expired at `now` (and still are)."""
    rows = TwinStateRow
    await session.execute(
        update(rows)
        .where(
            rows.site_id.in_(list(site_ids)),
            or_(rows.lease_owner.is_(None), rows.lease_until <= now),
        )
        .values(lease_owner=owner, lease_until=until)
    )


async def take_from(
    session: AsyncSession, site_ids: Sequence[str], holder: str, owner: str, until: datetime
) -> None:
    """Take `holder`'s leases on `site_ids` (only those it still holds)."""
    rows = TwinStateRow
    await session.execute(
        update(rows)
        .where(rows.site_id.in_(list(site_ids)), rows.lease_owner == holder)
        .values(lease_owner=owner, lease_until=until)
    )


async def held(session: AsyncSession, owner: str, now: datetime) -> list[str]:
    rows = await session.execute(
        select(TwinStateRow.site_id).where(
            TwinStateRow.lease_owner == owner, TwinStateRow.lease_until > now
        )
    )
    return sorted(rows.scalars())


async def release(session: AsyncSession, owner: str) -> None:
    await session.execute(
        update(TwinStateRow)
        .where(TwinStateRow.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )
