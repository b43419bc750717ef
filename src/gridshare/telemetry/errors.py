"""The one error type the telemetry query parser raises.

The HTTP layer turns it into a 400 with the service's `{"message", "code"}` body, so every
client mistake in a telemetry query has a stable machine code and never becomes a 500.
"""

from __future__ import annotations

from typing import Final

#: Every code a `TelemetryQueryError` may carry (the HTTP layer can document them in OpenAPI).
ERROR_CODES: Final = frozenset(
    {
        "malformed_interval",
        "interval_reversed",
        "empty_interval",
        "interval_out_of_range",
        "malformed_resolution",
        "unsupported_resolution",
        "malformed_include",
        "malformed_aggregation",
        "too_many_points",
    }
)


class TelemetryQueryError(ValueError):
    """A telemetry query parameter a client got wrong; always an HTTP 400."""

    def __init__(self, code: str, message: str) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The error body in the service's documented style."""
        return {"message": self.message, "code": self.code}

    def __repr__(self) -> str:
        return f"TelemetryQueryError({self.code!r}, {self.message!r})"


def show(text: str, limit: int = 40) -> str:
    """Quote a piece of client input for an error message, short and printable."""
    clipped = text if len(text) <= limit else text[:limit] + "..."
    return repr(clipped)
