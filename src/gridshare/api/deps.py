"""Typed dependencies of the customer API: the caller's verified token per required scope,
with per-token rate limiting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import OAuth2AuthorizationCodeBearer
from starlette.requests import Request
from starlette.responses import Response

from gridshare.api.errors import ApiError
from gridshare.auth.bearer import BearerError, authenticate_bearer
from gridshare.auth.scopes import API_SCOPES, DEVICE_READ, DEVICE_WRITE, PLAN_READ, PLAN_WRITE
from gridshare.deps import services_of
from gridshare.fleet.service import Caller

#: Documents the security scheme in /openapi.json; the check itself is `authenticate_bearer`.
oauth2_scheme = OAuth2AuthorizationCodeBearer(
    authorizationUrl="/oauth2/authorize",
    tokenUrl="/oauth2/token",
    refreshUrl="/oauth2/token",
    scopes=API_SCOPES,
    auto_error=False,
)


#: Where `requires` leaves the call's RateLimit-* headers for `counted`.
RATE_LIMIT_HEADERS = "gridshare.rate_limit_headers"


def counted(request: Request, response: Response) -> Response:
    """`response` with the call's RateLimit-* headers: FastAPI copies the headers a dependency
    set only onto responses it renders itself, not onto one a route returns."""
    response.headers.update(request.scope.get(RATE_LIMIT_HEADERS, {}))
    return response


def json_response(request: Request, body: bytes) -> Response:
    """A JSON body serialised by the route (orjson, or the telemetry store's own encoder),
    counted: cheaper than FastAPI validating a dict against the documented `response_model`."""
    return counted(request, Response(body, media_type="application/json"))


def requires(scope: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting a bearer token that carries `scope` (else 401/403), then counting
    the call against the token's rate limit (429 with Retry-After beyond it)."""

    async def dependency(
        request: Request,
        response: Response,
        # A default rather than `Annotated[...]`: under `from __future__ import annotations` an
        # annotation naming the closure's `scope` cannot be resolved, and /openapi.json fails.
        _doc: str | None = Security(oauth2_scheme, scopes=[scope]),
    ) -> Caller:
        services = services_of(request)
        try:
            token = await authenticate_bearer(request, services.tokens, required_scope=scope)
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
        decision = await services.limits.hit(
            services.settings.api_rate_per_minute, "api", token.origin_jti
        )
        headers = {
            "RateLimit-Limit": str(decision.limit),
            "RateLimit-Remaining": str(decision.remaining),
            "RateLimit-Reset": str(decision.reset_after),
        }
        if not decision.allowed:
            raise ApiError(
                429,
                "rate_limited",
                f"rate limit of {decision.limit} calls per minute reached",
                headers | {"Retry-After": str(decision.reset_after)},
            )
        response.headers.update(headers)
        request.scope[RATE_LIMIT_HEADERS] = headers
        return Caller(user_id=token.sub, client_id=token.client_id, scopes=token.scopes)

    return dependency


DeviceReader = Annotated[Caller, Depends(requires(DEVICE_READ))]
DeviceWriter = Annotated[Caller, Depends(requires(DEVICE_WRITE))]
PlanReader = Annotated[Caller, Depends(requires(PLAN_READ))]
PlanWriter = Annotated[Caller, Depends(requires(PLAN_WRITE))]
