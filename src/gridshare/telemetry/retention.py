"""Retention of raw 1-minute samples.

Raw rows are the bulk of the storage (≈35 bytes per sample on SQLite); the 15-minute and hourly
rollups are 15-60 times smaller and answer every resolution from PT15M up, exactly. So raw rows
older than the retention window are deleted and the rollups are kept: long-range queries keep
working, and only PT1M/PT5M queries older than the window come back empty.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gridshare.telemetry.schema import telemetry_sample


async def prune_raw_samples(db: AsyncSession | AsyncConnection, before_s: int) -> int:
    """Delete raw samples older than `before_s` (epoch seconds); rollups are untouched."""
    result = await db.execute(delete(telemetry_sample).where(telemetry_sample.c.ts < before_s))
    return int(getattr(result, "rowcount", 0) or 0)
