"""The partner findings against our server over a real socket: `details=True` gives what one
call per item gives, refreshes reach the event hook, and the CLI reports a sign-in that timed
out as such (not as a port problem)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from tests.client.conftest import Harness, profile_for
from tests.client.live import LiveServer
from tests.client.test_cli import configure
from tests.live import Owner
from typer.testing import CliRunner

from gridshare_client import AsyncGridshareClient, ClientEvent, MemoryTokenStore
from gridshare_client.cli.main import app


def test_details_equal_one_call_per_item(harness: Harness, live: LiveServer, owner: Owner) -> None:
    client = harness.client(live.partner())
    harness.login(client, owner)
    sites = client.list_sites(details=True, concurrency=2)
    assert sites == [client.get_site(s.site_id) for s in client.list_sites()]
    assert [s.site_id for s in sites] == owner.sites
    devices = client.list_devices(details=True, concurrency=3)
    assert devices == [client.get_device(d.synth_id) for d in client.list_devices()]
    assert len(devices) > 3  # more devices than the bound: the fan-out really ran in waves


async def test_async_details_agree_with_sync(
    harness: Harness, live: LiveServer, owner: Owner
) -> None:
    partner = live.partner()
    sync = harness.client(partner)
    await asyncio.to_thread(harness.login, sync, owner)
    async with AsyncGridshareClient(
        profile_for(live, partner), token_store=MemoryTokenStore(), tokens=sync.auth.tokens
    ) as client:
        devices = await client.list_devices(details=True, concurrency=2)
        sites = await client.list_sites(details=True)
    assert devices == await asyncio.to_thread(sync.list_devices, details=True)
    assert sites == await asyncio.to_thread(sync.list_sites, details=True)


def test_a_refresh_reaches_the_hook_and_the_log(
    harness: Harness, live: LiveServer, owner: Owner, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[ClientEvent] = []
    partner = live.partner()
    client = harness.client(partner)
    harness.login(client, owner)
    client.auth.on_event = events.append
    harness.clock.advance(3600 * 2)  # the access token is stale now
    with caplog.at_level(logging.INFO, logger="gridshare_client"):
        assert [s.site_id for s in client.list_sites()] == owner.sites
    assert [e.kind for e in events] == ["token_refreshed"]
    assert events[0].url == f"{live.base_url}/oauth2/token"
    assert any(
        r.name == "gridshare_client" and "refreshed" in r.getMessage() for r in caplog.records
    )


def test_cli_reports_a_sign_in_that_timed_out(live: LiveServer) -> None:
    configure(live, live.partner(public=True), "slow")
    result = CliRunner().invoke(app, ["login", "-p", "slow", "--no-browser", "--timeout", "0.2"])
    assert result.exit_code == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "error: no sign-in arrived within 0.2 s: run `gridshare login` again "
        "(--timeout gives more time)"
    )
    assert "listen" not in result.stderr
