"""Site-level views end to end: `currentState`, site `telemetry`, tariff pages and `savings`.

What each test proves, against an independent reference:

* each sensor's reading in `currentState` is that sensor's last `PT1M` bucket as the device
  telemetry call gives it; modes are the stored ones; `overlayPlan` only with `lunar/plan.read`;
* a site's streams are exactly the per-sensor telemetry calls, role by role;
* tariff pages followed by `nextToken` cover the interval once (no gap, no overlap), at most
  7 days each, newest first, with the tariff module's per-minute prices in the site's zone;
* savings equal a minute-by-minute pandas computation from the raw samples and the tariff
  module's prices to the cent, and a home without PV or battery saves exactly 0;
* every malformed parameter is a 400 with `{"message", "code"}`.
"""

from __future__ import annotations

import base64
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gridshare.homes.devices import DeviceKind
from gridshare.homes.topology import sensors_of
from gridshare.twin.tariffs import tariff_by_id
from gridshare.twin.timebase import make_calendar
from tests.api.homes_support import DEVICE_READ, PLAN_READ, overlay_body
from tests.api.site_views_support import built, custom_home, reference_savings, without
from tests.api.telemetry_support import TwinHome, account, entries, iso, twin_home, utc
from tests.support import TestServices

H0 = utc("2026-05-31T00:00:00Z")
H1 = utc("2026-06-01T20:00:00Z")  # across June 1st in Los Angeles, London and Berlin
MONTHS = "2026-05-01T00:00:00Z/2026-07-01T00:00:00Z"


@pytest.fixture
async def home(gs: TestServices) -> TwinHome:
    return await twin_home(gs, seed=77, history_start=H0, until=H1)


def _error(response: Any, code: str | None = None) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"message", "code"} and body["message"], body
    if code is not None:
        assert body["code"] == code, body


# -- currentState ---------------------------------------------------------------------------


async def test_current_state_is_each_sensors_last_minute(gs: TestServices, home: TwinHome) -> None:
    base = f"/api/v2/devices/{home.device('battery_pack')}"
    assert (
        await gs.http.put(f"{base}/operationMode", json={"mode": "smart"}, headers=home.headers)
    ).status_code == 200
    response = await gs.http.put(f"{base}/plans/overlay", json=overlay_body(), headers=home.headers)
    assert response.status_code == 204
    response = await gs.http.get(
        f"/api/v2/sites/{home.site.site_id}/currentState", headers=home.headers
    )
    assert response.status_code == 200, response.text
    state = response.json()
    assert state["siteId"] == home.site.site_id
    primary = {s: i for s, i in sensors_of(home.site).items() if not i.detail}
    assert [s["id"] for s in state["sensors"]] == list(primary)
    last = iso(H1 - timedelta(minutes=1))
    assert state["timestamp"] == last
    for sensor in state["sensors"]:
        info = primary[sensor["id"]]
        assert sensor["deviceId"] == info.device_id
        assert sensor["role"] == ("hotWater" if info.role.value == "hot_water" else info.role.value)
        for aggregation in ("default", "latest"):
            minutes = await entries(
                gs.http,
                home.headers,
                sensor["id"],
                interval=f"{iso(H0)}/{iso(H1)}",
                resolution="PT1M",
                include="energy",
                aggregation=aggregation,
            )
            reading = {k: v for k, v in sensor.items() if k not in ("id", "role", "deviceId")}
            assert reading == minutes[-1], (sensor["id"], aggregation)
    devices = {d["synthId"]: d for d in state["devices"]}
    controllable = [
        d.synth_id
        for d in home.site.devices
        if d.kind in (DeviceKind.BATTERY_PACK, DeviceKind.EV, DeviceKind.LOAD_CONTROL_RELAY)
    ]
    assert list(devices) == controllable
    battery = devices[home.device("battery_pack")]
    assert battery["operationMode"] == "smart"
    stored = await gs.http.get(f"{base}/plans/overlay", headers=home.headers)
    assert battery["overlayPlan"] == stored.json()
    assert devices[home.device("EV")]["overlayPlan"] == {"commands": []}
    assert devices[home.device("EV")]["operationMode"] == "simple"


async def test_current_state_hides_plans_without_plan_read(gs: TestServices) -> None:
    home = await twin_home(
        gs, seed=5, history_start=H0, until=H0 + timedelta(minutes=30), scope=DEVICE_READ
    )
    state = (
        await gs.http.get(f"/api/v2/sites/{home.site.site_id}/currentState", headers=home.headers)
    ).json()
    assert state["devices"] and all("overlayPlan" not in d for d in state["devices"])
    assert all(set(d) == {"synthId", "kind", "operationMode"} for d in state["devices"])
    other = await twin_home(gs, seed=5, scope=f"{DEVICE_READ} {PLAN_READ}")
    state = (
        await gs.http.get(f"/api/v2/sites/{other.site.site_id}/currentState", headers=other.headers)
    ).json()
    assert all(d["overlayPlan"] == {"commands": []} for d in state["devices"])
    # no data yet: sensors are listed without a reading, and there is no timestamp
    assert state["timestamp"] is None
    assert all(set(s) == {"id", "role", "deviceId"} for s in state["sensors"])


# -- site telemetry -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "roles"),
    [
        ({"resolution": "PT15M"}, None),
        ({"resolution": "PT1H", "include": "energy", "aggregation": "latest"}, None),
        ({"resolution": "P1D"}, "battery,PV,hot_water"),
        ({"resolution": "PT5M"}, "block,optimiser"),
        ({}, "hotWater"),
    ],
)
async def test_site_streams_equal_the_per_sensor_calls(
    gs: TestServices, home: TwinHome, params: dict[str, str], roles: str | None
) -> None:
    query = {"interval": f"{iso(H0)}/{iso(H1)}", **params}
    if roles is not None:
        query["roles"] = roles
    response = await gs.http.get(
        f"/api/v2/sites/{home.site.site_id}/telemetry", params=query, headers=home.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["siteId"] == home.site.site_id
    wanted = {r.strip().lower().replace("_", "") for r in (roles or "").split(",") if r}
    expected = [
        (sid, info)
        for sid, info in sensors_of(home.site).items()
        if (not wanted and not info.detail) or info.role.value.replace("_", "") in wanted
    ]
    assert [s["sensorId"] for s in body["streams"]] == [sid for sid, _ in expected]
    assert body["streams"], "some streams"
    for stream, (sid, info) in zip(body["streams"], expected, strict=True):
        assert stream["role"] == ("hotWater" if info.role.value == "hot_water" else info.role.value)
        alone = await entries(gs.http, home.headers, sid, **params, interval=query["interval"])
        assert stream["entries"] == alone, sid
        assert alone, sid


async def test_site_telemetry_malformed_parameters_are_400(
    gs: TestServices, home: TwinHome
) -> None:
    url = f"/api/v2/sites/{home.site.site_id}/telemetry"
    good = f"{iso(H0)}/{iso(H1)}"
    cases = [
        ({}, "malformed_interval"),
        ({"interval": "yesterday"}, "malformed_interval"),
        ({"interval": "P1D/2026-06-01T00:00:00Z"}, "malformed_interval"),
        ({"interval": f"{iso(H1)}/{iso(H0)}"}, "interval_reversed"),
        ({"interval": f"{iso(H0)}/{iso(H0)}"}, "empty_interval"),
        ({"interval": good, "resolution": "PT7M"}, "unsupported_resolution"),
        ({"interval": good, "resolution": "soon"}, "malformed_resolution"),
        ({"interval": good, "include": "power"}, "malformed_include"),
        ({"interval": good, "aggregation": "max"}, "malformed_aggregation"),
        ({"interval": "2026-01-01T00:00:00Z/P30D", "resolution": "PT1M"}, "too_many_points"),
        ({"interval": good, "roles": "solar"}, "malformed_roles"),
        ({"interval": good, "roles": ",,"}, "malformed_roles"),
        ({"interval": good, "roles": "x" * 300}, "malformed_roles"),
    ]
    for params, code in cases:
        _error(await gs.http.get(url, params=params, headers=home.headers), code)


# -- tariffs --------------------------------------------------------------------------------


def _minutes(site_zone: str, tariff_id: str, direction: str, start: datetime, end: datetime) -> Any:
    lo = int(start.timestamp()) // 60
    cal = make_calendar(lo, int(end.timestamp()) // 60 - lo, site_zone)
    tariff = tariff_by_id(tariff_id)
    return tariff.import_prices(cal) if direction == "import" else tariff.export_prices(cal)


async def _follow(
    gs: TestServices, home: TwinHome, path: str, params: dict[str, str]
) -> list[dict[str, Any]]:
    pages = []
    while True:
        response = await gs.http.get(path, params=params, headers=home.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        if "nextToken" not in page:
            return pages
        # the token wins over interval: keep sending a different interval alongside it
        params = {"nextToken": page["nextToken"], "interval": "2020-01-01T00:00:00Z/PT1H"}


@pytest.mark.parametrize(
    ("template", "direction"),
    [
        ("hybrid_home", "import"),
        ("hybrid_home", "export"),
        ("battery_retrofit", "import"),
        ("battery_retrofit", "export"),
        ("pv_only", None),
    ],
)
async def test_tariff_pages_cover_the_interval_once_with_the_twins_prices(
    gs: TestServices, template: str, direction: str | None
) -> None:
    home = await twin_home(gs, seed=3, template=template)
    site = home.site
    tariff_id = site.import_tariff_id if direction != "export" else site.export_tariff_id
    assert tariff_id is not None
    start, end = utc("2026-03-20T10:17:00Z"), utc("2026-04-09T05:00:00Z")  # ~20 days, DST
    params = {"interval": f"{iso(start)}/{iso(end)}"}
    if direction is not None:
        params["direction"] = direction
    pages = await _follow(gs, home, f"/api/v2/tariffs/{tariff_id}", params)
    v1 = await _follow(gs, home, f"/api/v1/dynamicTariffs/{tariff_id}", params)
    assert v1 == pages
    assert len(pages) == 3
    tariff = tariff_by_id(tariff_id)
    expected_direction = direction or "import"
    covered: list[tuple[int, int, float]] = []
    for page in pages:
        assert page["tariffId"] == tariff_id and page["name"] == tariff.name
        assert page["kind"] == tariff.kind and page["currency"] == tariff.currency
        assert page["direction"] == expected_direction
        runs = [
            (int(utc(e["start"]).timestamp()), int(utc(e["end"]).timestamp()), e["price"])
            for e in page["entries"]
        ]
        assert runs == sorted(runs, reverse=True), "newest first"
        assert runs[0][1] - runs[-1][0] <= 7 * 86_400
        covered += runs
    covered.sort()
    assert covered[0][0] == int(start.timestamp()) and covered[-1][1] == int(end.timestamp())
    for (_, prev_end, _), (next_start, _, _) in itertools.pairwise(covered):
        assert prev_end == next_start, "no gap, no overlap"
    prices = _minutes(site.time_zone, tariff_id, expected_direction, start, end)
    lo = int(start.timestamp())
    for a, b, price in covered:
        assert set(prices[(a - lo) // 60 : (b - lo) // 60].tolist()) == {price}


async def test_tariff_errors(gs: TestServices) -> None:
    home = await twin_home(gs, seed=3, template="hybrid_home")
    mine = home.site.import_tariff_id
    theirs = await twin_home(gs, seed=3, template="battery_retrofit")
    foreign = next(
        t
        for t in (theirs.site.import_tariff_id, theirs.site.export_tariff_id)
        if t not in (home.site.import_tariff_id, home.site.export_tariff_id)
    )
    url = f"/api/v2/tariffs/{foreign}"
    for path in (url, "/api/v2/tariffs/no-such-tariff", f"/api/v1/dynamicTariffs/{foreign}"):
        response = await gs.http.get(path, headers=home.headers)
        assert response.status_code == 404, response.text
        assert response.json() == {"message": "tariff not found", "code": "not_found"}
    page = (await gs.http.get(f"/api/v2/tariffs/{mine}", headers=home.headers)).json()
    assert page["entries"] and "nextToken" not in page  # the default is one 7-day page
    token = (
        await gs.http.get(
            f"/api/v2/tariffs/{mine}",
            params={"interval": "2026-01-01T00:00:00Z/P30D"},
            headers=home.headers,
        )
    ).json()["nextToken"]
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))

    def forge(**changes: Any) -> str:
        raw = json.dumps({**data, **changes}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    bad = [
        {"nextToken": "%%%"},
        {"nextToken": "bm90IGpzb24"},
        {"nextToken": forge(t="dynamic")},
        {"nextToken": forge(d="sideways")},
        {"nextToken": forge(**{"from": 61})},
        {"nextToken": forge(to=data["from"])},
        {"nextToken": forge(to=10**12 * 60)},
        {"nextToken": forge(extra=1)},
        {"nextToken": "A" * 600},
    ]
    for params in bad:
        _error(
            await gs.http.get(f"/api/v2/tariffs/{mine}", params=params, headers=home.headers),
            "malformed_token",
        )
    for params, code in [
        ({"interval": "soon"}, "malformed_interval"),
        ({"interval": "2026-01-02T00:00:00Z/2026-01-01T00:00:00Z"}, "interval_reversed"),
        ({"interval": "2300-01-01T00:00:00Z/P1D"}, "interval_out_of_range"),
        ({"direction": "up"}, "malformed_direction"),
    ]:
        _error(
            await gs.http.get(f"/api/v2/tariffs/{mine}", params=params, headers=home.headers), code
        )
    # a direction the caller's sites do not use the tariff for is not theirs
    if mine != home.site.export_tariff_id:
        response = await gs.http.get(
            f"/api/v2/tariffs/{mine}", params={"direction": "export"}, headers=home.headers
        )
        assert response.status_code == 404, response.text


# -- savings --------------------------------------------------------------------------------


@pytest.mark.parametrize("template", ["hybrid_home", "battery_retrofit", "pv_only"])
async def test_savings_equal_a_minute_by_minute_reference(gs: TestServices, template: str) -> None:
    home = await twin_home(gs, seed=11, template=template, history_start=H0, until=H1)
    response = await gs.http.get(
        f"/api/v2/sites/{home.site.site_id}/savings",
        params={"interval": MONTHS},
        headers=home.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["siteId"] == home.site.site_id
    assert body["currency"] == tariff_by_id(home.site.import_tariff_id).currency
    reference = await reference_savings(gs.services.db, home.site)
    assert [e["month"] for e in body["entries"]] == sorted(reference) == ["2026-05", "2026-06"]
    for entry in body["entries"]:
        ref = reference[entry["month"]]
        assert abs(entry["baselineCost"] - ref.baseline) <= 0.01, (entry, ref)
        assert abs(entry["actualCost"] - ref.actual) <= 0.01, (entry, ref)
        assert entry["savings"] == round(entry["baselineCost"] - entry["actualCost"], 2)
        assert entry["partial"] is False
    assert sum(r.baseline for r in reference.values()) > 0.5


async def test_a_home_without_pv_or_battery_saves_nothing(gs: TestServices) -> None:
    site = without(built("pv_only", 8), DeviceKind.PV)
    home = await custom_home(gs, site, seed=8, history_start=H0, until=H1)
    body = (
        await gs.http.get(
            f"/api/v2/sites/{site.site_id}/savings",
            params={"interval": MONTHS},
            headers=home.headers,
        )
    ).json()
    assert [e["month"] for e in body["entries"]] == ["2026-05", "2026-06"]
    for entry in body["entries"]:
        assert entry["baselineCost"] > 0
        assert entry["savings"] == 0 and entry["baselineCost"] == entry["actualCost"]


async def test_savings_default_window_and_running_month(gs: TestServices) -> None:
    now = gs.services.clock.now()
    start = (now - timedelta(days=40)).replace(minute=0, second=0, microsecond=0)
    home = await twin_home(
        gs, seed=2, template="pv_only", history_start=start, until=start + timedelta(hours=2)
    )
    await gs.services.twin.advance(home.site.site_id, until=now - timedelta(days=1))
    body = (
        await gs.http.get(f"/api/v2/sites/{home.site.site_id}/savings", headers=home.headers)
    ).json()
    local = now.astimezone(home.site.zone)
    months = [e["month"] for e in body["entries"]]
    assert months[-1] == local.strftime("%Y-%m")
    assert 2 <= len(months) <= 3
    assert [e["partial"] for e in body["entries"]] == [False] * (len(months) - 1) + [True]


async def test_savings_malformed_parameters_are_400(gs: TestServices) -> None:
    who = await account(gs)
    home = await twin_home(gs, seed=1, of=who)
    url = f"/api/v2/sites/{home.site.site_id}/savings"
    for params, code in [
        ({"interval": "last year"}, "malformed_interval"),
        ({"interval": "P1Y/2026-01-01T00:00:00Z"}, "malformed_interval"),
        ({"interval": "2026-02-01T00:00:00Z/2026-01-01T00:00:00Z"}, "interval_reversed"),
        ({"interval": "2000-01-01T00:00:00Z/2026-01-01T00:00:00Z"}, "interval_too_long"),
        ({"interval": "2200-01-01T00:00:00Z/P1D"}, "interval_out_of_range"),
    ]:
        _error(await gs.http.get(url, params=params, headers=home.headers), code)
    assert (await gs.http.get(url, headers=home.headers)).json()["entries"] == []


def test_reference_months_are_local(gs: TestServices) -> None:
    """Guards the fixture: H0..H1 crosses June 1st in each template's zone."""
    for template in ("hybrid_home", "battery_retrofit", "pv_only"):
        zone = built(template, 1).zone
        assert H0.astimezone(zone).month == 5 and H1.astimezone(zone).month == 6
    assert UTC
