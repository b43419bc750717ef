"""Several server processes and the twin: the live loop of each advances only the sites it
holds a lease on, so one process does the work while the others stand by; a process that stops
lets go at once, one that dies loses its leases after LEASE_SECONDS. Two runners on one
database stand for two processes."""

from __future__ import annotations

import asyncio
import time

from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.fleet.twin_runner import LEASE_SECONDS, TwinRunner, running
from gridshare.services import Services
from gridshare.storage.models import TwinStateRow
from gridshare.twin.timebase import floor_minute
from tests.api.homes_support import make_home, running_app

#: A quarter of an hour of history per site keeps each catch-up small.
SHORT = {"twin_backfill_days": 0.01}


def second_process(services: Services) -> TwinRunner:
    """Another process's runner on the same database and clock."""
    return TwinRunner(services.db, services.homes.repo, services.clock, backfill_days=0.01)


async def lease_of(services: Services, site_id: str) -> TwinStateRow | None:
    async with services.db.read() as session:
        return await session.get(TwinStateRow, site_id)


async def test_one_runner_holds_the_sites_until_it_lets_go(settings: Settings) -> None:
    async with running_app(settings.model_copy(update=SHORT)) as (_, gs):
        home = await make_home(gs, templates=("hybrid_home", "pv_only"))
        sites = sorted(site.site_id for site in home.sites)
        one, two = gs.services.twin, second_process(gs.services)
        assert await one.claim() == sites, "twins are started and leased on first claim"
        assert await two.claim() == []
        assert await two.advance_held() == 0
        assert await one.advance_held() > 0
        assert await one.claim() == sites, "the holder renews"
        await one.release()
        assert await two.claim() == sites
        assert await one.claim() == []
        assert await two.advance_held() == 0, "already caught up by the first runner"


async def test_the_leases_of_a_runner_that_died_expire(settings: Settings) -> None:
    clock = Clock()
    async with running_app(settings.model_copy(update=SHORT), clock) as (_, gs):
        home = await make_home(gs)
        one, two = gs.services.twin, second_process(gs.services)
        assert await one.claim() == [home.site.site_id]
        clock.advance(LEASE_SECONDS - 5)
        assert await two.claim() == []
        clock.advance(10)  # `one` never renewed: gone
        assert await two.claim() == [home.site.site_id]
        assert await one.claim() == []


async def test_the_live_loop_catches_up_what_it_holds_and_lets_go_when_stopped(
    settings: Settings,
) -> None:
    async with running_app(settings.model_copy(update=SHORT)) as (_, gs):
        home = await make_home(gs)
        site = home.site.site_id
        loop = second_process(gs.services)
        async with running(loop, interval_seconds=0.2):
            deadline = time.monotonic() + 60
            while True:
                row = await lease_of(gs.services, site)
                now = floor_minute(gs.services.clock.now())
                if row is not None and row.lease_owner == loop.owner and row.sim_minute >= now:
                    break
                assert time.monotonic() < deadline, "the loop did not catch the site up"
                await asyncio.sleep(0.1)
        row = await lease_of(gs.services, site)
        assert row is not None and row.lease_owner is None and row.lease_until is None
