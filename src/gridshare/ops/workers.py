"""`gridshare serve` as one or several worker processes, with the metrics they share.

uvicorn starts `--workers N` processes by spawning fresh interpreters that import the app from
an import string, so the app is built by a factory (`app_from_environment`) from the `GRIDSHARE_*`
environment the command exported. Every worker runs the whole app, twin loop included: the twin's
leases share the sites between all processes, workers of one command or of many.

Metrics of all workers are summed through `prometheus-client`'s multiprocess mode: the command
creates a fresh directory for this run and sets `PROMETHEUS_MULTIPROC_DIR` before any worker
imports the library (its storage is chosen at import time).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from gridshare.storage.db import is_sqlite, normalize_url

if TYPE_CHECKING:
    from fastapi import FastAPI

APP_FACTORY = "gridshare.ops.workers:app_from_environment"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def default_workers(database_url: str) -> int:
    """One worker on SQLite: it admits one writer at a time, and a process queues its own
    writers fairly while writers of several processes poll SQLite's busy handler and starve
    each other. On PostgreSQL, one worker per CPU: the server's Python is CPU-bound per core."""
    if is_sqlite(normalize_url(database_url)):
        return 1
    return max(1, os.cpu_count() or 1)


def export_settings(values: dict[str, object]) -> None:
    """Put settings given on the command line into the environment the workers inherit."""
    for name, value in values.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        os.environ[f"GRIDSHARE_{name.upper()}"] = text


def prepare_metrics_dir() -> Path:
    """A clean multiprocess directory for this run, removed at exit (an operator-set
    `PROMETHEUS_MULTIPROC_DIR` is used, emptied of a previous run's files, and kept)."""
    if "prometheus_client.values" in sys.modules:  # its storage is already chosen
        raise RuntimeError("prepare the metrics directory before importing prometheus_client")
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="gridshare-metrics-"))
        atexit.register(shutil.rmtree, directory, True)
        os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def serve_metrics(host: str, port: int) -> None:
    """The metrics of every worker on their own listener (a daemon thread of this process)."""
    from prometheus_client import start_http_server

    from gridshare.ops.exposition import exposition_registry

    start_http_server(port, addr=host, registry=exposition_registry())


def app_from_environment() -> FastAPI:
    """The app of one worker, configured from the environment (uvicorn's `factory=True`)."""
    from gridshare import logging_filters
    from gridshare.app import create_app
    from gridshare.config import Settings
    from gridshare.serving import configure_serve

    settings = Settings()
    logging_filters.install()  # in this worker: filters do not cross a spawn
    configure_serve(settings)  # the connection limits of this worker's protocol
    return create_app(settings)
