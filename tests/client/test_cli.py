"""The partner CLI against our server over a real socket: profiles, `gridshare login` through the
loopback listener (in-process with a scripted browser, and as a subprocess with --no-browser),
every API command with Rich and --json output, clear one-line errors, logout.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from tests.client.live import Browser, LiveServer
from tests.live import Owner, Partner
from typer.testing import CliRunner, Result

from gridshare_client.cli.main import app

pytestmark = pytest.mark.e2e

WEEK = {
    "slots": [{"durationMinutes": 10080, "intent": {"kind": "idle", "socMin": 0, "socMax": 100}}]
}


def run(*args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def as_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


def configure(live: LiveServer, partner: Partner, name: str = "t") -> None:
    args = [
        "profile",
        "set",
        name,
        "--auth-url",
        live.base_url,
        "--api-url",
        live.base_url,
        "--client-id",
        partner.client_id,
    ]
    if partner.secret:
        args += ["--client-secret", partner.secret]
    run(*args)


def login(monkeypatch: pytest.MonkeyPatch, owner: Owner, *args: str) -> Result:
    browser = Browser(owner)
    monkeypatch.setattr("webbrowser.open", browser.open_in_background)
    result = run("login", *args)
    assert browser.error is None
    return result


def test_profiles(config_dir: Path) -> None:
    listed = as_json("profile", "list")
    assert [p["name"] for p in listed] == ["local", "gridshare"]
    assert listed[0]["selected"] and listed[0]["auth_base_url"] == "http://127.0.0.1:8000"
    assert listed[1]["api_base_url"] == "https://developer-api.customer.mygridshare.com"

    run(
        "profile",
        "set",
        "gridshare",
        "--client-id",
        "1example23456789",
        "--client-secret",
        "topsecretvalue",
        "--redirect-uri",
        "https://www.example.com",
    )
    shown = as_json("profile", "show", "gridshare")
    assert shown["client_id"] == "1example23456789"
    assert shown["client_secret"] == "tops…" and shown["login"] == {"logged_in": False}
    assert shown["auth_base_url"].endswith("amazoncognito.com")
    assert "topsecretvalue" not in run("profile", "show", "gridshare").stdout
    assert ((config_dir / "profiles.json").stat().st_mode & 0o777) == 0o600

    run(
        "profile",
        "set",
        "staging",
        "--auth-url",
        "https://auth.staging.example",
        "--api-url",
        "https://api.staging.example",
        "--client-id",
        "abc",
        "--default",
    )
    assert as_json("profile", "show")["name"] == "staging"
    run("profile", "use", "local")
    assert as_json("profile", "show")["name"] == "local"
    table = run("profile", "list").stdout
    assert "staging" in table and "https://auth.staging.example" in table

    bad = run("profile", "set", "new", "--client-id", "x", ok=False)
    assert bad.exit_code == 1 and "invalid" in bad.stderr and "\n" == bad.stderr[-1]
    missing = run("profile", "show", "nope", ok=False)
    assert "no profile 'nope'" in missing.stderr


def test_login_and_every_command(
    live: LiveServer,
    owner: Owner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    config_dir: Path,
) -> None:
    partner = live.partner()
    configure(live, partner)
    out = login(monkeypatch, owner, "--profile", "t")
    assert "Logged in" in out.stderr and "lunar/plan.write" in out.stderr
    token_file = config_dir / "tokens" / "t.json"
    assert (token_file.stat().st_mode & 0o777) == 0o600
    assert as_json("profile", "show", "t")["login"]["logged_in"] is True

    [site_id] = owner.sites
    table = run("sites", "-p", "t").stdout
    assert site_id in table and "America/Los_Angeles" in table
    [site] = as_json("sites", "-p", "t")
    assert site["siteId"] == site_id and site["importTariffId"] == "us-ca-tou"

    tree = run("topology", site_id, "-p", "t").stdout
    assert "__bb_agg" in tree and "kWh" in tree and "battery_pack" in tree
    compact = as_json("topology", site_id, "-p", "t")
    full = as_json("topology", site_id, "--full", "-p", "t")
    assert compact["root"]["id"] == site_id and json.dumps(full) != json.dumps(compact)

    devices = as_json("devices", "-p", "t")
    battery = next(d["synthId"] for d in devices if d["kind"] == "battery_pack")
    assert battery in run("devices", "-p", "t").stdout
    assert as_json("device", battery, "-p", "t")["kind"] == "battery_pack"
    renamed = run("device", battery, "--rename", "Garage battery", "-p", "t").stdout
    assert "Garage battery" in renamed
    assert as_json("device", battery, "-p", "t")["name"] == "Garage battery"

    assert run("mode", "set", battery, "SMART", "-p", "t").stdout.strip().endswith("smart")
    assert run("mode", "get", battery, "-p", "t").stdout.strip() == "smart"
    assert as_json("mode", "get", battery, "-p", "t") == {"mode": "smart"}

    run("plan", "schedule", "set", battery, json.dumps(WEEK), "-p", "t")
    assert as_json("plan", "schedule", "get", battery, "-p", "t") == WEEK
    assert "Mon 00:00" in run("plan", "schedule", "get", battery, "-p", "t").stdout
    run("mode", "set", battery, "schedule", "-p", "t")
    run("mode", "set", battery, "simple", "-p", "t")
    run("plan", "schedule", "clear", battery, "-p", "t")
    assert as_json("plan", "schedule", "get", battery, "-p", "t") == {"slots": []}

    plan = {
        "startTime": "2030-01-01T01:00:00Z",
        "commands": [
            {"type": "charge", "durationMinutes": 60, "powerW": 2500},
            {"type": "idle", "durationMinutes": 30},
        ],
    }
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    run("plan", "overlay", "set", battery, "--file", str(plan_file), "-p", "t")
    assert as_json("plan", "overlay", "get", battery, "-p", "t") == plan
    shown = run("plan", "overlay", "get", battery, "-p", "t").stdout
    assert "2030-01-01 01:00" in shown and "2030-01-01 02:00" in shown and "2500" in shown
    run("plan", "overlay", "clear", battery, "-p", "t")
    assert as_json("plan", "overlay", "get", battery, "-p", "t") == {"commands": []}

    # Errors are one clear line on stderr.
    missing = run("device", "no-such-device", "-p", "t", ok=False)
    assert missing.exit_code == 1 and missing.stderr.startswith("error: 404 not_found:")
    impossible = run("mode", "set", battery, "schedule", "-p", "t", ok=False)
    assert impossible.stderr.startswith("error: 422")
    broken = run("plan", "overlay", "set", battery, "{not json", "-p", "t", ok=False)
    assert "not valid JSON" in broken.stderr
    both = run(
        "plan", "overlay", "set", battery, "{}", "--file", str(plan_file), "-p", "t", ok=False
    )
    assert "one of them" in both.stderr

    # Logout revokes; afterwards every command says how to log in again.
    assert "Logged out" in run("logout", "-p", "t").stdout
    assert not token_file.exists()
    after = run("sites", "-p", "t", ok=False)
    assert after.exit_code == 1
    assert after.stderr.strip() == "error: not logged in: run `gridshare login --profile t`"
    assert "was not logged in" in run("logout", "-p", "t").stdout


def test_expired_login_and_scope_hint(
    live: LiveServer, owner: Owner, monkeypatch: pytest.MonkeyPatch, config_dir: Path
) -> None:
    partner = live.partner()
    configure(live, partner, "s")
    login(monkeypatch, owner, "-p", "s", "--scope", "lunar/device.read")
    devices = as_json("devices", "-p", "s")
    battery = next(d["synthId"] for d in devices if d["kind"] == "battery_pack")
    denied = run("plan", "overlay", "get", battery, "-p", "s", ok=False)
    assert denied.stderr.strip() == (
        "error: the login does not grant lunar/plan.read: run `gridshare login --scope "
        "lunar/plan.read` (plus the scopes you already use)"
    )
    # The stored login is revoked behind the CLI's back and the access token has expired.
    tokens = json.loads((config_dir / "tokens" / "s.json").read_text())
    from gridshare_client import GridshareClient, MemoryTokenStore, ProfileConfig, TokenSet

    other = GridshareClient(
        ProfileConfig().get("s"),
        token_store=MemoryTokenStore(),
        tokens=TokenSet.model_validate(tokens),
    )
    other.auth.revoke()
    tokens["expires_at"] = 0
    (config_dir / "tokens" / "s.json").write_text(json.dumps(tokens))
    expired = run("sites", "-p", "s", ok=False)
    assert expired.stderr.strip() == (
        "error: the login expired or was revoked: run `gridshare login --profile s`"
    )


def test_login_subprocess_no_browser(live: LiveServer, owner: Owner, config_dir: Path) -> None:
    """`gridshare login --no-browser` as a user runs it: it prints the URL, listens on a free
    loopback port, and finishes when the browser comes back."""
    partner = live.partner(public=True)
    configure(live, partner, "pub")
    env = {**os.environ, "GRIDSHARE_CONFIG_DIR": str(config_dir)}
    command = [
        str(Path(sys.executable).with_name("gridshare")),
        "login",
        "-p",
        "pub",
        "--no-browser",
        "--timeout",
        "60",
    ]
    proc = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stderr is not None
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in proc.stderr or []:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    url = ""
    while not url.startswith("http"):
        url = lines.get(timeout=30).strip()
    assert url.startswith(f"{live.base_url}/oauth2/authorize?")
    Browser(owner).approve(url)
    assert proc.wait(timeout=60) == 0
    sites = subprocess.run(
        [command[0], "sites", "-p", "pub", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert [s["siteId"] for s in json.loads(sites.stdout)] == owner.sites


def test_telemetry_command_input_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    no_plot = run("telemetry", "x__bb_agg", "--interval", "P1D", "--plot", "out.png", ok=False)
    assert no_plot.exit_code == 1
    assert (
        "--plot needs matplotlib" in no_plot.stderr and "pip install matplotlib" in no_plot.stderr
    )
    both = run("telemetry", "x", "--interval", "P1D", "--csv", "--json", ok=False)
    assert "choose one of" in both.stderr
    bad = run("telemetry", "x", "--interval", "yesterday", ok=False)
    assert bad.stderr.startswith("error: not an ISO 8601 duration")
    bad_resolution = run("telemetry", "x", "--interval", "P1D", "--resolution", "PT7M", ok=False)
    assert "unsupported resolution" in bad_resolution.stderr


def test_plot_draws_power_and_soc_with_matplotlib(tmp_path: Path) -> None:
    """matplotlib is optional (the `plot` extra; the test extra installs it): --plot renders a
    real PNG with power and state of charge."""
    from datetime import UTC, datetime, timedelta

    pytest.importorskip("matplotlib")
    from gridshare_client import TelemetryEntry, TelemetrySeries
    from gridshare_client.cli import partner

    plt = partner._require_matplotlib()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [
        TelemetryEntry(
            timestamp=start + timedelta(minutes=15 * i),
            power_w=1000.0 * ((i % 8) - 4),
            soc_percent=20.0 + i,
        )
        for i in range(48)
    ]
    series = TelemetrySeries(
        synth_id="x__bb_agg", resolution="PT15M", start=start, end=start, entries=entries
    )
    out = tmp_path / "out.png"
    partner._plot(plt, series, out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (11 * 120, 4 * 120)
