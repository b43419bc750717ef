"""Several server processes and the twin: the live loop of each advances only the sites it
holds a lease on, each takes its fair share, a process that stops lets go at once and one that
dies loses its leases after LEASE_SECONDS. Two runners on one database stand for two processes;
`plan_leases` (the sharing rule) is tested on its own below."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.fleet.leases import Lease, plan_leases
from gridshare.fleet.twin_runner import LEASE_SECONDS, TwinRunner, running
from gridshare.services import Services
from gridshare.storage.models import TwinStateRow
from gridshare.twin.timebase import floor_minute
from tests.api.homes_support import make_home, running_app

#: A quarter of an hour of history per site keeps each catch-up small.
SHORT = {"twin_backfill_days": 0.01}


def second_process(services: Services) -> TwinRunner:
    """Another process's runner on the same database and clock."""
    return TwinRunner(services.db, services.clock, backfill_days=0.01)


async def lease_of(services: Services, site_id: str) -> TwinStateRow | None:
    async with services.db.read() as session:
        return await session.get(TwinStateRow, site_id)


async def test_two_runners_share_the_sites_and_one_takes_over_when_the_other_stops(
    settings: Settings,
) -> None:
    async with running_app(settings.model_copy(update=SHORT)) as (_, gs):
        home = await make_home(gs, templates=("hybrid_home", "pv_only", "battery_retrofit") * 2)
        sites = sorted(site.site_id for site in home.sites)
        one, two = gs.services.twin, second_process(gs.services)
        assert await one.claim() == sites, "alone: twins started and every site leased"
        second = await two.claim()
        assert len(second) == 3, "a newcomer takes its fair share at once"
        first = await one.claim()
        assert sorted(first + second) == sites and not set(first) & set(second)
        began = floor_minute(gs.services.clock.now())
        assert await one.advance_held() > 0 and await two.advance_held() > 0
        for site in sites:
            row = await lease_of(gs.services, site)
            assert row is not None and row.sim_minute >= began, "each caught up what it holds"
        await two.release()
        assert await one.claim() == sites
        assert len(await two.claim()) == 3, "and back for its share on its next round"


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


# -- the sharing rule ------------------------------------------------------------------------

T = datetime(2026, 1, 1, tzinfo=UTC)
LATER = T + timedelta(seconds=60)


def leases(owners: str) -> list[Lease]:
    """One lease per character: `a`/`b`/`c` held (live), `x` expired (by `a`), `.` free."""
    out = []
    for i, who in enumerate(owners):
        site = f"s{i:02d}"
        if who == ".":
            out.append(Lease(site, None, None))
        elif who == "x":
            out.append(Lease(site, "a", T - timedelta(seconds=1)))
        else:
            out.append(Lease(site, who, LATER))
    return out


def test_alone_a_runner_takes_every_free_and_expired_site() -> None:
    plan = plan_leases(leases("..x."), "a", T)
    assert plan.take_free == ["s00", "s01", "s02", "s03"] and not plan.take_from


def test_a_newcomer_takes_the_excess_of_the_holder() -> None:
    plan = plan_leases(leases("aaaaa"), "b", T)
    assert plan.keep == [] and plan.take_free == []
    assert plan.take_from == {"a": ["s03", "s04"]}, "a keeps its share of 3, b gets 2"


def test_free_sites_go_first_and_nobody_is_left_below_its_share() -> None:
    plan = plan_leases(leases("aaab.bb"), "c", T)  # share: ceil(7 / 3) = 3
    assert plan.take_free == ["s04"] and plan.take_from == {}, "a and b are at their share"
    assert plan_leases(leases("aaaab.b"), "c", T).take_from == {"a": ["s03"]}


def test_a_runner_at_its_share_keeps_it_and_takes_nothing() -> None:
    plan = plan_leases(leases("aabb"), "a", T)
    assert plan.keep == ["s00", "s01"] and plan.take_free == [] and plan.take_from == {}
