"""Hot read-only queries on SQLite, each run whole in one worker thread.

aiosqlite hands every step of a query (BEGIN, execute, fetch, ROLLBACK) to its thread
separately and waits for each; on this path those hand-overs cost more than SQLite's own work
(about 1 ms of a 1.5 ms telemetry read). Here a query and everything done with its rows (numpy
columns, the JSON body) run in one call on a worker thread with a plain `sqlite3` connection,
which also keeps that work off the event loop.

Connections are autocommit (a single SELECT reads one consistent WAL snapshot), `query_only`,
with the same busy timeout as the engines, pooled and at most `size` at a time.
"""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000


class SqliteReadPool:
    def __init__(self, path: str, size: int = 4) -> None:
        self.path = path
        self._limiter = anyio.CapacityLimiter(size)
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only=ON")
        return conn

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            result = work(conn)
        except BaseException:
            conn.close()  # its state is unknown: never hand it out again
            raise
        if self._closed:
            conn.close()
        else:
            self._idle.put(conn)
        return result

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` in a worker thread; its result, or its exception."""
        if self._closed:
            raise RuntimeError("the read pool is closed")
        return await anyio.to_thread.run_sync(self._call, work, limiter=self._limiter)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
