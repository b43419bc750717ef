"""Errors the domain raises with the HTTP status and machine code already decided.

The domain knows *why* an input is wrong (malformed vs impossible); deciding the status here keeps
every caller (REST, MCP, CLI) answering the same way. The API layer turns an error into
`{"message": ..., "code": ...}` with `status` as the HTTP status.
"""

from __future__ import annotations


class DomainError(Exception):
    """An input the domain refuses: `status` (400/404/422), short `code`, human `message`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_body(self) -> dict[str, str]:
        """The error body of the contract: `{"message", "code"}`."""
        return {"message": utf8_safe(self.message), "code": self.code}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r}, {self.message!r})"


class PlanError(DomainError):
    """An overlay or schedule plan was refused (400 malformed, 422 impossible)."""


class ModeError(DomainError):
    """An operation-mode request was refused."""


class PatchError(DomainError):
    """A device merge-patch was refused (always 400: the body did not fit the patch shape)."""


def utf8_safe(text: str) -> str:
    """`text` with lone surrogates (which JSON's `\\ud800` escapes can smuggle into a str, and
    which cannot be encoded as UTF-8) written as backslash escapes, so an error message that
    quotes client input can always be sent."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
