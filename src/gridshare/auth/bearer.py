"""Bearer-token authentication for protected resources (RFC 6750).

Tokens are taken from the `Authorization: Bearer` header only: never from the query string or the
body (RFC 6750 §2.2/2.3 methods leak into logs and caches).
"""

from __future__ import annotations

from starlette.requests import Request

from gridshare.auth.tokens import AccessToken, InvalidToken, TokenService


class BearerError(Exception):
    def __init__(
        self, status_code: int, error: str | None, description: str, scope: str | None = None
    ):
        super().__init__(description)
        self.status_code = status_code
        self.error = error
        self.description = description
        self.scope = scope

    def www_authenticate(self) -> str:
        parts = ['realm="gridshare"']
        if self.error:
            parts.append(f'error="{self.error}"')
            parts.append(f'error_description="{self.description}"')
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        return "Bearer " + ", ".join(parts)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def authenticate_bearer(
    request: Request,
    tokens: TokenService,
    required_scope: str | None = None,
    audience: str | None = None,
) -> AccessToken:
    """The verified token; `audience` is the resource it must be for (None: the customer API,
    whose Cognito-shaped tokens have no `aud`, so an MCP token is refused there)."""
    raw = bearer_token(request)
    if raw is None:
        raise BearerError(401, None, "a bearer token is required")
    try:
        token = await tokens.verify_access_token(raw)
    except InvalidToken as exc:
        raise BearerError(401, "invalid_token", str(exc)) from exc
    if token.audience != audience:
        raise BearerError(401, "invalid_token", "the token is not for this resource")
    if required_scope is not None and required_scope not in token.scopes:
        raise BearerError(
            403, "insufficient_scope", f"the token lacks the scope {required_scope}", required_scope
        )
    return token
