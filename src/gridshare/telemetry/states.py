"""The `state` vocabulary: kind-specific words stored as small integer codes.

Codes are persisted in sample and rollup rows, so the list is append-only: never reorder or
remove a word, only add at the end.
"""

from __future__ import annotations

from typing import Final

STATE_WORDS: Final[tuple[str, ...]] = (
    "idle",
    "charging",
    "discharging",
    "producing",
    "consuming",
    "importing",
    "exporting",
    "standby",
    "offline",
    "fault",
    "heating",
    # EV charger and hot-water relay words of the twin (appended, codes 11-14)
    "unplugged",
    "plugged",
    "off",
    "on",
)
NO_STATE: Final = -1
"""Code for a sample (or bucket) without a state."""

_CODES: Final = {word: code for code, word in enumerate(STATE_WORDS)}


def state_code(word: str | None) -> int:
    """Code of a state word (`None` gives `NO_STATE`); an unknown word is a programming error."""
    if word is None:
        return NO_STATE
    try:
        return _CODES[word]
    except KeyError:
        raise ValueError(f"unknown telemetry state {word!r}; add it to STATE_WORDS") from None


def state_word(code: int) -> str | None:
    """Word for a code, `None` for `NO_STATE` or a code this version does not know."""
    return STATE_WORDS[code] if 0 <= code < len(STATE_WORDS) else None
