"""The market rule on exporting grid-charged energy holds in the telemetry the app stored.

A Californian demo home (its market forbids exporting energy the battery took from the grid)
runs `smart` for a summer day, when the net-billing export pays more on evenings than off-peak
import costs, so exporting night-time grid energy would pay; a partner's set point tries to
discharge into the grid at night too. Read back through the telemetry API, the samples are
checked with an independent meter-side accounting (`grid_energy_exported_wh`): nothing
grid-charged was exported. The same home allowed to export grid energy does export some, which
shows the check can fail.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import numpy as np
import pytest

from gridshare.clock import Clock
from tests.api.telemetry_support import TwinHome, column, entries, iso, twin_home, utc
from tests.support import TestServices
from tests.unit.twin.twin_support import grid_energy_exported_wh

NOW = utc("2026-08-19T07:00:00Z")  # a Wednesday, midnight in Los Angeles
ETA = 0.9**0.5


@pytest.fixture
def clock() -> Clock:
    pinned = Clock()
    pinned.offset_seconds = NOW.timestamp() - time.time()
    return pinned


async def _day(gs: TestServices, home: TwinHome, start: datetime, end: datetime) -> float:
    """Worst grid-charged energy exported (Wh) over [start, end), from the telemetry API."""
    series = {}
    for role in ("battery", "consumption", "pv"):
        series[role] = await entries(
            gs.http, home.headers, home.sensor(role),
            interval=f"{iso(start)}/{iso(end)}", resolution="PT1M",
        )  # fmt: skip
    battery = column(series["battery"], "power_W")
    assert battery.size == (end - start) / timedelta(minutes=1)
    soc = column(series["battery"], "soc_percent") / 100 * 20_000
    net = column(series["consumption"], "power_W") + column(series["pv"], "power_W")
    first = battery[0] * ETA if battery[0] > 0 else battery[0] / ETA
    soc0 = float(soc[0] - first / 60.0)
    return grid_energy_exported_wh(battery, net, soc, soc0, ETA)


async def _smart_day(gs: TestServices, home: TwinHome) -> None:
    battery = home.device("battery_pack")
    response = await gs.http.put(
        f"/api/v2/devices/{battery}/operationMode", json={"mode": "smart"}, headers=home.headers
    )
    assert response.status_code == 200, response.text
    await gs.services.twin.advance(home.site.site_id, until=NOW + timedelta(days=1))


async def test_grid_energy_is_never_exported_where_the_market_forbids_it(
    gs: TestServices,
) -> None:
    home = await twin_home(gs, seed=41, history_start=NOW)
    overlay = {
        "startTime": iso(NOW + timedelta(hours=2)),
        "commands": [{"type": "setpoint", "durationMinutes": 30, "powerW": -5000}],
    }
    response = await gs.http.put(
        f"/api/v2/devices/{home.device('battery_pack')}/plans/overlay",
        json=overlay, headers=home.headers,
    )  # fmt: skip
    assert response.status_code == 204, response.text
    await _smart_day(gs, home)
    # milli-percent SoC samples: 0.2 Wh of rounding per reading
    assert await _day(gs, home, NOW, NOW + timedelta(days=1)) <= 1.0
    # the set point was cut to what the home used (the battery's energy counts as grid energy)
    window = await entries(
        gs.http, home.headers, home.sensor("grid"),
        interval=f"{iso(NOW + timedelta(hours=2))}/PT30M", resolution="PT1M",
    )  # fmt: skip
    assert np.all(column(window, "power_W") >= -0.01)

    allowed = await twin_home(gs, seed=41, history_start=NOW, battery_grid_export=True)
    await _smart_day(gs, allowed)
    assert await _day(gs, allowed, NOW, NOW + timedelta(days=1)) > 100.0
