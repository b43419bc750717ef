"""The battery pack: all blocks aggregated into one store, as the `bb_agg` sensor shows it.

Power is AC-side (what the house sees); the store gains `power * sqrt(rte)` when charging and
loses `power / sqrt(rte)` when discharging, so a full cycle returns the round-trip efficiency.
Power tapers linearly to zero in a band next to each hard SoC bound, like a real BMS, and the
hard bounds are never left. The same rules appear as linear constraints in the LP (`lp.py`), so
the optimiser plans with exactly the physics the simulator applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from math import sqrt

import numpy as np

from gridshare.twin.spec import BatteryBlock
from gridshare.twin.timebase import FloatArray

DEFAULT_TAPER_PCT = 5.0


@dataclass(frozen=True)
class BatteryModel:
    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    round_trip_efficiency: float
    soc_min_wh: float
    soc_max_wh: float
    taper_band_wh: float
    inverter_w: float
    """AC limit of the battery's inverter; a hybrid shares it with the PV: |pv + battery|."""
    eta_charge: float = field(init=False)
    eta_discharge: float = field(init=False)

    def __post_init__(self) -> None:
        # Stored, not computed per access: `step` runs once per simulated minute.
        object.__setattr__(self, "eta_charge", sqrt(self.round_trip_efficiency))
        object.__setattr__(self, "eta_discharge", sqrt(self.round_trip_efficiency))

    @classmethod
    def from_blocks(
        cls,
        blocks: Sequence[BatteryBlock],
        inverter_w: float,
        taper_pct: float = DEFAULT_TAPER_PCT,
    ) -> BatteryModel | None:
        """Aggregate blocks (efficiency weighted by capacity); None when there is no battery."""
        if not blocks:
            return None
        capacity = sum(b.capacity_wh for b in blocks)
        rte = sum(b.round_trip_efficiency * b.capacity_wh for b in blocks) / capacity
        soc_min = sum(b.capacity_wh * b.soc_min_pct / 100 for b in blocks)
        soc_max = sum(b.capacity_wh * b.soc_max_pct / 100 for b in blocks)
        band = min(capacity * taper_pct / 100, (soc_max - soc_min) / 2)
        return cls(
            capacity_wh=capacity,
            max_charge_w=sum(b.max_charge_w for b in blocks),
            max_discharge_w=sum(b.max_discharge_w for b in blocks),
            round_trip_efficiency=rte,
            soc_min_wh=soc_min,
            soc_max_wh=soc_max,
            taper_band_wh=band,
            inverter_w=inverter_w,
        )

    def clamp_soc(self, soc_wh: float) -> float:
        return min(max(soc_wh, self.soc_min_wh), self.soc_max_wh)

    def soc_wh(self, percent: float) -> float:
        return self.clamp_soc(self.capacity_wh * percent / 100.0)

    def charge_limit_w(self, soc_wh: float) -> float:
        """Largest charging power the BMS allows at this SoC (taper near full)."""
        gap = self.soc_max_wh - soc_wh
        if gap >= self.taper_band_wh:
            return self.max_charge_w if gap > 0 else 0.0
        return max(0.0, self.max_charge_w * gap / self.taper_band_wh)

    def discharge_limit_w(self, soc_wh: float) -> float:
        """Largest discharging power the BMS allows at this SoC (taper near empty)."""
        gap = soc_wh - self.soc_min_wh
        if gap >= self.taper_band_wh:
            return self.max_discharge_w if gap > 0 else 0.0
        return max(0.0, self.max_discharge_w * gap / self.taper_band_wh)

    def step(
        self, soc_wh: float, want_w: float, lo_wh: float, hi_wh: float, pv_w: float,
        minutes: float = 1.0,
    ) -> tuple[float, float]:  # fmt: skip
        """Apply `want_w` (positive = charge) for one step; returns (power applied, new SoC).

        `lo_wh`/`hi_wh` are the window the controller allows (inside the hard bounds); `pv_w`
        (<= 0) is the PV on the same inverter, which shares its AC rating with the battery.
        """
        hours = minutes / 60.0
        if want_w > 0.0:
            hi = min(hi_wh, self.soc_max_wh)
            power = min(
                want_w,
                self.charge_limit_w(soc_wh),
                (hi - soc_wh) / (self.eta_charge * hours),
                self.inverter_w - pv_w,
            )
            if power <= 0.0:
                return 0.0, soc_wh
            return power, min(soc_wh + power * self.eta_charge * hours, hi)
        if want_w < 0.0:
            lo = max(lo_wh, self.soc_min_wh)
            power = min(
                -want_w,
                self.discharge_limit_w(soc_wh),
                (soc_wh - lo) * self.eta_discharge / hours,
                self.inverter_w + pv_w,
            )
            if power <= 0.0:
                return 0.0, soc_wh
            return -power, max(soc_wh - power / self.eta_discharge * hours, lo)
        return 0.0, soc_wh


def split_blocks(
    blocks: Sequence[BatteryBlock], soc_wh: FloatArray, power_w: FloatArray
) -> list[tuple[FloatArray, FloatArray]]:
    """Per-block (SoC %, power W) for the non-compact topology.

    Blocks are kept balanced: each sits at the same fraction of its own usable window and takes
    power in proportion to its usable energy, which sums back to the aggregate exactly.
    """
    usable = np.array([b.capacity_wh * (b.soc_max_pct - b.soc_min_pct) / 100 for b in blocks])
    lows = np.array([b.capacity_wh * b.soc_min_pct / 100 for b in blocks])
    fraction = np.clip((soc_wh - lows.sum()) / usable.sum(), 0.0, 1.0)
    share = usable / usable.sum()
    out = []
    for block, low, size, part in zip(blocks, lows, usable, share, strict=True):
        soc = (low + fraction * size) / block.capacity_wh * 100.0
        out.append((np.asarray(soc, dtype=np.float64), np.asarray(power_w * part)))
    return out
