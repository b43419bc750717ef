"""Helpers for the site-level view tests: homes with a simulated stretch of history, and an
independent computation of monthly savings from raw samples and the tariff module's prices
(pandas over `telemetry.store.read_samples`; nothing of the savings code is used)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from gridshare.fleet.provisioning import store_site
from gridshare.homes.devices import DeviceKind
from gridshare.homes.sites import Site
from gridshare.homes.templates import build_site
from gridshare.homes.topology import SensorRole, sensors_of
from gridshare.storage.db import Database
from gridshare.telemetry.store import read_samples
from gridshare.twin.tariffs import tariff_by_id
from gridshare.twin.timebase import make_calendar
from tests.api.telemetry_support import Account, TwinHome, account
from tests.support import TestServices


def without(site: Site, *kinds: DeviceKind) -> Site:
    """`site` without its devices of `kinds`, validated again as a whole site."""
    data = site.model_dump(mode="json")
    data["devices"] = [d for d in data["devices"] if d["properties"]["kind"] not in kinds]
    return Site.model_validate(data)


async def custom_home(
    gs: TestServices,
    site: Site,
    *,
    seed: int,
    history_start: datetime,
    until: datetime,
    who: Account | None = None,
) -> TwinHome:
    who = who or await account(gs)
    site = site.model_copy(update={"owner": who.owner.sub})
    services = gs.services
    await store_site(
        services.db,
        site,
        owner_id=who.owner.sub,
        template="custom",
        seed=seed,
        now=services.clock.now(),
        twin=services.twin,
        history_start=history_start,
    )
    await services.twin.advance(site.site_id, until=until)
    return TwinHome(who.owner, who.partner, who.token, site, seed)


def built(template: str, layout: int) -> Site:
    return build_site(template, "nobody", random.Random(layout))


@dataclass(frozen=True)
class MonthCost:
    baseline: float
    actual: float


def _sensor(site: Site, role: SensorRole) -> str:
    return next(s for s, info in sensors_of(site).items() if info.role is role)


async def _frame(db: Database, sensor_id: str) -> pd.DataFrame:
    async with db.read() as session:
        batch = await read_samples(session, sensor_id)
    return pd.DataFrame({"ts": batch.ts, "power_W": batch.power_mw / 1000.0})


async def reference_savings(db: Database, site: Site) -> dict[str, MonthCost]:
    """Monthly baseline and actual cost, minute by minute: consumption at the import price;
    grid imports at the import price minus exports at the export price (site-local months)."""
    consumption = await _frame(db, _sensor(site, SensorRole.CONSUMPTION))
    grid = await _frame(db, _sensor(site, SensorRole.GRID))
    first = int(min(consumption.ts.min(), grid.ts.min())) // 60
    last = int(max(consumption.ts.max(), grid.ts.max())) // 60
    cal = make_calendar(first, last - first + 1, site.time_zone)
    imp = tariff_by_id(site.import_tariff_id).import_prices(cal)
    exp = (
        tariff_by_id(site.export_tariff_id).export_prices(cal)
        if site.export_tariff_id
        else np.zeros(cal.n)
    )

    def month(ts: pd.Series) -> pd.Series:
        return (
            pd.to_datetime(ts, unit="s", utc=True)
            .dt.tz_convert(site.time_zone)
            .dt.strftime("%Y-%m")
        )

    def minute(ts: pd.Series) -> np.ndarray:
        return (ts.to_numpy() // 60 - first).astype(np.int64)

    kwh = consumption.power_W.clip(lower=0) / 60_000
    base = (kwh * imp[minute(consumption.ts)]).groupby(month(consumption.ts)).sum()
    bought = grid.power_W.clip(lower=0) / 60_000 * imp[minute(grid.ts)]
    sold = (-grid.power_W).clip(lower=0) / 60_000 * exp[minute(grid.ts)]
    actual = (bought - sold).groupby(month(grid.ts)).sum()
    return {
        m: MonthCost(float(base.get(m, 0.0)), float(actual.get(m, 0.0)))
        for m in sorted(set(base.index) | set(actual.index))
    }
