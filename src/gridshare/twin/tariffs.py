"""Import and export tariffs as per-minute prices (currency units per kWh) in site-local time.

A site names one tariff id for import and one for export (see the API's site resource); every
tariff therefore prices both directions and the site picks the side it needs. Dynamic prices are
market-wide, so they are seeded by the tariff, not by the site.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy.signal import lfilter

from gridshare.twin.rng import Stream, daily_ar, stream
from gridshare.twin.timebase import (
    Calendar,
    FloatArray,
    from_minute,
    make_calendar,
    to_minute,
)

CURRENCY = "GBP"


class Tariff(ABC):
    """A price curve for both directions; prices are per kWh, export is what the site is paid."""

    id: str
    name: str
    description: str
    #: `flat`, `timeOfUse` or `dynamic`: how the price moves (what the tariff API reports).
    kind: str
    currency: str

    @abstractmethod
    def import_prices(self, cal: Calendar) -> FloatArray: ...

    @abstractmethod
    def export_prices(self, cal: Calendar) -> FloatArray: ...


@dataclass(frozen=True)
class TariffPair:
    """The site's import tariff and export tariff, possibly different products."""

    import_tariff: Tariff
    export_tariff: Tariff

    def prices(self, cal: Calendar) -> tuple[FloatArray, FloatArray]:
        return self.import_tariff.import_prices(cal), self.export_tariff.export_prices(cal)


@dataclass(frozen=True)
class FlatTariff(Tariff):
    id: str = "flat"
    name: str = "Flat rate"
    description: str = "One import price and one export price at all times."
    kind: str = "flat"
    currency: str = CURRENCY
    import_rate: float = 0.245
    export_rate: float = 0.15

    def import_prices(self, cal: Calendar) -> FloatArray:
        return np.full(cal.n, self.import_rate)

    def export_prices(self, cal: Calendar) -> FloatArray:
        return np.full(cal.n, self.export_rate)


@dataclass(frozen=True)
class TouBand:
    """A price band in local hours [start_hour, end_hour); later bands override earlier ones."""

    start_hour: float
    end_hour: float
    rate: float
    weekdays_only: bool = False


@dataclass(frozen=True)
class TouTariff(Tariff):
    id: str = "tou"
    name: str = "Time of use"
    description: str = (
        "Off-peak 00:00-07:00, peak 16:00-19:00 on weekdays, shoulder otherwise (local time); "
        "flat export."
    )
    kind: str = "timeOfUse"
    currency: str = CURRENCY
    shoulder_rate: float = 0.26
    bands: tuple[TouBand, ...] = (
        TouBand(0.0, 7.0, 0.09),
        TouBand(16.0, 19.0, 0.38, weekdays_only=True),
    )
    export_rate: float = 0.08

    def import_prices(self, cal: Calendar) -> FloatArray:
        prices = np.full(cal.n, self.shoulder_rate)
        minute = cal.minute_of_day
        weekday = cal.weekday
        for band in self.bands:
            mask = (minute >= band.start_hour * 60) & (minute < band.end_hour * 60)
            if band.weekdays_only:
                mask &= weekday < 5
            prices[mask] = band.rate
        return prices

    def export_prices(self, cal: Calendar) -> FloatArray:
        return np.full(cal.n, self.export_rate)


# Typical GB wholesale shape by local hour (currency/kWh): cheap nights, a solar dip at midday,
# an evening peak.
_WHOLESALE_BY_HOUR = np.array(
    [0.075, 0.07, 0.066, 0.064, 0.064, 0.07, 0.085, 0.11, 0.12, 0.11, 0.095, 0.085,
     0.08, 0.08, 0.085, 0.1, 0.13, 0.16, 0.165, 0.14, 0.12, 0.105, 0.095, 0.085]
)  # fmt: skip
_SOLAR_DIP = np.exp(-(((np.arange(48) + 0.5) / 2 - 13.0) ** 2) / 6.0)


@dataclass(frozen=True)
class DynamicTariff(Tariff):
    """Half-hourly prices in the style of wholesale-tracking retail tariffs.

    import = 2 x wholesale + an evening adder (capped); export = 0.95 x wholesale + 1.2p, kept
    at least 1p below import so that importing to export never pays. Sunny, low-demand middays
    can go negative, as they do in real markets.
    """

    id: str = "dynamic"
    name: str = "Dynamic half-hourly"
    description: str = "Half-hourly import and export prices that follow a wholesale market."
    kind: str = "dynamic"
    currency: str = CURRENCY
    seed: int = 0
    peak_adder: float = 0.10
    cap: float = 1.0

    def _wholesale(self, first_day: int, last_day: int) -> FloatArray:
        level = daily_ar(self.seed, Stream.TARIFF_LEVEL, first_day, last_day, phi=0.7)
        rows = []
        hours = (np.arange(48) + 0.5) / 2
        base = np.interp(hours, np.arange(24) + 0.5, _WHOLESALE_BY_HOUR, period=24)
        for i, day in enumerate(range(first_day, last_day + 1)):
            rng = stream(self.seed, Stream.TARIFF_DAY, day)
            weekday = (day + 3) % 7
            scale = np.exp(0.25 * level[i]) * (0.85 if weekday >= 5 else 1.0)
            sunny = rng.uniform(0.0, 1.0) ** 2  # most days only a shallow solar dip
            wiggle = lfilter([0.5], [1.0, -0.75], rng.standard_normal(48))
            noise = 0.01 * rng.standard_normal() + 0.012 * wiggle
            rows.append(scale * (base - 0.1 * sunny * _SOLAR_DIP + noise))
        return np.round(np.vstack(rows), 4)

    def _prices(self, cal: Calendar) -> tuple[FloatArray, FloatArray]:
        if cal.n == 0:
            return np.zeros(0), np.zeros(0)
        first, last = cal.day_span()
        wholesale = self._wholesale(first, last)
        half_hour = cal.minute_of_day // 30
        adder = np.where((half_hour >= 32) & (half_hour < 38), self.peak_adder, 0.0)
        w = wholesale[cal.day - first, half_hour]
        imp = np.minimum(np.round(2.0 * w + adder, 4), self.cap)
        exp = np.minimum(np.round(0.95 * w + 0.012, 4), imp - 0.01)
        return imp, exp

    def import_prices(self, cal: Calendar) -> FloatArray:
        return self._prices(cal)[0]

    def export_prices(self, cal: Calendar) -> FloatArray:
        return self._prices(cal)[1]


FLAT = FlatTariff()
TOU = TouTariff()
DYNAMIC = DynamicTariff()
TARIFFS: Mapping[str, Tariff] = {t.id: t for t in (FLAT, TOU, DYNAMIC)}


def tariff_by_id(tariff_id: str) -> Tariff:
    try:
        return TARIFFS[tariff_id]
    except KeyError:
        raise ValueError(f"unknown tariff id {tariff_id!r}; known: {sorted(TARIFFS)}") from None


@dataclass(frozen=True)
class PricePeriod:
    """A run of constant prices, for listing a tariff (e.g. a show_tariff page)."""

    start: datetime
    end: datetime
    import_price: float
    export_price: float


def price_periods(
    tariff: Tariff, start: datetime, end: datetime, timezone: str
) -> list[PricePeriod]:
    """The tariff's prices over [start, end), merged into runs of equal prices."""
    lo, hi = to_minute(start), to_minute(end)
    if hi <= lo:
        return []
    cal = make_calendar(lo, hi - lo, timezone)
    imp, exp = tariff.import_prices(cal), tariff.export_prices(cal)
    change = np.flatnonzero((np.diff(imp) != 0) | (np.diff(exp) != 0)) + 1
    bounds = [0, *change.tolist(), cal.n]
    return [
        PricePeriod(from_minute(lo + a), from_minute(lo + b), float(imp[a]), float(exp[a]))
        for a, b in itertools.pairwise(bounds)
    ]
