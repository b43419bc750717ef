"""Property tests, end to end: for random seeds, templates, history windows and plans (mode,
weekly schedule, overlay, set through the API), the twin is advanced by the runner, and the
stored data read back through the telemetry API must, at every minute:

* balance: grid = consumption + battery + pv (to the API's rounding), each inverter shows the
  flows it carries, a meter agrees with the derived grid stream;
* keep the pack's SoC inside its window and the battery (and hybrid inverter) inside their
  power limits;
* keep lifetime counters monotonic, each minute adding that minute's energy;
* obey the controls: an overlay `idle` holds the battery at 0 W, a `setpoint` is met exactly
  when nothing physical stands in the way and is never exceeded or reversed, `charge` only
  charges; schedule intents likewise; `simple` never charges from nor discharges to the grid;

and every bucket of a random resolution is the mean of its stored raw samples, `latest` its
last one. Examples: `GRIDSHARE_PROPERTY_EXAMPLES` (default 12) per backend.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.fleet.twin_adapter import to_twin_site
from gridshare.homes.devices import DeviceKind, InverterProperties, InverterTopology
from gridshare.homes.plans import PowerLimits, power_limits
from gridshare.homes.sites import Site
from gridshare.homes.templates import build_site
from gridshare.homes.topology import SensorRole
from gridshare.twin.timebase import floor_minute, from_minute
from tests.api.telemetry_support import (
    ENERGY_HALF_ULP,
    POWER_HALF_ULP,
    RESOLUTION_SECONDS,
    Account,
    TwinHome,
    account,
    column,
    entries,
    epoch,
    exact_mean_w,
    iso,
    stamps,
    stored_samples,
    twin_home,
    utc,
)
from tests.support import TestServices

NOW = utc("2026-06-15T12:00:00Z")  # 05:00 in Los Angeles, 13:00 in London, 14:00 in Berlin
HALF = POWER_HALF_ULP + 1e-9
WEEK = 10_080
TEMPLATES = ("hybrid_home", "battery_retrofit", "pv_only")
EXAMPLES = int(os.environ.get("GRIDSHARE_PROPERTY_EXAMPLES", "12"))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Each example reads every sensor: lift the per-token rate limit (600 calls a minute)."""
    return settings.model_copy(update={"api_rate_per_minute": 1_000_000})


@pytest.fixture
def clock() -> Clock:
    pinned = Clock()
    pinned.offset_seconds = NOW.timestamp() - time.time()
    return pinned


def _reference(template: str) -> Site:
    return build_site(template, "reference", random.Random(0))


def _battery_limits(template: str) -> PowerLimits | None:
    site = _reference(template)
    pack = next((d for d in site.devices if d.kind is DeviceKind.BATTERY_PACK), None)
    return power_limits(site, pack) if pack is not None else None


# -- what hypothesis draws -----------------------------------------------------------------------


@dataclass
class Scenario:
    template: str
    seed: int
    before: int  # minutes of history before "now"
    after: int  # minutes simulated after "now"
    mode: str = "simple"
    schedule: list[dict[str, Any]] | None = None
    overlay: list[dict[str, Any]] = field(default_factory=list)
    overlay_offset: int = 0  # minutes after "now"
    other_modes: dict[str, str] = field(default_factory=dict)
    resolution: str = "PT15M"


def _intent(draw: st.DrawFn, limits: PowerLimits) -> dict[str, Any]:
    kind = draw(st.sampled_from(["idle", "charge", "discharge", "balance"]))
    lo = draw(st.integers(0, 100))
    hi = draw(st.integers(lo, 100))
    intent: dict[str, Any] = {"kind": kind, "socMin": lo, "socMax": hi}
    if kind == "charge" and draw(st.booleans()):
        intent["powerW"] = draw(st.integers(1, limits.max_into_W))
    if kind == "discharge" and draw(st.booleans()):
        intent["powerW"] = -draw(st.integers(1, limits.max_out_of_W))
    return intent


def _command(draw: st.DrawFn, limits: PowerLimits) -> dict[str, Any]:
    kind = draw(st.sampled_from(["setpoint", "charge", "idle"]))
    command: dict[str, Any] = {"type": kind, "durationMinutes": draw(st.integers(1, 180))}
    if kind == "setpoint":
        command["powerW"] = draw(st.integers(-limits.max_out_of_W, limits.max_into_W))
    elif kind == "charge" and draw(st.booleans()):
        command["powerW"] = draw(st.integers(1, limits.max_into_W))
    return command


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    # the full home most often: it has every role and every control
    template = draw(st.sampled_from(TEMPLATES[:1] * 3 + TEMPLATES[1:]))
    scenario = Scenario(
        template=template,
        seed=draw(st.integers(0, 2**31 - 1)),
        before=draw(st.integers(1, 14 * 60)),
        after=draw(st.integers(1, 10 * 60)),
        resolution=draw(st.sampled_from(["PT5M", "PT15M", "PT30M", "PT1H", "P1D"])),
    )
    limits = _battery_limits(template)
    if limits is None:
        return scenario
    scenario.mode = draw(st.sampled_from(["simple", "schedule", "smart"]))
    if scenario.mode == "schedule" or draw(st.booleans()):
        cuts = sorted(draw(st.sets(st.integers(1, WEEK - 1), max_size=3)))
        edges = [0, *cuts, WEEK]
        scenario.schedule = [
            {"durationMinutes": b - a, "intent": _intent(draw, limits)}
            for a, b in itertools.pairwise(edges)
        ]
    if draw(st.booleans()):
        count = draw(st.integers(1, 3))
        scenario.overlay = [_command(draw, limits) for _ in range(count)]
        scenario.overlay_offset = draw(st.integers(1, max(1, scenario.after)))
    if template == "hybrid_home":
        for kind in ("EV", "load_control_relay"):
            scenario.other_modes[kind] = draw(st.sampled_from(["simple", "smart"]))
    return scenario


# -- the property --------------------------------------------------------------------------------


@pytest.fixture
async def owner(gs: TestServices) -> Account:
    """One homeowner for every example (sign-ins are rate limited per address)."""
    return await account(gs)


@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
async def test_stored_telemetry_obeys_physics_and_controls(
    gs: TestServices, owner: Account, scenario: Scenario
) -> None:
    base = from_minute(floor_minute(gs.services.clock.now()))
    first, until = (
        base - timedelta(minutes=scenario.before),
        base + timedelta(minutes=scenario.after),
    )
    # Exporting grid-charged energy allowed: here a set point must be met exactly whatever the
    # market's rule (that rule has its own test, test_twin_market_rules.py).
    home = await twin_home(
        gs, seed=scenario.seed, template=scenario.template, of=owner, battery_grid_export=True
    )
    await set_controls(gs, home, scenario, base)
    await gs.services.twin.start_site(home.site.site_id, history_start=first)
    await gs.services.twin.advance(home.site.site_id, until=until)
    minutes = scenario.before + scenario.after

    interval = f"{iso(first)}/{iso(until)}"
    series = {}
    for sensor in home.sensors:
        got = await entries(
            gs.http, home.headers, sensor, interval=interval, resolution="PT1M", include="energy"
        )
        assert len(got) == minutes, sensor
        series[sensor] = got
    ts = np.arange(epoch(first), epoch(until), 60)
    for got in series.values():
        assert np.array_equal(stamps(got), ts)

    flows = role_powers(home, series)
    check_balance(home, series, flows)
    check_battery(home, scenario, series, flows, ts, base)
    check_counters(series)
    await check_buckets(gs, home, scenario, interval)


async def set_controls(
    gs: TestServices, home: TwinHome, scenario: Scenario, base: datetime
) -> None:
    async def put(path: str, body: Any, status: int) -> None:
        response = await gs.http.put(path, json=body, headers=home.headers)
        assert response.status_code == status, (path, body, response.text)

    if scenario.template == "pv_only":
        return
    device = f"/api/v2/devices/{home.device('battery_pack')}"
    if scenario.schedule is not None:
        await put(f"{device}/plans/schedule", {"slots": scenario.schedule}, 204)
    await put(f"{device}/operationMode", {"mode": scenario.mode}, 200)
    if scenario.overlay:
        start = base + timedelta(minutes=scenario.overlay_offset)
        body = {"startTime": iso(start), "commands": scenario.overlay}
        await put(f"{device}/plans/overlay", body, 204)
    for kind, mode in scenario.other_modes.items():
        await put(f"/api/v2/devices/{home.device(kind)}/operationMode", {"mode": mode}, 200)


def role_powers(home: TwinHome, series: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Power per role (the first sensor of each), zeros where the site has no such role."""
    n = len(next(iter(series.values())))
    out: dict[str, Any] = {}
    for role in ("grid", "consumption", "battery", "pv"):
        sensor = next((s for s, i in home.sensors.items() if i.role.value == role), None)
        out[role] = column(series[sensor], "power_W") if sensor else np.zeros(n)
    return out


def check_balance(
    home: TwinHome, series: dict[str, list[dict[str, Any]]], flows: dict[str, Any]
) -> None:
    grid, battery, pv = flows["grid"], flows["battery"], flows["pv"]
    assert np.all(np.abs(grid - (flows["consumption"] + battery + pv)) <= 4 * HALF)
    assert np.all(flows["consumption"] >= 0) and np.all(pv <= 0)
    for sensor, info in home.sensors.items():
        power = column(series[sensor], "power_W")
        if info.role is SensorRole.GRID:
            assert np.array_equal(power, grid)
        if info.role is SensorRole.INVERTER:
            device = home.site.device(info.device_id)
            assert device is not None and isinstance(device.properties, InverterProperties)
            topology = device.properties.topology
            carried = {
                InverterTopology.HYBRID: battery + pv,
                InverterTopology.AC_BATTERY: battery,
                InverterTopology.PV: pv,
            }[topology]
            assert np.all(np.abs(power - carried) <= 3 * HALF), topology


def check_battery(
    home: TwinHome,
    scenario: Scenario,
    series: dict[str, list[dict[str, Any]]],
    flows: dict[str, Any],
    ts: Any,
    base: datetime,
) -> None:
    if scenario.template == "pv_only":
        return
    twin = to_twin_site(home.site, scenario.seed)
    blocks = twin.battery_blocks
    capacity = sum(b.capacity_wh for b in blocks)
    soc_min = sum(b.capacity_wh * b.soc_min_pct for b in blocks) / capacity
    soc_max = sum(b.capacity_wh * b.soc_max_pct for b in blocks) / capacity
    max_in, max_out = sum(b.max_charge_w for b in blocks), sum(b.max_discharge_w for b in blocks)
    rating = twin.inverter_rated_w
    hybrid = scenario.template == "hybrid_home"

    battery, pv, grid = flows["battery"], flows["pv"], flows["grid"]
    soc = column(series[home.sensor("battery")], "soc_percent")
    assert np.all((soc >= soc_min - HALF) & (soc <= soc_max + HALF))
    assert np.all((battery <= max_in + HALF) & (battery >= -max_out - HALF))
    carried = battery + pv if hybrid else battery
    assert np.all(np.abs(carried) <= rating + 2 * HALF)

    # the SoC at the start of each minute (the previous sample's; the first minute's unknown)
    soc_before = np.concatenate(([math.nan], soc[:-1]))
    free = (soc_before >= soc_min + 6) & (soc_before <= soc_max - 6)
    covered = np.zeros(ts.size, dtype=bool)
    start = epoch(base) + 60 * scenario.overlay_offset
    for command in scenario.overlay:
        end = start + 60 * command["durationMinutes"]
        window = (ts >= start) & (ts < end)
        covered |= window
        b = battery[window]
        if command["type"] == "idle":
            assert np.all(b == 0.0), command
        elif command["type"] == "setpoint":
            target = float(command["powerW"])
            assert np.all(b * np.sign(target) >= -HALF) and np.all(np.abs(b) <= abs(target) + HALF)
            room = target + pv[window] if hybrid else np.full(b.size, target)
            exact = free[window] & (np.abs(room) <= rating - 1)
            assert np.all(b[exact] == target), command
        else:  # charge
            assert np.all(b >= 0.0)
            if "powerW" in command:
                assert np.all(b <= command["powerW"] + HALF)
        start = end

    rest = ~covered
    if scenario.mode == "simple":
        check_self_consumption(battery[rest], grid[rest])
    elif scenario.mode == "schedule":
        assert scenario.schedule is not None
        intents = schedule_intents(scenario.schedule, ts, home.site.time_zone)
        for i in np.flatnonzero(rest):
            intent = intents[i]
            b = battery[i]
            if intent["kind"] == "idle":
                assert b == 0.0, intent
            elif intent["kind"] == "charge":
                assert -HALF <= b <= intent.get("powerW", max_in) + HALF, intent
            elif intent["kind"] == "discharge":
                assert -abs(intent.get("powerW", max_out)) - HALF <= b <= HALF, intent
            else:
                check_self_consumption(battery[i : i + 1], grid[i : i + 1])


def check_self_consumption(battery: Any, grid: Any) -> None:
    """Charging only from surplus (no import while charging), discharging only for the home
    (no export while discharging)."""
    assert np.all(grid[battery > HALF] <= 3 * HALF)
    assert np.all(grid[battery < -HALF] >= -3 * HALF)


def schedule_intents(slots: list[dict[str, Any]], ts: Any, zone: str) -> list[dict[str, Any]]:
    """The slot in force at each minute: by site-local minute of the week from Monday 00:00."""
    tz = ZoneInfo(zone)
    ends = np.cumsum([s["durationMinutes"] for s in slots])
    out = []
    for t in ts.tolist():
        local = datetime.fromtimestamp(t, tz)
        minute = local.weekday() * 1440 + local.hour * 60 + local.minute
        out.append(slots[int(np.searchsorted(ends, minute, side="right"))]["intent"])
    return out


def check_counters(series: dict[str, list[dict[str, Any]]]) -> None:
    for sensor, got in series.items():
        power = column(got, "power_W")
        for key, sign, part in (
            ("energy_Wh_increment", 1, np.maximum),
            ("energy_Wh_decrement", -1, np.minimum),
        ):
            values = column(got, key)
            if np.isnan(values).all():
                continue
            assert not np.isnan(values).any(), (sensor, key)
            assert np.all(sign * values >= 0) and np.all(sign * np.diff(values) >= 0), sensor
            step = np.diff(values) - part(power[1:], 0) / 60
            assert np.all(np.abs(step) <= 2 * ENERGY_HALF_ULP + HALF / 60 + 1e-9), sensor


async def check_buckets(
    gs: TestServices, home: TwinHome, scenario: Scenario, interval: str
) -> None:
    sensor = home.sensor("battery") if scenario.template != "pv_only" else home.sensor("pv")
    stored = await stored_samples(gs.services.db, sensor)
    for aggregation in ("default", "latest"):
        got = await entries(
            gs.http,
            home.headers,
            sensor,
            interval=interval,
            resolution=scenario.resolution,
            aggregation=aggregation,
            include="energy",
        )
        starts = stamps(got).tolist()
        ends = [*starts[1:], int(stored.ts[-1]) + 60]
        assert sum(len(stored.between(a, b)) for a, b in zip(starts, ends, strict=True)) == len(
            stored
        )
        step = RESOLUTION_SECONDS.get(scenario.resolution)
        for entry, a, b in zip(got, starts, ends, strict=True):
            part = stored.between(a, b)
            assert len(part) > 0
            if step is not None:
                assert a % step == 0 and b - a <= step
            if aggregation == "latest":
                assert abs(entry["power_W"] - int(part.power_mw[-1]) / 1000) <= HALF
            else:
                assert abs(entry["power_W"] - float(exact_mean_w(part.power_mw))) <= HALF
            assert entry.get("state") == part.state_word(len(part) - 1)
            dec = part.dec[-1]
            assert (
                math.isnan(dec) or abs(entry["energy_Wh_decrement"] - dec) <= ENERGY_HALF_ULP + 1e-9
            )
