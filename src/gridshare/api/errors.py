"""The customer API's error shape: `{"message", "code"}` with the contract's statuses."""

from __future__ import annotations

from starlette.responses import JSONResponse

from gridshare.homes.errors import utf8_safe


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
