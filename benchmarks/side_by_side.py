"""Our server against its anchors, side by side in one run, and the ratios the issues set.

Drives the side-by-side benchmark kit (a folder holding `wrkbench.py`, `ours/prepare.py`,
`python_ceiling/`, `oidc/` and `lua/`; its `setup.sh` installs wrk, a Python venv with the
anchors and panva's oidc-provider). Every scenario is one `wrkbench.py run` (server started
fresh, pinned to one core, wrk on the other, warm-up, one timed run), and the scenarios are
interleaved repetition by repetition so that a slow minute of the machine hits all of them.
Besides the kit's own scenarios it measures the hot paths the kit does not know:
OIDC discovery and a site's `currentState`.

    python benchmarks/side_by_side.py --kit KIT --peers-venv VENV --oidc-dir OIDC \
        [--reps 3] [--scenarios ours-devices,ceiling-items-rs256,...] [--database-url postgresql://...]

Prints the kit's table (medians, spreads, CPU probes) and then one line per target:
ours / anchor, from the medians of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

OURS_PORT = 8111
PEER_PORT = 8101
OIDC_PORT = 8102

#: (ours, anchor, target): the ratios issue #11 and #13 pin.
TARGETS = [
    ("ours-GET-v2-devices", "ceiling-fastapi-items20-RS256", 1.0),
    ("ours-currentState", "ceiling-fastapi-items20-RS256", 0.5),
    ("ours-telemetry-1d-PT15M", "ceiling-fastapi-items20-RS256", 0.5),
    ("ours-refresh-no-rotation", "oidc-provider-refresh-no-rotation", 1.0),
    ("ours-jwks", "ceiling-starlette-json", 0.8),
    ("ours-discovery", "ceiling-starlette-json", 0.8),
    ("ours-jwks", "oidc-provider-jwks", 0.0),
]

DEFAULT_SCENARIOS = [
    "ours-jwks",
    "ours-discovery",
    "ours-devices",
    "ours-current-state",
    "ours-telemetry-1d",
    "ours-refresh",
    "ceiling-items-rs256",
    "ceiling-starlette",
    "oidc-jwks",
    "oidc-refresh",
]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--kit", type=Path, default=os.environ.get("GRIDSHARE_BENCH_KIT"))
    p.add_argument("--peers-venv", type=Path, default=os.environ.get("PEERS_VENV"))
    p.add_argument("--oidc-dir", type=Path, default=os.environ.get("PEERS_OIDC_DIR"))
    p.add_argument("--work", type=Path, default=Path(".bench-work"))
    p.add_argument(
        "--gridshare", default=str(Path(sys.executable).with_name("gridshare")), help="our command"
    )
    p.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite file)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--modes", default="pinned")
    p.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS))
    a = p.parse_args()
    for name in ("kit", "peers_venv", "oidc_dir"):
        if getattr(a, name) is None:
            p.error(f"--{name.replace('_', '-')} is required (see the kit's setup.sh)")
    return a


def prepare(a: argparse.Namespace, ours_dir: Path) -> dict[str, str]:
    """The kit's database for our server (built once per folder), and its meta data."""
    meta_file = ours_dir / "meta.json"
    if not meta_file.exists():
        cmd = [str(a.peers_venv / "bin/python"), str(a.kit / "ours/prepare.py"), a.gridshare]
        cmd += [str(ours_dir), str(OURS_PORT)]
        if a.database_url:
            cmd.append(a.database_url)
        subprocess.run(cmd, check=True)
    meta: dict[str, str] = json.loads(meta_file.read_text())
    return meta


def main() -> None:
    a = parse_args()
    work = a.work.resolve()
    ours_dir = work / ("ours-pg" if a.database_url else "ours")
    results = work / "side-by-side.jsonl"
    work.mkdir(parents=True, exist_ok=True)
    results.write_text("")
    meta = prepare(a, ours_dir)
    jwt_dir = work / "jwt"
    if not (jwt_dir / "token.txt").exists():
        subprocess.run(
            [str(a.peers_venv / "bin/python"), str(a.kit / "python_ceiling/make_jwt.py"), jwt_dir],
            check=True,
        )
    db = meta.get("database_url") or f"sqlite:///{ours_dir}/gs.db"
    base = f"http://127.0.0.1:{OURS_PORT}"
    ours_cmd = (
        f"env GRIDSHARE_TWIN_LIVE=false GRIDSHARE_API_RATE_PER_MINUTE=100000000 {a.gridshare} "
        f"serve --port {OURS_PORT} --database-url {db} --issuer {base} --no-demo"
    )
    peer = f"http://127.0.0.1:{PEER_PORT}"
    uvi = (
        f"{a.peers_venv}/bin/uvicorn --app-dir {a.kit}/python_ceiling --host 127.0.0.1 "
        f"--port {PEER_PORT} --loop uvloop --http httptools --no-access-log --log-level warning"
    )
    oidc = f"http://127.0.0.1:{OIDC_PORT}"
    oidc_env = {
        "PEERS_OIDC_DIR": str(a.oidc_dir),
        "OIDC_PORT": str(OIDC_PORT),
        "OIDC_KEY_FILE": str(work / "oidc/key.json"),
        "NODE_ENV": "production",
    }
    (work / "oidc").mkdir(exist_ok=True)
    bearer = ["--lua", f"{a.kit}/lua/bearer.lua", "--env", f"BENCH_TOKEN_FILE={ours_dir}/token.txt"]
    day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    jwks = f"{base}/.well-known/jwks.json"
    nbasic = "YmVuY2gtY2xpZW50OmJlbmNoLWNsaWVudC1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg=="
    scenarios: dict[str, tuple[str, str, str, str, list[str]]] = {
        "ours-jwks": ("ours-jwks", ours_cmd, jwks, jwks, []),
        "ours-discovery": (
            "ours-discovery",
            ours_cmd,
            f"{base}/.well-known/openid-configuration",
            jwks,
            [],
        ),
        "ours-devices": ("ours-GET-v2-devices", ours_cmd, f"{base}/api/v2/devices", jwks, bearer),
        "ours-current-state": (
            "ours-currentState",
            ours_cmd,
            f"{base}/api/v2/sites/{meta['site']}/currentState",
            jwks,
            bearer,
        ),
        "ours-telemetry-1d": (
            "ours-telemetry-1d-PT15M",
            ours_cmd,
            f"{base}/api/v2/devices/{meta['bb']}/telemetry?interval={day}/P1D&resolution=PT15M",
            jwks,
            bearer,
        ),
        "ours-refresh": (
            "ours-refresh-no-rotation",
            ours_cmd,
            f"{base}/oauth2/token",
            jwks,
            [
                "--lua", f"{a.kit}/lua/refresh_pool.lua",
                "--env", f"BENCH_RT_FILE={ours_dir}/rt",
                "--env", f"BENCH_BASIC={meta['basic']}",
                "--env", f"BENCH_RT_EXTRA=&client_id={meta['client_id']}",
            ],
        ),
        "ceiling-items-rs256": (
            "ceiling-fastapi-items20-RS256",
            f"{uvi} fastapi_app:app",
            f"{peer}/items-auth-joserfc",
            f"{peer}/json",
            ["--lua", f"{a.kit}/lua/bearer.lua", "--env", f"BENCH_TOKEN_FILE={jwt_dir}/token.txt"],
        ),
        "ceiling-starlette": (
            "ceiling-starlette-json", f"{uvi} starlette_app:app", f"{peer}/json", f"{peer}/json", []
        ),
        "oidc-jwks": (
            "oidc-provider-jwks",
            f"node {a.kit}/oidc/server.mjs",
            f"{oidc}/jwks",
            f"{oidc}/jwks",
            [],
        ),
        "oidc-refresh": (
            "oidc-provider-refresh-no-rotation",
            f"node {a.kit}/oidc/server.mjs",
            f"{oidc}/token",
            f"{oidc}/jwks",
            [
                "--lua", f"{a.kit}/lua/refresh_pool.lua",
                "--env", f"BENCH_RT_FILE={work}/oidc/rt",
                "--env", "BENCH_RT_POOL_WARMUP=64",
                "--env", "BENCH_RT_POOL_RUN=64",
                "--env", "BENCH_ROTATE=0",
                "--env", f"BENCH_BASIC={nbasic}",
            ],
        ),
    }
    chosen = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in scenarios]
    if unknown:
        sys.exit(f"unknown scenarios: {unknown}; known: {sorted(scenarios)}")
    wrkbench = [sys.executable, str(a.kit / "wrkbench.py")]
    for rep in range(1, a.reps + 1):
        for name in chosen:
            label, cmd, url, ready, extra = scenarios[name]
            if name.startswith("oidc"):
                extra = [*extra, *(x for k, v in oidc_env.items() for x in ("--env", f"{k}={v}"))]
            if name.startswith("ceiling"):
                extra = [*extra, "--env", f"BENCH_JWT_DIR={jwt_dir}"]
            subprocess.run(
                [
                    *wrkbench, "run", "--group", "side-by-side", "--label", label,
                    "--modes", a.modes, "--rep-index", str(rep), "--server-cmd", cmd,
                    "--url", url, "--ready-url", ready, "--out", str(results),
                    "--duration", str(a.duration), "--warmup", str(a.warmup), *extra,
                ],
                check=True,
            )
    subprocess.run([*wrkbench, "table", "--commands", str(results)], check=True)
    print_ratios(results)


def print_ratios(results: Path) -> None:
    """ours / anchor from the medians of this run, next to each target."""
    rates: dict[str, list[float]] = {}
    p50: dict[str, list[float]] = {}
    p99: dict[str, list[float]] = {}
    for line in results.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            rates.setdefault(r["label"], []).append(r["rps"])
            p50.setdefault(r["label"], []).append(r["p50_ms"])
            p99.setdefault(r["label"], []).append(r["p99_ms"])
    med = {k: statistics.median(v) for k, v in rates.items()}
    print("\n| ours | anchor | ours req/s | anchor req/s | ratio | target | p99/p50 (ours) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for ours, anchor, target in TARGETS:
        if ours in med and anchor in med:
            tail = statistics.median(p99[ours]) / statistics.median(p50[ours])
            goal = f"≥ {target:.1f}×" if target else "–"
            print(
                f"| {ours} | {anchor} | {med[ours]:,.0f} | {med[anchor]:,.0f} "
                f"| **{med[ours] / med[anchor]:.2f}×** | {goal} | {tail:.1f} |"
            )


if __name__ == "__main__":
    main()
