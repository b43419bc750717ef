"""Typed dependencies of the customer API: the caller's verified token, per required scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import OAuth2AuthorizationCodeBearer
from starlette.requests import Request

from gridshare.api.errors import ApiError
from gridshare.auth.bearer import BearerError, authenticate_bearer
from gridshare.auth.routes.deps import ServicesDep
from gridshare.auth.scopes import API_SCOPES
from gridshare.auth.tokens import AccessToken

#: Documents the security scheme in /openapi.json; the check itself is `authenticate_bearer`.
oauth2_scheme = OAuth2AuthorizationCodeBearer(
    authorizationUrl="/oauth2/authorize",
    tokenUrl="/oauth2/token",
    refreshUrl="/oauth2/token",
    scopes=API_SCOPES,
    auto_error=False,
)


def requires(scope: str) -> Callable[..., Awaitable[AccessToken]]:
    """A dependency that admits a bearer token carrying `scope`, or answers 401/403."""

    async def dependency(
        request: Request,
        services: ServicesDep,
        _doc: Annotated[str | None, Security(oauth2_scheme, scopes=[scope])] = None,
    ) -> AccessToken:
        try:
            return await authenticate_bearer(request, services.tokens, required_scope=scope)
        except BearerError as exc:
            if exc.status_code == 401:
                raise ApiError(
                    401,
                    "unauthorized",
                    "Unauthorized",
                    {"WWW-Authenticate": 'Bearer realm="gridshare", error="invalid_token"'},
                ) from exc
            raise ApiError(
                403,
                "insufficient_scope",
                f"this call requires the scope {scope}",
                {"WWW-Authenticate": exc.www_authenticate()},
            ) from exc

    return dependency


