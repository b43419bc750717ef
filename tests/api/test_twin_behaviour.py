"""The twin obeys the controls a partner sets through the API, as seen in the telemetry API.

The clock is pinned near NOW = 2026-06-15T08:00Z (01:00 in the site's Los Angeles: night, no
sun), the twin's history starts before it, and the tests advance the twin themselves (the
background loop is off in tests), exactly as the live loop would: one `advance` per step.

* an overlay `setpoint` discharge shows exactly its power (negative) in its window, the home
  exports what it does not use, and the mode's self-consumption resumes after it;
* a mode or plan set through the API shows at the very next one-minute step, for every kind of
  change (schedule charge, an overlay idle, deleting it, back to simple, smart, the EV);
* daily buckets on DST days are 23 and 25 hours long (Los Angeles and London), and each holds
  exactly the samples of its local day.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gridshare.clock import Clock
from gridshare.fleet.service import Caller
from gridshare.fleet.twin_adapter import to_batches, to_site_control, to_twin_site
from gridshare.storage.models import TwinStateRow
from gridshare.twin import TwinState, simulate
from gridshare.twin.timebase import from_minute
from tests.api.telemetry_support import (
    ENERGY_HALF_ULP,
    POWER_HALF_ULP,
    TwinHome,
    column,
    entries,
    epoch,
    exact_mean_w,
    iso,
    stamps,
    stored_samples,
    telemetry,
    twin_home,
    utc,
)
from tests.support import TestServices

NOW = utc("2026-06-15T08:00:00Z")
HALF = POWER_HALF_ULP + 1e-9
WEEK = 10_080


@pytest.fixture
def clock() -> Clock:
    """The app's clock, pinned to NOW when the test starts (it keeps running)."""
    pinned = Clock()
    pinned.offset_seconds = NOW.timestamp() - time.time()
    return pinned


async def minutes(
    gs: TestServices, home: TwinHome, sensor: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    return await entries(
        gs.http, home.headers, sensor, interval=f"{iso(start)}/{iso(end)}", resolution="PT1M"
    )


async def put(gs: TestServices, home: TwinHome, path: str, body: Any, status: int) -> None:
    response = await gs.http.put(path, json=body, headers=home.headers)
    assert response.status_code == status, response.text


def schedule(intent: dict[str, Any]) -> dict[str, Any]:
    return {"slots": [{"durationMinutes": WEEK, "intent": intent}]}


async def test_overlay_setpoint_discharges_in_its_window_then_the_mode_resumes(
    gs: TestServices,
) -> None:
    # The partner's set point exports what the home does not use: the battery's energy is
    # counted as grid energy (its origin unknown), which California's rule would keep home.
    home = await twin_home(
        gs, seed=31, history_start=NOW - timedelta(hours=2), until=NOW, battery_grid_export=True
    )
    battery_id = home.device("battery_pack")
    start = NOW + timedelta(minutes=10)
    plan = {
        "startTime": iso(start),
        "commands": [{"type": "setpoint", "durationMinutes": 30, "powerW": -3000}],
    }
    await put(gs, home, f"/api/v2/devices/{battery_id}/plans/overlay", plan, 204)
    end = NOW + timedelta(hours=2)
    await gs.services.twin.advance(home.site.site_id, until=end)

    first = NOW - timedelta(hours=2)
    battery = await minutes(gs, home, home.sensor("battery"), first, end)
    grid = column(await minutes(gs, home, home.sensor("grid"), first, end), "power_W")
    home_w = column(await minutes(gs, home, home.sensor("consumption"), first, end), "power_W")
    ts, power, soc = stamps(battery), column(battery, "power_W"), column(battery, "soc_percent")
    assert ts.size == 240
    window = (ts >= epoch(start)) & (ts < epoch(start) + 30 * 60)
    assert window.sum() == 30

    # in the window: exactly the set point, discharging, and the surplus goes to the grid
    assert np.all(power[window] == -3000.0)
    assert {battery[i]["state"] for i in np.flatnonzero(window)} == {"discharging"}
    assert np.all(np.abs(grid[window] - (home_w[window] - 3000.0)) <= 3 * HALF)
    assert (grid[window] < -100).any()  # the night-time home uses less than 3 kW: export
    # the SoC fell by the energy delivered (3 kW for 30 min through sqrt(0.9)) = 1.58 kWh
    before, after = np.flatnonzero(window)[0] - 1, np.flatnonzero(window)[-1]
    assert abs((soc[before] - soc[after]) / 100 * 20_000 - 1500 / 0.9**0.5) <= 25

    # outside it (before and after): the `simple` mode, self-consumption at night — the
    # battery covers the home (the hybrid inverter's 7.6 kW permitting) and never exports
    outside = ~window
    assert np.all(power[outside] <= 0)
    assert np.all(grid[outside] >= -3 * HALF)
    covered = outside & (home_w < 7_000) & (soc > 6)
    assert covered[np.flatnonzero(window)[-1] + 1 :].sum() > 60  # the mode really resumed
    assert np.all(np.abs(power[covered] + home_w[covered]) <= 2 * HALF)

    # the window's whole quarter hours read -3 kW at PT15M as well
    quarter = await entries(
        gs.http,
        home.headers,
        home.sensor("battery"),
        interval=f"{iso(start)}/PT30M",
        resolution="PT15M",
    )
    by_start = {e["timestamp"]: e["power_W"] for e in quarter}
    assert by_start[iso(NOW + timedelta(minutes=15))] == -3000.0


async def step(gs: TestServices, home: TwinHome, at: datetime) -> dict[str, Any]:
    """Advance the twin by one minute from `at`; that minute's power of each role."""
    assert await gs.services.twin.advance(home.site.site_id, until=at + timedelta(minutes=1))
    out = {}
    for role in ("battery", "consumption", "grid", "ev"):
        got = await minutes(gs, home, home.sensor(role), at, at + timedelta(minutes=1))
        assert len(got) == 1 and got[0]["timestamp"] == iso(at)
        out[role] = got[0]["power_W"]
        if role == "battery":
            out["state"] = got[0]["state"]
    return out


async def test_each_change_shows_at_the_next_step(gs: TestServices) -> None:
    # A schedule's discharge may export (see above): allow it for this home.
    home = await twin_home(
        gs, seed=32, history_start=NOW - timedelta(hours=1), until=NOW, battery_grid_export=True
    )
    battery_id = home.device("battery_pack")
    device = f"/api/v2/devices/{battery_id}"
    t = NOW
    simple = await step(gs, home, t)  # night, simple: the battery covers the home
    assert simple["battery"] < 0 and abs(simple["battery"] + simple["consumption"]) <= 2 * HALF

    # a schedule that charges at 2 kW, then the mode that follows it
    charge = {"kind": "charge", "socMin": 10, "socMax": 90, "powerW": 2000}
    await put(gs, home, f"{device}/plans/schedule", schedule(charge), 204)
    t += timedelta(minutes=1)
    assert (await step(gs, home, t))["battery"] < 0  # a stored schedule alone changes nothing
    await put(gs, home, f"{device}/operationMode", {"mode": "schedule"}, 200)
    t += timedelta(minutes=1)
    now = await step(gs, home, t)
    assert now["battery"] == 2000.0 and now["state"] == "charging"
    assert abs(now["grid"] - (now["consumption"] + 2000.0)) <= 3 * HALF  # from the grid

    # an overlay `idle` from the next minute overrides the schedule...
    overlay = {
        "startTime": iso(t + timedelta(minutes=1)),
        "commands": [{"type": "idle", "durationMinutes": 30}],
    }
    await put(gs, home, f"{device}/plans/overlay", overlay, 204)
    t += timedelta(minutes=1)
    now = await step(gs, home, t)
    assert now["battery"] == 0.0 and now["state"] == "idle"
    # ...and deleting it hands back to the schedule at once
    await put(gs, home, f"{device}/plans/overlay", {"commands": []}, 204)
    t += timedelta(minutes=1)
    assert (await step(gs, home, t))["battery"] == 2000.0

    # the schedule's intent changed in place: discharge at 1.5 kW
    discharge = {"kind": "discharge", "socMin": 10, "socMax": 90, "powerW": -1500}
    await put(gs, home, f"{device}/plans/schedule", schedule(discharge), 204)
    t += timedelta(minutes=1)
    now = await step(gs, home, t)
    assert now["battery"] == -1500.0 and now["state"] == "discharging"

    # back to simple, through the inverter's id (it shares the battery's mode)
    await put(
        gs,
        home,
        f"/api/v2/devices/{home.device('inverter')}/operationMode",
        {"mode": "SIMPLE"},
        200,
    )
    t += timedelta(minutes=1)
    now = await step(gs, home, t)
    assert abs(now["battery"] + now["consumption"]) <= 2 * HALF

    # smart: whatever it decides, the stored minute is the twin's answer for the new controls
    await put(gs, home, f"{device}/operationMode", {"mode": "smart"}, 200)
    t += timedelta(minutes=1)
    expected = await counterfactual(gs, home)
    now = await step(gs, home, t)
    await assert_stored_minute(gs, home, "battery", expected)
    assert now["battery"] != 0.0  # at 01:00 on off-peak import, smart does something

    # the EV charger too: an overlay `charge` at 7 kW from the next minute
    ev = home.device("EV")
    overlay = {
        "startTime": iso(t + timedelta(minutes=1)),
        "commands": [{"type": "charge", "durationMinutes": 10, "powerW": 7000}],
    }
    await put(gs, home, f"/api/v2/devices/{ev}/plans/overlay", overlay, 204)
    t += timedelta(minutes=1)
    expected = await counterfactual(gs, home)
    now = await step(gs, home, t)
    await assert_stored_minute(gs, home, "ev", expected)
    assert now["ev"] in (0.0, 7000.0)  # 7 kW if a car is plugged in and wants energy


async def assert_stored_minute(
    gs: TestServices, home: TwinHome, role: str, expected: dict[str, Any]
) -> None:
    sensor = home.sensor(role)
    stored = await stored_samples(gs.services.db, sensor)
    assert int(stored.ts[-1]) == int(expected[sensor].ts[0])
    assert int(stored.power_mw[-1]) == int(expected[sensor].power_mw[0])


async def counterfactual(gs: TestServices, home: TwinHome) -> dict[str, Any]:
    """The batches the twin computes for the next minute from the stored state and the
    controls stored now: what the runner must write at its next step."""
    async with gs.services.db.read() as session:
        row = await session.get(TwinStateRow, home.site.site_id)
    assert row is not None
    stored, stored_controls = await gs.services.homes.site_and_controls(
        Caller(home.owner.sub, home.partner.client_id), home.site.site_id
    )
    twin = to_twin_site(stored.site, stored.seed)
    state = dataclasses.replace(TwinState.from_dict(row.state), smart_plan=None)
    controls = to_site_control(stored.site, stored_controls)
    result = simulate(twin, state, from_minute(state.minute + 1), controls, gs.services.twin.config)
    return dict(to_batches(stored.site, twin, result))


# -- DST ---------------------------------------------------------------------------------------


def local_midnight(day: date, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))


@pytest.mark.parametrize(
    ("template", "zone", "day", "hours"),
    [
        ("hybrid_home", "America/Los_Angeles", date(2026, 3, 8), 23),
        ("hybrid_home", "America/Los_Angeles", date(2026, 11, 1), 25),
        ("battery_retrofit", "Europe/London", date(2026, 3, 29), 23),
        ("battery_retrofit", "Europe/London", date(2026, 10, 25), 25),
    ],
)
async def test_daily_buckets_on_dst_days(
    gs: TestServices, template: str, zone: str, day: date, hours: int
) -> None:
    first = local_midnight(day - timedelta(days=1), zone)
    last = local_midnight(day + timedelta(days=2), zone)
    home = await twin_home(gs, seed=33, template=template, history_start=first, until=last)
    assert home.site.time_zone == zone
    sensor = home.sensor("battery")
    stored = await stored_samples(gs.services.db, sensor)
    edges = [epoch(local_midnight(day + timedelta(days=d), zone)) for d in (-1, 0, 1, 2)]
    assert np.diff(edges).tolist() == [86_400, hours * 3600, 86_400]

    interval = f"{iso(first)}/{iso(last)}"
    for aggregation in ("default", "latest"):
        got = await entries(
            gs.http,
            home.headers,
            sensor,
            interval=interval,
            resolution="P1D",
            include="energy",
            aggregation=aggregation,
        )
        assert [e["timestamp"] for e in got] == [iso_at(e) for e in edges[:-1]]
        for entry, start, end in zip(got, edges[:-1], edges[1:], strict=True):
            part = stored.between(start, end)
            assert len(part) == (end - start) // 60  # 1,380 / 1,500 samples on the DST day
            if aggregation == "latest":
                assert entry["power_W"] == round(int(part.power_mw[-1]) / 1000, 1)
                assert abs(entry["energy_Wh_decrement"] - part.dec[-1]) <= ENERGY_HALF_ULP + 1e-9
            else:
                assert abs(float(exact_mean_w(part.power_mw)) - entry["power_W"]) <= HALF
                assert abs(float(np.mean(part.soc_mpct)) / 1000 - entry["soc_percent"]) <= HALF

    # the DST day alone, written with its local offsets: one bucket
    one_day = (
        f"{local_midnight(day, zone).isoformat()}/"
        f"{local_midnight(day + timedelta(days=1), zone).isoformat()}"
    )
    got = await entries(gs.http, home.headers, sensor, interval=one_day, resolution="P1D")
    assert [e["timestamp"] for e in got] == [iso_at(edges[1])]
    hourly = await entries(gs.http, home.headers, sensor, interval=one_day, resolution="PT1H")
    assert len(hourly) == hours
    # at P1D the interval's `P1D` is 24 exact hours: from local midnight it reaches the next day
    response = await telemetry(
        gs.http,
        home.headers,
        sensor,
        interval=f"{local_midnight(day, zone).isoformat()}/P1D",
        resolution="P1D",
    )
    assert len(response.json()["entries"]) == (1 if hours == 25 else 2)


def iso_at(seconds: int) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))
