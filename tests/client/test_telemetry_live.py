"""Telemetry against our server, per the contract: a range longer than one call allows is split
into calls of at most 10,000 buckets on bucket edges and merged into one series in time order
without duplicates; the CLI writes it as a table, CSV or JSON with a progress bar.

Samples are written through the server's own telemetry store before the calls.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.client.conftest import Harness
from tests.client.live import Browser, LiveServer
from tests.live import Owner
from typer.testing import CliRunner

from gridshare_client import BadRequest, GridshareClient, NotFound
from gridshare_client.cli.main import app
from gridshare_client.telemetry import bucket_count, plan_chunks

pytestmark = pytest.mark.e2e


def count_telemetry_calls(client: GridshareClient) -> list[str]:
    calls: list[str] = []

    def hook(request: httpx.Request) -> None:
        if request.url.path.endswith("/telemetry"):
            calls.append(request.url.params["interval"])

    client.http.event_hooks["request"].append(hook)
    return calls


def battery_sensor(client: GridshareClient, owner: Owner) -> str:
    sensor = client.get_topology(owner.sites[0]).battery_sensor()
    assert sensor is not None
    return sensor.id


def test_download_spans_many_calls(harness: Harness, live: LiveServer, owner: Owner) -> None:
    client = harness.client(live.partner())
    harness.login(client, owner)
    calls = count_telemetry_calls(client)
    sensor = battery_sensor(client, owner)
    end = datetime(2026, 4, 4, tzinfo=UTC)
    start = end - timedelta(days=3, minutes=7)  # not on a bucket edge
    live.seed_telemetry(sensor, int(start.timestamp()) - 3600, int(end.timestamp()) + 3600)

    assert len(plan_chunks(start, end, "PT15M", 100)) == 3
    series = client.download_telemetry(
        sensor, start, end, resolution="PT15M", include_energy=True, max_points=100
    )
    assert series.calls == len(calls) == 3
    stamps = [e.timestamp for e in series.entries]
    assert stamps == sorted(set(stamps))
    assert len(stamps) == bucket_count(start, end, "PT15M") == 289  # every bucket has data
    assert stamps[0] == datetime(2026, 3, 31, 23, 45, tzinfo=UTC) and stamps[-1] < end
    assert all(e.power_w is not None and e.state for e in series.entries)
    assert all(0 <= (e.soc_percent or 0) <= 100 for e in series.entries)
    assert all((e.energy_wh_increment or 0) >= 0 for e in series.entries)
    assert all((e.energy_wh_decrement or 0) <= 0 for e in series.entries)

    # The same series in one call.
    whole = client.get_telemetry(sensor, start, end, resolution="PT15M", include_energy=True)
    assert whole.entries == series.entries
    frame = series.to_dataframe()
    assert len(frame) == 289 and "energy_Wh_decrement" in frame.columns

    # v1: duration before end; a bare device id means its primary sensor there.
    v1 = client.get_telemetry_v1(sensor, end=end, duration="P1D", resolution="PT1H")
    assert len(v1) == 24


def test_beyond_one_call_the_server_refuses_and_the_helper_splits(
    harness: Harness, live: LiveServer, owner: Owner
) -> None:
    client = harness.client(live.partner())
    harness.login(client, owner)
    calls = count_telemetry_calls(client)
    sensor = battery_sensor(client, owner)
    end = datetime(2026, 4, 1, tzinfo=UTC)
    start = end - timedelta(days=120)  # 34,560 five-minute buckets
    live.seed_telemetry(sensor, int(start.timestamp()), int(end.timestamp()), step=3600)

    with pytest.raises(BadRequest) as too_many:
        client.get_telemetry(sensor, start, end, resolution="PT5M")
    assert too_many.value.code == "too_many_points"
    calls.clear()
    series = client.download_telemetry(sensor, start, end, resolution="PT5M")
    assert series.calls == len(calls) == 4
    stamps = [e.timestamp for e in series.entries]
    assert stamps == sorted(set(stamps)) and len(stamps) == 120 * 24  # one sample per hour

    with pytest.raises(NotFound):
        client.get_telemetry("someone-elses__bb_agg", start, duration="P1D")
    assert client.get_telemetry(sensor.split("__")[0], start, duration="P1D").entries == []


async def test_async_download_spans_many_calls(
    harness: Harness, live: LiveServer, owner: Owner
) -> None:
    import asyncio

    from tests.client.conftest import profile_for

    from gridshare_client import AsyncGridshareClient, MemoryTokenStore

    partner = live.partner()
    sync = harness.client(partner)
    await asyncio.to_thread(harness.login, sync, owner)
    sensor = await asyncio.to_thread(battery_sensor, sync, owner)
    end = datetime(2026, 4, 4, tzinfo=UTC)
    start = end - timedelta(days=2)
    await asyncio.to_thread(
        live.seed_telemetry, sensor, int(start.timestamp()), int(end.timestamp())
    )
    async with AsyncGridshareClient(
        profile_for(live, partner), token_store=MemoryTokenStore(), tokens=sync.auth.tokens
    ) as client:
        series = await client.download_telemetry(
            sensor, start, end, resolution="PT1M", max_points=500, concurrency=3
        )
    assert series.calls == 6 and len(series) == 2 * 1440
    stamps = [e.timestamp for e in series.entries]
    assert stamps == sorted(set(stamps))


def test_cli_telemetry_table_csv_json(
    live: LiveServer, owner: Owner, monkeypatch: pytest.MonkeyPatch
) -> None:
    partner = live.partner()
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return result.stdout

    run(
        "profile",
        "set",
        "t",
        "--auth-url",
        live.base_url,
        "--api-url",
        live.base_url,
        "--client-id",
        partner.client_id,
        "--client-secret",
        partner.secret or "",
    )
    browser = Browser(owner)
    monkeypatch.setattr("webbrowser.open", browser.open_in_background)
    run("login", "-p", "t")
    topology = json.loads(run("topology", owner.sites[0], "-p", "t", "--json"))

    def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
        return [node, *(n for c in node.get("children", []) for n in walk(c))]

    sensor = next(n["id"] for n in walk(topology["root"]) if n["id"].endswith("__bb_agg"))
    now = datetime.now(UTC)
    live.seed_telemetry(sensor, int((now - timedelta(days=3)).timestamp()), int(now.timestamp()))

    csv_out = run(
        "telemetry", sensor, "--interval", "P2D", "--max-points", "50", "--csv", "-p", "t"
    )
    header, *rows = csv_out.strip().splitlines()
    assert header == "timestamp,power_W,soc_percent,state"
    assert 190 <= len(rows) <= 193  # 2 days of 15-minute buckets, partial ones at the ends
    body = json.loads(
        run("telemetry", sensor, "--interval", "P2D", "--energy", "--json", "-p", "t")
    )
    assert body["synthId"] == sensor and body["resolution"] == "PT15M" and body["calls"] == 1
    assert len(body["entries"]) == len(rows) and "energy_Wh_increment" in body["entries"][0]
    table = run("telemetry", sensor, "--interval", "P2D", "--resolution", "PT1H", "-p", "t")
    assert "soc_percent" in table and "more rows" not in table
    long_table = run("telemetry", sensor, "--interval", "P2D", "-p", "t")
    assert "more rows (use --csv or --json" in long_table
