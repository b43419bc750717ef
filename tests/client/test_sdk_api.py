"""Every SDK method against our server over a real socket (sync and async), single-flight
refresh under 20 concurrent callers, 429 handling with Retry-After, and the typed errors.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tests.client.conftest import Harness, profile_for
from tests.client.live import FakeClock, LiveServer, TokenRequests
from tests.live import Owner

from gridshare_client import (
    AsyncGridshareClient,
    BadRequest,
    InsufficientScope,
    LoginRequired,
    MemoryTokenStore,
    NotFound,
    OAuthError,
    OverlayCommand,
    OverlayPlan,
    RateLimited,
    RetryPolicy,
    SchedulePlan,
    TokenSet,
    Unauthorized,
    ValidationFailed,
)

pytestmark = pytest.mark.e2e

WEEK = [{"durationMinutes": 10080, "intent": {"kind": "balance", "socMin": 10, "socMax": 90}}]


def by_kind(client: object, devices: list[str]) -> dict[str, str]:
    from gridshare_client import GridshareClient

    assert isinstance(client, GridshareClient)
    return {str(client.get_device(d).kind): d for d in devices}


def test_every_endpoint(harness: Harness, live: LiveServer, owner: Owner) -> None:
    client = harness.client(live.partner())
    harness.login(client, owner)
    [site_id] = owner.sites

    # Sites (v2 and v1), one site, its topology compact and full.
    assert [s.site_id for s in client.list_sites()] == [site_id]
    assert [s.site_id for s in client.list_sites(version=1)] == [site_id]
    site = client.get_site(site_id)
    assert site.site_id == site_id and site.time_zone == "America/Los_Angeles"
    assert site.import_tariff_id == "us-ca-tou" and site.export_tariff_id == "us-ca-nbt"
    assert site.address is not None and site.address.city == "San Jose"
    topo = client.get_topology(site_id)
    assert topo.root.kind == "site" and topo.root.id == site_id
    battery_sensor = topo.battery_sensor()
    assert battery_sensor is not None and battery_sensor.id.endswith("__bb_agg")
    assert battery_sensor.max_capacity_j and battery_sensor.max_capacity_j > 0
    assert all(s.channels for s in topo.sensors())
    full = client.get_topology(site_id, compact=False)
    assert len(list(full.root.walk())) > len(list(topo.root.walk()))

    # Devices (v2 and v1), details, rename.
    ids = [d.synth_id for d in client.list_devices()]
    assert ids == [d.synth_id for d in client.list_devices(version=1)]
    kinds = by_kind(client, ids)
    assert {"inverter", "battery_pack", "PV", "meter", "EV", "load_control_relay"} <= set(kinds)
    battery = kinds["battery_pack"]
    detail = client.get_device(battery)
    assert detail.site_id == site_id and detail.serial_number and detail.manufacturer
    renamed = client.rename_device(battery, "Garage battery")
    assert renamed.name == "Garage battery" and client.get_device(battery).name == renamed.name

    # Operation mode, any case in, lower case out.
    assert client.set_operation_mode(battery, "SMART").mode == "smart"
    assert client.get_operation_mode(battery).mode == "smart"

    # Schedule plan: none, set, read back, then `schedule` mode is allowed; clear.
    assert client.get_schedule_plan(battery).slots == []
    client.set_schedule_plan(battery, WEEK)
    schedule = client.get_schedule_plan(battery)
    assert isinstance(schedule, SchedulePlan) and schedule.slots[0].duration_minutes == 10080
    assert schedule.slots[0].intent.kind == "balance" and schedule.slots[0].intent.soc_max == 90
    assert client.set_operation_mode(battery, "schedule").mode == "schedule"
    client.set_schedule_plan(battery, schedule)  # a model round-trips
    client.set_operation_mode(battery, "simple")
    client.clear_schedule_plan(battery)
    assert client.get_schedule_plan(battery).slots == []

    # Overlay plan: keyword form, model form, read back, clear.
    start = (datetime.now(UTC) + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    client.set_overlay_plan(
        battery,
        start_time=start,
        commands=[
            OverlayCommand(type="charge", duration_minutes=60, power_w=3000),
            {"type": "idle", "durationMinutes": 30},
        ],
    )
    plan = client.get_overlay_plan(battery)
    assert plan.start_time == start and [c.type for c in plan.commands] == ["charge", "idle"]
    assert plan.commands[0].power_w == 3000 and plan.end_time == start + timedelta(minutes=90)
    client.set_overlay_plan(
        battery,
        OverlayPlan(
            start_time=start,
            commands=[OverlayCommand(type="setpoint", duration_minutes=15, power_w=-2000)],
        ),
    )
    assert client.get_overlay_plan(battery).commands[0].power_w == -2000
    client.clear_overlay_plan(battery)
    assert client.get_overlay_plan(battery).commands == []


async def test_every_endpoint_async(
    harness: Harness, live: LiveServer, owner: Owner, sdk_clock: FakeClock
) -> None:
    partner = live.partner()
    sync = harness.client(partner)
    await asyncio.to_thread(harness.login, sync, owner)
    tokens = sync.auth.tokens
    assert tokens is not None
    async with AsyncGridshareClient(
        profile_for(live, partner),
        token_store=MemoryTokenStore(),
        tokens=tokens,
        clock=sdk_clock,
    ) as client:
        [site] = await client.list_sites()
        assert (await client.get_site(site.site_id)).time_zone == "America/Los_Angeles"
        topo = await client.get_topology(site.site_id, compact=False)
        assert topo.sensors()
        devices = await client.list_devices(version=1)
        details = [await client.get_device(d.synth_id) for d in devices]
        battery = next(d.synth_id for d in details if d.kind == "battery_pack")
        assert (await client.rename_device(battery, "Async battery")).name == "Async battery"
        assert (await client.set_operation_mode(battery, "smart")).mode == "smart"
        assert (await client.get_operation_mode(battery)).mode == "smart"
        await client.set_schedule_plan(battery, {"slots": WEEK})
        assert len((await client.get_schedule_plan(battery)).slots) == 1
        await client.clear_schedule_plan(battery)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        await client.set_overlay_plan(
            battery, start_time=start, commands=[{"type": "charge", "durationMinutes": 45}]
        )
        assert (await client.get_overlay_plan(battery)).commands[0].duration_minutes == 45
        await client.clear_overlay_plan(battery)
        assert (await client.get_overlay_plan(battery)).commands == []
        with pytest.raises(NotFound):
            await client.get_device("no-such-device")
        # Automatic refresh in the async client too.
        sdk_clock.advance(3600)
        assert await client.list_sites()
        refreshed = client.auth.tokens
        assert refreshed is not None and refreshed.access_token != tokens.access_token


def test_single_flight_refresh_under_20_threads(
    harness: Harness, live: LiveServer, owner: Owner
) -> None:
    client = harness.client(live.partner(access_token_ttl=300))
    harness.login(client, owner)
    assert harness.token_requests.count == 1
    harness.clock.advance(280)  # every caller now finds the token stale
    barrier = threading.Barrier(20)

    def work(_: int) -> int:
        barrier.wait()
        return len(client.list_sites())

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(work, range(20)))
    assert results == [1] * 20
    assert harness.token_requests.count == 2  # the login, then ONE refresh


async def test_single_flight_refresh_under_20_tasks(
    live: LiveServer, owner: Owner, harness: Harness, sdk_clock: FakeClock
) -> None:
    partner = live.partner(access_token_ttl=300, public=True)
    sync = harness.client(partner)
    await asyncio.to_thread(harness.login, sync, owner)
    assert sync.auth.tokens is not None
    counter = TokenRequests()
    http = httpx.AsyncClient(timeout=30, event_hooks={"request": [counter.async_hook]})
    client = AsyncGridshareClient(
        profile_for(live, partner),
        token_store=MemoryTokenStore(),
        tokens=sync.auth.tokens,
        http=http,
        clock=sdk_clock,
    )
    sdk_clock.advance(280)
    results = await asyncio.gather(*(client.list_sites() for _ in range(20)))
    assert all(len(r) == 1 for r in results)
    assert counter.count == 1
    await http.aclose()


def test_rate_limited_honours_retry_after(
    live_factory: Callable[..., LiveServer], sdk_clock: FakeClock
) -> None:
    live = live_factory(api_rate_per_minute=3)
    owner = live.owner()
    harness = Harness(live, sdk_clock, TokenRequests())
    sleeps: list[float] = []
    api_calls: list[str] = []

    client = harness.client(
        live.partner(), sleep=sleeps.append, retry=RetryPolicy(max_attempts=3, jitter=False)
    )
    client.http.event_hooks["request"].append(
        lambda r: api_calls.append(r.url.path) if r.url.path.startswith("/api/") else None
    )
    harness.login(client, owner)
    for _ in range(3):
        client.list_sites()
    with pytest.raises(RateLimited) as caught:
        client.list_sites()
    assert caught.value.status_code == 429 and caught.value.code == "rate_limited"
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 60
    assert len(api_calls) == 3 + 3  # three allowed, then three attempts of the fourth
    assert len(sleeps) == 2 and all(0 < s <= 60 for s in sleeps)  # the server's Retry-After

    # PATCH is retried on 429 too (the server did nothing), within the same budget.
    sleeps.clear()
    with pytest.raises(RateLimited):
        client.rename_device("whatever", "x")
    assert len(sleeps) == 2

    # A Retry-After beyond what the policy will wait: raised at once, no sleeping.
    impatient = harness.client(
        live.partner(), sleep=sleeps.append, retry=RetryPolicy(max_retry_after=0.5)
    )
    impatient.auth.set_tokens(client.auth.tokens or TokenSet(access_token="x"))
    sleeps.clear()
    with pytest.raises(RateLimited):
        impatient.list_sites()
    assert sleeps == []
    harness.close()


def test_typed_errors(harness: Harness, live: LiveServer, owner: Owner) -> None:
    partner = live.partner()
    client = harness.client(partner)
    harness.login(client, owner)
    devices = [d.synth_id for d in client.list_devices()]
    battery = by_kind(client, devices)["battery_pack"]
    pv = by_kind(client, devices)["PV"]

    with pytest.raises(NotFound) as not_found:
        client.get_device("not-a-device")
    assert not_found.value.status_code == 404 and not_found.value.code == "not_found"
    with pytest.raises(NotFound):
        client.get_site("not-a-site")
    # Someone else's device looks exactly like a missing one.
    stranger = live.owner()
    stranger_client = harness.client(partner, store=MemoryTokenStore())
    harness.login(stranger_client, stranger)
    with pytest.raises(NotFound):
        stranger_client.get_device(battery)

    with pytest.raises(ValidationFailed) as impossible:  # 422: schedule mode without a schedule
        client.set_operation_mode(battery, "schedule")
    assert impossible.value.status_code == 422
    with pytest.raises(ValidationFailed) as not_allowed:  # 422: a battery cannot heat water
        client.set_overlay_plan(
            battery,
            start_time=datetime.now(UTC) + timedelta(hours=1),
            commands=[{"type": "heatWater", "durationMinutes": 30}],
        )
    assert not_allowed.value.code == "command_not_allowed"
    with pytest.raises(NotFound):  # a PV inverter string has no plans at all
        client.get_overlay_plan(pv)
    with pytest.raises(BadRequest) as malformed:  # 400
        client.set_operation_mode(battery, "unknown")
    assert malformed.value.status_code == 400 and malformed.value.code

    # 403: a login without the plan scopes.
    reader = harness.client(partner, store=MemoryTokenStore())
    harness.login(reader, owner, scopes=["lunar/device.read"])
    assert reader.list_devices()
    with pytest.raises(InsufficientScope) as forbidden:
        reader.get_overlay_plan(battery)
    assert forbidden.value.status_code == 403 and forbidden.value.scope == "lunar/plan.read"
    with pytest.raises(InsufficientScope) as forbidden_write:
        reader.rename_device(battery, "nope")
    assert forbidden_write.value.scope == "lunar/device.write"

    # 401: a token the server does not accept and no way to refresh it.
    bogus = harness.client(partner, store=MemoryTokenStore())
    bogus.auth.set_tokens(TokenSet(access_token="not-a-jwt", expires_at=sdk_now() + 3600))
    with pytest.raises(LoginRequired) as login_required:
        bogus.list_sites()
    assert isinstance(login_required.value.__cause__, Unauthorized)

    # 401 that survives the refresh attempt: the partner's client was disabled.
    live.disable(partner.client_id)
    with pytest.raises(Unauthorized) as disabled:
        client.list_sites()
    assert disabled.value.status_code == 401
    assert isinstance(disabled.value.__cause__, OAuthError)  # the refresh was refused too


def test_401_refreshes_once_then_succeeds(harness: Harness, live: LiveServer, owner: Owner) -> None:
    """The server refuses a token the SDK thought fresh (e.g. clock skew): one refresh, retry."""
    client = harness.client(live.partner())
    harness.login(client, owner)
    tokens = client.auth.tokens
    assert tokens is not None
    client.auth.set_tokens(tokens.model_copy(update={"access_token": "expired.or.garbage"}))
    assert client.list_sites()
    assert harness.token_requests.count == 2


def sdk_now() -> float:
    return datetime.now(UTC).timestamp()
