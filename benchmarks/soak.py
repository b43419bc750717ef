"""Many processes, one service: a soak under faults.

Starts N `gridshare serve` processes (3 by default, one worker each) on one fresh PostgreSQL
database and one Redis, drives a mixed load through all of them (sign-ins, refreshes with and
without rotation, API reads, mode and overlay-plan writes, telemetry), and every `--kill-every`
seconds kills a random process with SIGKILL and starts it again, for `--duration` seconds. Then
it checks and prints:

- every acknowledged write is there: each 2xx mode or plan write is read back through another
  process at once, and the audit holds a matching entry for each;
- no 5xx, and no connection error except to a process that was being killed;
- a refresh token revoked through one process is refused by every other live process within
  1 s (its access token stops working there);
- every site's twin advanced, never fell more than 2 minutes behind real time after the first
  catch-up, never went back, and no minute was simulated twice (each 15-minute rollup counts
  exactly the raw samples it summarises);
- the sites are shared out between live processes: each holds at least 1/(N+1) of them
  (`gridshare_twin_leases_held` read from each process's `/metrics`).

The twin's live loop runs every `--twin-interval` seconds with leases of `--twin-lease` seconds
(test-only settings; production uses 60 and 180), so a short run still sees a dead process's
sites taken over. Loopback traffic only; every loop is bounded by the duration.

    python benchmarks/soak.py [--duration 600] [--processes 3] [--kill-every 60]
        [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--redis redis://127.0.0.1:6379/0]

Needs the test extras (it reuses the tests' sign-in and request-body helpers). Exit status 0
when every check passes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' helpers, reused rather than copied

from server_process import clean_env, free_port, start_server, stop, wait_ready  # noqa: E402
from tests.api.homes_support import FUTURE, overlay_body  # noqa: E402
from tests.e2e.live import approve  # noqa: E402
from tests.live import Owner  # noqa: E402
from tests.support import ALL_API, PASSWORD  # noqa: E402

from auth import admin  # noqa: E402  (benchmarks/auth.py: `gridshare admin ... --json`)

REDIRECT = "https://partner.example/callback"
SCOPE = "openid " + ALL_API
REVOCATION_BOUND = 1.0
#: Three servers starting at once on a busy machine each import the whole stack.
STARTUP_TIMEOUT = 300.0
MAX_TWIN_LAG_MINUTES = 2


# -- the processes ----------------------------------------------------------------------------


@dataclass
class Proc:
    index: int
    port: int
    workdir: Path
    env: dict[str, str]
    database_url: str
    popen: subprocess.Popen[bytes] | None = None
    up: bool = False
    #: Bumped at every kill: a request that started in an older generation may fail.
    generation: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        metrics_dir = self.workdir / f"metrics-{self.index}-{self.generation}"
        metrics_dir.mkdir()
        env = self.env | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        log_path = self.workdir / f"server-{self.index}.log"
        with log_path.open("ab") as log:
            self.popen = start_server(self.database_url, self.port, log, env, ["--workers", "1"])
        wait_ready(self.popen, self.base, log_path, STARTUP_TIMEOUT)
        self.up = True

    def kill(self) -> None:
        self.up = False
        self.generation += 1
        if self.popen is not None:
            self.popen.kill()  # SIGKILL: no shutdown, leases left to expire
            self.popen.wait()


@dataclass
class Findings:
    requests: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    allowed_connection_errors: int = 0
    writes_acked: int = 0
    writes_read_back: int = 0
    #: (device, action, detail key, value) of every acknowledged write, for the audit check.
    acked: list[tuple[str, str, str, str]] = field(default_factory=list)
    families_lost_to_kills: int = 0
    revocation_delays: list[float] = field(default_factory=list)
    kills: int = 0

    def fail(self, message: str) -> None:
        if len(self.failures) < 200:
            self.failures.append(message)


class Cluster:
    def __init__(self, procs: list[Proc], findings: Findings) -> None:
        self.procs = procs
        self.findings = findings

    def live(self) -> list[Proc]:
        return [p for p in self.procs if p.up]

    def pick(self, other_than: Proc | None = None) -> Proc | None:
        choices = [p for p in self.live() if p is not other_than] or self.live()
        return random.choice(choices) if choices else None

    async def request(
        self, proc: Proc, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        """One request to `proc`; None when the process went away (and that was allowed)."""
        generation = proc.generation
        self.findings.requests[method] += 1
        try:
            async with httpx.AsyncClient(base_url=proc.base, timeout=30) as http:
                response = await http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            if proc.generation != generation or not proc.up:
                self.findings.allowed_connection_errors += 1
                return None
            self.findings.fail(f"connection error to live process {proc.index}: {path} {exc!r}")
            return None
        if response.status_code >= 500:
            self.findings.fail(f"{response.status_code} from process {proc.index}: {method} {path}")
        return response


# -- the partner side -------------------------------------------------------------------------


@dataclass
class PartnerApp:
    client_id: str
    secret: str
    rotates: bool

    def auth(self) -> tuple[str, str]:
        return (self.client_id, self.secret)


@dataclass
class Tokens:
    access: str
    refresh: str
    kills_when_issued: int


async def sign_in(cluster: Cluster, owner: Owner, partner: PartnerApp) -> Tokens | None:
    """The hosted pages through one process, the code exchange through another."""
    kills = cluster.findings.kills
    proc = cluster.pick()
    if proc is None:
        return None
    generation = proc.generation
    query = httpx.QueryParams(
        response_type="code",
        client_id=partner.client_id,
        redirect_uri=REDIRECT,
        state=uuid.uuid4().hex,
        scope=SCOPE,
    )
    try:
        async with httpx.AsyncClient(base_url=proc.base, timeout=30) as browser:
            seen = await approve(
                browser, f"{proc.base}/oauth2/authorize?{query}", owner, expect_consent=False
            )
    except (httpx.TransportError, AssertionError):
        if proc.generation == generation:
            cluster.findings.fail(f"sign-in through live process {proc.index} failed")
        return None
    code = httpx.URL(seen.callback).params["code"]
    other = cluster.pick(other_than=proc)
    if other is None:
        return None
    response = await cluster.request(
        other,
        "POST",
        "/oauth2/token",
        auth=partner.auth(),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
    )
    if response is None:
        return None
    if response.status_code != 200:
        cluster.findings.fail(f"code exchange refused: {response.status_code} {response.text}")
        return None
    body = response.json()
    return Tokens(body["access_token"], body["refresh_token"], kills)


@dataclass
class Home:
    owner: Owner
    battery: str
    sensor: str


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("children") or [] for n in _walk(child))]


async def discover_home(cluster: Cluster, owner: Owner, access: str) -> Home:
    proc = cluster.pick()
    assert proc is not None
    response = await cluster.request(
        proc,
        "GET",
        f"/api/v2/sites/{owner.sites[0]}/topology",
        headers={"Authorization": f"Bearer {access}"},
    )
    assert response is not None and response.status_code == 200, "topology unavailable"
    nodes = _walk(response.json()["root"])
    battery = next(n["id"] for n in nodes if n.get("deviceKind") == "battery_pack")
    sensor = next(n["id"] for n in nodes if n["kind"] == "sensor")
    return Home(owner, battery, sensor)


class UserLoad:
    """One homeowner's traffic (writes to their devices go one at a time, so each can be read
    back unambiguously)."""

    def __init__(
        self, cluster: Cluster, home: Home, partners: list[PartnerApp], first: list[Tokens]
    ) -> None:
        self.cluster = cluster
        self.home = home
        self.partners = partners
        self.tokens: list[Tokens | None] = list(first)
        self.f = cluster.findings

    async def run(self, deadline: float, write_counter: list[int]) -> None:
        ops = [self.read, self.telemetry, self.write_mode, self.write_plan, self.refresh]
        weights = [30, 15, 10, 10, 15]
        while time.monotonic() < deadline:
            which = random.randrange(len(self.partners))
            if self.tokens[which] is None or random.random() < 0.005:
                self.tokens[which] = await sign_in(
                    self.cluster, self.home.owner, self.partners[which]
                )
            tokens = self.tokens[which]
            if tokens is not None:
                op = random.choices(ops, weights)[0]
                await op(which, tokens, write_counter)
            await asyncio.sleep(random.uniform(0.02, 0.15))

    def _headers(self, tokens: Tokens) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens.access}"}

    def _lost(self, which: int, tokens: Tokens, what: str, response: httpx.Response) -> None:
        """A family refused: expected only after a kill (a rotation whose answer was lost)."""
        if self.f.kills == tokens.kills_when_issued:
            self.f.fail(f"{what} refused with no kill since sign-in: {response.text[:200]}")
        else:
            self.f.families_lost_to_kills += 1
        self.tokens[which] = None

    async def _api(
        self, which: int, tokens: Tokens, method: str, path: str, **kwargs: Any
    ) -> tuple[Proc | None, httpx.Response | None]:
        proc = self.cluster.pick()
        if proc is None:
            return None, None
        response = await self.cluster.request(
            proc, method, path, headers=self._headers(tokens), **kwargs
        )
        if response is not None and response.status_code == 401:
            self._lost(which, tokens, path, response)
            return proc, None
        return proc, response

    async def read(self, which: int, tokens: Tokens, _: list[int]) -> None:
        path = random.choice(
            [
                "/api/v2/sites",
                "/api/v2/devices",
                f"/api/v2/sites/{self.home.owner.sites[0]}/topology",
            ]
        )
        _, response = await self._api(which, tokens, "GET", path)
        if response is not None and response.status_code != 200:
            self.f.fail(f"read {path}: {response.status_code} {response.text[:200]}")

    async def telemetry(self, which: int, tokens: Tokens, _: list[int]) -> None:
        start = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
        path = (
            f"/api/v2/devices/{self.home.sensor}/telemetry"
            f"?interval={start.strftime('%Y-%m-%dT%H:%M:%SZ')}/PT1H&resolution=PT5M"
        )
        _, response = await self._api(which, tokens, "GET", path)
        if response is not None and response.status_code != 200:
            self.f.fail(f"telemetry: {response.status_code} {response.text[:200]}")

    async def _read_back(
        self, written_by: Proc, tokens: Tokens, path: str
    ) -> dict[str, Any] | None:
        """Read through another process until one answers (the writer may die meanwhile)."""
        for _ in range(20):
            proc = self.cluster.pick(other_than=written_by)
            if proc is None:
                await asyncio.sleep(0.5)
                continue
            response = await self.cluster.request(proc, "GET", path, headers=self._headers(tokens))
            if response is not None and response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
            await asyncio.sleep(0.2)
        return None

    async def write_mode(self, which: int, tokens: Tokens, _: list[int]) -> None:
        mode = random.choice(["simple", "smart"])
        path = f"/api/v2/devices/{self.home.battery}/operationMode"
        proc, response = await self._api(which, tokens, "PUT", path, json={"mode": mode})
        if proc is None or response is None:
            return
        if response.status_code != 200:
            self.f.fail(f"mode write: {response.status_code} {response.text[:200]}")
            return
        self.f.writes_acked += 1
        self.f.acked.append((self.home.battery, "mode.set", "mode", mode))
        back = await self._read_back(proc, tokens, path)
        if back is None or str(back.get("mode", "")).lower() != mode:
            self.f.fail(f"mode write of {mode!r} to {self.home.battery} read back as {back}")
        else:
            self.f.writes_read_back += 1

    async def write_plan(self, which: int, tokens: Tokens, counter: list[int]) -> None:
        counter[0] += 1
        start = datetime.fromisoformat(FUTURE) + timedelta(minutes=15 * counter[0])
        body = overlay_body("battery_pack")
        body["startTime"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        body["commands"][0]["powerW"] = -random.randrange(100, 2000, 100)
        path = f"/api/v2/devices/{self.home.battery}/plans/overlay"
        proc, response = await self._api(which, tokens, "PUT", path, json=body)
        if proc is None or response is None:
            return
        if response.status_code != 204:
            self.f.fail(f"plan write: {response.status_code} {response.text[:200]}")
            return
        self.f.writes_acked += 1
        self.f.acked.append((self.home.battery, "overlay.set", "startTime", start.isoformat()))
        back = await self._read_back(proc, tokens, path)
        seen = (back or {}).get("commands") or [{}]
        if back is None or seen[0].get("powerW") != body["commands"][0]["powerW"]:
            self.f.fail(f"plan write to {self.home.battery} read back as {back}")
        else:
            self.f.writes_read_back += 1

    async def refresh(self, which: int, tokens: Tokens, _: list[int]) -> None:
        partner = self.partners[which]
        proc = self.cluster.pick()
        if proc is None:
            return
        response = await self.cluster.request(
            proc,
            "POST",
            "/oauth2/token",
            auth=partner.auth(),
            data={"grant_type": "refresh_token", "refresh_token": tokens.refresh},
        )
        if response is None:
            return
        if response.status_code == 400 and response.json().get("error") == "invalid_grant":
            self._lost(which, tokens, "refresh", response)
            return
        if response.status_code != 200:
            self.f.fail(f"refresh: {response.status_code} {response.text[:200]}")
            return
        body = response.json()
        refresh = body.get("refresh_token", tokens.refresh) if partner.rotates else tokens.refresh
        self.tokens[which] = Tokens(body["access_token"], refresh, tokens.kills_when_issued)


# -- the checks that run alongside the load ---------------------------------------------------


async def revocation_rounds(
    cluster: Cluster, owner: Owner, partner: PartnerApp, deadline: float, every: float
) -> None:
    """Revoke through one process; time until every other live process refuses the token."""
    while time.monotonic() + every < deadline:
        await asyncio.sleep(every)
        tokens = await sign_in(cluster, owner, partner)
        through = cluster.pick()
        if tokens is None or through is None:
            continue
        others = [p for p in cluster.live() if p is not through]
        headers = {"Authorization": f"Bearer {tokens.access}"}
        for proc in others:  # each now trusts the family (the cached case is the hard one)
            await cluster.request(proc, "GET", "/api/v2/sites", headers=headers)
        response = await cluster.request(
            through,
            "POST",
            "/oauth2/revoke",
            auth=partner.auth(),
            data={"token": tokens.refresh},
        )
        if response is None or response.status_code != 200:
            continue
        revoked_at = time.monotonic()
        for proc in others:
            # A request sent `sent` seconds after the revocation was answered: one accepted
            # with `sent` beyond the bound is a failure. (The time a refusal takes to come back
            # is the machine's latency, not the revocation's.)
            while True:
                sent = time.monotonic() - revoked_at
                answer = await cluster.request(proc, "GET", "/api/v2/sites", headers=headers)
                if answer is None:  # that process was killed meanwhile
                    break
                if answer.status_code == 401:
                    cluster.findings.revocation_delays.append(sent)
                    break
                if sent > REVOCATION_BOUND:
                    cluster.findings.fail(
                        f"revocation through {through.index} still accepted by {proc.index} "
                        f"{sent:.2f} s after it"
                    )
                    break
                await asyncio.sleep(0.05)


@dataclass
class TwinWatch:
    first: dict[str, int] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)
    caught_up: set[str] = field(default_factory=set)
    worst_lag: dict[str, int] = field(default_factory=dict)
    went_back: list[str] = field(default_factory=list)


async def watch_twins(pg_url: str, watch: TwinWatch, deadline: float) -> None:
    """Poll every site's simulated minute against the wall clock."""
    conn = await asyncpg.connect(pg_url)
    try:
        while time.monotonic() < deadline:
            now_minute = int(time.time() // 60)
            for site, minute in await conn.fetch("SELECT site_id, sim_minute FROM twin_states"):
                previous = watch.last.get(site)
                if previous is not None and minute < previous:
                    watch.went_back.append(f"{site}: {previous} -> {minute}")
                watch.first.setdefault(site, minute)
                watch.last[site] = minute
                lag = now_minute - minute
                if lag <= 1:
                    watch.caught_up.add(site)
                if site in watch.caught_up:
                    watch.worst_lag[site] = max(watch.worst_lag.get(site, 0), lag)
            await asyncio.sleep(2)
    finally:
        await conn.close()


async def minutes_simulated_twice(pg_url: str) -> int:
    """15-minute rollup buckets whose count differs from the raw samples they summarise (a
    minute simulated and written twice would be counted twice in its rollup)."""
    conn = await asyncpg.connect(pg_url)
    try:
        value = await conn.fetchval(
            """
            SELECT count(*) FROM telemetry_rollup_15m r
            FULL JOIN (
                SELECT sensor_key, ts / 900 * 900 AS bucket, count(*) AS n
                FROM telemetry_sample GROUP BY 1, 2
            ) raw ON raw.sensor_key = r.sensor_key AND raw.bucket = r.bucket
            WHERE r.n IS DISTINCT FROM raw.n
            """
        )
        return int(value)
    finally:
        await conn.close()


async def unaudited_writes(pg_url: str, acked: list[tuple[str, str, str, str]]) -> int:
    conn = await asyncpg.connect(pg_url)
    try:
        rows = await conn.fetch("SELECT target, action, detail FROM audit_events")
    finally:
        await conn.close()
    audited = Counter(
        (row["target"], row["action"], key, str(json.loads(row["detail"]).get(key)))
        for row in rows
        for key in ("mode", "startTime")
    )
    missing = 0
    for write, count in Counter(acked).items():
        if audited[write] < count:
            missing += count - audited[write]
    return missing


def _normalise_start(acked: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """The audit stores an aware ISO time; write it the same way."""
    out = []
    for device, action, key, value in acked:
        if key == "startTime":
            value = datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()
        out.append((device, action, key, value))
    return out


async def lease_shares(cluster: Cluster) -> dict[int, float]:
    shares: dict[int, float] = {}
    for proc in cluster.live():
        response = await cluster.request(proc, "GET", "/metrics")
        if response is None or response.status_code != 200:
            continue
        for family in text_string_to_metric_families(response.text):
            if family.name == "gridshare_twin_leases_held":
                shares[proc.index] = sum(sample.value for sample in family.samples)
    return shares


# -- the run ----------------------------------------------------------------------------------


async def kill_loop(cluster: Cluster, every: float, deadline: float) -> None:
    rng = random.Random()
    while time.monotonic() + every < deadline:
        await asyncio.sleep(every)
        victim = rng.choice(cluster.procs)
        print(f"  t+{time.monotonic() - START:5.0f}s  SIGKILL process {victim.index}", flush=True)
        victim.kill()
        cluster.findings.kills += 1
        await asyncio.to_thread(victim.start)
        print(f"  t+{time.monotonic() - START:5.0f}s  process {victim.index} back", flush=True)


START = time.monotonic()


async def soak(args: argparse.Namespace, workdir: Path) -> bool:
    name = f"gs_soak_{uuid.uuid4().hex[:12]}"
    admin_conn = await asyncpg.connect(args.pg)
    await admin_conn.execute(f'CREATE DATABASE "{name}"')
    await admin_conn.close()
    pg_url = args.pg.rsplit("/", 1)[0] + "/" + name
    try:
        return await _soak(args, workdir, pg_url)
    finally:
        admin_conn = await asyncpg.connect(args.pg)
        await admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin_conn.close()


async def _soak(args: argparse.Namespace, workdir: Path, pg_url: str) -> bool:
    global START
    findings = Findings()
    ports = [free_port() for _ in range(args.processes)]
    env = clean_env(
        GRIDSHARE_REDIS_URL=args.redis,
        GRIDSHARE_ISSUER=f"http://127.0.0.1:{ports[0]}",  # one public name, as behind a balancer
        GRIDSHARE_METRICS_ALLOW="127.0.0.1",
        GRIDSHARE_TWIN_INTERVAL_SECONDS=str(args.twin_interval),
        GRIDSHARE_TWIN_LEASE_SECONDS=str(args.twin_lease),
        GRIDSHARE_LOGIN_RATE_PER_MINUTE="100000",
        GRIDSHARE_API_RATE_PER_MINUTE="100000",
    )
    print(f"setting up {args.homes} homeowners on a fresh database ...", flush=True)
    partners = []
    for rotates in (False, True):
        out = await admin(
            pg_url,
            "create-client",
            "--name",
            f"Soak {'rotating' if rotates else 'plain'}",
            "--redirect-uri",
            REDIRECT,
            *(["--rotate-refresh-tokens"] if rotates else []),
        )
        partners.append(PartnerApp(out["client_id"], out["client_secret"], rotates))
    created = await asyncio.gather(
        *(
            admin(
                pg_url,
                "create-user",
                "--email",
                f"soak-{i}@example.com",
                "--password",
                PASSWORD,
                "--sites",
                str(args.sites_per_home),
                "--backfill-days",
                str(args.backfill_days),
            )
            for i in range(args.homes)
        )
    )
    owners = [Owner(out["sub"], out["email"], PASSWORD, list(out["sites"])) for out in created]
    sites = args.homes * args.sites_per_home
    procs = [Proc(i, port, workdir, env, pg_url) for i, port in enumerate(ports)]
    cluster = Cluster(procs, findings)
    print(f"starting {args.processes} processes ...", flush=True)
    try:
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in procs))
        loads = []
        for owner in owners:
            first: list[Tokens] = []
            for partner in partners:
                tokens = await sign_in(cluster, owner, partner)
                assert tokens is not None, "first sign-in failed"
                first.append(tokens)
            home = await discover_home(cluster, owner, first[0].access)
            loads.append(UserLoad(cluster, home, partners, first))
        START = time.monotonic()
        deadline = START + args.duration
        print(
            f"load for {args.duration:.0f} s, a SIGKILL every {args.kill_every:.0f} s", flush=True
        )
        watch = TwinWatch()
        counter = [0]
        await asyncio.gather(
            *(load.run(deadline, counter) for load in loads),
            kill_loop(cluster, args.kill_every, deadline),
            revocation_rounds(cluster, owners[0], partners[0], deadline, args.revoke_every),
            watch_twins(pg_url, watch, deadline),
        )
        # Shares: the last restarted process needs a round or two (and the dead one's leases
        # must expire) before the sites are spread out again; wait up to a few lease terms.
        share_floor = sites / (args.processes + 1)
        shares: dict[int, float] = {}
        settle_until = time.monotonic() + 3 * args.twin_lease
        while time.monotonic() < settle_until:
            shares = await lease_shares(cluster)
            if len(shares) == args.processes and all(v >= share_floor for v in shares.values()):
                break
            await asyncio.sleep(args.twin_interval)
    finally:
        for proc in procs:
            if proc.popen is not None:
                stop(proc.popen)
    twice = await minutes_simulated_twice(pg_url)
    missing = await unaudited_writes(pg_url, _normalise_start(findings.acked))
    return report(args, findings, watch, shares, share_floor, sites, twice, missing)


def report(
    args: argparse.Namespace,
    f: Findings,
    watch: TwinWatch,
    shares: dict[int, float],
    share_floor: float,
    sites: int,
    twice: int,
    missing: int,
) -> bool:
    checks: list[tuple[str, bool, str]] = []
    checks.append(
        (
            "acknowledged writes read back and audited",
            f.writes_read_back == f.writes_acked and missing == 0 and f.writes_acked > 0,
            f"{f.writes_acked} acknowledged, {f.writes_read_back} read back, "
            f"{missing} missing from the audit",
        )
    )
    checks.append(
        (
            "no 5xx, connection errors only to killed processes",
            not f.failures,
            f"{sum(f.requests.values())} requests, {f.allowed_connection_errors} connection "
            f"errors during {f.kills} kills, {f.families_lost_to_kills} token families lost "
            f"to a kill mid-rotation, {len(f.failures)} failures",
        )
    )
    worst = max(f.revocation_delays, default=float("nan"))
    checks.append(
        (
            f"revocation refused by the other processes within {REVOCATION_BOUND:.0f} s",
            bool(f.revocation_delays) and worst <= REVOCATION_BOUND,
            f"{len(f.revocation_delays)} checks; refused by a request sent at most "
            f"{worst * 1000:.0f} ms after the revocation",
        )
    )
    lagging = {s: lag for s, lag in watch.worst_lag.items() if lag > MAX_TWIN_LAG_MINUTES}
    stuck = [s for s in watch.first if watch.last[s] <= watch.first[s]]
    checks.append(
        (
            f"every twin advanced, no gap over {MAX_TWIN_LAG_MINUTES} min, no minute twice",
            len(watch.first) == sites
            and len(watch.caught_up) == sites
            and not lagging
            and not stuck
            and not watch.went_back
            and twice == 0,
            f"{len(watch.first)} sites, {len(watch.caught_up)} caught up, worst lag "
            f"{max(watch.worst_lag.values(), default=0)} min, {len(stuck)} stuck, "
            f"{len(watch.went_back)} went back, {twice} rollup buckets miscounted",
        )
    )
    checks.append(
        (
            f"sites shared: each of {args.processes} holds >= {share_floor:.1f} of {sites}",
            len(shares) == args.processes and all(v >= share_floor for v in shares.values()),
            ", ".join(f"process {i}: {v:.0f}" for i, v in sorted(shares.items())) or "no metrics",
        )
    )
    print()
    for title, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {title}\n      {detail}")
    for failure in f.failures[:20]:
        print(f"  ! {failure}")
    return all(ok for _, ok, _ in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=60.0, help="seconds between kills")
    parser.add_argument("--revoke-every", type=float, default=10.0)
    parser.add_argument("--homes", type=int, default=4, help="homeowners (one load loop each)")
    parser.add_argument("--sites-per-home", type=int, default=2)
    parser.add_argument("--backfill-days", type=float, default=0.02)
    parser.add_argument("--twin-interval", type=float, default=5.0)
    parser.add_argument("--twin-lease", type=float, default=15.0)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="gridshare-soak-"))
    ok = asyncio.run(soak(args, workdir))
    print(f"\nserver logs: {workdir}" if args.keep_logs or not ok else "")
    if ok and not args.keep_logs:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
