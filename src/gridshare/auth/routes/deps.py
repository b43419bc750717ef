"""Request facts the authorization server's routes share. The services a route uses come from
`gridshare.deps` (narrow typed dependencies)."""

from __future__ import annotations

from starlette.requests import Request


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
