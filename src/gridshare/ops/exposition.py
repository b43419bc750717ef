"""Reading the metrics for a scrape: every worker's files in multiprocess mode, else this
process's registry. Defines no metric, so the supervising process of `gridshare serve --workers N`
can serve the metrics port without appearing in it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import multiprocess as mp
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from gridshare.ops.workers import MULTIPROC_ENV

CONTENT_TYPE = CONTENT_TYPE_LATEST


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_processes(directory: Path) -> None:
    """Forget the live gauges of workers that died (SIGKILL leaves their files behind);
    counters and histograms of dead workers stay, as a counter's total must."""
    pids: set[int] = set()
    for path in directory.glob("gauge_live*_*.db"):
        with contextlib.suppress(ValueError):
            pids.add(int(path.stem.rsplit("_", 1)[1]))
    for pid in pids:
        if not _alive(pid):
            mp.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


class _LiveMultiProcessCollector(Collector):
    """`MultiProcessCollector` that first forgets dead workers' live gauges."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._inner = mp.MultiProcessCollector(None, path=str(directory))  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        reap_dead_processes(self.directory)
        metrics: Iterable[Metric] = self._inner.collect()  # type: ignore[no-untyped-call]
        return metrics


def exposition_registry() -> CollectorRegistry:
    """The registry a scrape reads: every worker's files, or this process's own values."""
    directory = multiprocess_dir()
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_LiveMultiProcessCollector(directory))
    return registry


def render(registry: CollectorRegistry | None = None) -> bytes:
    return generate_latest(registry or exposition_registry())
