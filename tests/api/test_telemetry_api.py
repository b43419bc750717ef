"""`GET /api/v{1,2}/devices/{synthId}/telemetry` end to end: a seeded home's twin simulates
27 hours, the runner stores them, and the API's answers are checked against the contract
(shared/reference/customer-api.md, docs/telemetry.md) and against the samples as stored.

What each group proves:

* interval forms, resolutions, `include`, `aggregation`, spellings: the grammar is served as
  documented, and equal requests get byte-identical answers;
* every bucket, at every resolution, is the exact mean (to the API's 0.1 rounding) of the raw
  samples stored in it, and `latest` is its last raw sample, also as read back at PT1M;
* the home adds up at every minute as read back at PT1M (grid = consumption + battery + pv,
  inverter = battery + pv, blocks and optimisers add up to their aggregate), SoC stays in the
  pack's window and moves with the battery's power, counters never run backwards;
* sensor fields and state words are those the topology declares;
* devices vs sensors on v1/v2, the 10,000-point limit, a clear 400 for each malformed
  parameter, 404 for another homeowner's sensor (before any parameter is looked at), and the
  `lunar/device.read` scope.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gridshare.homes.topology import ROLE_STATES, Channel, SensorRole, primary_sensor
from tests.api.telemetry_support import (
    ENERGY_HALF_ULP,
    POWER_HALF_ULP,
    RESOLUTION_SECONDS,
    Stored,
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

H0 = utc("2026-06-14T06:00:00Z")  # 23:00 the evening before, in the site's Los Angeles
H1 = H0 + timedelta(hours=27)
WHOLE = f"{iso(H0)}/{iso(H1)}"
RESOLUTIONS = ("PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "P1D")
ZONE = "America/Los_Angeles"  # the hybrid_home template's


@pytest.fixture
async def home(gs: TestServices) -> TwinHome:
    """A hybrid home whose twin has simulated [H0, H1)."""
    return await twin_home(gs, seed=4242, history_start=H0, until=H1)


@pytest.fixture
async def bare_home(gs: TestServices) -> TwinHome:
    """A hybrid home with no telemetry (for answers decided before any data is read)."""
    return await twin_home(gs, seed=99)


async def body_of(
    gs: TestServices, home: TwinHome, synth_id: str, version: int = 2, **params: str
) -> bytes:
    response = await telemetry(gs.http, home.headers, synth_id, version, **params)
    assert response.status_code == 200, response.text
    return response.content


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"message", "code"}, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"].strip()
    return body


# -- the grammar -------------------------------------------------------------------------------


async def test_interval_forms_answer_alike(gs: TestServices, home: TwinHome) -> None:
    battery = home.sensor("battery")
    reference = await body_of(gs, home, battery, interval=f"{iso(H0)}/{iso(H1)}")
    assert len(reference) > 100
    same = [
        (2, f"{iso(H0)}/PT27H"),
        (2, f"{iso(H0)}/P1DT3H"),
        (2, "2026-06-13T23:00:00-07:00/2026-06-15T02:00:00-07:00"),  # offsets, converted
        (2, "20260614T060000Z/20260615T090000Z"),  # basic format
        (1, f"{iso(H0)}/{iso(H1)}"),
        (1, f"{iso(H0)}/PT27H"),
        (1, f"PT27H/{iso(H1)}"),  # duration/end: v1 only
        (1, f"P1DT3H/{iso(H1)}"),
    ]
    for version, interval in same:
        got = await body_of(gs, home, battery, version, interval=interval)
        assert got == reference, (version, interval)


async def test_duration_end_is_refused_on_v2(gs: TestServices, home: TwinHome) -> None:
    response = await telemetry(
        gs.http, home.headers, home.sensor("battery"), interval=f"PT27H/{iso(H1)}"
    )
    body = assert_error(response, 400, "malformed_interval")
    assert "v1" in body["message"]


async def test_equal_spellings_answer_alike(gs: TestServices, home: TwinHome) -> None:
    battery = home.sensor("battery")

    async def get(**params: str) -> bytes:
        response = await telemetry(gs.http, home.headers, battery, 2, interval=WHOLE, **params)
        assert response.status_code == 200, response.text
        return response.content

    hourly = await get(resolution="PT1H")
    for spelling in ("PT60M", "pt1h", "PT3600S", "PT1.0H"):
        assert await get(resolution=spelling) == hourly, spelling
    daily = await get(resolution="P1D")
    assert await get(resolution="PT24H") == daily
    assert await get(resolution="PT1440M") == daily
    quarter = await get(resolution="PT15M")
    assert await get() == quarter  # the default resolution
    assert await get(resolution="") == quarter  # empty = absent
    assert await get(include="default") == quarter
    assert await get(aggregation="default") == await get(aggregation="mean") == quarter
    assert await get(aggregation="latest") == await get(aggregation="LAST")
    assert await get(aggregation="latest") != quarter
    energy = await get(include="default,energy")
    assert await get(include="energy") == energy
    assert await get(include=" Energy , default ,") == energy
    assert energy != quarter


async def test_include_energy_adds_the_counters(gs: TestServices, home: TwinHome) -> None:
    battery = home.sensor("battery")
    plain = await entries(gs.http, home.headers, battery, interval=WHOLE)
    energy = await entries(gs.http, home.headers, battery, interval=WHOLE, include="energy")
    assert plain and len(plain) == len(energy)
    for a, b in zip(plain, energy, strict=True):
        assert set(a) == {"timestamp", "power_W", "soc_percent", "state"}
        assert set(b) == set(a) | {"energy_Wh_increment", "energy_Wh_decrement"}
        assert {k: b[k] for k in a} == a
        assert b["energy_Wh_increment"] >= 0 >= b["energy_Wh_decrement"]


# -- buckets against the stored samples ----------------------------------------------------------


def iso_of(seconds: int) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(ZONE))


def expected_edges(resolution: str, stored: Stored) -> list[int]:
    """Edges of the buckets that hold the stored samples, computed independently of the API:
    UTC multiples of the step, or local midnights in the site's zone."""
    first, last = int(stored.ts[0]), int(stored.ts[-1])
    if resolution in RESOLUTION_SECONDS:
        step = RESOLUTION_SECONDS[resolution]
        return list(range(first - first % step, last - last % step + step + 1, step))
    day = datetime.fromtimestamp(first, ZoneInfo(ZONE)).date()
    edges = [epoch(local_midnight(day))]
    while edges[-1] <= last:
        day += timedelta(days=1)
        edges.append(epoch(local_midnight(day)))
    return edges


def assert_bucket(entry: dict[str, Any], part: Stored, latest: bool, energy: bool) -> None:
    """One entry against the raw samples of its bucket (docs/telemetry.md, Aggregation)."""
    last = len(part) - 1
    if latest:
        want = Fraction(int(part.power_mw[last]), 1000)
    else:
        want = exact_mean_w(part.power_mw)
    assert abs(Fraction(entry["power_W"]) - want) <= Fraction(POWER_HALF_ULP) + Fraction(1, 10**9)
    soc = part.soc_mpct[~np.isnan(part.soc_mpct)]
    if soc.size:
        want_soc = part.soc_mpct[last] / 1000 if latest else float(soc.mean()) / 1000
        assert abs(entry["soc_percent"] - want_soc) <= POWER_HALF_ULP + 1e-9
    else:
        assert "soc_percent" not in entry
    assert entry.get("state") == part.state_word(last)  # last sample's state, both ways
    if energy:
        for key, values in (("energy_Wh_increment", part.inc), ("energy_Wh_decrement", part.dec)):
            if math.isnan(values[last]):
                assert key not in entry
            else:
                assert abs(entry[key] - values[last]) <= ENERGY_HALF_ULP + 1e-9


@pytest.mark.parametrize("resolution", RESOLUTIONS)
async def test_each_bucket_is_its_raw_samples(
    gs: TestServices, home: TwinHome, resolution: str
) -> None:
    for role in ("battery", "grid", "ev"):
        sensor = home.sensor(role)
        stored = await stored_samples(gs.services.db, sensor)
        assert len(stored) == 27 * 60 and stored.ts[0] == epoch(H0)
        edges = expected_edges(resolution, stored)
        for aggregation in ("default", "latest"):
            got = await entries(
                gs.http,
                home.headers,
                sensor,
                interval=WHOLE,
                resolution=resolution,
                include="energy",
                aggregation=aggregation,
            )
            assert [e["timestamp"] for e in got] == [iso_of(e) for e in edges[:-1]]
            for entry, start, end in zip(got, edges[:-1], edges[1:], strict=True):
                part = stored.between(start, end)
                assert len(part) > 0
                assert_bucket(entry, part, aggregation == "latest", energy=True)


@pytest.mark.parametrize("resolution", RESOLUTIONS[1:])
async def test_bucket_mean_and_latest_match_the_minutes(
    gs: TestServices, home: TwinHome, resolution: str
) -> None:
    """Read back through the API only: a bucket's mean is the mean of its PT1M entries (each
    rounded to 0.1 W, so within 0.1 W), and `latest` is its last PT1M entry, field for field."""
    battery = home.sensor("battery")
    minutes = await entries(
        gs.http, home.headers, battery, interval=WHOLE, resolution="PT1M", include="energy"
    )
    assert len(minutes) == 27 * 60
    minute_ts = stamps(minutes)
    power = column(minutes, "power_W")
    mean = await entries(gs.http, home.headers, battery, interval=WHOLE, resolution=resolution)
    latest = await entries(
        gs.http,
        home.headers,
        battery,
        interval=WHOLE,
        resolution=resolution,
        aggregation="latest",
        include="energy",
    )
    starts = stamps(mean)
    assert np.array_equal(starts, stamps(latest))
    ends = np.append(starts[1:], minute_ts[-1] + 60)
    for m, last_entry, start, end in zip(mean, latest, starts, ends, strict=True):
        inside = (minute_ts >= start) & (minute_ts < end)
        assert inside.any()
        assert abs(m["power_W"] - power[inside].mean()) <= 0.1 + 1e-9
        last_minute = minutes[int(np.flatnonzero(inside)[-1])]
        assert {**last_minute, "timestamp": last_entry["timestamp"]} == last_entry


async def test_daily_buckets_are_site_local_days(gs: TestServices, home: TwinHome) -> None:
    got = await entries(gs.http, home.headers, home.sensor("pv"), interval=WHOLE, resolution="P1D")
    # 23:00 on the 13th to 02:00 on the 15th, Los Angeles (PDT, UTC-7): three local days.
    assert [e["timestamp"] for e in got] == [
        "2026-06-13T07:00:00Z",
        "2026-06-14T07:00:00Z",
        "2026-06-15T07:00:00Z",
    ]
    # sub-day buckets are UTC-aligned, whatever the zone
    hourly = await entries(
        gs.http,
        home.headers,
        home.sensor("pv"),
        interval="2026-06-14T06:30:00Z/PT1H",
        resolution="PT1H",
    )
    assert [e["timestamp"] for e in hourly] == ["2026-06-14T06:00:00Z", "2026-06-14T07:00:00Z"]


async def test_intervals_without_data_are_empty(gs: TestServices, home: TwinHome) -> None:
    battery = home.sensor("battery")
    for interval in (f"2026-06-01T00:00:00Z/{iso(H0)}", f"{iso(H1)}/P7D"):
        response = await telemetry(gs.http, home.headers, battery, interval=interval)
        assert response.status_code == 200 and response.content == b'{"entries":[]}'


# -- the home adds up ----------------------------------------------------------------------------


async def test_the_home_adds_up_at_every_minute(gs: TestServices, home: TwinHome) -> None:
    async def minute(sensor: str) -> list[dict[str, Any]]:
        got = await entries(
            gs.http, home.headers, sensor, interval=WHOLE, resolution="PT1M", include="energy"
        )
        assert len(got) == 27 * 60
        return got

    series = {sid: await minute(sid) for sid in home.sensors}
    ts = stamps(series[home.sensor("battery")])
    assert np.array_equal(np.diff(ts), np.full(ts.size - 1, 60))
    for got in series.values():
        assert np.array_equal(stamps(got), ts)

    def power(sensor: str) -> Any:
        return column(series[sensor], "power_W")

    grid = power(home.sensor("grid", "GRID_METER_DERIVED"))
    meter = power(home.sensor("grid", "METER"))
    consumption, battery = power(home.sensor("consumption")), power(home.sensor("battery"))
    pv, inverter = power(home.sensor("pv")), power(home.sensor("inverter"))
    half = POWER_HALF_ULP + 1e-9
    assert np.all(np.abs(grid - (consumption + battery + pv)) <= 4 * half)
    assert np.all(np.abs(inverter - (battery + pv)) <= 3 * half)
    assert np.array_equal(grid, meter)
    blocks = [power(s) for s, i in home.sensors.items() if i.role is SensorRole.BLOCK]
    optimisers = [power(s) for s, i in home.sensors.items() if i.role is SensorRole.OPTIMISER]
    assert len(blocks) == 2 and len(optimisers) == 18
    assert np.all(np.abs(sum(blocks) - battery) <= 3 * half)
    assert np.all(np.abs(sum(optimisers) - pv) <= 19 * half)
    # directions: the home and the loads only consume, PV only produces
    assert np.all(consumption >= 0) and np.all(pv <= 0)
    assert np.all(power(home.sensor("ev")) >= 0) and np.all(power(home.sensor("hot_water")) >= 0)
    # the day had sun, the home drew power, and the battery worked both ways
    assert pv.min() < -1000 and consumption.max() > 1000
    assert battery.max() > 100 and battery.min() < -100
    # limits of the hardware: 2 x 5 kW blocks, a 7.6 kW hybrid inverter
    assert np.all(np.abs(battery) <= 10_000 + half)
    assert np.all(np.abs(battery + pv) <= 7_600 + 2 * half)

    soc = column(series[home.sensor("battery")], "soc_percent")
    assert np.all((soc >= 5 - half) & (soc <= 100 + half))  # the blocks' 5..100 % window

    for sensor, got in series.items():
        for key, sign in (("energy_Wh_increment", 1), ("energy_Wh_decrement", -1)):
            values = column(got, key)
            if np.isnan(values).all():
                continue
            assert not np.isnan(values).any(), (sensor, key)
            assert np.all(sign * values >= 0), (sensor, key)
            assert np.all(sign * np.diff(values) >= 0), (sensor, key)  # never runs backwards
        # each minute adds its own energy: power (W) for 1/60 h
        inc, dec, p = (
            column(got, "energy_Wh_increment"),
            column(got, "energy_Wh_decrement"),
            column(got, "power_W"),
        )
        if not np.isnan(inc).all():
            assert np.all(np.abs(np.diff(inc) - np.maximum(p[1:], 0) / 60) <= 0.0011 + half / 60)
        if not np.isnan(dec).all():
            assert np.all(np.abs(np.diff(dec) - np.minimum(p[1:], 0) / 60) <= 0.0011 + half / 60)


async def test_state_of_charge_follows_the_battery_power(gs: TestServices, home: TwinHome) -> None:
    """At storage precision (mW, 0.001 %): each minute's SoC change is the battery's AC power
    times sqrt(rte) when charging, divided by it when discharging (20 kWh pack, rte 0.9)."""
    stored = await stored_samples(gs.services.db, home.sensor("battery"))
    capacity_wh, root = 20_000.0, math.sqrt(0.9)
    stored_wh = stored.soc_mpct / 1000 / 100 * capacity_wh
    p = stored.power_mw[1:] / 1000
    expected = np.where(p > 0, p * root, p / root) / 60
    assert np.all(np.abs(np.diff(stored_wh) - expected) <= 0.25)  # 0.001 % = 0.2 Wh rounding
    # the state word follows the power, with the twin's 1 W idle band (TwinConfig)
    for i, power_mw in enumerate(stored.power_mw.tolist()):
        if abs(abs(power_mw) - 1000) > 1:
            want = "charging" if power_mw > 0 else "discharging"
            assert stored.state_word(i) == (want if abs(power_mw) > 1000 else "idle")


async def test_fields_and_states_are_the_topologys(gs: TestServices, home: TwinHome) -> None:
    for sensor, info in home.sensors.items():
        got = await entries(
            gs.http, home.headers, sensor, interval=WHOLE, resolution="PT1M", include="energy"
        )
        assert got, sensor
        keys = set().union(*(set(e) for e in got))
        assert keys <= {"timestamp", *(c.value for c in info.channels)}, (sensor, keys)
        assert Channel.POWER_W.value in keys
        words = {e["state"] for e in got if "state" in e}
        assert words <= set(ROLE_STATES.get(info.role, ())), (sensor, words)
    # the relay reports heating exactly while its element draws power
    for e in await entries(
        gs.http, home.headers, home.sensor("hot_water"), interval=WHOLE, resolution="PT1M"
    ):
        assert e["state"] == ("heating" if e["power_W"] > 0 else "idle")


# -- devices and sensors -------------------------------------------------------------------------


async def test_a_bare_device_id_on_v2_has_no_entries(gs: TestServices, home: TwinHome) -> None:
    for device in home.site.devices:
        response = await telemetry(gs.http, home.headers, device.synth_id, interval=WHOLE)
        assert response.status_code == 200, response.text
        assert response.json() == {"entries": []}


async def test_v1_reads_a_devices_primary_sensor(gs: TestServices, home: TwinHome) -> None:
    for device in home.site.devices:
        sensor = primary_sensor(device)
        for params in (
            {"interval": WHOLE},
            {"interval": WHOLE, "resolution": "PT1M", "include": "energy", "aggregation": "latest"},
        ):
            v1 = await body_of(gs, home, device.synth_id, 1, **params)
            assert v1 == await body_of(gs, home, sensor, 2, **params), device.kind
            assert v1 == await body_of(gs, home, sensor, 1, **params)  # v1 takes sensors too
            assert len(v1) > 100


async def test_another_homeowners_sensor_is_not_found(gs: TestServices, home: TwinHome) -> None:
    other = await twin_home(gs, seed=7, history_start=H0, until=H0 + timedelta(hours=1))
    mine = await telemetry(gs.http, other.headers, other.sensor("battery"), interval=WHOLE)
    assert mine.status_code == 200 and mine.json()["entries"]
    unknown = "0f0e0d0c-0b0a-4908-8706-050403020100__bb_agg"
    bodies = []
    for version in (1, 2):
        for synth_id in (
            other.sensor("battery"),  # someone else's sensor
            other.device("battery_pack"),  # and device
            unknown,  # nobody's
            f"{home.device('inverter')}__NO_SUCH_SENSOR",  # my device, no such sensor
        ):
            for interval in (WHOLE, "garbage"):  # 404 before any parameter is looked at
                response = await telemetry(
                    gs.http, home.headers, synth_id, version, interval=interval
                )
                bodies.append(assert_error(response, 404, "not_found"))
    assert all(b == bodies[0] for b in bodies)  # nothing tells them apart


async def test_the_device_read_scope_is_required(gs: TestServices, home: TwinHome) -> None:
    sensor = home.sensor("battery")
    for scope in ("lunar/plan.read", "lunar/device.write lunar/plan.write lunar/plan.read"):
        limited = await twin_home(gs, seed=5, scope=scope, partner=home.partner)
        response = await telemetry(
            gs.http, limited.headers, limited.sensor("battery"), interval=WHOLE
        )
        assert_error(response, 403, "insufficient_scope")
        assert "lunar/device.read" in response.headers["www-authenticate"]
    reader = await twin_home(
        gs, seed=6, scope="lunar/device.read", history_start=H0, until=H0 + timedelta(minutes=5)
    )
    ok = await telemetry(gs.http, reader.headers, reader.sensor("battery"), interval=WHOLE)
    assert ok.status_code == 200 and len(ok.json()["entries"]) == 1
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = await gs.http.get(
            f"/api/v2/devices/{sensor}/telemetry", params={"interval": WHOLE}, headers=headers
        )
        assert response.status_code == 401
        assert response.json()["message"] == "Unauthorized"


# -- limits and malformed parameters -----------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "ok"),
    [
        ({"interval": "2026-06-14T00:00:00Z/PT10000M", "resolution": "PT1M"}, True),
        ({"interval": "2026-06-14T00:00:00Z/PT10001M", "resolution": "PT1M"}, False),
        ({"interval": "2026-06-14T00:00:00Z/P7D", "resolution": "PT1M"}, False),
        ({"interval": "2026-06-14T00:00:00Z/PT50000M", "resolution": "PT5M"}, True),
        ({"interval": "2026-06-14T00:00:00Z/PT50005M", "resolution": "PT5M"}, False),
        ({"interval": "2026-06-14T00:00:30Z/PT9999M", "resolution": "PT1M"}, True),
        ({"interval": "2026-06-14T00:00:30Z/PT10000M", "resolution": "PT1M"}, False),  # widened
        ({"interval": "2000-01-01T00:00:00Z/P10000D", "resolution": "PT1H"}, False),
        # local days of the site (Los Angeles), across 27 years of DST changes
        (
            {
                "interval": f"{iso(local_midnight(date(2000, 1, 1)))}/"
                f"{iso(local_midnight(date(2000, 1, 1) + timedelta(days=10_000)))}",
                "resolution": "P1D",
            },
            True,
        ),
        (
            {
                "interval": f"{iso(local_midnight(date(2000, 1, 1)))}/"
                f"{iso(local_midnight(date(2000, 1, 1) + timedelta(days=10_001)))}",
                "resolution": "P1D",
            },
            False,
        ),
    ],
)
async def test_the_point_limit(
    gs: TestServices, bare_home: TwinHome, params: dict[str, str], ok: bool
) -> None:
    for version in (1, 2):
        response = await telemetry(
            gs.http, bare_home.headers, bare_home.sensor("battery"), version, **params
        )
        if ok:
            assert response.status_code == 200, response.text
        else:
            body = assert_error(response, 400, "too_many_points")
            assert "10,000" in body["message"] or "10000" in body["message"]


START = "2026-06-14T00:00:00Z"
MALFORMED: list[tuple[dict[str, str], str]] = [
    ({}, "malformed_interval"),  # missing
    ({"interval": ""}, "malformed_interval"),
    ({"interval": "garbage"}, "malformed_interval"),
    ({"interval": START}, "malformed_interval"),  # no slash
    ({"interval": f"{START}/"}, "malformed_interval"),
    ({"interval": "/PT1H"}, "malformed_interval"),
    ({"interval": f"{START}/{START}/PT1H"}, "malformed_interval"),
    ({"interval": "2026-13-01T00:00:00Z/PT1H"}, "malformed_interval"),
    ({"interval": "2026-02-30T00:00:00Z/PT1H"}, "malformed_interval"),
    ({"interval": f"{START}/PT1X"}, "malformed_interval"),
    ({"interval": f"{START}/-PT1H"}, "malformed_interval"),
    ({"interval": f"R5/{START}/PT1H"}, "malformed_interval"),
    ({"interval": f"{START}/PT1H" + "0" * 200}, "malformed_interval"),  # over 200 characters
    ({"interval": f"{START}/PT1H\u00e9"}, "malformed_interval"),
    ({"interval": f"{START}/P1Y"}, "malformed_interval"),
    ({"interval": f"{START}/P1M"}, "malformed_interval"),  # a month, not a minute
    ({"interval": f"{START}/P1Y2M3D"}, "malformed_interval"),
    ({"interval": f"2026-06-15T00:00:00Z/{START}"}, "interval_reversed"),
    ({"interval": f"{START}/{START}"}, "empty_interval"),
    ({"interval": f"{START}/PT0S"}, "empty_interval"),
    ({"interval": "1969-12-31T00:00:00Z/PT1H"}, "interval_out_of_range"),
    ({"interval": "9999-06-01T00:00:00Z/PT1H"}, "interval_out_of_range"),
    ({"interval": f"{START}/PT1H", "resolution": "PT2M"}, "unsupported_resolution"),
    ({"interval": f"{START}/PT1H", "resolution": "P1W"}, "unsupported_resolution"),
    ({"interval": f"{START}/PT1H", "resolution": "P1M"}, "unsupported_resolution"),
    ({"interval": f"{START}/PT1H", "resolution": "P1Y"}, "unsupported_resolution"),
    ({"interval": f"{START}/PT1H", "resolution": "hourly"}, "malformed_resolution"),
    ({"interval": f"{START}/PT1H", "resolution": "PT"}, "malformed_resolution"),
    ({"interval": f"{START}/PT1H", "resolution": "PT1H" + " " * 70}, "malformed_resolution"),
    ({"interval": f"{START}/PT1H", "include": "power"}, "malformed_include"),
    ({"interval": f"{START}/PT1H", "include": ","}, "malformed_include"),
    ({"interval": f"{START}/PT1H", "include": "default;energy"}, "malformed_include"),
    ({"interval": f"{START}/PT1H", "aggregation": "max"}, "malformed_aggregation"),
    ({"interval": f"{START}/PT1H", "aggregation": "mean,latest"}, "malformed_aggregation"),
    # several mistakes: the first in the order interval, resolution, include, aggregation
    ({"interval": "garbage", "resolution": "PT2M", "include": "x"}, "malformed_interval"),
    ({"interval": f"{START}/PT1H", "resolution": "PT2M", "include": "x"}, "unsupported_resolution"),
    ({"interval": f"{START}/PT1H", "include": "x", "aggregation": "y"}, "malformed_include"),
    (
        {"interval": f"{START}/P7D", "resolution": "PT1M", "aggregation": "y"},
        "malformed_aggregation",
    ),
]


@pytest.mark.parametrize(("params", "code"), MALFORMED, ids=[c for _, c in MALFORMED])
async def test_malformed_parameters_get_a_clear_400(
    gs: TestServices, bare_home: TwinHome, params: dict[str, str], code: str
) -> None:
    for version in (1, 2):
        response = await telemetry(
            gs.http, bare_home.headers, bare_home.sensor("battery"), version, **params
        )
        body = assert_error(response, 400, code)
        assert len(body["message"]) < 300
        if "P1Y" in params.get("interval", "") or "/P1M" in params.get("interval", ""):
            assert "years or months" in body["message"]
        if code == "unsupported_resolution":
            assert all(r in body["message"] for r in RESOLUTIONS)


async def test_years_and_months_in_a_v1_duration_end(gs: TestServices, bare_home: TwinHome) -> None:
    for duration in ("P1M", "P1Y"):
        response = await telemetry(
            gs.http,
            bare_home.headers,
            bare_home.sensor("battery"),
            1,
            interval=f"{duration}/{START}",
        )
        body = assert_error(response, 400, "malformed_interval")
        assert "years or months" in body["message"]
