"""Step a whole site at 1-minute resolution and report every sensor.

Sign convention (as the API's telemetry): power_W > 0 flows into the device. So PV <= 0, home
consumption >= 0, battery > 0 when charging, grid > 0 when importing, inverter > 0 when AC flows
into it. `consumption` is the whole home as the meter sees it, EV and hot-water element included,
so at every minute:

    grid = consumption + battery + pv        inverter = battery + pv  (hybrid inverter)

With a separate PV string inverter (`TwinSite.pv_inverter_rated_w`), `inverter` is the battery
inverter (= battery) and `pv_inverter` carries the PV (= pv).

Powers are means over [t, t + 1 min); SoC and the lifetime counters are read at the end of that
minute, so the last sample of a run equals its end state.

Exogenous flows (PV, household load, EV, hot water, prices) never depend on the battery, so they
are computed first, vectorised; only the battery (and the tank thermostat) needs a loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from gridshare.twin.battery import DEFAULT_TAPER_PCT, BatteryModel
from gridshare.twin.control import (
    BATTERY_RULES,
    EV_RULES,
    RELAY_RULES,
    Action,
    Commands,
    resolve,
)
from gridshare.twin.ev import EV_STATES, EvRun, max_session_wh, sessions_between, simulate_ev
from gridshare.twin.hot_water import (
    RELAY_STATES,
    HotWaterRun,
    cheap_minutes,
    draws_l,
    simulate_hot_water,
)
from gridshare.twin.load import base_load_w
from gridshare.twin.plans import Mode, SiteControl
from gridshare.twin.pv import pv_power_w
from gridshare.twin.smart import SmartConfig, SmartPlan, SmartPlanner
from gridshare.twin.spec import TwinSite
from gridshare.twin.state import EnergyCounter, TwinState
from gridshare.twin.timebase import Calendar, FloatArray, floor_minute, from_minute, make_calendar

BATTERY_STATES = ("idle", "charging", "discharging")
SENSORS = ("grid", "consumption", "pv", "battery", "inverter", "pv_inverter", "ev", "hot_water")
"""Sensor roles a result may carry (only those the site has)."""


@dataclass(frozen=True)
class TwinConfig:
    """Settings that shape results; pass the same one to every chunk of a run."""

    smart: SmartConfig = field(default_factory=SmartConfig)
    taper_pct: float = DEFAULT_TAPER_PCT
    idle_threshold_w: float = 1.0


@dataclass(frozen=True, eq=False)
class SensorSeries:
    """One sensor's samples, one per minute."""

    power_w: FloatArray
    energy_wh_increment: FloatArray
    energy_wh_decrement: FloatArray
    soc_percent: FloatArray | None = None
    state: npt.NDArray[np.int8] | None = None
    state_words: tuple[str, ...] = ()

    def states(self) -> list[str] | None:
        if self.state is None:
            return None
        words = self.state_words
        return [words[i] for i in self.state.tolist()]


@dataclass(frozen=True, eq=False)
class SimResult:
    start: int
    """UTC epoch minute of the first sample."""
    timezone: str
    sensors: Mapping[str, SensorSeries]
    end_state: TwinState
    tank_temp_c: FloatArray | None = None

    @property
    def n(self) -> int:
        return int(self.sensors["grid"].power_w.size)

    @property
    def start_time(self) -> datetime:
        return from_minute(self.start)

    @property
    def end_time(self) -> datetime:
        return from_minute(self.start + self.n)

    @property
    def minutes(self) -> npt.NDArray[np.int64]:
        return np.arange(self.start, self.start + self.n, dtype=np.int64)

    def timestamps(self) -> npt.NDArray[np.datetime64]:
        """UTC sample times (start of each minute) as datetime64[m]."""
        return self.minutes.astype("datetime64[m]")

    @property
    def sample_count(self) -> int:
        return self.n * len(self.sensors)


@dataclass(frozen=True, eq=False)
class Exogenous:
    """Everything the battery does not influence, over n simulated minutes plus a look-ahead."""

    cal: Calendar
    n: int
    pv_w: FloatArray
    consumption_w: FloatArray
    import_price: FloatArray
    export_price: FloatArray
    ev: EvRun | None
    hot_water: HotWaterRun | None
    hybrid: bool
    """Whether the PV shares the battery's inverter (and its AC rating)."""

    @property
    def pv_on_battery_inverter_w(self) -> FloatArray:
        return self.pv_w if self.hybrid else np.zeros_like(self.pv_w)


def _ev_flows(
    site: TwinSite, state: TwinState, control: SiteControl, n: int, total: int, cal: Calendar,
    import_price: FloatArray,
) -> tuple[EvRun | None, FloatArray]:  # fmt: skip
    if site.ev_charger is None:
        return None, np.zeros(total)
    sessions = sessions_between(
        site.seed, site.timezone, cal.start, cal.start + total, max_session_wh(site.ev_charger)
    )
    commands = resolve(control.ev, cal, EV_RULES)
    run = simulate_ev(site.ev_charger, sessions, cal.start, n, state.ev, commands[:n], import_price)
    if total == n:
        return run, run.power_w
    ahead = simulate_ev(
        site.ev_charger, sessions, cal.start + n, total - n, run.end_state, commands[n:],
        import_price[n:],
    )  # fmt: skip
    return run, np.concatenate([run.power_w, ahead.power_w])


def _hot_water_flows(
    site: TwinSite, state: TwinState, control: SiteControl, n: int, total: int, cal: Calendar
) -> tuple[HotWaterRun | None, FloatArray]:
    tank = site.hot_water
    if tank is None:
        return None, np.zeros(total)
    commands = resolve(control.hot_water, cal, RELAY_RULES)
    smart = control.hot_water.mode is Mode.SMART
    cheap = cheap_minutes(site, cal) if smart else np.zeros(total, dtype=np.bool_)
    draws = draws_l(site.seed, cal)
    run = simulate_hot_water(tank, draws[:n], commands[:n], cheap[:n], state.hot_water)
    if total == n:
        return run, run.power_w
    ahead = simulate_hot_water(tank, draws[n:], commands[n:], cheap[n:], run.end_state)
    return run, np.concatenate([run.power_w, ahead.power_w])


def exogenous(
    site: TwinSite, state: TwinState, n: int, control: SiteControl, look_ahead: int = 0
) -> Exogenous:
    """PV, consumption (household + EV + hot water) and prices for n minutes from the state,
    plus `look_ahead` minutes of forecast with the same controls."""
    start = state.minute
    total = n + look_ahead
    if site.ev_charger is not None and control.ev.mode is Mode.SMART:
        # Smart charging ranks prices up to each departure, so prices must reach that far.
        sessions = sessions_between(
            site.seed, site.timezone, start, start + total, max_session_wh(site.ev_charger)
        )
        price_end = max([start + total, *(s.departure for s in sessions)])
    else:
        price_end = start + total
    price_cal = make_calendar(start, price_end - start, site.timezone)
    import_price, export_price = site.tariffs.prices(price_cal)
    cal = price_cal.slice(0, total)
    pv = pv_power_w(site, cal)
    ev_run, ev_w = _ev_flows(site, state, control, n, total, cal, import_price)
    hw_run, hw_w = _hot_water_flows(site, state, control, n, total, cal)
    consumption = base_load_w(site.seed, cal) + ev_w + hw_w
    return Exogenous(
        cal, n, pv, consumption, import_price[:total], export_price[:total], ev_run, hw_run,
        site.hybrid,
    )  # fmt: skip


def _run_battery(
    battery: BatteryModel,
    soc: float,
    grid_wh: float,
    plan: SmartPlan | None,
    commands: Commands,
    flows: Exogenous,
    planner: SmartPlanner | None,
    grid_export: bool,
) -> tuple[FloatArray, FloatArray, float, float, SmartPlan | None]:
    """The only inherently sequential part: each minute's power depends on the SoC before it.

    Also keeps the grid-charged part of the store (`grid_wh`): charge beyond the PV surplus
    came from the grid; discharge serves the home first and takes the home's share from the
    grid-charged part first, so the rest is as large as the meter allows. Without
    `grid_export` the battery's export (discharge beyond the home's need) is capped at the rest.
    """
    n = flows.n
    start = flows.cal.start
    capacity = battery.capacity_wh
    lo = np.clip(commands.soc_lo_pct * capacity / 100, battery.soc_min_wh, battery.soc_max_wh)
    hi = np.clip(commands.soc_hi_pct * capacity / 100, battery.soc_min_wh, battery.soc_max_wh)
    lo_l, hi_l = lo.tolist(), hi.tolist()
    actions = commands.action.tolist()
    targets = commands.power_w.tolist()
    net = (flows.consumption_w[:n] + flows.pv_w[:n]).tolist()
    pv = flows.pv_on_battery_inverter_w[:n].tolist()
    power = [0.0] * n
    socs = [0.0] * n
    step = battery.step
    eta_c, eta_d = battery.eta_charge, battery.eta_discharge
    self_use, fixed, smart = int(Action.SELF), int(Action.POWER), int(Action.SMART)
    for i in range(n):
        action = actions[i]
        if action == self_use:
            want = -net[i]
        elif action == fixed:
            want = targets[i]
        elif action == smart:
            minute = start + i
            if plan is None or not plan.start <= minute < plan.end:
                assert planner is not None
                plan = planner.plan(minute, soc, grid_wh)
            want = plan.grid_w[minute - plan.start] - net[i]
        else:
            want = 0.0
        if action != smart:
            plan = None  # a plan is only valid while smart runs uninterrupted
        home = net[i] if net[i] > 0.0 else 0.0
        if not grid_export and want < -home:
            want = -home - min(-want - home, (soc - grid_wh) * eta_d * 60.0)
        power[i], new_soc = step(soc, want, lo_l[i], hi_l[i], pv[i])
        p = power[i]
        if p > 0.0:
            surplus = -net[i] if net[i] < 0.0 else 0.0
            if p > surplus:
                grid_wh += (p - surplus) * eta_c / 60.0
        elif p < 0.0:
            grid_wh -= min(-p, home) / eta_d / 60.0
        soc = new_soc
        grid_wh = min(max(grid_wh, 0.0), soc)
        socs[i] = soc
    return np.array(power), np.array(socs), soc, grid_wh, plan


def _counters(
    power: FloatArray, counter: EnergyCounter | None
) -> tuple[FloatArray, FloatArray, EnergyCounter]:
    """Lifetime counters after each minute, continuing from the persisted ones."""
    start = counter or EnergyCounter()
    inc = start.increment_wh + np.cumsum(np.clip(power, 0.0, None)) / 60.0
    dec = start.decrement_wh + np.cumsum(np.clip(power, None, 0.0)) / 60.0
    end = EnergyCounter(float(inc[-1]), float(dec[-1])) if power.size else start
    return inc, dec, end


def _state_codes(power: FloatArray, threshold: float) -> npt.NDArray[np.int8]:
    return np.where(power > threshold, 1, np.where(power < -threshold, 2, 0)).astype(np.int8)


def simulate(
    site: TwinSite,
    state: TwinState,
    end: datetime,
    control: SiteControl | None = None,
    config: TwinConfig | None = None,
) -> SimResult:
    """Simulate [state.time, end) minute by minute and return samples plus the end state.

    `end` is floored to the minute. `control` defaults to every device in `simple` mode.

    Resuming from `result.end_state` with the same site, controls and config continues exactly:
    simulate(A->C) == simulate(A->B) then simulate(B->C). Controls may change between calls.
    """
    control = control or SiteControl()
    config = config or TwinConfig()
    start = state.minute
    n = floor_minute(end) - start
    if n < 0:
        raise ValueError("end is before the state's time")
    battery = BatteryModel.from_blocks(site.battery_blocks, site.inverter_rated_w, config.taper_pct)
    # Only the mode can ask for smart (schedules and overlays cannot), so it alone decides
    # whether the planner needs forecasts beyond the chunk.
    smart = battery is not None and control.battery.mode is Mode.SMART
    look_ahead = config.smart.horizon_minutes if smart else 0
    flows = exogenous(site, state, n, control, look_ahead)
    pv = flows.pv_w[:n]
    consumption = flows.consumption_w[:n]

    soc_end, grid_end, plan = state.battery_soc_wh, state.battery_grid_wh, state.smart_plan
    battery_w = np.zeros(n)
    soc_wh = np.zeros(n)
    if battery is not None:
        planner = None
        if smart:
            planner = SmartPlanner(
                battery, config.smart, site.seed, start, flows.consumption_w, flows.pv_w,
                flows.import_price, flows.export_price, site.hybrid, site.battery_grid_export,
            )  # fmt: skip
        commands = resolve(control.battery, flows.cal.slice(0, n), BATTERY_RULES)
        soc0 = battery.clamp_soc(state.battery_soc_wh)
        battery_w, soc_wh, soc_end, grid_end, plan = _run_battery(
            battery, soc0, min(max(state.battery_grid_wh, 0.0), soc0), plan, commands, flows,
            planner, site.battery_grid_export,
        )  # fmt: skip

    counters = state.counters
    new_counters: dict[str, EnergyCounter] = {}
    sensors: dict[str, SensorSeries] = {}

    def add(
        key: str,
        power: FloatArray,
        soc_percent: FloatArray | None = None,
        state: npt.NDArray[np.int8] | None = None,
        words: tuple[str, ...] = (),
    ) -> None:
        inc, dec, new_counters[key] = _counters(power, counters.get(key))
        sensors[key] = SensorSeries(power, inc, dec, soc_percent, state, words)

    add("grid", consumption + battery_w + pv)
    add("consumption", consumption)
    if site.pv_arrays:
        add("pv", pv)
    if battery is not None:
        add(
            "battery", battery_w, soc_wh / battery.capacity_wh * 100.0,
            _state_codes(battery_w, config.idle_threshold_w), BATTERY_STATES,
        )  # fmt: skip
    if site.hybrid:
        if site.pv_arrays or battery is not None:
            add("inverter", battery_w + pv)
    else:
        if battery is not None:
            add("inverter", battery_w)
        if site.pv_arrays:
            add("pv_inverter", pv)
    if flows.ev is not None:
        add("ev", flows.ev.power_w, flows.ev.soc_percent, flows.ev.state, EV_STATES)
    if flows.hot_water is not None:
        add("hot_water", flows.hot_water.power_w, None, flows.hot_water.relay_on, RELAY_STATES)

    end_state = TwinState(
        time=from_minute(start + n),
        battery_soc_wh=soc_end,
        battery_grid_wh=grid_end,
        ev=flows.ev.end_state if flows.ev is not None else state.ev,
        hot_water=flows.hot_water.end_state if flows.hot_water is not None else state.hot_water,
        counters={**counters, **new_counters},
        smart_plan=plan,
    )
    return SimResult(
        start=start,
        timezone=site.timezone,
        sensors=sensors,
        end_state=end_state,
        tank_temp_c=None if flows.hot_water is None else flows.hot_water.tank_temp_c,
    )
