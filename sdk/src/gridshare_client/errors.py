"""Typed exceptions of the partner SDK: one class per API status and per OAuth failure.

Everything the SDK raises on purpose derives from `GridshareError`, so an integration can catch
that one class at its boundary and still tell the cases apart below it:

```
GridshareError
├── ApiError (any non-2xx answer of the customer API: status, code, message)
│   ├── BadRequest (400)       ├── NotFound (404)          ├── RateLimited (429, retry_after)
│   ├── Unauthorized (401)     ├── PayloadTooLarge (413)   └── ServerError (5xx)
│   ├── Forbidden (403)        └── ValidationFailed (422)
│   │   └── InsufficientScope (403 naming the missing scope)
├── OAuthError (error, description: the callback or the token/revoke endpoint said no)
│   ├── AccessDenied (the homeowner clicked Deny)   ├── InvalidGrant
│   ├── StateMismatch (callback `state` is not ours) ├── InvalidClient
│   └── IssuerMismatch (RFC 9207 `iss` missing or wrong)
├── LoginRequired (no usable token: the homeowner must sign in again; `.profile`)
├── LoginTimedOut (nobody came back to the loopback listener in time)
├── LoopbackUnavailable (the sign-in redirect's loopback port cannot be listened on; also OSError)
├── InvalidArgument (an argument the SDK cannot use; also ValueError)
├── ConnectionFailed (network error after the retries)
├── UnexpectedResponse (a 2xx body that does not fit the contract)
├── ConfigError (profile incomplete or unknown)
└── MissingDependency (an optional package such as pandas is not installed; also ImportError)
```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class GridshareError(Exception):
    """Base class of every error the SDK raises on purpose."""


class ApiError(GridshareError):
    """A non-2xx answer from the customer API (`{"message", "code"}` body)."""

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        method: str | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        if status_code is not None:
            self.status_code = status_code
        self.message = message
        self.code = code
        self.method = method
        self.url = url
        self.headers: dict[str, str] = dict(headers or {})
        self.body = body

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method and self.url else ""
        code = f" [{self.code}]" if self.code else ""
        return f"{self.status_code}{code}: {self.message}{where}"


class BadRequest(ApiError):
    """400: the request is malformed (e.g. `malformed_interval`, `too_many_points`)."""

    status_code = 400


class Unauthorized(ApiError):
    """401: the access token is missing, invalid, expired or revoked (even after a refresh)."""

    status_code = 401


class Forbidden(ApiError):
    """403: the token is valid but may not do this."""

    status_code = 403

    def __init__(self, message: str, *, scope: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        #: The scope the call needs, when the server named it.
        self.scope = scope


class InsufficientScope(Forbidden):
    """403 `insufficient_scope`: log in again asking for `scope`."""


class NotFound(ApiError):
    """404: no such site/device, or not the homeowner's (the API does not tell them apart)."""

    status_code = 404


class PayloadTooLarge(ApiError):
    """413: the request body is too large."""

    status_code = 413


class ValidationFailed(ApiError):
    """422: well-formed but impossible (overlapping plan, `schedule` mode without a schedule)."""

    status_code = 422


class RateLimited(ApiError):
    """429, after the retries allowed by the client's `RetryPolicy` were spent."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        #: Seconds the server asked us to wait (`Retry-After`), if it said.
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the service failed (after retries for 502/503/504 on retryable requests)."""

    status_code = 500


class OAuthError(GridshareError):
    """An OAuth error: from the authorization callback or the token/revoke endpoint."""

    def __init__(
        self, error: str, description: str | None = None, *, status_code: int | None = None
    ) -> None:
        self.error = error
        self.description = description
        self.status_code = status_code
        super().__init__(f"{error}: {description}" if description else error)


class AccessDenied(OAuthError):
    """The homeowner declined (or the server refused) the authorization request."""


class StateMismatch(OAuthError):
    """The callback's `state` is missing or not the one we sent: possible CSRF, stop."""

    def __init__(self, description: str = "the callback's state does not match") -> None:
        super().__init__("state_mismatch", description)


class IssuerMismatch(OAuthError):
    """RFC 9207: the callback's `iss` is missing (when required) or names another server."""

    def __init__(self, description: str) -> None:
        super().__init__("issuer_mismatch", description)


class InvalidGrant(OAuthError):
    """`invalid_grant`: the code or refresh token is expired, used or revoked."""


class InvalidClient(OAuthError):
    """`invalid_client`: the client_id/secret pair was refused."""


class LoginRequired(GridshareError):
    """There is no usable token (never logged in, logged out, or the refresh token died).

    The message says what happened, not what to run: a web app sends the homeowner through its
    own sign-in, the CLI adds its `gridshare login` hint (`reason` is the message alone)."""

    def __init__(self, message: str | None = None, *, profile: str | None = None) -> None:
        self.profile = profile
        self.reason = message or "not logged in"
        where = f" (profile {profile!r})" if profile else ""
        super().__init__(f"{self.reason}{where}")


class LoginTimedOut(GridshareError):
    """The homeowner did not come back to the loopback listener within the login's timeout."""


class LoopbackUnavailable(GridshareError, OSError):
    """The loopback address of the sign-in redirect cannot be listened on (port taken, or not
    allowed)."""


class InvalidArgument(GridshareError, ValueError):
    """An argument the SDK cannot use (no redirect URI, an unknown API version, an interval
    without a start...). Also a `ValueError`, as such mistakes were before."""


class ConnectionFailed(GridshareError):
    """The server could not be reached (after the retries allowed for the request)."""


class UnexpectedResponse(GridshareError):
    """A 2xx answer whose body is not what the contract describes."""


class ConfigError(GridshareError):
    """A profile is unknown or incomplete (e.g. no client_id)."""


class MissingDependency(GridshareError, ImportError):
    """An optional package is needed for this feature (pandas, matplotlib)."""

    def __init__(self, package: str, feature: str) -> None:
        super().__init__(f"{feature} needs {package}: pip install {package}")
        self.package = package


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: PayloadTooLarge,
    422: ValidationFailed,
    429: RateLimited,
}

_BY_OAUTH_ERROR: dict[str, type[OAuthError]] = {
    "access_denied": AccessDenied,
    "invalid_grant": InvalidGrant,
    "invalid_client": InvalidClient,
    "unauthorized_client": InvalidClient,
}


def api_error_class(status_code: int) -> type[ApiError]:
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, ApiError)


def oauth_error(
    error: str, description: str | None = None, *, status_code: int | None = None
) -> OAuthError:
    cls = _BY_OAUTH_ERROR.get(error, OAuthError)
    return cls(error, description, status_code=status_code)
