"""Several processes starting at once on a new database each register the /docs client: the
ones that lose the race must start anyway (a failed start is exit 3 for a worker)."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, func, select

from gridshare.services import Services, build_services
from gridshare.storage.models import Client
from gridshare.web.docs import DOCS_CLIENT_ID, ensure_docs_client

ISSUER = "http://127.0.0.1:8000"  # loopback: the /docs client can be registered


async def test_concurrent_starts_register_the_docs_client_once(services: Services) -> None:
    async with services.db.write() as session:
        await session.execute(delete(Client).where(Client.client_id == DOCS_CLIENT_ID))
    # Four processes' services (each its own memory of clients) on the one database; every
    # start reads "absent" before any of them writes, as workers spawned together do.
    starts = [await build_services(services.settings, services.db, services.clock) for _ in "1234"]
    try:
        await asyncio.gather(*(ensure_docs_client(s.clients, ISSUER) for s in starts))
    finally:
        for s in starts:
            await s.aclose()
    async with services.db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(Client).where(Client.client_id == DOCS_CLIENT_ID)
        )
    assert count == 1
