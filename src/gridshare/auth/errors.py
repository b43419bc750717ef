"""OAuth error responses (RFC 6749 §4.1.2.1, §5.2) as exceptions the routes translate."""

from __future__ import annotations


class OAuthError(Exception):
    """An error the client is told about with `error` and `error_description`."""

    status_code = 400

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


class InvalidClient(OAuthError):
    status_code = 401

    def __init__(self, description: str = "client authentication failed") -> None:
        super().__init__("invalid_client", description)


class InvalidRequest(OAuthError):
    def __init__(self, description: str) -> None:
        super().__init__("invalid_request", description)


class InvalidGrant(OAuthError):
    def __init__(self, description: str) -> None:
        super().__init__("invalid_grant", description)


class TooManyRequests(OAuthError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("slow_down", "too many failed attempts; retry later")
        self.retry_after = retry_after
