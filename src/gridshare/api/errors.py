"""The customer API's error shape, `{"message", "code"}`, and the one place where a domain
error's kind becomes an HTTP status."""

from __future__ import annotations

from typing import Final

import orjson
from starlette.responses import JSONResponse, Response

from gridshare.homes.errors import DomainError, Kind, utf8_safe
from gridshare.telemetry import TelemetryQueryError

#: The HTTP status of each kind of domain error.
STATUS: Final[dict[Kind, int]] = {
    Kind.MALFORMED: 400,
    Kind.NOT_FOUND: 404,
    Kind.IMPOSSIBLE: 422,
}


def status_of(exc: DomainError) -> int:
    return STATUS[exc.kind]


def domain_error_response(exc: DomainError) -> JSONResponse:
    return JSONResponse(exc.to_body(), status_code=status_of(exc))


def telemetry_query_error_response(exc: TelemetryQueryError) -> Response:
    """A telemetry query the contract refuses: always malformed (400)."""
    return Response(
        orjson.dumps(exc.to_dict()),
        status_code=STATUS[Kind.MALFORMED],
        media_type="application/json",
    )


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"message": utf8_safe(self.message), "code": self.code},
            status_code=self.status_code,
            headers=self.headers,
        )


def not_found(what: str = "resource") -> ApiError:
    """Unknown and someone else's look the same (contract: 404 for both)."""
    return ApiError(404, "not_found", f"{what} not found")
