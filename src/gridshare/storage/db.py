"""Engines and sessions for SQLite (embedded default) and PostgreSQL (scale-out).

SQLite needs care under concurrency: WAL, a busy timeout and, for transactions that read then
write, `BEGIN IMMEDIATE` so the write lock is taken up front instead of failing half-way. We keep
two engines on one SQLite file: a reader and a writer (immediate BEGIN). The reader runs in
autocommit: each statement reads its own committed snapshot, which is what PostgreSQL's default
READ COMMITTED gives every read here too, and it spares two of the driver's thread hand-overs
(BEGIN, ROLLBACK) per read, half the cost of a small query. PostgreSQL needs none of this: both
roles share one engine and rely on conditional updates and row locks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from gridshare.storage.sqlite_reads import SqliteReadPool

# aiosqlite logs every statement's parameters at DEBUG (signing keys, password hashes): never
# let a DEBUG root logger print them.
logging.getLogger("aiosqlite").setLevel(logging.INFO)


class DatabaseURLError(ValueError):
    """The configured database URL names a backend we do not support."""


def normalize_url(url: str) -> URL:
    """Map the URLs people write (`sqlite:///f.db`, `postgresql://...`) to our async drivers."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with the URL in the message
        raise DatabaseURLError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise DatabaseURLError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _sqlite_engine(url: URL, begin: str | None) -> AsyncEngine:
    """An engine whose transactions start with `begin`, or autocommit statements (None)."""
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        connect_args={"timeout": 30},
        # autocommit: nothing to roll back when a connection returns to the pool
        pool_reset_on_return="rollback" if begin else None,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN out of the driver's hands so we can choose DEFERRED or IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        pragmas = [
            "journal_mode=WAL",
            "busy_timeout=30000",
            "synchronous=NORMAL",
            "foreign_keys=ON",
        ]
        if begin is None:
            pragmas.append("query_only=ON")  # a write through the reader fails, never commits
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    if begin is not None:

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

    return engine


class Database:
    """The process's handle on storage: a read engine and a write engine (the same on PG)."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.sqlite = is_sqlite(self.url)
        if self.sqlite:
            self.engine = _sqlite_engine(self.url, None)
            self.write_engine = _sqlite_engine(self.url, "BEGIN IMMEDIATE")
        else:
            self.engine = create_async_engine(self.url, pool_size=10, max_overflow=20)
            self.write_engine = self.engine
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)
        # SQLite admits one writer; its busy handler polls with sleeps, which starves some
        # waiters (seconds of p99 under load). Queue this process's writers first-come
        # first-served instead; the busy timeout still arbitrates between processes.
        self._write_turn = asyncio.Lock() if self.sqlite else None
        #: Plain sqlite3 connections for hot single-statement reads (telemetry); None on
        #: PostgreSQL, whose driver needs no such help, and for in-memory SQLite.
        self.read_pool: SqliteReadPool | None = None
        if self.sqlite and self.url.database and self.url.database != ":memory:":
            self.read_pool = SqliteReadPool(self.url.database)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries that never write."""
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits on success and rolls back on any exception.

        Never open a write inside another write: on SQLite the second would wait for the first.
        """
        if self._write_turn is None:
            async with self._write() as session, session.begin():
                yield session
            return
        async with self._write_turn, self._write() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        if self.read_pool is not None:
            self.read_pool.close()
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
