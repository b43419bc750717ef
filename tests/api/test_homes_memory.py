"""What each process's memory of a homeowner's sites and devices may and may not do
(`gridshare.fleet.homes_memory`): a write is seen at once by the process that made it and by
every process sharing Redis; any other process sees it within `homes_cache_seconds`.

Two app instances on one database stand for two server processes.
"""

from __future__ import annotations

from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.fleet.provisioning import provision_sites
from gridshare.fleet.service import Caller
from gridshare.homes.devices import DeviceKind
from tests.api.homes_support import Home, make_home, running_app
from tests.support import TestServices, require_redis

#: Long enough that the calls of a test never outlast it on a slow machine; tests move the clock.
WINDOW = 30.0
NEW_NAME = "Garage battery"


def _windowed(settings: Settings, **extra: object) -> Settings:
    return settings.model_copy(update={"homes_cache_seconds": WINDOW, **extra})


def _battery(home: Home) -> str:
    return next(d.synth_id for d in home.sites[0].devices if d.kind == DeviceKind.BATTERY_PACK)


async def _names(gs: TestServices, home: Home) -> set[str]:
    """The device names of the homeowner's first site as the process's homes service answers
    them (no route shows a renamed device through the memory; the service is the reader)."""
    caller = Caller(user_id=home.owner.sub, client_id=home.partner.client_id, scopes=frozenset())
    stored = await gs.services.homes.site(caller, home.sites[0].site_id)
    return {d.name for d in stored.site.devices if d.name is not None}


async def _rename(gs: TestServices, home: Home) -> None:
    response = await gs.http.patch(
        f"/api/v2/devices/{_battery(home)}", json={"name": NEW_NAME}, headers=home.headers
    )
    assert response.status_code == 200, response.text


async def _device_ids(gs: TestServices, home: Home) -> list[str]:
    response = await gs.http.get("/api/v2/devices", headers=home.headers)
    assert response.status_code == 200, response.text
    return [e["synthId"] for e in response.json()["entries"]]


async def _add_site(gs: TestServices, home: Home) -> set[str]:
    """A second site for the homeowner, announced through `gs`' memory; its device ids."""
    [site] = await provision_sites(
        gs.services.db,
        gs.services.clock,
        home.owner.sub,
        "pv_only",
        memory=gs.services.homes.memory,
    )
    return {d.synth_id for d in site.devices}


async def test_the_writing_process_sees_its_rename_at_once(settings: Settings) -> None:
    async with running_app(_windowed(settings)) as (_, gs):
        home = await make_home(gs)
        assert NEW_NAME not in await _names(gs, home)  # now remembered
        await _rename(gs, home)
        assert NEW_NAME in await _names(gs, home)


async def test_processes_sharing_redis_see_a_rename_at_once(settings: Settings) -> None:
    shared = _windowed(settings, redis_url=await require_redis())
    async with running_app(shared, Clock(), client="203.0.113.41") as (_, one):
        home = await make_home(one)
        async with running_app(shared, Clock(), client="203.0.113.42") as (_, two):
            assert NEW_NAME not in await _names(two, home)
            await _rename(one, home)
            assert NEW_NAME in await _names(two, home)


async def test_processes_sharing_redis_see_a_new_site_at_once(settings: Settings) -> None:
    shared = _windowed(settings, redis_url=await require_redis())
    async with running_app(shared, Clock(), client="203.0.113.43") as (_, one):
        home = await make_home(one)
        async with running_app(shared, Clock(), client="203.0.113.44") as (_, two):
            before = set(await _device_ids(two, home))
            added = await _add_site(one, home)
            assert set(await _device_ids(two, home)) == before | added


async def test_another_process_sees_a_rename_within_the_window(settings: Settings) -> None:
    """Without Redis, a process that did not make the write may answer from its memory for at
    most the window, then asks the database again."""
    other_clock = Clock()
    async with running_app(_windowed(settings)) as (_, one):
        home = await make_home(one)
        async with running_app(_windowed(settings), other_clock) as (_, two):
            assert NEW_NAME not in await _names(two, home)
            await _rename(one, home)
            assert NEW_NAME in await _names(one, home)
            assert NEW_NAME not in await _names(two, home), "within the window the memory answers"
            other_clock.advance(WINDOW)
            assert NEW_NAME in await _names(two, home)


async def test_no_memory_when_the_window_is_zero(settings: Settings) -> None:
    forgetful = settings.model_copy(update={"homes_cache_seconds": 0})
    async with running_app(forgetful) as (_, one):
        home = await make_home(one)
        async with running_app(forgetful) as (_, two):
            assert NEW_NAME not in await _names(two, home)
            await _rename(one, home)
            assert NEW_NAME in await _names(two, home)


async def test_sites_provisioned_in_the_process_are_seen_at_once(gs: TestServices) -> None:
    """Provisioning that names no memory (tools, tests) still empties this process's."""
    home = await make_home(gs)
    before = set(await _device_ids(gs, home))
    [site] = await provision_sites(gs.services.db, gs.services.clock, home.owner.sub, "pv_only")
    assert set(await _device_ids(gs, home)) == before | {d.synth_id for d in site.devices}
