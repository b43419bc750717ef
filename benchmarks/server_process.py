"""A `gridshare serve` subprocess for the benchmarks: started on loopback, ready when discovery
answers, stopped with SIGINT (then killed if it lingers). Shared by benchmarks/auth.py,
benchmarks/telemetry.py and benchmarks/soak.py, which run as scripts and import it from their own
folder."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import httpx

STARTUP_TIMEOUT = 60.0


def gridshare_command() -> list[str]:
    script = Path(sys.executable).with_name("gridshare")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gridshare_client.cli.main"]


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


def start_server(
    database_url: str,
    port: int,
    log: IO[bytes],
    env: dict[str, str],
    extra_args: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """`gridshare serve --no-demo` on 127.0.0.1:`port` with `env`, output to `log`."""
    return subprocess.Popen(
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
            *extra_args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )


def wait_ready(
    proc: subprocess.Popen[bytes], base: str, log_path: Path, timeout: float = STARTUP_TIMEOUT
) -> None:
    """Until discovery answers at `base`; exits if the server dies or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}); see {log_path}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/.well-known/openid-configuration").status_code == 200:
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"server did not start within {timeout:.0f} s")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (a clean shutdown), then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def spawned_server(
    database_url: str,
    port: int,
    log_path: Path,
    env: dict[str, str],
    extra_args: Sequence[str] = (),
) -> Iterator[str]:
    """`gridshare serve --no-demo` on 127.0.0.1:`port` with `env`; yields its base URL."""
    with log_path.open("wb") as log:
        proc = start_server(database_url, port, log, env, extra_args)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(proc, base, log_path)
            yield base
        finally:
            stop(proc)
