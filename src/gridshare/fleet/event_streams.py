"""Live event streams of a site (Server-Sent Events): the outbox, from a cursor, as it grows.

A stream catches up from `Last-Event-ID` (a site's event number), then waits on the event hub
and reads the outbox only when woken: no query per client while nothing happens. It ends after
telling the partner `grant.revoked`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import orjson

from gridshare.fleet.event_hub import EventHub
from gridshare.fleet.push_events import envelope, visible
from gridshare.fleet.service import Caller, HomesService
from gridshare.homes.errors import DomainError, Kind
from gridshare.homes.events import EVENT_SCOPES, GRANT_REVOKED
from gridshare.storage import events as outbox
from gridshare.storage.db import Database
from gridshare.storage.models import EventRow

HEARTBEAT_SECONDS = 15.0
PAGE = 200


def sse(row: EventRow) -> bytes:
    data = orjson.dumps(envelope(row))
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (row.seq, row.type.encode(), data)


def parse_last_event_id(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:
        raise DomainError(
            Kind.MALFORMED, "invalid_last_event_id", "Last-Event-ID must be an event number"
        )
    return int(value)


def parse_types(value: str | None) -> set[str]:
    if value is None or value == "":
        return set(EVENT_SCOPES)
    types = {t for t in value.split(",") if t}
    unknown = types - set(EVENT_SCOPES)
    if unknown:
        raise DomainError(Kind.MALFORMED, "invalid_events", f"unknown event {sorted(unknown)[0]!r}")
    return types


class EventStreams:
    def __init__(
        self, db: Database, homes: HomesService, hub: EventHub, heartbeat: float = HEARTBEAT_SECONDS
    ) -> None:
        self.db = db
        self.homes = homes
        self.hub = hub
        self.heartbeat = heartbeat

    async def open(
        self, caller: Caller, site_id: str, last_event_id: str | None, types: str | None
    ) -> AsyncIterator[bytes]:
        """Check everything up front (so errors are proper answers), then the stream."""
        after = parse_last_event_id(last_event_id)
        wanted = parse_types(types)
        await self.homes.site(caller, site_id)  # the caller's site, or NotFound
        if after is None:
            async with self.db.read() as session:
                after = await outbox.last_seq(session, site_id)
        return self._follow(caller, site_id, after, wanted)

    async def _follow(
        self, caller: Caller, site_id: str, after: int, wanted: set[str]
    ) -> AsyncIterator[bytes]:
        yield b": stream of site events\nretry: 2000\n\n"
        with self.hub.watch(site_id) as wake:
            while True:
                wake.clear()  # before reading: a commit after this read wakes the next wait
                async with self.db.read() as session:
                    rows = await outbox.site_events_after(session, site_id, after, PAGE)
                for row in rows:
                    after = row.seq
                    if not visible(row, caller.client_id, caller.scopes, wanted):
                        continue
                    yield sse(row)
                    if row.type == GRANT_REVOKED:
                        return  # the last event this partner receives
                if len(rows) == PAGE:
                    continue
                woken = False
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.heartbeat):
                        woken = await wake.wait()
                if not woken:
                    yield b": heartbeat\n\n"
