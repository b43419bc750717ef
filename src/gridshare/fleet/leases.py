"""Sharing the sites' twins out between server processes: who should hold which lease.

Pure planning over a snapshot of the leases; `TwinRunner.claim` applies the plan with
conditional updates, so two processes planning at once cannot both take a site. A process
counts as live while it holds an unexpired lease; everyone aims at a fair share, `ceil(sites /
live processes)`: a newcomer first takes free or expired leases, then takes the excess of those
holding more than their share. So a second process gets half the sites on its first round, and
the sites of a process that stopped (leases released) or died (leases expired) go to the rest.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Lease:
    site_id: str
    owner: str | None
    until: datetime | None

    def live(self, now: datetime) -> bool:
        return self.owner is not None and self.until is not None and self.until > now


@dataclass
class LeasePlan:
    """What `me` should do this round: keep (renew) some, take free ones, take some from others."""

    keep: list[str] = field(default_factory=list)
    take_free: list[str] = field(default_factory=list)
    take_from: dict[str, list[str]] = field(default_factory=dict)


def plan_leases(leases: list[Lease], me: str, now: datetime) -> LeasePlan:
    live = [lease for lease in leases if lease.live(now)]
    held: dict[str, list[str]] = defaultdict(list)
    for lease in sorted(live, key=lambda lease: lease.site_id):
        held[str(lease.owner)].append(lease.site_id)
    owners = set(held) | {me}
    share = math.ceil(len(leases) / len(owners)) if leases else 0
    plan = LeasePlan(keep=list(held.get(me, [])))
    want = share - len(plan.keep)
    free = sorted(lease.site_id for lease in leases if not lease.live(now))
    plan.take_free = free[: max(want, 0)]
    want -= len(plan.take_free)
    for owner, sites in sorted(held.items(), key=lambda item: -len(item[1])):
        if want <= 0:
            break
        if owner == me or len(sites) <= share:
            continue
        spare = sites[share:][:want]  # the holder keeps its first `share`
        plan.take_from[owner] = spare
        want -= len(spare)
    return plan
