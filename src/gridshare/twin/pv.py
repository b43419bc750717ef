"""PV production at 1-minute steps: pvlib clear sky and transposition, seeded clouds.

Clear-sky irradiance (Ineichen with climatological Linke turbidity, Hay-Davies transposition) is
deterministic in time; the weather is a seeded process per local day (a persistent day-level
cloudiness, a slow within-day cover and a fast shading process that makes partly cloudy days
flicker), so the same minute gives the same power whatever range it is computed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pvlib
from pvlib import solarposition
from scipy.signal import lfilter
from scipy.special import ndtr, ndtri

from gridshare.twin.rng import Stream, daily_ar, stream
from gridshare.twin.spec import TwinSite
from gridshare.twin.timebase import MINUTES_PER_DAY, Calendar, FloatArray, IntArray, take_daily

TEMPERATURE_COEFFICIENT = -0.004  # per kelvin above 25 degC cell temperature
SYSTEM_DERATE = 0.88  # wiring, soiling, mismatch and inverter losses
CLOUDINESS = 0.25  # shifts mean cover; calibrated to ~900-1000 kWh/kWp a year in London
_SLOW_PHI = 0.995  # within-day cloud cover, ~3 h memory at 1-minute steps
_FAST_PHI = 0.9  # sun/shade flicker, ~10 min memory


def _ar1(noise: FloatArray, phi: float) -> FloatArray:
    """Unit-variance AR(1) along the last axis, started from its stationary distribution."""
    innov = noise * np.sqrt(1.0 - phi * phi)
    innov[..., 0] = noise[..., 0]
    return np.asarray(lfilter([1.0], [1.0, -phi], innov, axis=-1), dtype=np.float64)


def cloud_fields(seed: int, latitude: float, cal: Calendar) -> tuple[FloatArray, FloatArray]:
    """Per-minute cloud cover in [0, 1] and the share of the minute the sun is shaded."""
    first, last = cal.day_span()
    days = np.arange(first, last + 1)
    # Mid-latitude winters are cloudier: shift the day-level cloudiness with the season.
    season = np.cos(2 * np.pi * (((days + 4) % 365.25) - 15) / 365.25)
    season = season if latitude >= 0 else -season
    level = daily_ar(seed, Stream.WEATHER_DAY, first, last) + 0.35 * season + CLOUDINESS
    noise = np.empty((days.size, 2, MINUTES_PER_DAY))
    for i, day in enumerate(days):
        noise[i] = stream(seed, Stream.CLOUD, int(day)).standard_normal((2, MINUTES_PER_DAY))
    slow = _ar1(noise[:, 0, :], _SLOW_PHI)
    fast = _ar1(noise[:, 1, :], _FAST_PHI)
    cover = ndtr(level[:, None] + 0.9 * slow)
    shaded = (fast < ndtri(np.clip(cover, 1e-6, 1 - 1e-6))).astype(np.float64)
    return (
        take_daily(cal, first, cover.reshape(-1)),
        take_daily(cal, first, shaded.reshape(-1)),
    )


def _air_temperature(latitude: float, cal: Calendar) -> FloatArray:
    days = cal.day.astype(np.float64)
    season = np.cos(2 * np.pi * (((days + 4) % 365.25) - 196) / 365.25)
    season = season if latitude >= 0 else -season
    hour = cal.minute_of_day / 60.0
    diurnal = np.cos(2 * np.pi * (hour - 15.0) / 24.0)
    return np.asarray(11.0 + 8.0 * season + 4.0 * diurnal, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class SolarGeometry:
    """Sun position at the middle of each minute (degrees) and the day of year."""

    zenith: FloatArray
    azimuth: FloatArray
    day_of_year: FloatArray

    @property
    def elevation(self) -> FloatArray:
        return 90.0 - self.zenith


def solar_geometry(minutes: IntArray, latitude: float, longitude: float) -> SolarGeometry:
    """Sun position with pvlib's analytical model (Spencer 1971 declination and equation of
    time), evaluated at the middle of each minute.

    Accurate to a few tenths of a degree, which is plenty for a twin, and, unlike pvlib's
    iterative solvers whose iteration count depends on the whole input, every minute's value
    depends only on that minute (required for chunk-independent results).
    """
    stamp = (minutes * 60 + 30).astype("datetime64[s]")
    year_start = stamp.astype("datetime64[Y]").astype("datetime64[s]")
    elapsed_days = (stamp - year_start).astype(np.float64) / 86400.0
    day_of_year = elapsed_days + 1.0  # pvlib's day angle is 2*pi*(day_of_year - 1)/365
    decl = solarposition.declination_spencer71(day_of_year)
    eot_min = solarposition.equation_of_time_spencer71(day_of_year)
    utc_minute_of_day = (elapsed_days % 1.0) * 1440.0
    # Hour angle from UTC clock time, the equation of time and longitude (pvlib.hour_angle's
    # formula, without its DatetimeIndex round trip).
    hour_angle = np.radians((utc_minute_of_day + eot_min + 4.0 * longitude) / 4.0 - 180.0)
    lat = np.radians(latitude)
    zenith = solarposition.solar_zenith_analytical(lat, hour_angle, decl)
    azimuth = solarposition.solar_azimuth_analytical(lat, hour_angle, decl, zenith)
    return SolarGeometry(
        zenith=np.degrees(zenith),
        azimuth=np.degrees(azimuth) % 360.0,
        day_of_year=np.floor(elapsed_days) + 1.0,
    )


@lru_cache(maxsize=256)
def _linke_turbidity_by_day(latitude: float, longitude: float) -> FloatArray:
    """Climatological Linke turbidity for each day of a (leap) year at this location."""
    days = pd.date_range("2024-01-01 12:00", periods=366, freq="D", tz="UTC")
    values = pvlib.clearsky.lookup_linke_turbidity(days, latitude, longitude)
    return np.asarray(values, dtype=np.float64)


def pv_power_w(site: TwinSite, cal: Calendar) -> FloatArray:
    """PV AC power per minute (W, <= 0: production is power out of the PV), inverter-clipped."""
    total_peak = sum(a.peak_w for a in site.pv_arrays)
    if cal.n == 0 or total_peak <= 0:
        return np.zeros(cal.n)
    sun = solar_geometry(cal.minutes, site.latitude, site.longitude)
    zenith = sun.zenith
    cos_z = np.clip(np.cos(np.radians(zenith)), 0.0, None)
    doy = sun.day_of_year
    dni_extra = np.asarray(pvlib.irradiance.get_extra_radiation(doy), dtype=np.float64)
    airmass = pvlib.atmosphere.get_absolute_airmass(
        pvlib.atmosphere.get_relative_airmass(zenith),
        pvlib.atmosphere.alt2pres(site.altitude_m),
    )
    linke = _linke_turbidity_by_day(site.latitude, site.longitude)[doy.astype(np.int64) - 1]
    with np.errstate(divide="ignore", invalid="ignore"):  # night rows: NaN, zeroed below
        clear = pvlib.clearsky.ineichen(zenith, airmass, linke, site.altitude_m, dni_extra)
    ghi_cs = np.nan_to_num(np.asarray(clear["ghi"], dtype=np.float64))
    dni_cs = np.nan_to_num(np.asarray(clear["dni"], dtype=np.float64))
    dhi_cs = np.nan_to_num(np.asarray(clear["dhi"], dtype=np.float64))

    cover, shaded = cloud_fields(site.seed, site.latitude, cal)
    # Beam passes unless shaded (thin clouds still pass some); diffuse brightens under broken
    # cloud and dims under thick overcast.
    dni = dni_cs * (1.0 - shaded * (0.85 + 0.15 * cover))
    diffuse = dhi_cs * (1.0 - 0.5 * shaded * cover**2) + ghi_cs * (
        0.35 * cover * (1.0 - cover) + shaded * (0.25 - 0.22 * cover)
    )
    ghi = dni * cos_z + diffuse
    air = _air_temperature(site.latitude, cal)

    power = np.zeros(cal.n)
    for array in site.pv_arrays:
        poa = pvlib.irradiance.get_total_irradiance(
            array.tilt_deg, array.azimuth_deg, zenith, sun.azimuth, dni, ghi, diffuse,
            dni_extra=dni_extra, model="haydavies",
        )["poa_global"]  # fmt: skip
        poa = np.clip(np.nan_to_num(np.asarray(poa, dtype=np.float64)), 0.0, None)
        cell = air + 0.03 * poa
        power += array.peak_w * poa / 1000.0 * (1 + TEMPERATURE_COEFFICIENT * (cell - 25.0))
    power[zenith >= 90.0] = 0.0
    # Milliwatt rounding keeps results identical when a minute is computed inside a different
    # range (last-bit differences in vectorised maths must not reach the controllers).
    power = np.clip(np.round(power * SYSTEM_DERATE, 3), 0.0, site.pv_ac_limit_w)
    return np.asarray(0.0 - power, dtype=np.float64)
