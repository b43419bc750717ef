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

from dataclasses import dataclass
from datetime import datetime

from gridshare.storage.generations import (
    Generation,
    LocalGeneration,
    RedisGeneration,
    generation_counter,
)

#: Redis key of the shared generation (one integer for the whole deployment).
GENERATION_KEY = "gridshare:revocation-generation"
#: Families remembered per process; beyond it the oldest are forgotten first.
MAX_ENTRIES = 100_000

#: Every revocation (a family, a grant, a client disabled) bumps it after its commit.
RevocationFeed = Generation
LocalFeed = LocalGeneration


class RedisFeed(RedisGeneration):
    """The revocation generation shared through Redis."""

    def __init__(self, url: str) -> None:
        super().__init__(url, GENERATION_KEY)


def revocation_feed(redis_url: str | None) -> RevocationFeed:
    return generation_counter(redis_url, GENERATION_KEY)


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
