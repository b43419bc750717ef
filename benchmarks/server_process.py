"""A `gridshare serve` subprocess for the benchmarks: started on loopback, ready when discovery
answers, stopped with SIGINT (then killed if it lingers). Shared by benchmarks/auth.py and
benchmarks/telemetry.py, which run as scripts and import it from their own folder."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

STARTUP_TIMEOUT = 60.0


def gridshare_command() -> list[str]:
    script = Path(sys.executable).with_name("gridshare")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gridshare.cli.main"]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any GRIDSHARE_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSHARE_")}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    return "?"


@contextlib.contextmanager
def spawned_server(
    database_url: str, port: int, log_path: Path, env: dict[str, str]
) -> Iterator[str]:
    """`gridshare serve --no-demo` on 127.0.0.1:`port` with `env`; yields its base URL."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                *gridshare_command(),
                "serve",
                "--no-demo",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database-url",
                database_url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"server exited ({proc.returncode}); see {log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/.well-known/openid-configuration").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"server did not start within {STARTUP_TIMEOUT:.0f} s")
                time.sleep(0.2)
            yield base
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
