"""RFC 8707 resource indicators: which protected resource a token is for.

The customer API's tokens are Cognito-shaped and carry no `aud`; the MCP endpoint's tokens
carry its URL as `aud` and are accepted nowhere else. A client names the MCP endpoint with
`resource` at authorize (and may repeat it at the token endpoint); clients that assistants
registered for themselves get it whether they ask or not.
"""

from __future__ import annotations

from gridshare.auth.errors import OAuthError

MCP_PATH = "/mcp"


def mcp_resource(issuer: str) -> str:
    """The MCP endpoint's resource identifier: its URL on our one origin."""
    return issuer.rstrip("/") + MCP_PATH


class InvalidTarget(OAuthError):
    """RFC 8707 §2: the resource is unknown, or not the one the grant was for."""

    def __init__(self, description: str) -> None:
        super().__init__("invalid_target", description)


def check_resource(value: str | None, issuer: str) -> str | None:
    """The resource a request names (the MCP endpoint, trailing slash aside), or None; anything
    else is `invalid_target`: we protect no other resource that takes audience-bound tokens."""
    if value is None:
        return None
    ours = mcp_resource(issuer)
    if value.rstrip("/") != ours:
        raise InvalidTarget(f"unknown resource; this server issues tokens for {ours}")
    return ours
