"""The sync counterparts of `_async_io` (same names), used by the generated `sync.py`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

T = TypeVar("T")

Lock = threading.Lock
"""Serialises token refreshes across threads."""

Sleep = Callable[[float], None]
real_sleep: Sleep = time.sleep


def run_blocking(function: Callable[..., T], *args: Any) -> T:
    """A blocking call, called: the sync client may block."""
    return function(*args)


def gather_bounded(
    calls: Sequence[Callable[[], T]],
    limit: int,
    on_done: Callable[[int], object] | None = None,
) -> list[T]:
    """Run `calls` on at most `limit` threads; results in call order; `on_done(n)` (in the
    caller's thread) after the n-th finishes. The first failure cancels what has not started."""
    if limit <= 1 or len(calls) <= 1:
        results = []
        for done, call in enumerate(calls, start=1):
            results.append(call())
            if on_done is not None:
                on_done(done)
        return results
    with ThreadPoolExecutor(max_workers=min(limit, len(calls))) as pool:
        futures = [pool.submit(call) for call in calls]
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                future.result()
                if on_done is not None:
                    on_done(done)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return [future.result() for future in futures]
