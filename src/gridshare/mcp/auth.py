"""The MCP endpoint as an OAuth protected resource: our access tokens, checked by the same
`TokenService` as the customer API's, accepted only when issued for the MCP resource (RFC 8707
`aud`), and turned into the owner-scoped `Caller` the homes services take."""

from __future__ import annotations

from collections.abc import Callable

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver.exceptions import ToolError

from gridshare.auth.tokens import InvalidToken
from gridshare.fleet.service import Caller
from gridshare.services import Services


class GridshareTokenVerifier:
    """The SDK's `TokenVerifier`: signature, claims and the token family's revocation status
    (so a homeowner's disconnect ends an assistant's access at its next call)."""

    def __init__(self, services: Callable[[], Services]) -> None:
        self._services = services

    async def verify_token(self, token: str) -> AccessToken | None:
        services = self._services()
        try:
            verified = await services.tokens.verify_access_token(token)
        except InvalidToken:
            return None
        return AccessToken(
            token=token,
            client_id=verified.client_id,
            scopes=sorted(verified.scopes),
            # Expiry was checked on our clock (with its leeway); the SDK would use the wall clock.
            expires_at=None,
            resource=verified.audience,
            subject=verified.sub,
            # `origin_jti`: the token family, which the per-token rate limit counts.
            claims={"iss": services.issuer, "origin_jti": verified.origin_jti},
        )


def current_family() -> str:
    """The token family of the call being served (the REST rate limit's key)."""
    token = get_access_token()
    family = (token.claims or {}).get("origin_jti") if token is not None else None
    if not isinstance(family, str):
        raise ToolError("not signed in: reconnect the assistant to Gridshare")
    return family


def current_caller() -> Caller:
    """The homeowner and assistant behind the tool call being served."""
    token = get_access_token()
    if token is None or token.subject is None:  # the transport refused such calls already
        raise ToolError("not signed in: reconnect the assistant to Gridshare")
    return Caller(user_id=token.subject, client_id=token.client_id, scopes=frozenset(token.scopes))
