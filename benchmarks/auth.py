"""Authorization-server throughput and API latency under sign-in load (a script, not a test).

    python benchmarks/auth.py --spawn                      # own server on a temp SQLite DB
    python benchmarks/auth.py --base-url http://127.0.0.1:8000 --database-url sqlite:///...

Against a running server (`--base-url`, loopback only) whose database the admin CLI can reach
(`--database-url`, the same one), or a server it starts itself (`--spawn`: `gridshare serve
--no-demo` on a free port and a temp SQLite file, with the sign-in and API rate limits raised so
that they do not cap the figures; a server you start yourself needs
GRIDSHARE_LOGIN_RATE_PER_MINUTE and GRIDSHARE_API_RATE_PER_MINUTE raised likewise, or its 429s
are counted as errors).

It creates a partner and homeowners with `gridshare admin` (real Argon2id defaults: the admin
CLI hashes with argon2-cffi's defaults), then measures with an asyncio httpx load generator,
every phase bounded by an operation count and a time limit:

- authorize → code redirects/s (signed in, consent on record),
- code exchanges/s (client_secret_basic),
- refreshes/s, without and with rotation (each worker refreshes its own token family),
- sign-ins/s (GET /login + POST /login: one Argon2id verification each),
- p50/p99 latency of GET /api/v1/devices alone, then while a burst of sign-ins runs.

The load generator runs on the same machine as the server: the figures are for the pair.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import html
import json
import math
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from server_process import clean_env, free_port, gridshare_command, load_average, spawned_server

PASSWORD = "benchmark horse battery"
REDIRECT = "https://bench.example/callback"
SCOPE = "lunar/device.read lunar/device.write lunar/plan.read lunar/plan.write"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


# -- measuring ------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    concurrency: int
    ok: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)  # nearest rank
        index = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000


Op = Callable[[int], Awaitable[str | None]]
"""One operation of worker `i`; returns None on success or a short failure label."""


async def run_phase(
    name: str,
    concurrency: int,
    op: Op,
    max_ops: int,
    max_seconds: float,
    stop: asyncio.Event | None = None,
) -> Phase:
    """Run `op` from `concurrency` workers until `max_ops` were started or time is up."""
    phase = Phase(name, concurrency)
    started = 0
    deadline = time.perf_counter() + max_seconds

    async def worker(i: int) -> None:
        nonlocal started
        while started < max_ops and time.perf_counter() < deadline:
            if stop is not None and stop.is_set():
                return
            started += 1
            t0 = time.perf_counter()
            try:
                failure = await op(i)
            except httpx.HTTPError as exc:
                failure = type(exc).__name__
            if failure is None:
                phase.ok += 1
                phase.latencies.append(time.perf_counter() - t0)
            else:
                phase.failures[failure] += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    phase.elapsed = time.perf_counter() - t0
    return phase


def status_label(response: httpx.Response) -> str:
    label = str(response.status_code)
    with contextlib.suppress(ValueError, KeyError, TypeError):
        label += " " + str(response.json()["error"])
    return label


# -- talking to the server --------------------------------------------------------------------


async def admin(database_url: str, *args: str) -> Any:
    proc = await asyncio.create_subprocess_exec(
        *gridshare_command(),
        "admin",
        *args,
        "--json",
        "--database-url",
        database_url,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"gridshare admin {args[0]} failed: {err.decode().strip()}")
    return json.loads(out)


@dataclass
class Partner:
    client_id: str
    secret: str

    @property
    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    if not match:
        raise RuntimeError(f"no hidden field {name!r} on the page")
    return html.unescape(match.group(1))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def sign_in(http: httpx.AsyncClient, email: str, query: str = "") -> httpx.Response:
    """GET /login then POST /login, like a browser; returns the POST's response."""
    path = "/login" + (f"?{query}" if query else "")
    page = await http.get(path)
    if page.status_code != 200:
        return page
    return await http.post(
        path,
        data={
            "username": email,
            "password": PASSWORD,
            "csrf_token": hidden(page.text, "csrf_token"),
        },
    )


def authorize_path(partner: Partner) -> str:
    return "/oauth2/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": partner.client_id,
            "redirect_uri": REDIRECT,
            "state": secrets.token_urlsafe(8),
            "scope": SCOPE,
        }
    )


async def consent_once(http: httpx.AsyncClient, partner: Partner) -> None:
    """First authorization of this partner by the signed-in user: allow on the consent page."""
    page = await http.get(authorize_path(partner))
    if page.status_code == 200:
        page = await http.post(
            "/consent",
            data={
                "csrf_token": hidden(page.text, "csrf_token"),
                "request": hidden(page.text, "request"),
                "decision": "allow",
            },
        )
    if page.status_code != 302 or "code=" not in page.headers.get("location", ""):
        raise RuntimeError(f"authorization failed: {page.status_code} {page.text[:300]}")


# -- spawning a server --------------------------------------------------------------------------


@contextlib.contextmanager
def bench_server(
    workdir: Path, database_url: str | None, extra_env: dict[str, str]
) -> Iterator[tuple[str, str]]:
    """A server on a free port (a fresh SQLite file unless `database_url`), rate limits off."""
    database_url = database_url or f"sqlite:///{workdir / 'bench.db'}"
    env = clean_env(
        GRIDSHARE_LOGIN_RATE_PER_MINUTE="100000000",
        GRIDSHARE_API_RATE_PER_MINUTE="100000000",
        **extra_env,
    )
    with spawned_server(database_url, free_port(), workdir / "server.log", env) as base_url:
        yield base_url, database_url


# -- the benchmark ------------------------------------------------------------------------------


async def benchmark(base_url: str, database_url: str, args: argparse.Namespace) -> list[Phase]:
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120)

    print("setting up: partners and homeowners via `gridshare admin` ...", file=sys.stderr)
    plain, rotating = await asyncio.gather(
        admin(database_url, "create-client", "--name", "Bench Partner", "--redirect-uri", REDIRECT),
        admin(
            database_url,
            "create-client",
            "--name",
            "Bench Rotating",
            "--redirect-uri",
            REDIRECT,
            "--rotate-refresh-tokens",
        ),
    )
    partner = Partner(plain["client_id"], plain["client_secret"])
    rotator = Partner(rotating["client_id"], rotating["client_secret"])
    tag = secrets.token_hex(3)
    emails = [f"bench-{tag}-{i}@example.com" for i in range(args.users)]
    for email in emails:  # sequential: each one hashes with 64 MiB of Argon2 memory
        await admin(database_url, "create-user", "--email", email, "--password", PASSWORD)

    phases: list[Phase] = []
    async with client() as http, client() as api, client() as browser:
        # A signed-in browser that has consented to both partners: authorize → code at once.
        signed = await sign_in(browser, emails[0])
        if signed.status_code != 302:
            raise SystemExit(f"sign-in failed: {signed.status_code} {signed.text[:300]}")
        await consent_once(browser, partner)
        await consent_once(browser, rotator)

        codes: list[str] = []

        async def authorize(_: int) -> str | None:
            r = await browser.get(authorize_path(partner))
            location = r.headers.get("location", "")
            if r.status_code != 302 or "code=" not in location:
                return status_label(r)
            codes.append(query_of(location)["code"])
            return None

        phases.append(
            await run_phase(
                "authorize → code (consented)",
                args.concurrency,
                authorize,
                args.codes,
                args.seconds,
            )
        )

        exchanged: list[dict[str, Any]] = []
        pending = list(codes)

        async def exchange(_: int) -> str | None:
            code = pending.pop()
            r = await http.post(
                "/oauth2/token",
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
                headers=partner.basic,
            )
            if r.status_code != 200:
                return status_label(r)
            exchanged.append(r.json())
            return None

        phases.append(
            await run_phase(
                "code exchange (client_secret_basic)",
                args.concurrency,
                exchange,
                len(codes),
                args.seconds,
            )
        )
        if len(exchanged) < args.concurrency:
            raise SystemExit("too few code exchanges succeeded to go on")

        def refresh_with(p: Partner, tokens: list[str]) -> Op:
            async def op(i: int) -> str | None:
                r = await http.post(
                    "/oauth2/token",
                    data={"grant_type": "refresh_token", "refresh_token": tokens[i]},
                    headers=p.basic,
                )
                if r.status_code != 200:
                    return status_label(r)
                tokens[i] = r.json().get("refresh_token", tokens[i])
                return None

            return op

        own = [t["refresh_token"] for t in exchanged[: args.concurrency]]
        phases.append(
            await run_phase(
                "refresh (no rotation)",
                args.concurrency,
                refresh_with(partner, own),
                args.max_ops,
                args.seconds,
            )
        )

        chains = []
        for _ in range(args.concurrency):
            r = await browser.get(authorize_path(rotator))
            r = await http.post(
                "/oauth2/token",
                data={
                    "grant_type": "authorization_code",
                    "redirect_uri": REDIRECT,
                    "code": query_of(r.headers["location"])["code"],
                },
                headers=rotator.basic,
            )
            chains.append(r.json()["refresh_token"])
        phases.append(
            await run_phase(
                "refresh (rotation)",
                args.concurrency,
                refresh_with(rotator, chains),
                args.max_ops,
                args.seconds,
            )
        )

        # Sign-ins: each worker is a browser of its own (its own cookie jar).
        def sign_in_op(jars: list[httpx.AsyncClient]) -> Op:
            async def op(i: int) -> str | None:
                jar = jars[i]
                jar.cookies.clear()
                r = await sign_in(jar, emails[i % len(emails)])
                return None if r.status_code == 302 else status_label(r)

            return op

        jars = [client() for _ in range(max(args.signin_concurrency, args.burst_concurrency))]
        try:
            phases.append(
                await run_phase(
                    "sign-in (GET+POST /login, Argon2id)",
                    args.signin_concurrency,
                    sign_in_op(jars),
                    args.max_ops,
                    args.seconds,
                )
            )

            access = exchanged[0]["access_token"]

            async def devices(_: int) -> str | None:
                r = await api.get("/api/v1/devices", headers={"Authorization": f"Bearer {access}"})
                return None if r.status_code == 200 else status_label(r)

            phases.append(
                await run_phase(
                    "GET /api/v1/devices (alone)",
                    args.api_concurrency,
                    devices,
                    args.max_ops,
                    args.seconds,
                )
            )

            stop = asyncio.Event()
            burst_task = asyncio.create_task(
                run_phase(
                    "  sign-ins meanwhile (the burst)",
                    args.burst_concurrency,
                    sign_in_op(jars),
                    10**9,
                    args.seconds + 30,
                    stop,
                )
            )
            await asyncio.sleep(1.0)  # let the burst fill the hashing queue first
            during = await run_phase(
                "GET /api/v1/devices (during sign-ins)",
                args.api_concurrency,
                devices,
                args.max_ops,
                args.seconds,
            )
            stop.set()
            burst = await burst_task
            phases += [during, burst]
        finally:
            await asyncio.gather(*(j.aclose() for j in jars))
    return phases


def print_table(phases: list[Phase], base_url: str, load_before: str) -> None:
    header = (
        f"{'operation':<40} {'conc':>4} {'ok':>6} {'errors':>6} {'ops/s':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8}"
    )
    print(
        f"\ngridshare auth benchmark against {base_url}  ({os.cpu_count()} CPUs, load generator "
        f"on the same machine; load average before {load_before}, after {load_average()})\n"
    )
    print(header)
    print("-" * len(header))
    for p in phases:
        errors = sum(p.failures.values())
        print(
            f"{p.name:<40} {p.concurrency:>4} {p.ok:>6} {errors:>6} {p.rate:>8.1f} "
            f"{p.percentile(50):>8.1f} {p.percentile(99):>8.1f}"
        )
    for p in phases:
        if p.failures:
            print(f"  {p.name.strip()}: failures {dict(p.failures)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument(
        "--database-url",
        help="the server's database (for `gridshare admin`); with --spawn: the database the "
        "spawned server uses (default: a temp SQLite file)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="GRIDSHARE_X=VALUE",
        help="with --spawn: extra environment for the server (repeatable), e.g. "
        "GRIDSHARE_PASSWORD_HASH_CONCURRENCY=1",
    )
    parser.add_argument(
        "--spawn", action="store_true", help="start `gridshare serve --no-demo` on a temp SQLite DB"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="time limit per phase")
    parser.add_argument("--max-ops", type=int, default=20_000, help="operation limit per phase")
    parser.add_argument("--codes", type=int, default=500, help="codes to mint and exchange")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument(
        "--concurrency", type=int, default=16, help="workers for authorize, exchange and refresh"
    )
    parser.add_argument("--signin-concurrency", type=int, default=8)
    parser.add_argument("--api-concurrency", type=int, default=8)
    parser.add_argument(
        "--burst-concurrency",
        type=int,
        default=16,
        help="sign-in workers during the API latency test",
    )
    args = parser.parse_args()
    load_before = load_average()

    extra_env = dict(item.split("=", 1) for item in args.server_env)
    if args.spawn:
        with (
            tempfile.TemporaryDirectory(prefix="gridshare-bench-") as tmp,
            bench_server(Path(tmp), args.database_url, extra_env) as (base_url, database_url),
        ):
            phases = asyncio.run(benchmark(base_url, database_url, args))
    else:
        host = urlsplit(args.base_url).hostname or ""
        if host not in LOOPBACK:
            raise SystemExit("refusing to load anything but a loopback server")
        if not args.database_url:
            raise SystemExit("--database-url (the server's database) is required without --spawn")
        base_url = args.base_url.rstrip("/")
        phases = asyncio.run(benchmark(base_url, args.database_url, args))
    print_table(phases, base_url, load_before)


if __name__ == "__main__":
    main()
