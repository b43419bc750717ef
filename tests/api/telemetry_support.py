"""Helpers for the end-to-end telemetry tests: a home whose twin has simulated a known stretch
of history (seed and start chosen by the test), a partner token for it, the telemetry endpoint,
and the raw samples as stored (read straight from the telemetry tables, not through the API).
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

from gridshare.fleet.provisioning import store_site
from gridshare.homes.sites import Site
from gridshare.homes.templates import build_site
from gridshare.homes.topology import SensorInfo, sensors_of
from gridshare.storage.db import Database
from gridshare.telemetry.aggregate import MISSING
from gridshare.telemetry.states import STATE_WORDS
from gridshare.telemetry.store import read_samples
from tests.support import ALL_API, Homeowner, Partner, TestServices

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

#: Rounding of the API's numbers (docs/telemetry.md): power and SoC to 0.1, counters to 0.001.
POWER_HALF_ULP = 0.05
ENERGY_HALF_ULP = 0.0005

RESOLUTION_SECONDS = {"PT1M": 60, "PT5M": 300, "PT15M": 900, "PT30M": 1800, "PT1H": 3600}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(at: datetime) -> int:
    return int(at.timestamp())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class TwinHome:
    """A homeowner's site with a seeded twin, and a partner token for it."""

    owner: Homeowner
    partner: Partner
    token: str
    site: Site
    seed: int

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    @property
    def sensors(self) -> dict[str, SensorInfo]:
        return sensors_of(self.site)

    def sensor(self, role: str, suffix: str | None = None) -> str:
        """The first sensor with `role` (and, if given, an id ending in `suffix`)."""
        for sid, info in self.sensors.items():
            if info.role.value == role and (suffix is None or sid.endswith(suffix)):
                return sid
        raise LookupError(f"no {role} sensor")

    def device(self, kind: str) -> str:
        for d in self.site.devices:
            if d.kind.value == kind:
                return d.synth_id
        raise LookupError(f"no {kind} device")


@dataclass
class Account:
    """A homeowner and one partner's access token for them."""

    owner: Homeowner
    partner: Partner
    token: str


async def account(
    gs: TestServices, scope: str = ALL_API, partner: Partner | None = None
) -> Account:
    owner = await gs.homeowner()
    partner = partner or await gs.partner()
    gs.http.cookies.clear()  # the shared client keeps the previous homeowner's session
    tokens = await gs.tokens(partner, owner, scope=scope)
    return Account(owner, partner, tokens["access_token"])


async def twin_home(
    gs: TestServices,
    *,
    seed: int = 1234,
    layout: int | None = None,
    template: str = "hybrid_home",
    time_zone: str | None = None,
    history_start: datetime | None = None,
    until: datetime | None = None,
    scope: str = ALL_API,
    partner: Partner | None = None,
    of: Account | None = None,
    battery_grid_export: bool | None = None,
) -> TwinHome:
    """Create a homeowner with one site from `template` with twin seed `seed`, optionally in
    another zone, and a partner token; with `history_start`, start its twin there, and with
    `until`, advance it. Ids and the coordinates' jitter come from `layout` (random if None).
    The site goes to a new homeowner, or to the account `of` (no new sign-in).
    `battery_grid_export` overrides the market's rule on exporting grid-charged energy."""
    who = of or await account(gs, scope, partner)
    owner = who.owner
    rng = random.Random(layout) if layout is not None else random.Random(secrets.randbits(64))
    site = build_site(template, owner.sub, rng)
    if time_zone is not None:
        site = site.model_copy(update={"time_zone": time_zone})
    if battery_grid_export is not None:
        site = site.model_copy(update={"battery_grid_export": battery_grid_export})
    services = gs.services
    await store_site(
        services.db,
        site,
        owner_id=owner.sub,
        template=template,
        seed=seed,
        now=services.clock.now(),
        twin=services.twin if history_start is not None else None,
        history_start=history_start,
    )
    if history_start is not None:
        if until is not None:
            await services.twin.advance(site.site_id, until=until)
    return TwinHome(owner, who.partner, who.token, site, seed)


async def telemetry(
    http: httpx.AsyncClient,
    headers: Mapping[str, str],
    synth_id: str,
    version: int = 2,
    **params: str,
) -> httpx.Response:
    return await http.get(
        f"/api/v{version}/devices/{synth_id}/telemetry", params=params, headers=dict(headers)
    )


async def entries(
    http: httpx.AsyncClient,
    headers: Mapping[str, str],
    synth_id: str,
    version: int = 2,
    **params: str,
) -> list[dict[str, Any]]:
    response = await telemetry(http, headers, synth_id, version, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["entries"], body
    result: list[dict[str, Any]] = body["entries"]
    return result


def column(items: list[dict[str, Any]], key: str) -> F64:
    """One field of every entry as floats (NaN where an entry leaves it out)."""
    return np.array([e.get(key, math.nan) for e in items], dtype=np.float64)


def stamps(items: list[dict[str, Any]]) -> I64:
    return np.array([epoch(utc(e["timestamp"])) for e in items], dtype=np.int64)


@dataclass
class Stored:
    """One sensor's raw samples exactly as stored (storage units; NaN / -1 where missing)."""

    ts: I64
    power_mw: I64
    soc_mpct: F64
    state: I64
    inc: F64
    dec: F64

    def __len__(self) -> int:
        return int(self.ts.size)

    def between(self, start_s: int, end_s: int) -> Stored:
        keep = (self.ts >= start_s) & (self.ts < end_s)
        return Stored(
            self.ts[keep],
            self.power_mw[keep],
            self.soc_mpct[keep],
            self.state[keep],
            self.inc[keep],
            self.dec[keep],
        )

    def state_word(self, i: int) -> str | None:
        code = int(self.state[i])
        return STATE_WORDS[code] if 0 <= code < len(STATE_WORDS) else None


async def stored_samples(db: Database, sensor_id: str) -> Stored:
    async with db.read() as session:
        batch = await read_samples(session, sensor_id)
    return Stored(
        batch.ts,
        batch.power_mw,
        np.where(batch.soc_mpct == MISSING, math.nan, batch.soc_mpct.astype(np.float64)),
        batch.state.astype(np.int64),  # NO_STATE is -1 already
        batch.energy_inc_wh,
        batch.energy_dec_wh,
    )


def exact_mean_w(power_mw: I64) -> Fraction:
    """The exact mean power in watts of stored milliwatt samples."""
    return Fraction(int(power_mw.sum()), 1000 * int(power_mw.size))


def bucket_edges(
    first_bucket_s: int, resolution: str, count: int, zone: str | None = None
) -> list[int]:
    """`count` + 1 consecutive bucket edges from `first_bucket_s`: fixed steps, or local days."""
    if resolution in RESOLUTION_SECONDS:
        step = RESOLUTION_SECONDS[resolution]
        return [first_bucket_s + i * step for i in range(count + 1)]
    from zoneinfo import ZoneInfo

    assert resolution == "P1D" and zone is not None
    tz = ZoneInfo(zone)
    day = datetime.fromtimestamp(first_bucket_s, tz).date()
    edges = []
    for i in range(count + 1):
        d = day + timedelta(days=i)
        edges.append(epoch(datetime(d.year, d.month, d.day, tzinfo=tz)))
    return edges
