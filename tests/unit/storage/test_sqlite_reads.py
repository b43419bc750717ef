"""The SQLite read side: the pooled sqlite3 connections of hot reads and the autocommit reader
engine are read-only, and a failed read does not poison the pool."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from gridshare.storage.db import Database
from gridshare.storage.sqlite_reads import SqliteReadPool


def _table(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
        conn.execute("INSERT INTO t VALUES (1), (2)")


async def test_the_pool_reads_and_survives_a_failing_query(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    _table(path)
    pool = SqliteReadPool(str(path), size=2)
    try:
        rows = await pool.run(lambda c: c.execute("SELECT x FROM t ORDER BY x").fetchall())
        assert rows == [(1,), (2,)]
        with pytest.raises(sqlite3.OperationalError):
            await pool.run(lambda c: c.execute("SELECT nope FROM t").fetchall())
        assert await pool.run(lambda c: c.execute("SELECT count(*) FROM t").fetchone()) == (2,)
    finally:
        pool.close()
    with pytest.raises(RuntimeError):
        await pool.run(lambda c: c.execute("SELECT 1").fetchone())


async def test_pooled_connections_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    _table(path)
    pool = SqliteReadPool(str(path))
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await pool.run(lambda c: c.execute("INSERT INTO t VALUES (3)"))
    finally:
        pool.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)


async def test_a_read_session_cannot_write_and_sees_each_commit(tmp_path: Path) -> None:
    """The reader runs in autocommit: a write through it fails rather than committing, and a
    row committed by the writer is visible to the next statement of an open read session."""
    path = tmp_path / "r.db"
    _table(path)
    db = Database(f"sqlite:///{path}")
    try:
        async with db.read() as session:
            with pytest.raises(OperationalError, match="readonly"):
                await session.execute(text("INSERT INTO t VALUES (3)"))
        async with db.read() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 2
            async with db.write() as writer:
                await writer.execute(text("INSERT INTO t VALUES (3)"))
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 3
    finally:
        await db.dispose()
