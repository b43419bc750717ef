"""The EV behind the wallbox: seeded plug-in sessions and controllable charging.

One session at most starts per local day (evening arrival after work, or a weekend visit) and
ends by 10:00 the next morning, so sessions never overlap and each can be generated from its own
day's seed. The car accepts energy until the session's need is met; there is no vehicle-to-home.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from math import ceil

import numpy as np
import numpy.typing as npt

from gridshare.twin.control import Action, Commands
from gridshare.twin.rng import Stream, stream
from gridshare.twin.spec import EvCharger
from gridshare.twin.timebase import (
    MINUTES_PER_DAY,
    FloatArray,
    local_day_of,
    local_to_utc_minute,
)

EV_STATES = ("unplugged", "plugged", "charging")
UNPLUGGED, PLUGGED, CHARGING = 0, 1, 2


@dataclass(frozen=True)
class EvSession:
    """UTC minutes [arrival, departure) and the energy the car will take."""

    arrival: int
    departure: int
    energy_wh: float


@dataclass(frozen=True)
class EvState:
    """Energy delivered so far in the session that arrived at `session_arrival`."""

    session_arrival: int | None = None
    delivered_wh: float = 0.0


@dataclass(frozen=True)
class Driver:
    weekday_plug_probability: float
    weekend_plug_probability: float
    arrival_minute: float
    daily_kwh: float


@lru_cache(maxsize=1024)
def driver(seed: int) -> Driver:
    rng = stream(seed, Stream.EV_PARAMS)
    return Driver(
        weekday_plug_probability=float(rng.uniform(0.45, 0.85)),
        weekend_plug_probability=float(rng.uniform(0.25, 0.5)),
        arrival_minute=float(rng.normal(18 * 60, 45)),
        daily_kwh=float(rng.uniform(5.0, 12.0)),
    )


MAX_SESSION_WH = 60_000.0


@lru_cache(maxsize=8192)
def session_of_day(
    seed: int, timezone: str, day: int, max_energy_wh: float = MAX_SESSION_WH
) -> EvSession | None:
    """The session that starts on local day `day`, if the car plugs in that day."""
    habits = driver(seed)
    rng = stream(seed, Stream.EV_DAY, day)
    weekend = (day + 3) % 7 >= 5
    plug = rng.uniform() < (
        habits.weekend_plug_probability if weekend else habits.weekday_plug_probability
    )
    if weekend:
        arrival = rng.uniform(11 * 60, 21 * 60)
        if arrival < 16 * 60 and rng.uniform() < 0.5:
            departure = arrival + rng.uniform(60, 240)  # a daytime visit, same day
        else:
            departure = MINUTES_PER_DAY + np.clip(rng.normal(9 * 60, 45), 6 * 60, 10 * 60)
        energy = habits.daily_kwh * rng.lognormal(0.0, 0.5)
    else:
        arrival = np.clip(rng.normal(habits.arrival_minute, 50), 15 * 60, 22.5 * 60)
        departure = MINUTES_PER_DAY + np.clip(rng.normal(7.5 * 60, 35), 5.5 * 60, 10 * 60)
        energy = habits.daily_kwh * rng.lognormal(0.3, 0.45)
    if not plug:
        return None
    base = day * MINUTES_PER_DAY
    start = local_to_utc_minute(base + int(arrival), timezone)
    end = local_to_utc_minute(base + int(departure), timezone)
    energy_wh = min(float(energy) * 1000.0, max_energy_wh)
    return EvSession(start, max(end, start + 1), max(energy_wh, min(1500.0, max_energy_wh)))


def max_session_wh(charger: EvCharger) -> float:
    """A car with a known pack never arrives emptier than 10 %."""
    pack = charger.vehicle_battery_wh
    return MAX_SESSION_WH if pack is None else 0.9 * pack


def sessions_between(
    seed: int, timezone: str, start: int, end: int, max_energy_wh: float = MAX_SESSION_WH
) -> list[EvSession]:
    """Sessions overlapping UTC minutes [start, end), in time order."""
    if end <= start:
        return []
    first = local_day_of(start, timezone) - 1  # yesterday's session may run into today
    last = local_day_of(end - 1, timezone)
    found = (session_of_day(seed, timezone, d, max_energy_wh) for d in range(first, last + 1))
    return [s for s in found if s is not None and s.arrival < end and s.departure > start]


@dataclass(frozen=True, eq=False)
class EvRun:
    power_w: FloatArray
    state: npt.NDArray[np.int8]
    end_state: EvState
    soc_percent: FloatArray | None = None
    """The car's SoC after each minute when its pack size is known; NaN while unplugged."""


MWMIN_PER_WH = 60_000.0  # milliwatt-minutes in a watt-hour


def _deliver(want_w: FloatArray, delivered: float, need: float) -> tuple[float, FloatArray]:
    """Charge `want_w` per minute until `need` is met; returns (delivered after, power in W).

    Energies are whole milliwatt-minutes, so every sum is exact in floating point and a session
    split across chunks delivers bit-for-bit the same power as in one run.
    """
    if want_w.size == 0:
        return delivered, want_w
    want = np.round(want_w * 1000.0)
    done, target = round(delivered * MWMIN_PER_WH), round(need * MWMIN_PER_WH)
    before = done + np.concatenate(([0.0], np.cumsum(want[:-1])))
    power = np.clip(np.minimum(want, target - before), 0.0, None)
    return min(target, done + float(np.sum(power))) / MWMIN_PER_WH, power / 1000.0


def _cheapest(prices: FloatArray, count: int) -> npt.NDArray[np.int64]:
    """Indices of the `count` cheapest minutes, ties broken by time (a total order, so a later
    re-plan of the same session picks exactly the remaining minutes of the earlier plan)."""
    order = np.argsort(prices, kind="stable")
    return np.asarray(order[:count], dtype=np.int64)


def simulate_ev(
    charger: EvCharger,
    sessions: list[EvSession],
    start: int,
    n: int,
    state: EvState,
    commands: Commands,
    import_price: FloatArray,
) -> EvRun:
    """EV power per minute over [start, start + n).

    `commands` covers the n minutes; `import_price` starts at `start` and must reach the last
    departure when any minute is SMART (smart charging fills the cheapest minutes before the
    car leaves).
    """
    power = np.zeros(n)
    states = np.zeros(n, dtype=np.int8)
    pack = charger.vehicle_battery_wh
    soc = None if pack is None else np.full(n, np.nan)
    end_state = state
    per_minute_wh = charger.max_power_w / 60.0
    for session in sessions:
        a, b = max(session.arrival, start), min(session.departure, start + n)
        if a >= b:
            continue
        carried = state.session_arrival == session.arrival and session.arrival < start
        delivered = state.delivered_wh if carried else 0.0
        arrived_with = delivered
        i0, i1 = a - start, b - start
        states[i0:i1] = PLUGGED
        action = commands.action[i0:i1]
        want = np.where(
            action == Action.POWER,
            np.clip(commands.power_w[i0:i1], 0.0, charger.max_power_w),
            0.0,
        )
        smart = action == Action.SMART
        edges = [0, *(np.flatnonzero(np.diff(smart.astype(np.int8))) + 1).tolist(), i1 - i0]
        for u, v in itertools.pairwise(edges):
            run = want[u:v]
            if smart[u]:
                left = ceil((session.energy_wh - delivered) / per_minute_wh - 1e-9)
                run = np.zeros(v - u)
                if left > 0:
                    window = import_price[i0 + u : session.departure - start]
                    chosen = _cheapest(window, left)
                    run[chosen[chosen < v - u]] = charger.max_power_w
            delivered, power[i0 + u : i0 + v] = _deliver(run, delivered, session.energy_wh)
        states[i0:i1][power[i0:i1] > 0] = CHARGING
        if soc is not None and pack is not None:
            done = round(arrived_with * MWMIN_PER_WH) + np.cumsum(np.round(power[i0:i1] * 1000))
            stored = pack - round(session.energy_wh * MWMIN_PER_WH) / MWMIN_PER_WH
            soc[i0:i1] = np.clip(100.0 * (stored + done / MWMIN_PER_WH) / pack, 0.0, 100.0)
        end_state = EvState(session.arrival, delivered)
    return EvRun(power, states, end_state, soc)
