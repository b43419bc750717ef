"""The site-level views through the SDK (sync and async) and the CLI, against our server over a
real socket: the twin of the homeowner's hybrid home runs a stretch of history first.

The SDK's typed answers must equal the raw JSON of the same calls, the async client must agree
with the sync one, tariff pages must be followed to the interval's start, the site frame must
have one column per role and channel with the per-sensor values, and each CLI command must show
what the API answered.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.client.conftest import Harness, profile_for
from tests.client.live import Browser, LiveServer
from tests.live import Owner
from typer.testing import CliRunner

from gridshare_client import AsyncGridshareClient, GridshareClient, MemoryTokenStore, NotFound
from gridshare_client.cli.main import app

pytestmark = pytest.mark.e2e

H0 = datetime(2026, 5, 31, 20, 0, tzinfo=UTC)
H1 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # across June 1st in Los Angeles
INTERVAL = "2026-05-31T22:00:00Z/2026-06-01T10:00:00Z"


def run_twin(live: LiveServer, site_id: str) -> None:
    live.call(live.services.twin.start_site(site_id, history_start=H0))
    live.call(live.services.twin.advance(site_id, until=H1), timeout=300)


def raw(live: LiveServer, client: GridshareClient, path: str, **params: str) -> Any:
    token = client.auth.access_token()
    response = httpx.get(
        f"{live.base_url}{path}", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_sdk_site_views(harness: Harness, live: LiveServer, owner: Owner) -> None:
    client = harness.client(live.partner())
    harness.login(client, owner)
    site_id = owner.sites[0]
    run_twin(live, site_id)
    site = client.get_site(site_id)

    state = client.get_current_state(site_id)
    assert state.to_wire() == raw(live, client, f"/api/v2/sites/{site_id}/currentState")
    assert state.timestamp == H1 - timedelta(minutes=1)
    battery = state.of_role("battery")[0]
    assert battery.soc_percent is not None and battery.power_w is not None
    assert state.device("battery_pack") is not None
    assert state.device("battery_pack").operation_mode == "simple"  # type: ignore[union-attr]

    telemetry = client.get_site_telemetry(
        site_id, "2026-05-31T22:00:00Z", "2026-06-01T10:00:00Z", resolution="PT1H"
    )
    assert telemetry.to_wire() == raw(
        live, client, f"/api/v2/sites/{site_id}/telemetry", interval=INTERVAL, resolution="PT1H"
    )
    frame = telemetry.to_dataframe()
    assert len(frame) == 12
    assert {"pv.power_W", "battery.soc_percent", "grid.power_W", "consumption.power_W"} <= set(
        frame.columns
    )
    assert any(c.startswith("grid[METER].") for c in frame.columns)  # the meter beside it
    pv = next(s for s in telemetry.streams if s.role == "pv")
    alone = client.get_telemetry(
        pv.sensor_id, "2026-05-31T22:00:00Z", "2026-06-01T10:00:00Z", resolution="PT1H"
    )
    assert frame["pv.power_W"].tolist() == [e.power_w for e in alone.entries]
    only = client.get_site_telemetry(
        site_id, "2026-05-31T22:00:00Z", duration="PT2H", roles=["battery", "hotWater"]
    )
    assert [s.role for s in only.streams] == ["battery", "hotWater"]

    pages = list(
        client.iter_tariff_pages(
            site.import_tariff_id or "", "2026-04-01T00:00:00Z", "2026-04-20T00:00:00Z"
        )
    )
    assert len(pages) == 3 and pages[-1].next_token is None
    assert pages[0].entries[0].end == datetime(2026, 4, 20, tzinfo=UTC)
    assert pages[-1].entries[-1].start == datetime(2026, 4, 1, tzinfo=UTC)
    v1 = client.get_tariff_page(
        site.import_tariff_id or "", "2026-04-01T00:00:00Z", "2026-04-20T00:00:00Z", version=1
    )
    assert v1 == pages[0]
    with pytest.raises(NotFound):
        client.get_tariff_page("no-such-tariff")

    savings = client.get_savings(site_id, "2026-05-01T00:00:00-07:00", "2026-07-01T00:00:00-07:00")
    assert savings.to_wire() == raw(
        live,
        client,
        f"/api/v2/sites/{site_id}/savings",
        interval="2026-05-01T07:00:00Z/2026-07-01T07:00:00Z",
    )
    assert [m.month for m in savings.entries] == ["2026-05", "2026-06"]


async def test_async_site_views_agree_with_sync(
    harness: Harness, live: LiveServer, owner: Owner
) -> None:
    import asyncio

    partner = live.partner()
    sync = harness.client(partner)
    await asyncio.to_thread(harness.login, sync, owner)
    site_id = owner.sites[0]
    await asyncio.to_thread(run_twin, live, site_id)
    site = await asyncio.to_thread(sync.get_site, site_id)
    tariff = site.import_tariff_id or ""
    async with AsyncGridshareClient(
        profile_for(live, partner), token_store=MemoryTokenStore(), tokens=sync.auth.tokens
    ) as client:
        state = await client.get_current_state(site_id)
        telemetry = await client.get_site_telemetry(site_id, H0, H1, resolution="PT30M")
        pages = [p async for p in client.iter_tariff_pages(tariff, H0 - timedelta(days=15), H1)]
        savings = await client.get_savings(site_id, H0, H1)
    assert state == await asyncio.to_thread(sync.get_current_state, site_id)
    assert telemetry == await asyncio.to_thread(
        sync.get_site_telemetry, site_id, H0, H1, resolution="PT30M"
    )
    assert pages == await asyncio.to_thread(
        lambda: list(sync.iter_tariff_pages(tariff, H0 - timedelta(days=15), H1))
    )
    assert len(pages) == 3
    assert savings == await asyncio.to_thread(sync.get_savings, site_id, H0, H1)


def test_cli_site_commands(
    live: LiveServer, owner: Owner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    partner = live.partner()
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return result.stdout

    run(
        "profile", "set", "t", "--auth-url", live.base_url, "--api-url", live.base_url,
        "--client-id", partner.client_id, "--client-secret", partner.secret or "",
    )  # fmt: skip
    monkeypatch.setattr("webbrowser.open", Browser(owner).open_in_background)
    run("login", "-p", "t")
    site_id = owner.sites[0]
    run_twin(live, site_id)

    state = json.loads(run("now", "-p", "t", "--json"))
    assert state["siteId"] == site_id  # the first site by default
    battery = next(s for s in state["sensors"] if s["role"] == "battery")
    shown = run("now", site_id, "-p", "t")
    for label in ("Solar", "Home", "Battery", "Grid", "EV charger", "Hot water", "mode simple"):
        assert label in shown, (label, shown)
    assert f"{battery['soc_percent']:.0f} %" in shown
    assert f"{abs(battery['power_W']) / 1000:.2f} kW" in shown
    watched = run("now", "-p", "t", "--watch", "--every", "1", "--count", "2")
    assert watched.count("Battery") >= 1

    site = json.loads(run("sites", "-p", "t", "--json"))[0]
    tariff = site["importTariffId"]
    pages = json.loads(
        run("tariff", tariff, "-p", "t", "--interval", "2026-04-01T00:00:00Z/P10D", "--all",
            "--json")
    )  # fmt: skip
    assert len(pages) == 2 and "nextToken" not in pages[-1]
    table = run("tariff", tariff, "-p", "t", "--interval", "2026-04-01T00:00:00Z/P10D")
    assert "more pages" in table and f"{pages[0]['entries'][0]['price']:.4f}" in table

    months = "2026-05-01T07:00:00Z/2026-07-01T07:00:00Z"
    saved = json.loads(run("savings", "-p", "t", "--interval", months, "--json"))
    assert [e["month"] for e in saved["entries"]] == ["2026-05", "2026-06"]
    table = run("savings", site_id, "-p", "t", "--interval", months)
    for entry in saved["entries"]:
        assert entry["month"] in table and f"{entry['savings']:.2f}" in table
    chart = tmp_path / "savings.png"
    runner.invoke(app, ["savings", "-p", "t", "--interval", months, "--plot", str(chart)])
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    csv = run("site-telemetry", site_id, "-p", "t", "--interval", INTERVAL, "--resolution",
              "PT1H", "--csv")  # fmt: skip
    header, *rows = csv.strip().splitlines()
    assert header.startswith("timestamp,") and "pv.power_W" in header and len(rows) == 12
    table = run("site-telemetry", site_id, "-p", "t", "--interval", INTERVAL, "--roles", "pv")
    assert "pv" in table and "2026-06-01 09:45" in table
    failed = runner.invoke(
        app, ["site-telemetry", site_id, "-p", "t", "--interval", INTERVAL, "--roles", "sun"]
    )
    assert failed.exit_code == 1 and "malformed_roles" in failed.stderr
