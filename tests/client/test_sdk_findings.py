"""What a new partner ran into, each pinned by a test (SDK-side behaviour against a scripted
HTTP transport; the live-server side is in test_sdk_findings_live.py).

- argument mistakes are SDK errors (`GridshareError`), still `ValueError`s;
- a sign-in that times out is its own error, not an `OSError` (so not "a port problem");
- `LoginRequired` says what happened, not which CLI command to run;
- `details=True` fans out with a bound;
- retries, rate-limit waits and refreshes are logged and reach the `on_event` hook;
- models take snake_case names in constructors, for type checkers too (mypy --strict, with and
  without pydantic's plugin), and modes, resolutions, aggregations and command types are
  `Literal`s there.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.client.test_sdk_unit import BASE, profile

from gridshare_client import (
    AsyncGridshareClient,
    ClientEvent,
    GridshareClient,
    GridshareError,
    InvalidArgument,
    LoginRequired,
    LoginTimedOut,
    MemoryTokenStore,
    OverlayCommand,
    RetryPolicy,
    Site,
    TokenSet,
)
from gridshare_client.loopback import LoopbackReceiver

TYPING_FILE = Path(__file__).with_name("typing_snake_case.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDSHARE_CONFIG_DIR", str(tmp_path / "cfg"))


def no_http(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request expected, got {request.method} {request.url}")


def client_for(handler: Any, **kwargs: Any) -> GridshareClient:
    return GridshareClient(
        profile(),
        token_store=MemoryTokenStore(),
        tokens=TokenSet(access_token="at", expires_at=4e9, refresh_token="rt"),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=lambda _s: None,
        retry=RetryPolicy(jitter=False),
        clock=lambda: 1e9,
        **kwargs,
    )


# -- argument errors ---------------------------------------------------------------------------


def test_argument_errors_are_sdk_errors() -> None:
    client = client_for(no_http)
    mistakes = [
        lambda: client.auth.start_login(),  # no redirect URI here nor in the profile
        lambda: client.list_sites(version=3),
        lambda: client.get_telemetry("s__x", None, duration="P1D"),  # v2 needs a start
        lambda: client.download_telemetry(
            "s__x", datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
        ),
        lambda: client.get_telemetry("s__x", "2026-01-01T00:00:00Z", resolution="PT7M"),  # type: ignore[arg-type]
    ]
    for mistake in mistakes:
        with pytest.raises(GridshareError) as caught:
            mistake()
        assert isinstance(caught.value, InvalidArgument)
        assert isinstance(caught.value, ValueError)  # what it was before, still true


# -- sign-in timeout and LoginRequired --------------------------------------------------------


def test_a_sign_in_that_times_out_is_not_an_os_error() -> None:
    with LoopbackReceiver() as receiver, pytest.raises(LoginTimedOut) as caught:
        receiver.wait(0.05)
    assert not isinstance(caught.value, OSError)
    assert isinstance(caught.value, GridshareError)

    def discovery_only(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404)

    with pytest.raises(LoginTimedOut):
        client_for(discovery_only).auth.login(port=0, open_browser=False, timeout=0.05)


def test_login_required_names_no_cli_command() -> None:
    client = GridshareClient(
        profile(name="webapp"),
        token_store=MemoryTokenStore(),
        http=httpx.Client(transport=httpx.MockTransport(no_http)),
    )
    with pytest.raises(LoginRequired) as caught:
        client.list_sites()
    message = str(caught.value)
    assert "gridshare login" not in message and "run" not in message
    assert caught.value.profile == "webapp"
    assert caught.value.reason == "not logged in"


# -- details=True ------------------------------------------------------------------------------


SITES = [f"s{i}" for i in range(12)]
DEVICES = [f"d{i}" for i in range(12)]


async def test_details_fan_out_concurrently_with_a_bound() -> None:
    in_flight = 0
    most = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        path = request.url.path
        if path == "/api/v2/sites":
            return httpx.Response(200, json={"entries": [{"siteId": s} for s in SITES]})
        if path == "/api/v2/devices":
            return httpx.Response(200, json={"entries": [{"synthId": d} for d in DEVICES]})
        in_flight += 1
        most = max(most, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)  # let the other detail calls start, up to the bound
        in_flight -= 1
        item = path.rsplit("/", 1)[1]
        if "/sites/" in path:
            return httpx.Response(200, json={"siteId": item, "timeZone": "Europe/London"})
        return httpx.Response(200, json={"synthId": item, "kind": "battery_pack", "name": item})

    async with AsyncGridshareClient(
        profile(),
        token_store=MemoryTokenStore(),
        tokens=TokenSet(access_token="at", expires_at=4e9, refresh_token="rt"),
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    ) as client:
        sites = await client.list_sites(details=True, concurrency=3)
        assert most == 3
        most = 0
        devices = await client.list_devices(details=True, concurrency=4)
        assert most == 4
        summaries = await client.list_sites()
    assert [s.site_id for s in sites] == SITES  # in the list's order
    assert all(isinstance(s, Site) and s.time_zone == "Europe/London" for s in sites)
    assert [d.synth_id for d in devices] == DEVICES and devices[0].kind == "battery_pack"
    assert not isinstance(summaries[0], Site)  # without details: the ids only, one call


# -- logging and the event hook ----------------------------------------------------------------


def test_retries_rate_limit_waits_and_refreshes_are_logged_and_hooked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers = [
        httpx.Response(503, json={"message": "busy", "code": "unavailable"}),
        httpx.Response(
            429, json={"message": "slow down", "code": "rate_limited"}, headers={"Retry-After": "2"}
        ),
        httpx.Response(200, json={"entries": [{"siteId": "a"}]}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            return httpx.Response(
                200, json={"access_token": "new", "token_type": "Bearer", "expires_in": 3600}
            )
        return answers.pop(0)

    events: list[ClientEvent] = []
    sleeps: list[float] = []
    client = GridshareClient(
        profile(),
        token_store=MemoryTokenStore(),
        tokens=TokenSet(access_token="old", expires_at=0, refresh_token="rt"),
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=sleeps.append,
        retry=RetryPolicy(jitter=False),
        clock=lambda: 1e9,
        on_event=events.append,
    )
    with caplog.at_level(logging.INFO, logger="gridshare_client"):
        assert [s.site_id for s in client.list_sites()] == ["a"]
    assert [e.kind for e in events] == ["token_refreshed", "retry", "rate_limited"]
    retry, limited = events[1], events[2]
    assert (retry.method, retry.url, retry.status_code, retry.attempt) == (
        "GET",
        f"{BASE}/api/v2/sites",
        503,
        1,
    )
    assert limited.delay == 2.0 and limited.status_code == 429 and sleeps == [0.5, 2.0]
    records = [r for r in caplog.records if r.name == "gridshare_client"]
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO, logging.WARNING]
    assert "rate limited" in records[2].getMessage() and "2.00 s" in records[2].getMessage()
    assert all("old" not in r.getMessage() and "new" not in r.getMessage() for r in records)


def test_a_failing_hook_does_not_fail_the_request(caplog: pytest.LogCaptureFixture) -> None:
    answers = [httpx.Response(503), httpx.Response(200, json={"entries": []})]

    def hook(event: ClientEvent) -> None:
        raise RuntimeError("metrics backend down")

    client = client_for(lambda request: answers.pop(0), on_event=hook)
    assert client.list_sites() == []
    assert any("on_event hook failed" in r.getMessage() for r in caplog.records)


# -- models and Literals for type checkers -----------------------------------------------------


def test_models_take_snake_case_and_wire_names() -> None:
    command = OverlayCommand(type="setpoint", duration_minutes=30, power_w=-1500)
    assert command.to_wire() == {"type": "setpoint", "durationMinutes": 30, "powerW": -1500}
    assert OverlayCommand.model_validate(command.to_wire()) == command
    site = Site(site_id="s1", time_zone="Europe/London")
    assert site.to_wire() == {"siteId": "s1", "timeZone": "Europe/London"}
    assert Site.model_validate({"siteId": "s1", "timeZone": "Europe/London"}) == site


@pytest.mark.parametrize("plugin", [True, False], ids=["pydantic-plugin", "no-plugin"])
def test_snake_case_constructors_and_literals_pass_mypy_strict(
    plugin: bool, tmp_path: Path
) -> None:
    """The typing file builds models with snake_case names and marks each wrong Literal with a
    `type: ignore[...]`: under --strict an ignore that is not needed is an error itself, so a
    parameter typed `str` again would fail this test as surely as a camelCase-only signature."""
    config = tmp_path / "mypy.ini"
    plugins = "plugins = pydantic.mypy\n[pydantic-mypy]\ninit_typed = True\n" if plugin else ""
    config.write_text(f"[mypy]\nstrict = True\n{plugins}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--cache-dir",
            str(REPO / ".mypy_cache" / ("findings-plugin" if plugin else "findings-plain")),
            str(TYPING_FILE),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
