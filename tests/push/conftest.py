"""Push tests: loopback callbacks allowed (the receivers run on this machine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gridshare.config import Settings
from tests.client.live import LiveServer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_loopback": True})


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    """Our server on a real socket (streams need one: an in-process transport buffers)."""
    server = LiveServer.start(settings)
    try:
        yield server
    finally:
        server.stop()
