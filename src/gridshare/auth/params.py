"""Strict parsing of query strings and form bodies.

OAuth says a parameter may appear once (RFC 6749 §3.1); Starlette silently keeps the last. We
parse ourselves so repeats, oversized values and bytes that are not UTF-8 become
`invalid_request` instead of surprises further down.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

MAX_QUERY_BYTES = 8192
MAX_BODY_BYTES = 65536
MAX_VALUE_CHARS = 4096
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class ParamError(ValueError):
    """The request's parameters are malformed; the message is safe to show."""


class BodyTooLarge(ParamError):
    pass


class Params:
    """Single-valued view over a parsed parameter list; remembers which names repeat."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        self.values: dict[str, str] = {}
        self.repeated: set[str] = set()
        for name, value in pairs:
            if name in self.values:
                self.repeated.add(name)
            self.values[name] = value

    def get(self, name: str) -> str | None:
        """The value of `name`, or None; a repeated name is an error."""
        if name in self.repeated:
            raise ParamError(f"parameter {name!r} must not be repeated")
        return self.values.get(name)

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None or value == "":
            raise ParamError(f"missing required parameter {name!r}")
        return value

    def check_no_repeats(self) -> None:
        if self.repeated:
            raise ParamError(f"parameter {sorted(self.repeated)[0]!r} must not be repeated")


def parse_raw(raw: bytes) -> Params:
    """Parse urlencoded bytes strictly (UTF-8, bounded sizes)."""
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge("parameters too large")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise ParamError("parameters must be UTF-8") from exc
    except ValueError as exc:
        raise ParamError("malformed parameters") from exc
    if len(pairs) > 64:
        raise ParamError("too many parameters")
    for name, value in pairs:
        if len(name) > 128 or len(value) > MAX_VALUE_CHARS:
            raise ParamError(f"parameter {name[:32]!r} is too long")
        if "\x00" in value or "\x00" in name:
            raise ParamError("parameters must not contain NUL")
    return Params(pairs)


def query_params(request: Request) -> Params:
    return parse_query_string(request.scope.get("query_string", b""))


def parse_query_string(raw: bytes) -> Params:
    if len(raw) > MAX_QUERY_BYTES:
        raise ParamError("query string too long")
    return parse_raw(raw)


async def form_params(request: Request) -> Params:
    """The urlencoded body; other content types are refused (the token endpoint's contract)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise ParamError(f"content type must be {FORM_CONTENT_TYPE}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge("request body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BodyTooLarge("request body too large")
    return parse_raw(bytes(body))
