"""Push throughput and latency (a script, not a test).

    python benchmarks/push.py                          # temp SQLite database
    python benchmarks/push.py --database-url postgresql://postgres@127.0.0.1/bench_push

In one process: a homeowner with one site, a partner subscription to a receiver on a real socket
(uvicorn in a thread, answering 204), then

- delivered/s: N mode changes committed first, then drained by the deliverer (signing, one
  HTTP POST each, the attempt recorded);
- twin step → receiver: an overlay command starting at the next minute, the twin advanced one
  minute (the chunk's commit writes `plan.overlay.started`), the deliverer running in the
  background as in `serve`; the time from the start of the twin step (simulation and commit)
  to the receiver's arrival, p50/p95 over K plans.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.push.receiver import receiver

from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.fleet.provisioning import provision_sites
from gridshare.fleet.service import Caller
from gridshare.fleet.webhooks import delivering
from gridshare.homes.sites import Site
from gridshare.services import build_services
from gridshare.storage import migrate
from gridshare.storage.db import Database

ALL = frozenset({"lunar/device.read", "lunar/device.write", "lunar/plan.read", "lunar/plan.write"})


def battery(site: Site) -> str:
    return next(d.synth_id for d in site.devices if d.kind.value == "battery_pack")


async def main(database_url: str, events: int, plans: int) -> None:
    settings = Settings(
        database_url=database_url, demo=False, webhook_allow_loopback=True, twin_backfill_days=0.01
    )
    db = Database(database_url)
    await migrate.upgrade(db)
    clock = Clock()
    services = await build_services(settings, db, clock)
    user = await services.users.create(f"bench-{time.time_ns()}@example.com", "correct horse 1")
    (site,) = await provision_sites(db, clock, user.id, count=1)
    client, _ = await services.clients.create(
        __import__("gridshare.auth.clients", fromlist=["ClientOptions"]).ClientOptions(
            name="bench", redirect_uris=["https://example.com/cb"]
        )
    )
    await services.grants.record_consent(user.id, client.client_id, sorted(ALL))
    caller = Caller(user.id, client.client_id, ALL)
    device = battery(site)
    with receiver() as hooks:
        await services.webhooks.create(
            user.id,
            client.client_id,
            ALL,
            {
                "callbackUrl": hooks.url,
                "events": ["device.operationMode.changed", "plan.overlay.started"],
            },
        )
        for i in range(events):
            await services.homes.set_mode(caller, device, {"mode": ("smart", "simple")[i % 2]})
        start = time.perf_counter()
        while await services.deliverer.deliver_once(batch=10):
            pass
        took = time.perf_counter() - start
        print(f"delivered {len(hooks.received)} events in {took:.2f} s: {events / took:.0f}/s")

        latencies: list[float] = []
        await services.twin.advance(site.site_id)
        async with services.hub.running(), delivering(services.deliverer, interval_seconds=1.0):
            for _ in range(plans):
                state_minute = await _minute(services, site.site_id)
                begin = state_minute + 1
                plan = {
                    "startTime": _iso(begin),
                    "commands": [{"type": "idle", "durationMinutes": 1}],
                }
                await services.homes.set_overlay(caller, device, plan)
                seen = len(hooks.received)
                stepped = time.perf_counter()
                await services.twin.advance(site.site_id, until=_at(begin) + timedelta(minutes=1))
                while len(hooks.received) == seen:  # noqa: ASYNC110 - another thread appends
                    await asyncio.sleep(0.001)
                latencies.append(hooks.received[seen].at - stepped)
                clock.offset_seconds += 120  # the next plan in the future again
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[int(0.95 * (len(latencies) - 1))] * 1000
    print(f"twin step -> receiver: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {plans} plans")
    await services.aclose()
    await db.dispose()


async def _minute(services: object, site_id: str) -> int:
    from gridshare.storage import twin_states

    async with services.db.read() as session:  # type: ignore[attr-defined]
        row = await twin_states.state_row(session, site_id)
    assert row is not None
    return int(row.sim_minute)


def _at(minute: int):  # type: ignore[no-untyped-def]
    from gridshare.twin.timebase import from_minute

    return from_minute(minute)


def _iso(minute: int) -> str:
    return _at(minute).isoformat().replace("+00:00", "Z")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--plans", type=int, default=30)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/push.db"
    asyncio.run(main(url, args.events, args.plans))
