"""Sites, controls and hypothesis strategies shared by the twin tests."""

from __future__ import annotations

import itertools
import json
import os
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from gridshare.twin import (
    DYNAMIC,
    FLAT,
    TOU,
    BatteryBlock,
    DeviceControl,
    EvCharger,
    HotWater,
    Intent,
    IntentKind,
    Mode,
    OverlayCommand,
    OverlayPlan,
    PvArray,
    ScheduleSlot,
    SimResult,
    SiteControl,
    SmartConfig,
    TwinConfig,
    TwinSite,
    TwinState,
    WeeklySchedule,
)
from gridshare.twin.plans import CommandType

MONDAY = datetime(2025, 3, 3, tzinfo=UTC)
# GRIDSHARE_TWIN_SOAK=20 runs every property test with 20 times more examples.
SOAK = int(os.environ.get("GRIDSHARE_TWIN_SOAK", "1"))


def property_settings(examples: int = 25) -> settings:
    return settings(
        max_examples=examples * SOAK, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


# A cheaper smart configuration for property tests (still >= 24 h, still a real LP).
FAST = TwinConfig(smart=SmartConfig(horizon_minutes=24 * 60, coarse_slot_minutes=60))
ZONES = ("Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC")


def full_home(seed: int = 1, **overrides: object) -> TwinSite:
    """PV on two roof planes, two battery blocks, an EV charger and a hot-water relay."""
    fields: dict[str, object] = {
        "site_id": f"site-{seed}",
        "latitude": 51.5,
        "longitude": -0.12,
        "timezone": "Europe/London",
        "seed": seed,
        "pv_arrays": [PvArray(3000, 180, 35), PvArray(1500, 100, 30)],
        "battery_blocks": [BatteryBlock(5000, 2500, 2500), BatteryBlock(5000, 2500, 2500)],
        "ev_charger": EvCharger(7400, vehicle_battery_wh=60_000),
        "hot_water": HotWater(3000, 200),
        "inverter_rated_w": 6000,
        "import_tariff": TOU,
        "export_tariff": TOU,
    }
    fields.update(overrides)
    return TwinSite(**fields)  # type: ignore[arg-type]


def roundtrip(state: TwinState) -> TwinState:
    """What a runner does between chunks: persist the state as JSON and read it back."""
    return TwinState.from_dict(json.loads(json.dumps(state.to_dict())))


def joined(results: list[SimResult], sensor: str, field: str) -> np.ndarray:
    return np.concatenate([getattr(r.sensors[sensor], field) for r in results])


@st.composite
def sites(draw: st.DrawFn, battery: bool | None = None) -> TwinSite:
    seed = draw(st.integers(0, 2**32))
    arrays = draw(
        st.lists(
            st.builds(
                PvArray,
                st.floats(500, 8000),
                st.floats(0, 359),
                st.floats(0, 60),
            ),
            max_size=2,
        )
    )
    with_battery = draw(st.booleans()) if battery is None else battery
    blocks = (
        draw(
            st.lists(
                st.builds(
                    BatteryBlock,
                    st.floats(2000, 15000),
                    st.floats(1000, 5000),
                    st.floats(1000, 5000),
                    st.floats(0.8, 0.98),
                    st.floats(0, 20),
                    st.floats(80, 100),
                ),
                min_size=1,
                max_size=2,
            )
        )
        if with_battery
        else []
    )
    tariff = draw(st.sampled_from([FLAT, TOU, DYNAMIC]))
    return TwinSite(
        site_id="s",
        latitude=draw(st.floats(-55, 62)),
        longitude=draw(st.floats(-179, 179)),
        timezone=draw(st.sampled_from(ZONES)),
        seed=seed,
        pv_arrays=arrays,
        battery_blocks=blocks,
        ev_charger=draw(st.none() | st.builds(EvCharger, st.floats(3000, 11000))),
        hot_water=draw(st.none() | st.builds(HotWater, st.floats(1000, 4000), st.floats(100, 300))),
        inverter_rated_w=draw(st.floats(3000, 10000)),
        import_tariff=tariff,
        export_tariff=draw(st.sampled_from([FLAT, TOU, tariff])),
        pv_inverter_rated_w=draw(st.none() | st.floats(3000, 8000)),
    )


@st.composite
def intents(draw: st.DrawFn) -> Intent:
    lo = draw(st.floats(0, 60))
    hi = draw(st.floats(lo, 100))
    return Intent(
        draw(st.sampled_from(list(IntentKind))),
        lo,
        hi,
        draw(st.none() | st.floats(0, 6000)),
    )


@st.composite
def schedules(draw: st.DrawFn) -> WeeklySchedule:
    cuts = sorted(draw(st.sets(st.integers(1, 10079), max_size=12)))
    edges = [0, *cuts, 10080]
    return WeeklySchedule(
        tuple(ScheduleSlot(b - a, draw(intents())) for a, b in itertools.pairwise(edges))
    )


@st.composite
def overlays(draw: st.DrawFn, start: datetime, span_minutes: int) -> OverlayPlan:
    offset = draw(st.integers(-60, span_minutes))
    commands = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(list(CommandType)))
        power = draw(st.floats(-6000, 6000))
        commands.append(
            OverlayCommand(
                kind,
                draw(st.integers(1, max(2, span_minutes // 2))),
                power if kind is CommandType.SETPOINT else draw(st.none() | st.just(abs(power))),
            )
        )
    seconds = draw(st.integers(0, 59))
    return OverlayPlan(start + timedelta(minutes=offset, seconds=seconds), tuple(commands))


@st.composite
def device_controls(
    draw: st.DrawFn, start: datetime, span_minutes: int, smart: bool = True
) -> DeviceControl:
    modes = [Mode.SIMPLE, Mode.SCHEDULE, *([Mode.SMART] if smart else [])]
    mode = draw(st.sampled_from(modes))
    schedule = draw(schedules()) if mode is Mode.SCHEDULE else draw(st.none() | schedules())
    overlay = draw(st.none() | overlays(start, span_minutes))
    return DeviceControl(mode, schedule, overlay)


@st.composite
def site_controls(
    draw: st.DrawFn, start: datetime, span_minutes: int, smart: bool = True
) -> SiteControl:
    return SiteControl(
        draw(device_controls(start, span_minutes, smart)),
        draw(device_controls(start, span_minutes, smart)),
        draw(device_controls(start, span_minutes, smart)),
    )


def days_after(day: int, minutes: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, minutes=minutes)


def grid_energy_exported_wh(
    battery_w: np.ndarray, net_w: np.ndarray, soc_wh: np.ndarray, soc0_wh: float, eta: float
) -> float:
    """How much grid-charged energy the battery exported at worst (Wh stored; 0 = the rule
    held), from per-minute samples: battery power, net = consumption + PV, SoC after each
    minute. Written from the meter's point of view, independently of the twin: PV serves the
    home first and the battery charges from the rest, so charge beyond the PV surplus is grid
    energy; the battery serves the home before exporting, and the home's share is taken from
    the grid energy first (the most lenient reading). The starting energy's origin is unknown,
    so it counts as grid energy. Each export needs as much non-grid energy in store."""
    grid = soc0_wh
    before = soc0_wh
    worst = 0.0
    for p, net, after in zip(battery_w.tolist(), net_w.tolist(), soc_wh.tolist(), strict=True):
        if p > 0:
            grid += max(p - max(-net, 0.0), 0.0) * eta / 60.0
        elif p < 0:
            home = min(-p, max(net, 0.0))
            exported = (-p - home) / eta / 60.0
            worst = max(worst, exported - max(before - grid, 0.0))
            grid = max(grid - home / eta / 60.0, 0.0)
        grid = min(grid, after)
        before = after
    return worst
