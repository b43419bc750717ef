"""Fixtures: our server on a real socket (fresh database per test, each configured backend)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gridshare.config import Settings
from tests.client.live import LiveServer


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer.start(settings)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_factory_rate(settings: Settings) -> Iterator[LiveServer]:
    """A server allowing 3 API calls per minute and token."""
    server = LiveServer.start(settings.model_copy(update={"api_rate_per_minute": 3}))
    try:
        yield server
    finally:
        server.stop()
