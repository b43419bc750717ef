"""Sign-in lockout: Cognito's rule, applied per (username, address) under a per-username ceiling.

*Per address*: with one counter per username, anyone who knows a homeowner's email keeps them
locked out by guessing. Here `threshold` failures lock the username only for the address they
came from, so a guesser locks out himself and the owner still signs in from elsewhere. A second
counter per username (address `"*"`) with a much higher `global_threshold` bounds guessing spread
over many addresses; past it the username is locked everywhere, as Cognito would.

*Reserved before verifying*: the lock check and the count of the attempt happen in one write
transaction that commits before Argon2 runs (Argon2 must never hold SQLite's write lock), so N
concurrent guesses cannot all read "not locked". A reservation counts as a failure until the
password proves right; the success then takes back exactly the failures it saw, leaving those
counted by attempts that reserved after it.

After `threshold` failures each further one locks for 2^(n-threshold) seconds, capped at
`max_lock`. A counter is forgotten `memory` seconds after its last failure (the purge deletes the
row; until then it is ignored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gridshare.clock import Clock
from gridshare.storage.db import Database
from gridshare.storage.models import LoginThrottle

#: The `address` of the per-username counter (never a real address).
EVERYWHERE = "*"
MAX_ADDRESS_LENGTH = 100


@dataclass(frozen=True)
class Reservation:
    """An attempt counted in advance: each counter's failures as it saw them (its own included)."""

    username: str
    seen: dict[str, int]


@dataclass(frozen=True)
class Locked:
    retry_after: int


@dataclass(frozen=True)
class LockoutRule:
    threshold: int
    global_threshold: int
    max_lock_seconds: int
    memory_seconds: int


class Lockout:
    def __init__(self, db: Database, clock: Clock, rule: LockoutRule) -> None:
        self.db = db
        self.clock = clock
        self.rule = rule

    def _threshold(self, address: str) -> int:
        return self.rule.global_threshold if address == EVERYWHERE else self.rule.threshold

    async def reserve(self, username: str, address: str) -> Reservation | Locked:
        """Refuse if locked; otherwise count this attempt as a failure, committed before return."""
        now = self.clock.now()
        # The address's counter first, then the username's: one lock order, no deadlocks.
        keys = [address[:MAX_ADDRESS_LENGTH] or "unknown", EVERYWHERE]
        async with self.db.write() as session:
            await self._ensure_rows(session, username, keys, now)
            rows = [await self._locked_row(session, username, key, now) for key in keys]
            for row in rows:
                if row.expires_at <= now:  # forgotten, whether or not the purge has run yet
                    row.failures, row.locked_until = 0, None
            waits = [
                row.locked_until - now
                for row in rows
                if row.locked_until is not None and row.locked_until > now
            ]
            if waits:
                return Locked(int(max(waits).total_seconds()) + 1)
            seen = {}
            for row in rows:
                row.failures += 1
                threshold = self._threshold(row.address)
                if row.failures >= threshold:
                    lock = min(2 ** (row.failures - threshold), self.rule.max_lock_seconds)
                    row.locked_until = now + timedelta(seconds=lock)
                row.expires_at = max(row.locked_until or now, now) + timedelta(
                    seconds=self.rule.memory_seconds
                )
                seen[row.address] = row.failures
            return Reservation(username, seen)

    async def succeeded(self, reservation: Reservation) -> None:
        """The password was right: take back the failures this attempt saw, and their lock.

        A lock that failures counted after this attempt set stays: a burst of guesses sent
        alongside the right password must not be let through again by its success."""
        now = self.clock.now()
        async with self.db.write() as session:
            for key, seen in reservation.seen.items():
                row = await session.get(
                    LoginThrottle, (reservation.username, key), with_for_update=True
                )
                if row is None:
                    continue
                locked = row.locked_until is not None and row.locked_until > now
                if locked and row.failures > seen:
                    continue
                row.failures = max(0, row.failures - seen)
                if row.failures == 0:
                    await session.delete(row)
                elif row.failures < self._threshold(key):
                    row.locked_until = None

    async def _ensure_rows(
        self, session: AsyncSession, username: str, keys: list[str], now: datetime
    ) -> None:
        """Insert missing counters race-free (a concurrent insert of the same row is a no-op)."""
        values = [
            {
                "username": username,
                "address": key,
                "failures": 0,
                "locked_until": None,
                "expires_at": now + timedelta(seconds=self.rule.memory_seconds),
            }
            for key in keys
        ]
        insert = sqlite.insert if self.db.sqlite else postgresql.insert
        await session.execute(insert(LoginThrottle).values(values).on_conflict_do_nothing())

    async def _locked_row(
        self, session: AsyncSession, username: str, key: str, now: datetime
    ) -> LoginThrottle:
        row = await session.get(LoginThrottle, (username, key), with_for_update=True)
        if row is None:
            # Another process's purge deleted it (expired) between our insert and this read.
            await self._ensure_rows(session, username, [key], now)
            row = await session.get(LoginThrottle, (username, key), with_for_update=True)
        assert row is not None  # a fresh row is not expired, so no purge takes it
        return row
