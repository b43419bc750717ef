"""Give homeowners sites built from templates (admin CLI, demo data): one use case, one unit
of work per call, so a site never exists without its devices or (with a twin runner) its twin
state."""

from __future__ import annotations

import random
import secrets
from datetime import datetime

from gridshare.clock import Clock
from gridshare.fleet.homes_memory import HomesMemory, note_process_change
from gridshare.fleet.site_rows import site_to_rows
from gridshare.fleet.twin_runner import TwinRunner
from gridshare.homes.sites import Site
from gridshare.homes.templates import build_site
from gridshare.storage import homes as rows
from gridshare.storage.db import Database

DEFAULT_TEMPLATE = "hybrid_home"


async def provision_sites(
    db: Database,
    clock: Clock,
    owner_id: str,
    template: str = DEFAULT_TEMPLATE,
    count: int = 1,
    twin: TwinRunner | None = None,
    memory: HomesMemory | None = None,
) -> list[Site]:
    """Create `count` sites for `owner_id` from `template` (ids from the system's CSPRNG), in
    one transaction.

    With a twin runner, each site also gets its twin state at the start of its history, in the
    same transaction; the runner (or `advance`) then backfills up to now. `memory` (the
    homes service's) announces the new sites to every process sharing its Redis; without it
    only this process's memories forget at once.
    """
    rng = random.SystemRandom()
    sites = [build_site(template, owner_id, rng) for _ in range(count)]
    async with db.write() as session:
        for site in sites:
            site_row, device_rows = site_to_rows(
                site,
                owner_id=owner_id,
                template=template,
                seed=secrets.randbits(31),
                now=clock.now(),
            )
            await rows.add_site(session, site_row, device_rows)
            if twin is not None:
                await twin.add_state(session, site, site_row.seed)
    await _changed(memory)
    return sites


async def store_site(
    db: Database,
    site: Site,
    *,
    owner_id: str,
    template: str,
    seed: int,
    now: datetime,
    twin: TwinRunner | None = None,
    history_start: datetime | None = None,
    memory: HomesMemory | None = None,
) -> None:
    """Store a site built elsewhere (tests, benchmarks), with its twin state when `twin` is
    given (from `history_start`, default the runner's backfill), in one transaction."""
    site_row, device_rows = site_to_rows(
        site, owner_id=owner_id, template=template, seed=seed, now=now
    )
    async with db.write() as session:
        await rows.add_site(session, site_row, device_rows)
        if twin is not None:
            await twin.add_state(session, site, seed, history_start)
    await _changed(memory)


async def _changed(memory: HomesMemory | None) -> None:
    if memory is not None:
        await memory.changed()
    else:
        note_process_change()
