"""Reading JSON request bodies ourselves, so every malformed body is a clear 400 (or 413)."""

from __future__ import annotations

import json

from starlette.requests import Request

from gridshare.api.errors import ApiError

MAX_BODY_BYTES = 256 * 1024


async def json_body(request: Request) -> object:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/json", "application/merge-patch+json"):
        raise ApiError(400, "unsupported_media_type", "send the body as application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(
                413, "body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes"
            )

    def no_constants(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(bytes(raw).decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc
