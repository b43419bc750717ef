"""Parse `resolution`, `include` and `aggregation`, the telemetry query's shaping parameters.

Each parser accepts every reasonable spelling (any letter case, equivalent durations such as
`PT60M` for `PT1H`) and returns one canonical value, which is what responses and caches use.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Final

from gridshare.telemetry.errors import TelemetryQueryError, show
from gridshare.telemetry.intervals import DurationError, parse_duration

MAX_PARAMETER_LENGTH: Final = 64


class Resolution(StrEnum):
    """The allowed bucket sizes; the value is the canonical ISO 8601 spelling."""

    PT1M = "PT1M"
    PT5M = "PT5M"
    PT15M = "PT15M"
    PT30M = "PT30M"
    PT1H = "PT1H"
    P1D = "P1D"

    @property
    def seconds(self) -> int:
        """Nominal length; for `P1D` the real day is 23, 24 or 25 hours of the site's zone."""
        return _SECONDS[self]

    @property
    def is_daily(self) -> bool:
        """Daily buckets follow the site's local midnight instead of the UTC epoch grid."""
        return self is Resolution.P1D


_SECONDS: Final = {
    Resolution.PT1M: 60,
    Resolution.PT5M: 300,
    Resolution.PT15M: 900,
    Resolution.PT30M: 1_800,
    Resolution.PT1H: 3_600,
    Resolution.P1D: 86_400,
}
_BY_SECONDS: Final = {Fraction(seconds): res for res, seconds in _SECONDS.items()}

_CANONICAL: Final = {res.value: res for res in Resolution}
_ALLOWED: Final = ", ".join(_CANONICAL)

DEFAULT_RESOLUTION: Final = Resolution.PT15M


def parse_resolution(text: str | None) -> Resolution:
    """Parse `resolution` (default `PT15M`).

    Any duration equal to an allowed one is accepted (`PT60M`, `PT3600S`, `PT0.25H`), and a day
    may be written `P1D`, `PT24H` or `PT1440M`: all mean the site's local calendar day.
    Raises `malformed_resolution` for text that is not a duration, `unsupported_resolution` for
    a duration that is not allowed.
    """
    if text is None or text == "":
        return DEFAULT_RESOLUTION
    canonical = _CANONICAL.get(text)
    if canonical is not None:
        return canonical
    allowed = _ALLOWED
    if len(text) > MAX_PARAMETER_LENGTH or not text.isascii():
        raise TelemetryQueryError(
            "malformed_resolution", f"resolution must be an ISO 8601 duration, one of {allowed}"
        )
    try:
        seconds = parse_duration(text.strip())
    except DurationError as exc:
        code = "unsupported_resolution" if exc.kind == "calendar" else "malformed_resolution"
        raise TelemetryQueryError(code, f"{exc.message}; allowed: {allowed}") from None
    resolution = _BY_SECONDS.get(seconds)
    if resolution is None:
        raise TelemetryQueryError(
            "unsupported_resolution", f"resolution {show(text)} is not one of {allowed}"
        )
    return resolution


class Aggregation(StrEnum):
    """How a bucket's samples become one value."""

    DEFAULT = "default"
    """Mean of power and state of charge over the bucket."""
    LATEST = "latest"
    """The bucket's last sample."""


_AGGREGATION_ALIASES: Final = {
    "default": Aggregation.DEFAULT,
    "mean": Aggregation.DEFAULT,
    "latest": Aggregation.LATEST,
    "last": Aggregation.LATEST,
}


def parse_aggregation(text: str | None) -> Aggregation:
    """Parse `aggregation` (default `default`; `mean` and `last` are accepted aliases)."""
    if text is None or text == "":
        return Aggregation.DEFAULT
    key = text.strip().lower() if len(text) <= MAX_PARAMETER_LENGTH and text.isascii() else ""
    found = _AGGREGATION_ALIASES.get(key)
    if found is None:
        raise TelemetryQueryError(
            "malformed_aggregation",
            f"aggregation {show(text) if key else 'value'} is not one of: default, latest",
        )
    return found


@dataclass(frozen=True, slots=True)
class Include:
    """Which fields entries carry.

    Measurements (`power_W`, `soc_percent`, `state`) are always present, because the contract's
    entry shape makes `power_W` mandatory; `energy` adds the lifetime counters.
    """

    energy: bool = False

    def __str__(self) -> str:
        return "default,energy" if self.energy else "default"


_INCLUDE_WORDS: Final = frozenset({"default", "energy"})


def parse_include(text: str | None) -> Include:
    """Parse `include`, a comma list of `default` and `energy` (default `default`).

    Case and spaces around items are ignored, as are empty items (`default,`); a list with no
    item (`,`) or an unknown word is `malformed_include`. An empty value means the default, as
    for every parameter.
    """
    if text is None or text == "":
        return Include()
    if len(text) > MAX_PARAMETER_LENGTH or not text.isascii():
        raise TelemetryQueryError(
            "malformed_include", "include must be a comma list of: default, energy"
        )
    words = {item.strip().lower() for item in text.split(",")} - {""}
    if not words:
        raise TelemetryQueryError(
            "malformed_include", "include must name at least one of: default, energy"
        )
    unknown = sorted(words - _INCLUDE_WORDS)
    if unknown:
        raise TelemetryQueryError(
            "malformed_include",
            f"include item {show(unknown[0])} is not one of: default, energy",
        )
    return Include(energy="energy" in words)
