"""Runs the digital twin of every site: backfills history, then advances in real time.

Each chunk is simulated from the stored state, then its samples and the new state are written in
ONE transaction, guarded by the state's minute (optimistic concurrency): an acknowledged chunk is
never lost, a crash mid-chunk loses nothing acknowledged (the chunk is simply simulated again),
and two server processes advancing the same site cannot both commit the same chunk. Controls are
re-read before every chunk, so a mode or plan set through the API takes effect at the next step.

With several server processes, the live loop of each only advances the sites it holds a lease
on (`twin_states.lease_owner` / `lease_until`, renewed every round), and each process takes its
fair share of the sites (`gridshare.fleet.leases`); when one stops (leases released) or dies
(leases expire after `LEASE_SECONDS`) the others take its sites over. The optimistic guard
above still protects every chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from gridshare.clock import Clock
from gridshare.fleet.leases import Lease, plan_leases
from gridshare.fleet.site_rows import StoredSite, stored_site
from gridshare.fleet.twin_adapter import to_batches, to_site_control, to_twin_site
from gridshare.homes import events
from gridshare.homes.plans import OverlayPlan
from gridshare.homes.sites import Site
from gridshare.ops.metrics import TWIN_LAG, TWIN_LEASES
from gridshare.storage import events as outbox
from gridshare.storage import homes as homes_rows
from gridshare.storage import twin_states
from gridshare.storage.db import Database
from gridshare.storage.models import DeviceControl, TwinStateRow
from gridshare.telemetry import SampleBatch
from gridshare.telemetry.retention import prune_raw_samples
from gridshare.telemetry.store import write_samples
from gridshare.twin import (
    SimResult,
    SiteControl,
    TwinConfig,
    TwinSite,
    TwinState,
    initial_state,
    simulate,
)
from gridshare.twin.timebase import floor_minute, from_minute

log = logging.getLogger(__name__)

#: Minutes per simulated-and-written chunk during catch-up (one day keeps a transaction to a
#: few tens of thousands of rows).
CHUNK_MINUTES = 1440
#: How long a process's claim on a site lasts without renewal (the live loop renews it every
#: round, about once a minute): how soon another process takes over from one that died.
LEASE_SECONDS = 180.0
Progress = Callable[[int, int], None]
"""Called with (minutes done, minutes to do) after each chunk."""


class TwinRunner:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        config: TwinConfig | None = None,
        backfill_days: float = 30.0,
        raw_retention_days: float = 0.0,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.db = db
        self.clock = clock
        self.config = config or TwinConfig()
        self.backfill = timedelta(days=backfill_days)
        self.raw_retention = timedelta(days=raw_retention_days) if raw_retention_days else None
        self._pruned_at = float("-inf")
        self.lease_seconds = lease_seconds
        #: This process's name on the leases it holds (unique per runner).
        self.owner = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"

    async def start_site(self, site_id: str, history_start: datetime | None = None) -> None:
        """Give an existing site its twin state, `backfill_days` in the past unless told
        otherwise (one transaction; a no-op if it has one)."""
        async with self.db.write() as session:
            row = await homes_rows.site_row(session, site_id)
            if row is None:
                raise LookupError(f"no site {site_id!r}")
            stored = stored_site(row, await homes_rows.device_rows(session, site_id))
            await self.add_state(session, stored.site, stored.seed, history_start)

    async def add_state(
        self, session: AsyncSession, site: Site, seed: int, history_start: datetime | None = None
    ) -> None:
        """Within the caller's unit of work: the site's first twin state, unless it has one."""
        twin = to_twin_site(site, seed)
        start = history_start or (self.clock.now() - self.backfill)
        state = initial_state(twin, start)
        await twin_states.add_if_missing(
            session, site.site_id, state.minute, state.to_dict(), self.clock.now()
        )

    async def _load(self, site_id: str) -> tuple[StoredSite, TwinStateRow | None] | None:
        async with self.db.read() as session:
            row = await homes_rows.site_row(session, site_id)
            if row is None:
                return None
            stored = stored_site(row, await homes_rows.device_rows(session, site_id))
            return stored, await twin_states.state_row(session, site_id)

    async def advance(
        self,
        site_id: str,
        until: datetime | None = None,
        progress: Progress | None = None,
        chunk_minutes: int = CHUNK_MINUTES,
        observe_lag: bool = False,
    ) -> int:
        """Simulate `site_id` up to `until` (default now); returns the samples written."""
        loaded = await self._load(site_id)
        if loaded is None:
            return 0
        stored, row = loaded
        if row is None:
            await self.start_site(site_id)
            async with self.db.read() as session:
                row = await twin_states.state_row(session, site_id)
            assert row is not None
        twin = to_twin_site(stored.site, stored.seed)
        state = TwinState.from_dict(row.state)
        seen = row.controls_seen_at
        target = floor_minute(until or self.clock.now())
        total = max(0, target - state.minute)
        if observe_lag:
            TWIN_LAG.observe(total * 60)
        written = 0
        while state.minute < target:
            async with self.db.read() as session:
                controls = await homes_rows.controls_of_site(session, site_id)
            latest_change = max((c.updated_at for c in controls.values()), default=None)
            if latest_change is not None and (seen is None or latest_change > seen):
                state = dataclasses.replace(state, smart_plan=None)  # re-plan on new controls
                seen = latest_change
            end_minute = min(state.minute + chunk_minutes, target)
            control = to_site_control(stored.site, controls)
            # CPU-bound (numpy, the LP): off the event loop so the API stays responsive.
            result, batches = await anyio.to_thread.run_sync(
                self._step, stored.site, twin, state, end_minute, control
            )
            before = state.minute
            state = result.end_state
            async with self.db.write() as session:
                claimed = await twin_states.advance(
                    session,
                    site_id,
                    from_minute=before,
                    to_minute=state.minute,
                    state=state.to_dict(),
                    controls_seen_at=seen,
                    now=self.clock.now(),
                )
                if not claimed:
                    log.info("site %s advanced by another process; stopping here", site_id)
                    raise _Superseded
                written += await write_samples(session, batches)
                await self._tell_commands(session, stored, controls, before, state.minute)
            if progress is not None:
                progress(state.minute - (target - total), total)
        return written

    @staticmethod
    async def _tell_commands(
        session: AsyncSession,
        stored: StoredSite,
        controls: dict[str, DeviceControl],
        begin: int,
        end: int,
    ) -> None:
        """Into the outbox, in the chunk's own transaction: the overlay commands this chunk
        started and completed (told exactly once, since a chunk commits exactly once)."""
        crossed = []
        for device_id, control in controls.items():
            if control.overlay is None:
                continue
            plan = OverlayPlan.model_validate(control.overlay)
            crossed += events.crossed(device_id, plan, from_minute(begin), from_minute(end))
        crossed.sort(key=lambda item: (item[1], item[0] == events.OVERLAY_STARTED))
        for type, at, body in crossed:
            await outbox.append(
                session,
                site_id=stored.site.site_id,
                owner_id=stored.owner_id,
                type=type,
                at=at,
                body=body,
                device_id=body["deviceId"],
            )

    def _step(
        self, site: Site, twin: TwinSite, state: TwinState, end_minute: int, control: SiteControl
    ) -> tuple[SimResult, dict[str, SampleBatch]]:
        result = simulate(twin, state, from_minute(end_minute), control, self.config)
        return result, to_batches(site, twin, result)

    async def claim(self) -> list[str]:
        """Start the twins that sites lack, then renew this runner's leases and take its fair
        share of the rest (`gridshare.fleet.leases`); returns the sites it now holds.

        Provisioning gives a site its twin state in the same transaction, so the first step only
        finds sites written by a release that did it in two (a crash between them left the
        site without a twin) or added without a twin runner.
        """
        async with self.db.read() as session:
            missing = await homes_rows.site_ids_without_twin(session)
        for site_id in missing:
            await self.start_site(site_id)
        now = self.clock.now()
        until = now + timedelta(seconds=self.lease_seconds)
        async with self.db.write() as session:
            leases = [Lease(*lease) for lease in await twin_states.leases(session)]
            plan = plan_leases(leases, self.owner, now)
            # Each update re-checks what the plan saw, so a concurrent claim cannot be undone.
            if plan.keep:
                await twin_states.renew(session, plan.keep, self.owner, until)
            if plan.take_free:
                await twin_states.take_free(session, plan.take_free, self.owner, until, now)
            for holder, sites in plan.take_from.items():
                await twin_states.take_from(session, sites, holder, self.owner, until)
            return await twin_states.held(session, self.owner, now)

    async def release(self) -> None:
        """Give up this runner's leases (at shutdown), so another process takes over at once."""
        async with self.db.write() as session:
            await twin_states.release(session, self.owner)

    async def advance_held(self, until: datetime | None = None) -> int:
        """One round of the live loop: claim, then advance every site held."""
        written = 0
        held = await self.claim()
        TWIN_LEASES.set(len(held))
        for site_id in held:
            try:
                written += await self.advance(site_id, until, observe_lag=True)
            except _Superseded:
                continue
            except Exception:  # one broken site must not stop the others
                log.exception("twin of site %s failed to advance", site_id)
        return written

    async def prune(self) -> int:
        """Apply the raw-sample retention (at most hourly; a no-op when retention is off)."""
        if self.raw_retention is None or self.clock.time() - self._pruned_at < 3600:
            return 0
        before = int((self.clock.now() - self.raw_retention).timestamp())
        async with self.db.write() as session:
            deleted = await prune_raw_samples(session, before)
        self._pruned_at = self.clock.time()
        return deleted

    async def run_forever(self, interval_seconds: float = 60.0) -> None:
        """Catch every site up, then advance them each minute, until cancelled."""
        while True:
            try:
                await self.advance_held()
                await self.prune()
            except Exception:  # the database away for a moment: try again next round
                log.exception("twin loop round failed")
            now = self.clock.time()
            await asyncio.sleep(interval_seconds - now % interval_seconds + 0.5)


class _Superseded(Exception):
    """Another process committed this chunk first."""


@contextlib.asynccontextmanager
async def running(
    runner: TwinRunner, enabled: bool = True, interval_seconds: float = 60.0
) -> AsyncIterator[TwinRunner]:
    """Run the twin loop in the background for the lifetime of the server, then release its
    leases."""
    task = asyncio.create_task(runner.run_forever(interval_seconds)) if enabled else None
    try:
        yield runner
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            try:
                await runner.release()
            except Exception:  # leases then simply expire
                log.exception("could not release the twin leases")
