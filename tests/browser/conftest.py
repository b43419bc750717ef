"""`live_server`: the real app under uvicorn on 127.0.0.1 (a free port), one per test.

It depends on `settings`, so every test using it runs on each configured backend (SQLite and
PostgreSQL) against a fresh database; the server's `issuer` is its real base URL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gridshare.config import Settings
from tests.e2e.live import LiveServer


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer.start(settings)
    try:
        yield server
    finally:
        server.stop()
