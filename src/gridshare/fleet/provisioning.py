"""Give homeowners sites built from templates (admin CLI, demo data)."""

from __future__ import annotations

import random
import secrets

from gridshare.clock import Clock
from gridshare.fleet.twin_runner import TwinRunner
from gridshare.homes.sites import Site
from gridshare.homes.templates import build_site
from gridshare.storage.homes import HomesRepository

DEFAULT_TEMPLATE = "hybrid_home"


async def provision_sites(
    repo: HomesRepository,
    clock: Clock,
    owner_id: str,
    template: str = DEFAULT_TEMPLATE,
    count: int = 1,
    twin: TwinRunner | None = None,
) -> list[Site]:
    """Create `count` sites for `owner_id` from `template` (ids from the system's CSPRNG).

    With a twin runner, each site also gets its twin state at the start of its history; the
    runner (or `advance`) then backfills up to now.
    """
    rng = random.SystemRandom()
    sites = []
    for _ in range(count):
        site = build_site(template, owner_id, rng)
        await repo.add_site(
            site, owner_id=owner_id, template=template, seed=secrets.randbits(31), now=clock.now()
        )
        if twin is not None:
            await twin.start_site(site.site_id)
        sites.append(site)
    return sites
