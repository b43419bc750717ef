"""Import and export tariffs as per-minute prices (currency units per kWh) in site-local time.

A site names one tariff id for import and one for export (see the API's site resource); every
tariff therefore prices both directions and the site picks the side it needs. Dynamic prices are
market-wide, so they are seeded by the tariff, not by the site. Each tariff belongs to a market
and is priced in its currency: `flat`, `tou`, `dynamic` (GB, GBP), `us-ca-tou`, `us-ca-nbt`
(California, USD), `de-flat` (Germany, EUR). Ids are stored on sites: never rename or remove one.
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
    IntArray,
    from_minute,
    make_calendar,
    to_minute,
)

CURRENCY = "GBP"
"""The currency of the GB tariffs (the first ones shipped); each tariff carries its own."""


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
    months: tuple[int, ...] = ()
    """Months (1-12) the band applies in; empty = all year."""


def local_month(cal: Calendar) -> IntArray:
    """The local month (1-12) of each minute."""
    days = cal.day.astype("datetime64[D]")
    return np.asarray(days.astype("datetime64[M]").astype(np.int64) % 12 + 1, dtype=np.int64)


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
        month = local_month(cal) if any(b.months for b in self.bands) else None
        for band in self.bands:
            mask = (minute >= band.start_hour * 60) & (minute < band.end_hour * 60)
            if band.weekdays_only:
                mask &= weekday < 5
            if band.months and month is not None:
                mask &= np.isin(month, band.months)
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


# Avoided-cost style export values for a California net-billing export (USD/kWh) by local
# hour: cheap solar middays, dearer evenings; summer evenings (Jun-Sep) add a premium that
# scales with a seeded day level, so hot evenings pay more for export than for import.
_NBT_BY_HOUR = np.array(
    [0.07, 0.07, 0.065, 0.065, 0.07, 0.08, 0.09, 0.07, 0.04, 0.03, 0.025, 0.02,
     0.02, 0.02, 0.025, 0.04, 0.07, 0.12, 0.16, 0.15, 0.12, 0.10, 0.09, 0.08]
)  # fmt: skip
_NBT_SUMMER_EVENING = np.zeros(24)
_NBT_SUMMER_EVENING[17:21] = (0.15, 0.5, 0.8, 0.4)


@dataclass(frozen=True)
class NetBillingTariff(Tariff):
    """Hourly export prices in the style of California's net billing tariff, whose export
    values follow the grid's avoided cost (published hourly, high on summer evenings); import
    is the utility's time-of-use rate."""

    id: str = "us-ca-nbt"
    name: str = "California net billing"
    description: str = (
        "Hourly export values (low at midday, high on summer evenings, by a daily level); "
        "import at the California time-of-use rate."
    )
    kind: str = "dynamic"
    currency: str = "USD"
    seed: int = 7
    import_tariff: Tariff | None = None

    def import_prices(self, cal: Calendar) -> FloatArray:
        return (self.import_tariff or US_CA_TOU).import_prices(cal)

    def export_prices(self, cal: Calendar) -> FloatArray:
        if cal.n == 0:
            return np.zeros(0)
        first, last = cal.day_span()
        level = daily_ar(self.seed, Stream.TARIFF_LEVEL, first, last, phi=0.7)
        hour = cal.minute_of_day // 60
        day = cal.day - first
        summer = np.isin(local_month(cal), (6, 7, 8, 9))
        weekend = cal.weekday >= 5
        premium = _NBT_SUMMER_EVENING[hour] * summer * np.where(weekend, 0.6, 1.0)
        value = _NBT_BY_HOUR[hour] * np.exp(0.2 * level[day]) + premium * np.exp(
            0.5 * level[day]
        )
        return np.asarray(np.round(value, 4), dtype=np.float64)


FLAT = FlatTariff()
TOU = TouTariff()
DYNAMIC = DynamicTariff()
US_CA_TOU = TouTariff(
    id="us-ca-tou",
    name="California time of use",
    description=(
        "Peak 16:00-21:00 every day (dearer June-September), part-peak 15:00-16:00 and "
        "21:00-24:00, off-peak otherwise (local time); a low flat export credit."
    ),
    currency="USD",
    shoulder_rate=0.33,
    bands=(
        TouBand(15.0, 24.0, 0.42),
        TouBand(16.0, 21.0, 0.45),
        TouBand(16.0, 21.0, 0.56, months=(6, 7, 8, 9)),
    ),
    export_rate=0.04,
)
US_CA_NBT = NetBillingTariff()
DE_FLAT = FlatTariff(
    id="de-flat",
    name="Festpreis",
    description="One import price; export at the fixed feed-in tariff.",
    currency="EUR",
    import_rate=0.36,
    export_rate=0.081,
)
TARIFFS: Mapping[str, Tariff] = {
    t.id: t for t in (FLAT, TOU, DYNAMIC, US_CA_TOU, US_CA_NBT, DE_FLAT)
}


def tariff_by_id(tariff_id: str) -> Tariff:
    try:
        return TARIFFS[tariff_id]
    except KeyError:
        raise ValueError(f"unknown tariff id {tariff_id!r}; known: {sorted(TARIFFS)}") from None


def resolve_tariff(tariff_id: str) -> Tariff:
    """The tariff a stored site names, never failing: an id this version does not know (a
    database written by another version) prices nothing, so the site still runs and reads."""
    known = TARIFFS.get(tariff_id)
    if known is not None:
        return known
    return FlatTariff(
        id=tariff_id,
        name="Unknown tariff",
        description="A tariff id this server does not know; priced at 0.",
        import_rate=0.0,
        export_rate=0.0,
    )


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
