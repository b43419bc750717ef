"""The few things the async client does differently from the sync one: sleeping, locking, waiting
on a blocking call, and running calls side by side with a bound.

`aio.py` uses only these names; `scripts/unasync.py` turns `aio.py` into `sync.py` and this
module's import into `_sync_io`, which offers the same names for threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

Lock = asyncio.Lock
"""Serialises token refreshes across tasks."""

Sleep = Callable[[float], Awaitable[None]]
real_sleep: Sleep = asyncio.sleep


async def run_blocking(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking call (the loopback listener's wait) without blocking the event loop."""
    return await asyncio.to_thread(function, *args)


async def gather_bounded(
    calls: Sequence[Callable[[], Awaitable[T]]],
    limit: int,
    on_done: Callable[[int], object] | None = None,
) -> list[T]:
    """Run `calls` with at most `limit` in flight; results in call order; `on_done(n)` after the
    n-th finishes."""
    semaphore = asyncio.Semaphore(max(1, limit))
    done = 0

    async def run(call: Callable[[], Awaitable[T]]) -> T:
        nonlocal done
        async with semaphore:
            result = await call()
        done += 1
        if on_done is not None:
            on_done(done)
        return result

    return list(await asyncio.gather(*(run(call) for call in calls)))
