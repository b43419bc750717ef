"""Time as a dependency: production reads the system clock, tests move a controllable one.

Token expiry, lockouts and rotation grace periods all depend on "now"; passing a clock lets tests
prove them without sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """Wall-clock time in UTC, with an adjustable offset for tests."""

    def __init__(self) -> None:
        self.offset_seconds = 0.0

    def time(self) -> float:
        return time.time() + self.offset_seconds

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def advance(self, seconds: float) -> None:
        self.offset_seconds += seconds
