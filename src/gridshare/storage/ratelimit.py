"""Rate limits and failure throttles: moving windows of one minute, per key.

Several server processes must share counters, so with `GRIDSHARE_REDIS_URL` set the windows
live in Redis through the `limits` library's async storage. In one process a window is a deque
of hit times (`MemoryWindows`): the `limits` memory storage sweeps every key through a worker
thread after each hit and copies each key's event list, which cost a tenth of a small API
call's CPU. (slowapi is avoided on purpose: it calls its storage synchronously and would block
the event loop.)
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window frees a slot


#: Seconds of one window (every limit here is per minute).
WINDOW_SECONDS = 60.0


class MemoryWindows:
    """Exact moving windows in this process: a key's hits of the last minute, oldest first.

    Keys whose newest hit left the window are dropped once a window, so memory follows the
    keys of the last minute."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[tuple[object, ...], deque[float]] = {}
        self._sweep_at = clock() + WINDOW_SECONDS

    def hit(self, per_minute: int, key: tuple[str, ...]) -> Decision:
        now = self._clock()
        if now >= self._sweep_at:
            self._sweep(now)
        hits = self._hits.setdefault((per_minute, *key), deque())
        while hits and hits[0] <= now - WINDOW_SECONDS:
            hits.popleft()
        allowed = len(hits) < per_minute
        if allowed:
            hits.append(now)
        # (min: a hit just made must not read 60.000001 s away, i.e. 61 once rounded up)
        reset_after = min(WINDOW_SECONDS, hits[0] + WINDOW_SECONDS - now if hits else 0)
        return Decision(
            allowed, per_minute, max(0, per_minute - len(hits)), max(1, math.ceil(reset_after))
        )

    def _sweep(self, now: float) -> None:
        cutoff = now - WINDOW_SECONDS
        for k in [k for k, hits in self._hits.items() if not hits or hits[-1] <= cutoff]:
            del self._hits[k]
        self._sweep_at = now + WINDOW_SECONDS


class RateLimits:
    def __init__(
        self, redis_url: str | None = None, on_refused: Callable[[str], None] | None = None
    ) -> None:
        #: Told the limit's name (the key's first part) of every refusal (metrics).
        self._on_refused = on_refused
        self._memory: MemoryWindows | None = None
        self._strategy: MovingWindowRateLimiter | None = None
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            # `limits` defaults to the coredis client; the project depends on redis-py.
            storage = storage_from_string(uri, implementation="redispy")
            self._strategy = MovingWindowRateLimiter(storage)
        else:
            self._memory = MemoryWindows()

    async def hit(self, per_minute: int, *key: str) -> Decision:
        """Count one request against `per_minute` for `key`; say whether it may proceed."""
        if self._memory is not None:
            decision = self._memory.hit(per_minute, key)
            if not decision.allowed and self._on_refused is not None:
                self._on_refused(key[0] if key else "")
            return decision
        assert self._strategy is not None
        item = RateLimitItemPerMinute(per_minute)
        allowed = await self._strategy.hit(item, *key)
        if not allowed and self._on_refused is not None:
            self._on_refused(key[0] if key else "")
        return await self._decision(item, allowed, *key)

    async def _decision(self, item: RateLimitItemPerMinute, allowed: bool, *key: str) -> Decision:
        assert self._strategy is not None
        stats = await self._strategy.get_window_stats(item, *key)
        reset_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Decision(allowed, item.amount, max(0, stats.remaining), reset_after)
