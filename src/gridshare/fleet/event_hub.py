"""Wakes whoever waits on a site's events (live streams, the webhook deliverer) when events
commit, in this process or any other.

Fan-out without polling: this process's commits are heard through the outbox's after-commit
hook; other processes' through PostgreSQL `LISTEN` on one connection per process (SQLite is one
machine's database and is mostly served by one process; there the hook alone is used). A
stream then reads the outbox only when woken, from its own cursor, so nothing is missed even
if two wake-ups merge into one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from gridshare.storage import events as outbox
from gridshare.storage.db import Database

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 2.0


class EventHub:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiters: dict[str, set[asyncio.Event]] = {}
        #: Called with every site told (the deliverer's wake-up).
        self.also: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self, sites: set[str]) -> None:
        for site in sites:
            for waiter in self._waiters.get(site, ()):
                waiter.set()
        if sites:
            for callback in self.also:
                callback()

    def _notify_threadsafe(self, sites: set[str]) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.notify(sites)
        else:  # a commit on another loop (the admin CLI, a test's helper thread)
            loop.call_soon_threadsafe(self.notify, sites)

    @contextlib.contextmanager
    def watch(self, site_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever `site_id` gets events, for the `with` block's duration."""
        waiter = asyncio.Event()
        self._waiters.setdefault(site_id, set()).add(waiter)
        try:
            yield waiter
        finally:
            found = self._waiters.get(site_id)
            if found is not None:
                found.discard(waiter)
                if not found:
                    del self._waiters[site_id]

    async def _listen(self) -> None:
        """PostgreSQL: one LISTEN connection for the process, re-opened if it drops."""
        import asyncpg  # type: ignore[import-untyped]  # PostgreSQL only

        dsn = self.db.url.set(drivername="postgresql").render_as_string(hide_password=False)

        def heard(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            self.notify({payload})

        while True:
            try:
                connection = await asyncpg.connect(dsn)
                closed = asyncio.Event()
                connection.add_termination_listener(lambda _conn, done=closed: done.set())
                try:
                    await connection.add_listener(outbox.CHANNEL, heard)
                    await closed.wait()
                finally:
                    with contextlib.suppress(Exception):
                        await connection.close()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("event LISTEN connection lost; reconnecting", exc_info=True)
            # a missed notification only delays a stream until its next wake-up or heartbeat
            for waiters in self._waiters.values():
                for waiter in waiters:
                    waiter.set()
            await asyncio.sleep(RECONNECT_SECONDS)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[EventHub]:
        self._loop = asyncio.get_running_loop()
        undo = outbox.on_commit(self._notify_threadsafe)
        task = None if self.db.sqlite else asyncio.create_task(self._listen())
        try:
            yield self
        finally:
            undo()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
