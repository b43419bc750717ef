"""Generation counters: how one process tells every other that something it cached changed.

A cache entry remembers the generation it was learnt at and is trusted only while the counter
still reads the same. A writer bumps the counter after its transaction commits. In one process
the counter is a plain integer; with `GRIDSHARE_REDIS_URL` it is a Redis key every process
reads per use, so a change through any process empties every process's memory before their
next call. The counter is read *before* the database is asked, so a change that commits while
an answer is on its way leaves that answer already stale.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import redis.asyncio

log = logging.getLogger(__name__)

#: How long an unreachable Redis is not asked again.
RETRY_AFTER_SECONDS = 1.0


class Generation(Protocol):
    async def generation(self) -> int | None:
        """The current generation, or None when it cannot be known (then trust nothing)."""

    async def bump(self) -> None:
        """Announce a change (call after the changing commit)."""

    async def aclose(self) -> None: ...


class LocalGeneration:
    """One process: changes made here are the only ones it can hear of at once."""

    def __init__(self) -> None:
        self._generation = 0

    async def generation(self) -> int | None:
        return self._generation

    async def bump(self) -> None:
        self._generation += 1

    async def aclose(self) -> None:
        return None


class RedisGeneration:
    """Several processes: the generation is the Redis counter `key`, read per use."""

    def __init__(self, url: str, key: str) -> None:
        self.key = key
        self._redis = redis.asyncio.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        #: This process's own bumps count too: a change made here is seen here even when
        #: the INCR failed (Redis down at that moment).
        self._bumps = 0
        #: After a failure, Redis is left alone for a moment (callers ask the database
        #: instead) rather than every call waiting out a timeout.
        self._retry_at = 0.0

    async def generation(self) -> int | None:
        if time.monotonic() < self._retry_at:
            return None
        try:
            shared = int(await self._redis.get(self.key) or 0)
        except (OSError, ValueError, redis.RedisError):
            self._retry_at = time.monotonic() + RETRY_AFTER_SECONDS
            log.warning("generation %s unavailable from Redis; asking the database", self.key)
            return None
        return (shared << 32) + self._bumps

    async def bump(self) -> None:
        self._bumps += 1
        try:
            await self._redis.incr(self.key)
        except (OSError, redis.RedisError):
            log.warning(
                "could not announce a change of %s through Redis; other processes see it "
                "when their cached entries expire",
                self.key,
            )

    async def aclose(self) -> None:
        await self._redis.aclose()


def generation_counter(redis_url: str | None, key: str) -> Generation:
    return RedisGeneration(redis_url, key) if redis_url else LocalGeneration()
