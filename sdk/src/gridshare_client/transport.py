"""What the sync and async clients share about HTTP: request descriptions, the retry policy and
turning error responses into typed exceptions. No I/O here.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from gridshare_client._version import __version__
from gridshare_client.errors import (
    ApiError,
    Forbidden,
    InsufficientScope,
    InvalidArgument,
    RateLimited,
    api_error_class,
)

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = f"gridshare-python/{__version__} httpx/{httpx.__version__}"

#: Methods a retry cannot make worse. PUT is idempotent in this API (a plan or mode is replaced
#: whole), so a lost response may be retried; PATCH and POST are not.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def segment(value: str) -> str:
    """One URL path segment, with `/`, `?`, `#` and `..` made harmless."""
    if value in ("", ".", ".."):
        raise InvalidArgument(f"not a valid id: {value!r}")
    return quote(value, safe="")


@dataclass(frozen=True)
class ApiRequest:
    """One customer-API request, relative to the API base URL."""

    method: str
    path: str
    params: Mapping[str, str] | None = None
    json: Any = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request and how to read its successful response."""

    request: ApiRequest
    parse: Callable[[httpx.Response], T]


@dataclass(frozen=True)
class RetryPolicy:
    """Retries with exponential backoff (and jitter) on 429/502/503/504 and network errors.

    - GET/PUT/DELETE (idempotent) are retried on every status in `statuses` and on network
      errors;
    - PATCH/POST only on 429 (the server did nothing) and on connection failures where the
      request never left (connect error/timeout);
    - `Retry-After` is honoured; when it asks for more than `max_retry_after` seconds the error
      is raised at once instead of sleeping that long.
    """

    max_attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 60.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 502, 503, 504}))
    jitter: bool = True

    def backoff(self, attempt: int) -> float:
        """Delay before attempt `attempt + 1` (attempt counts from 1)."""
        delay = min(self.backoff_max, self.backoff_initial * 2.0 ** (attempt - 1))
        if self.jitter:
            delay *= 0.5 + random.random() / 2  # noqa: S311 - jitter, not security
        return delay

    def delay_for_status(
        self, method: str, status: int, retry_after: float | None, attempt: int
    ) -> float | None:
        """Seconds to wait before retrying, or None to give up."""
        if attempt >= self.max_attempts or status not in self.statuses:
            return None
        if method.upper() not in IDEMPOTENT and status != 429:
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return max(0.0, retry_after)
        return self.backoff(attempt)

    def delay_for_error(self, method: str, exc: httpx.TransportError, attempt: int) -> float | None:
        if attempt >= self.max_attempts:
            return None
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        if method.upper() not in IDEMPOTENT and not never_sent:
            return None
        return self.backoff(attempt)


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP-date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


def www_authenticate_params(header: str | None) -> dict[str, str]:
    return dict(_AUTH_PARAM.findall(header or ""))


def error_from_response(response: httpx.Response) -> ApiError:
    """The typed exception for a non-2xx customer-API response."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500] or None
    message = None
    code = None
    if isinstance(body, dict):
        raw_message = body.get("message", body.get("Message"))
        message = raw_message if isinstance(raw_message, str) else None
        raw_code = body.get("code")
        code = raw_code if isinstance(raw_code, str) else None
    status = response.status_code
    message = message or response.reason_phrase or f"HTTP {status}"
    common: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "method": response.request.method,
        "url": str(response.request.url),
        "headers": dict(response.headers),
        "body": body,
    }
    cls = api_error_class(status)
    if status == 403:
        params = www_authenticate_params(response.headers.get("WWW-Authenticate"))
        scope = params.get("scope")
        if code == "insufficient_scope" or params.get("error") == "insufficient_scope":
            return InsufficientScope(message, scope=scope, **common)
        return Forbidden(message, scope=scope, **common)
    if status == 429:
        return RateLimited(
            message, retry_after=parse_retry_after(response.headers.get("Retry-After")), **common
        )
    return cls(message, **common)
