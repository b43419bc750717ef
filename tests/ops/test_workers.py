"""`gridshare serve --workers 2` over a real socket: both workers start and serve, the metrics
(on the main port for an allowed address, and on the metrics port) sum them and name both, and
the JSON access log carries each request's id."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.live import free_port, gridshare_command
from tests.ops.metrics_support import label_values, sample_value

STARTUP_TIMEOUT = 180.0  # spawned workers import the whole stack; this machine may be busy
REQUESTS = 40


def _wait(condition: str, check: object, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        assert proc.poll() is None, f"server exited: {log.read_text()[-3000:]}"
        with contextlib.suppress(httpx.HTTPError):
            if check():  # type: ignore[operator]
                return
        assert time.monotonic() < deadline, f"{condition}: {log.read_text()[-3000:]}"
        time.sleep(0.5)


@pytest.mark.e2e
def test_two_workers_serve_and_share_their_metrics(database_url: str, tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDSHARE_", "PROMETHEUS_"))}
    env |= {"GRIDSHARE_LOG_FORMAT": "json", "GRIDSHARE_METRICS_ALLOW": "127.0.0.1"}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        command = [*gridshare_command(), "serve", "--no-demo", "--workers", "2", "--access-log"]
        command += ["--port", str(port), "--metrics-port", str(metrics_port)]
        command += ["--database-url", database_url]
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:

        def both_started() -> bool:
            text = httpx.get(f"{base}/metrics").text
            started = label_values(text, "gridshare_worker_start_time_seconds", "pid")
            return len(started) == 2 and all(
                sample_value(text, "gridshare_worker_start_time_seconds", pid=pid) > 0
                for pid in started
            )

        _wait("two workers did not start", both_started, proc, log)
        with httpx.Client(base_url=base) as http:  # a new connection each: both workers serve
            statuses = [
                http.get("/healthz", headers={"X-Request-Id": f"w-{i}", "Connection": "close"})
                for i in range(REQUESTS)
            ]
        assert all(r.status_code == 200 for r in statuses)
        assert [r.headers["x-request-id"] for r in statuses] == [f"w-{i}" for i in range(REQUESTS)]

        main = httpx.get(f"{base}/metrics").text
        side = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        for text in (main, side):
            pids = label_values(text, "gridshare_worker_start_time_seconds", "pid")
            assert len(pids) == 2 and str(proc.pid) not in pids  # workers, not the supervisor
            assert len(label_values(text, "gridshare_twin_leases_held", "pid")) == 2
            count = sample_value(
                text, "gridshare_http_request_duration_seconds_count", route="/healthz"
            )
            assert count == REQUESTS  # summed over both workers
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    access = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if line.startswith("{") and '"uvicorn.access"' in line and "/healthz" in line
    ]
    assert {entry["request_id"] for entry in access} == {f"w-{i}" for i in range(REQUESTS)}
