"""Push tests: loopback callbacks allowed (the receivers run on this machine)."""

from __future__ import annotations

import pytest

from gridshare.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_loopback": True})
