"""Seeded random streams keyed by (seed, purpose, key).

Randomness is never drawn in call order: each model asks for the generator of one purpose and
one key (a local day, a plan minute), so any minute gets the same value whatever range or chunk
it is computed in.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

_MASK = (1 << 64) - 1


class Stream(IntEnum):
    WEATHER_DAY = 1
    CLOUD = 2
    LOAD_PARAMS = 3
    LOAD_DAY = 4
    EV_PARAMS = 5
    EV_DAY = 6
    HOT_WATER_DAY = 7
    TARIFF_DAY = 8
    TARIFF_LEVEL = 9
    FORECAST = 10


def stream(seed: int, purpose: Stream, key: int = 0) -> np.random.Generator:
    """A generator that depends only on its three arguments."""
    entropy = [seed & _MASK, int(purpose), key & _MASK]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def daily_ar(
    seed: int, purpose: Stream, first_day: int, last_day: int, phi: float = 0.6, memory: int = 16
) -> npt.NDArray[np.float64]:
    """A unit-variance AR(1)-like value per day, from a finite moving sum of daily shocks.

    Day-to-day persistence (a cloudy spell, a week of high prices) without a sequential chain:
    day d depends only on the shocks of days d - memory + 1 .. d, so it is order independent.
    """
    days = np.arange(first_day - memory + 1, last_day + 1)
    shocks = np.array([stream(seed, purpose, int(d)).standard_normal() for d in days])
    weights = phi ** np.arange(memory)
    weights /= np.sqrt(np.sum(weights**2))
    return np.asarray(np.convolve(shocks, weights, mode="valid"), dtype=np.float64)
