"""SIGKILL a real `gridshare serve` while it delivers a committed event; another server then
delivers it: nothing committed is lost, and each attempt is recorded once.

The event is committed by the test's own app (webhook delivery off there); server A, a
subprocess on the same database, claims the subscription and sends; the receiver holds that
request unanswered, and A is killed with SIGKILL mid-attempt. Server B starts, the dead
process's lease runs out (shortened to 2 s for the test), and B delivers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.api.telemetry_support import twin_home
from tests.e2e.live import free_port, gridshare_command
from tests.push.receiver import receiver
from tests.support import TestServices

pytestmark = pytest.mark.e2e

#: Only a guard against a hung test; no assertion depends on it.
GUARD_SECONDS = 120


@contextmanager
def serve(database_url: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
    env |= {
        "GRIDSHARE_TWIN_LIVE": "false",
        "GRIDSHARE_WEBHOOK_LEASE_SECONDS": "2",
        "GRIDSHARE_WEBHOOK_INTERVAL_SECONDS": "0.2",
        "GRIDSHARE_WEBHOOK_ALLOW_LOOPBACK": "true",
        "GRIDSHARE_ARGON2_MEMORY_KIB": "1024",
        "GRIDSHARE_ARGON2_TIME_COST": "1",
    }
    proc = subprocess.Popen(
        [
            *gridshare_command(),
            "serve",
            "--port",
            str(free_port()),
            "--database-url",
            database_url,
            "--no-demo",
            "--workers",
            "1",  # one process: the SIGKILL hits the process that delivers
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


async def until(condition: Any, what: str) -> None:
    async with asyncio.timeout(GUARD_SECONDS):
        while not await condition():
            await asyncio.sleep(0.1)


async def test_sigkill_mid_delivery_then_another_server_delivers(
    gs: TestServices, database_url: str
) -> None:
    home = await twin_home(gs, seed=90)
    with receiver() as hooks:
        hooks.script = [0]  # hold the first request: server A dies with it in flight
        created = await gs.http.post(
            "/api/v2/subscriptions",
            json={"callbackUrl": hooks.url, "events": ["device.operationMode.changed"]},
            headers=home.headers,
        )
        assert created.status_code == 201
        sub = created.json()
        changed = await gs.http.put(
            f"/api/v2/devices/{home.device('battery_pack')}/operationMode",
            json={"mode": "smart"},
            headers=home.headers,
        )
        assert changed.status_code == 200

        async def received(n: int) -> Any:
            async def check() -> bool:
                return len(hooks.received) >= n

            return check

        async def log() -> dict[str, Any]:
            return await gs.services.webhooks.deliveries(
                home.owner.sub, home.partner.client_id, sub["id"]
            )

        with serve(database_url) as first:
            await until(await received(1), "server A's attempt")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
            assert first.returncode == -signal.SIGKILL
        assert (await log())["deliveries"] == []  # nothing acknowledged, nothing recorded
        hooks.released = True

        async def delivered() -> bool:
            return bool((await log())["deliveries"])

        with serve(database_url):
            await until(delivered, "server B's delivery")
        got = list(hooks.received)
    final = await log()
    assert [(d["statusCode"], d["attempt"]) for d in final["deliveries"]] == [(204, 1)]
    assert len({d["id"] for d in final["deliveries"]}) == len(final["deliveries"])
    # the event twice (at least once), the same webhook-id each time, both signed
    assert len(got) == 2
    assert got[0].headers["webhook-id"] == got[1].headers["webhook-id"]
    for item in got:
        payload = Webhook(sub["secret"]).verify(item.body, item.headers)
        assert payload["data"]["operationMode"] == {"mode": "smart"}
