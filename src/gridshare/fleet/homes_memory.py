"""A homeowner's sites and devices, remembered per process between the writes that change them.

Which sites a homeowner has, and what their devices are, changes only when a site is
provisioned or a device renamed, yet every API call asks it (the device list, a site's current
state, a device's telemetry). Each process remembers these answers per homeowner and trusts an
entry only while two things hold, as the token-status memory does (`gridshare.auth.revocation`):

- **the homes generation is unchanged.** Every such write bumps it after its commit
  (`HomesService.patch_device`, `provision_sites`); with `GRIDSHARE_REDIS_URL` the counter
  lives in Redis, so a write through any process (or the admin CLI) empties every process's
  memory before their next call. The generation is read before the database is asked.
- **the entry is younger than `homes_cache_seconds`** (default 1 s): the bound for writes the
  counter cannot carry (another process without Redis, a hand-edited row, Redis unreachable).
  0 turns the memory off.

Only answers are remembered, never refusals (an unknown id is asked again every time). Cached
values are shared between callers: they are read, never mutated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from gridshare.clock import Clock
from gridshare.storage.generations import Generation, LocalGeneration, generation_counter

T = TypeVar("T")

#: Redis key of the shared homes generation (one integer for the whole deployment).
HOMES_GENERATION_KEY = "gridshare:homes-generation"
#: Entries remembered per process; beyond it the oldest are forgotten first.
MAX_ENTRIES = 100_000


#: Sites provisioned in this process without naming a memory (tests, benchmarks, tools next to
#: a running app): every memory of the process forgets at once.
_process_changes = 0


def note_process_change() -> None:
    global _process_changes
    _process_changes += 1


def homes_generation(redis_url: str | None) -> Generation:
    return generation_counter(redis_url, HOMES_GENERATION_KEY)


class HomesMemory:
    def __init__(
        self,
        feed: Generation | None = None,
        ttl: float = 1.0,
        clock: Clock | None = None,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.feed: Generation = feed or LocalGeneration()
        self.clock = clock or Clock()
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[Any, tuple[int, int], float]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """The remembered answer for `key`, or `load()`'s (remembered if it returned)."""
        if self.ttl <= 0:
            return await load()
        shared = await self.feed.generation()
        generation = (shared, _process_changes) if shared is not None else None
        now = self.clock.time()
        entry = self._entries.get(key)
        if entry is not None:
            value, learnt_generation, learnt_at = entry
            if learnt_generation == generation and 0 <= now - learnt_at < self.ttl:
                return value  # type: ignore[no-any-return]
            del self._entries[key]
        value = await load()
        if generation is not None:
            while len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (value, generation, now)
        return value

    async def changed(self) -> None:
        """Announce a committed write to sites or devices (to this process and the others)."""
        self._entries.clear()
        await self.feed.bump()
