"""What the twin's live loop costs per site and simulated minute: the capacity model's input.

Creates homeowners with `--sites` sites (no history) through `gridshare admin create-user`,
starts one `gridshare serve --no-demo` with the live loop on, lets it catch up, then reads the
server's CPU time (process and children, from /proc) over `--minutes` whole minute boundaries.
The same is done first with no sites at all, so the idle cost of a process (lease rounds,
purge, metrics) is subtracted. Prints CPU milliseconds per site-minute and the implied sites
one core keeps live.

    python benchmarks/twin_live.py [--sites 200] [--minutes 3] [--template hybrid_home]
        [--database-url postgresql://...]   (default: a temporary SQLite file)

Each measured window starts and ends 30 s past a minute, so it holds exactly `--minutes`
minute boundaries; the server simulates every site once per boundary.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from server_process import clean_env, free_port, gridshare_command, load_average, wait_ready

CLK_TCK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """utime+stime of `pid` and its live children (a spawned worker, if any)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def wait_until_half_minute() -> None:
    time.sleep((30 - time.time() % 60) % 60 or 60)


def measure(database_url: str, minutes: int, workdir: Path) -> float:
    """CPU seconds a fresh server spends over `minutes` minute boundaries."""
    port = free_port()
    env = clean_env(GRIDSHARE_TWIN_INTERVAL_SECONDS="5")
    log_path = workdir / f"serve-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                *gridshare_command(), "serve", "--no-demo", "--host", "127.0.0.1",
                "--port", str(port), "--database-url", database_url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_ready(proc, f"http://127.0.0.1:{port}", log_path)
            wait_until_half_minute()  # the first round (catch-up) is behind us
            wait_until_half_minute()
            start = tree_cpu_seconds(proc.pid)
            for _ in range(minutes):
                wait_until_half_minute()
            return tree_cpu_seconds(proc.pid) - start
        finally:
            proc.terminate()
            proc.wait(30)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sites", type=int, default=200)
    p.add_argument("--minutes", type=int, default=3)
    p.add_argument("--template", default="hybrid_home")
    p.add_argument("--database-url", default=None)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = a.database_url or f"sqlite:///{workdir}/gs.db"
        env = clean_env()
        gs = gridshare_command()
        subprocess.run([*gs, "db", "upgrade", "--database-url", url], env=env, check=True,
                       capture_output=True)
        idle = measure(url, a.minutes, workdir)
        made = 0
        while made < a.sites:
            n = min(100, a.sites - made)
            subprocess.run(
                [
                    *gs, "admin", "create-user", "--email", f"owner{made}@example.com",
                    "--password", "Correct-Horse-9", "--site-template", a.template,
                    "--sites", str(n), "--backfill-days", "0", "--database-url", url, "--json",
                ],
                env=env, check=True, capture_output=True,
            )
            made += n
        busy = measure(url, a.minutes, workdir)
    per = (busy - idle) / (a.sites * a.minutes)
    print(f"load average {load_average()}; {a.sites} sites ({a.template}), {a.minutes} minutes")
    print(f"idle server: {idle / a.minutes * 1000:.0f} ms CPU per minute")
    print(f"with sites:  {busy / a.minutes * 1000:.0f} ms CPU per minute")
    print(f"per site-minute: {per * 1000:.2f} ms CPU -> one core keeps {60 / per:,.0f} sites live")


if __name__ == "__main__":
    main()
