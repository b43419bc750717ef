"""Deleting expired rows that unauthenticated traffic creates: codes, sign-in sessions, throttles.

Anyone can make the server write these (a failed sign-in, a started sign-in, a code nobody
redeems), so without a purge they grow without bound. Each process runs the purge on its own
timer; deletes go in small batches, each its own short transaction, so SQLite's writer is never
held for long, and two processes purging at once only find less to delete (on PostgreSQL the
batch skips rows another purge has locked).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from gridshare.clock import Clock
from gridshare.storage.db import Database
from gridshare.storage.models import AuthCode, LoginThrottle, SignInSession

log = logging.getLogger(__name__)

Expiring = type[AuthCode] | type[SignInSession] | type[LoginThrottle]

#: What expires, and the columns that name its rows. A code is kept until its own expiry only: a
#: replay after that revokes nothing (see `GrantService.redeem_code`), so the record has no use.
EXPIRING: tuple[tuple[Expiring, tuple[InstrumentedAttribute[str], ...]], ...] = (
    (AuthCode, (AuthCode.code_hash,)),
    (SignInSession, (SignInSession.id_hash,)),
    (LoginThrottle, (LoginThrottle.username, LoginThrottle.address)),
)


class ExpiredRows:
    def __init__(self, db: Database, clock: Clock, batch_size: int) -> None:
        self.db = db
        self.clock = clock
        self.batch_size = batch_size

    async def purge(self) -> dict[str, int]:
        """Delete every row whose `expires_at` has passed; the count deleted per table."""
        now = self.clock.now()
        counts = {}
        for model, columns in EXPIRING:
            total = 0
            while (deleted := await self._delete_batch(model, columns, now)) > 0:
                total += deleted
                if deleted < self.batch_size:
                    break
            counts[model.__tablename__] = total
        return counts

    async def _delete_batch(
        self, model: Expiring, columns: tuple[InstrumentedAttribute[str], ...], now: datetime
    ) -> int:
        batch = (
            select(*columns)
            .where(model.expires_at <= now)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite has one writer anyway
        )
        statement = (
            delete(model)
            .where(tuple_(*columns).in_(batch))
            .execution_options(synchronize_session=False)
        )
        async with self.db.write() as session:
            result = await session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def run_forever(self, interval_seconds: float) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                counts = await self.purge()
            except Exception:  # a failed round is retried at the next one
                log.exception("purging expired rows failed")
                continue
            if any(counts.values()):
                log.info("purged expired rows: %s", counts)


@contextlib.asynccontextmanager
async def purging(purger: ExpiredRows, interval_seconds: float) -> AsyncIterator[None]:
    """Purge in the background while the server runs (`interval_seconds` 0: never)."""
    task = asyncio.create_task(purger.run_forever(interval_seconds)) if interval_seconds else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
