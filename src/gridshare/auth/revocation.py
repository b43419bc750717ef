"""Knowing cheaply that a token family is still live, without losing revocation at once.

Every API call must refuse a token whose family, grant or client was revoked (security bar
point 9), but asking the database on every call cost more than the rest of a small request.
So each process remembers the families it has found live (`FamilyStatusCache`) and trusts that
memory only while two things hold:

- **the revocation generation is unchanged.** Every revocation (a family, a grant, a client
  disabled) bumps a counter after its transaction commits (`RevocationFeed.bump`). In one
  process the counter is a plain integer; with `GRIDSHARE_REDIS_URL` it lives in Redis, so a
  revocation through any process empties every process's memory before their next call.
  The generation is read *before* the database is asked, so a revocation that commits while
  an answer is on its way leaves that answer already stale.
- **the entry is younger than `token_status_cache_seconds`** (default 1 s): the bound for
  changes the feed cannot see (another process without Redis, the admin CLI, a hand-edited
  row, Redis unreachable). 0 turns the memory off.

Only live families are remembered; refusals are always answered from the database.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import redis.asyncio

log = logging.getLogger(__name__)

#: Redis key of the shared generation (one integer for the whole deployment).
GENERATION_KEY = "gridshare:revocation-generation"
#: Families remembered per process; beyond it the oldest are forgotten first.
MAX_ENTRIES = 100_000
#: How long an unreachable Redis is not asked again.
RETRY_AFTER_SECONDS = 1.0


class RevocationFeed(Protocol):
    async def generation(self) -> int | None:
        """The current generation, or None when it cannot be known (then trust nothing)."""

    async def bump(self) -> None:
        """Announce that something was revoked (call after the revoking commit)."""

    async def aclose(self) -> None: ...


class LocalFeed:
    """One process: revocations made here are the only ones it can hear of at once."""

    def __init__(self) -> None:
        self._generation = 0

    async def generation(self) -> int | None:
        return self._generation

    async def bump(self) -> None:
        self._generation += 1

    async def aclose(self) -> None:
        return None


class RedisFeed:
    """Several processes: the generation is a Redis counter every process reads per call."""

    def __init__(self, url: str) -> None:
        self._redis = redis.asyncio.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        #: This process's own bumps count too: a revocation made here is seen here even when
        #: the INCR failed (Redis down at that moment).
        self._bumps = 0
        #: After a failure, Redis is left alone for a moment (calls ask the database instead)
        #: rather than every call waiting out a timeout.
        self._retry_at = 0.0

    async def generation(self) -> int | None:
        if time.monotonic() < self._retry_at:
            return None
        try:
            shared = int(await self._redis.get(GENERATION_KEY) or 0)
        except (OSError, ValueError, redis.RedisError):
            self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
            log.warning("revocation generation unavailable from Redis; asking the database")
            return None
        return (shared << 32) + self._bumps

    async def bump(self) -> None:
        self._bumps += 1
        try:
            await self._redis.incr(GENERATION_KEY)
        except (OSError, redis.RedisError):
            log.warning(
                "could not announce a revocation through Redis; other processes see it within "
                "token_status_cache_seconds"
            )

    async def aclose(self) -> None:
        await self._redis.aclose()


def revocation_feed(redis_url: str | None) -> RevocationFeed:
    return RedisFeed(redis_url) if redis_url else LocalFeed()


@dataclass
class FamilyStatus:
    """A family found live: what the verifier needs, and when it was learnt."""

    grant_id: str
    client_id: str
    last_used: datetime | None
    checked_at: float
    generation: int


class FamilyStatusCache:
    """Live families by `origin_jti`, valid for `ttl` seconds within one generation."""

    def __init__(self, ttl: float, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, FamilyStatus] = {}

    def get(self, origin_jti: str, generation: int | None, now: float) -> FamilyStatus | None:
        entry = self._entries.get(origin_jti)
        if entry is None or generation is None:
            return None
        if entry.generation != generation or not 0 <= now - entry.checked_at < self.ttl:
            del self._entries[origin_jti]
            return None
        return entry

    def put(self, origin_jti: str, status: FamilyStatus) -> None:
        if self.ttl <= 0:
            return
        self._entries.pop(origin_jti, None)
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[origin_jti] = status

    def forget(self, origin_jti: str) -> None:
        self._entries.pop(origin_jti, None)
