"""Rate limits and failure throttles over the `limits` library's async storages.

In one process an in-memory window is enough; several server processes must share counters, so
with `GRIDSHARE_REDIS_URL` set the same windows live in Redis. (slowapi is avoided on purpose: it
calls its storage synchronously and would block the event loop.)
"""

from __future__ import annotations

import math
import time
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


class RateLimits:
    def __init__(
        self, redis_url: str | None = None, on_refused: Callable[[str], None] | None = None
    ) -> None:
        #: Told the limit's name (the key's first part) of every refusal (metrics).
        self._on_refused = on_refused
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            # `limits` defaults to the coredis client; the project depends on redis-py.
            storage = storage_from_string(uri, implementation="redispy")
        else:
            storage = storage_from_string("async+memory://")
        self._strategy = MovingWindowRateLimiter(storage)

    async def hit(self, per_minute: int, *key: str) -> Decision:
        """Count one request against `per_minute` for `key`; say whether it may proceed."""
        item = RateLimitItemPerMinute(per_minute)
        allowed = await self._strategy.hit(item, *key)
        if not allowed and self._on_refused is not None:
            self._on_refused(key[0] if key else "")
        return await self._decision(item, allowed, *key)

    async def _decision(self, item: RateLimitItemPerMinute, allowed: bool, *key: str) -> Decision:
        stats = await self._strategy.get_window_stats(item, *key)
        reset_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Decision(allowed, item.amount, max(0, stats.remaining), reset_after)
