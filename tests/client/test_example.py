"""examples/cheapest_hours.py runs against our server: it reads the site, topology and the
battery's telemetry and stores an overlay plan charging in the cheapest (off-peak) hours."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.client.live import Browser, LiveServer
from tests.live import Owner

from gridshare_client import FileTokenStore, GridshareClient, ProfileConfig

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cheapest_hours.py"


def test_cheapest_hours_example(live: LiveServer, owner: Owner, config_dir: Path) -> None:
    partner = live.partner()
    config = ProfileConfig()
    config.set(
        "sandbox",
        auth_base_url=live.base_url,
        api_base_url=live.base_url,
        client_id=partner.client_id,
        client_secret=partner.secret,
    )
    config.save()
    with GridshareClient("sandbox", token_store=FileTokenStore()) as gs:
        browser = Browser(owner)
        gs.auth.login(port=0, open_browser=browser.open_in_background, timeout=30)
        sensor = gs.get_topology(owner.sites[0]).battery_sensor()
        assert sensor is not None
    now = int(datetime.now(UTC).timestamp())
    live.seed_telemetry(sensor.id, now - 7200, now)  # SoC between 10 and 90 %

    env = {**os.environ, "GRIDSHARE_CONFIG_DIR": str(config_dir)}
    dry = subprocess.run(
        # The seeded SoC cycles between 10 and 90 %: a 100 % target always leaves energy to add.
        [sys.executable, str(EXAMPLE), "--profile", "sandbox", "--dry-run", "--target-soc", "100"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert dry.returncode == 0, dry.stderr
    assert "from telemetry" in dry.stdout and "dry run: not sent" in dry.stdout

    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--profile",
            "sandbox",
            "--target-soc",
            "100",
            "--assume-soc",
            "0",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "overlay plan stored" in result.stdout

    with GridshareClient("sandbox", token_store=FileTokenStore()) as gs:
        device = next(
            d.synth_id
            for d in (gs.get_device(x.synth_id) for x in gs.list_devices())
            if d.kind == "battery_pack"
        )
        plan = gs.get_overlay_plan(device)
    assert plan.start_time is not None and plan.commands
    assert plan.commands[0].type == "charge" and plan.commands[0].power_w == 3000
    # The site is on `us-ca-tou`: every charging hour is off-peak (00:00-15:00 local).
    zone = ZoneInfo("America/Los_Angeles")
    cursor = plan.start_time
    for command in plan.commands:
        if command.type == "charge":
            for minute in range(0, command.duration_minutes, 60):
                assert (cursor + timedelta(minutes=minute)).astimezone(zone).hour < 15
        cursor += timedelta(minutes=command.duration_minutes)
    assert plan.start_time > datetime.now(UTC) - timedelta(minutes=1)
