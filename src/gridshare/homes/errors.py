"""The errors the domain raises: what kind of failure, a stable machine code, a message.

The domain knows *why* an input is wrong (malformed, not there, impossible) but nothing of HTTP:
each caller maps the kind once (the customer API in `gridshare.api.errors`: 400, 404, 422), so
REST, MCP and the CLI answer the same failure the same way. The body of the contract is
`{"message": ..., "code": ...}` for all of them.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What went wrong, as the domain sees it."""

    #: The input does not have the expected shape (wrong type, unknown field, bad syntax).
    MALFORMED = "malformed"
    #: No such thing, or not the caller's (the two must look the same).
    NOT_FOUND = "not_found"
    #: Well-formed, but it cannot be carried out (a rule of the domain refuses it).
    IMPOSSIBLE = "impossible"


class DomainError(Exception):
    """An input the domain refuses: its `kind`, short `code` and human `message`."""

    def __init__(self, kind: Kind, code: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message

    def to_body(self) -> dict[str, str]:
        """The error body of the contract: `{"message", "code"}`."""
        return {"message": utf8_safe(self.message), "code": self.code}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind.name}, {self.code!r}, {self.message!r})"


class PlanError(DomainError):
    """An overlay or schedule plan was refused (malformed, or impossible)."""


class ModeError(DomainError):
    """An operation-mode request was refused."""


class PatchError(DomainError):
    """A device merge-patch was refused (always malformed: the body did not fit the patch
    shape)."""


def utf8_safe(text: str) -> str:
    """`text` with lone surrogates (which JSON's `\\ud800` escapes can smuggle into a str, and
    which cannot be encoded as UTF-8) written as backslash escapes, so an error message that
    quotes client input can always be sent."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
