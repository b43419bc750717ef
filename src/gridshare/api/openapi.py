"""/openapi.json: FastAPI's document, plus the request-body schemas the domain validates and
absolute OAuth URLs pointing at our own authorization server."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gridshare.api.schemas import (
    DevicePatchBody,
    OperationModeInput,
    OverlayPlanBody,
    SchedulePlanBody,
)

REQUEST_BODIES: list[type[BaseModel]] = [
    DevicePatchBody,
    OperationModeInput,
    OverlayPlanBody,
    SchedulePlanBody,
]

DESCRIPTION = """
The Gridshare Customer API: a homeowner's sites, devices, telemetry, operation modes and plans,
for partners the homeowner connected through the OAuth 2.0 authorization-code flow.

Every call needs `Authorization: Bearer <access token>` carrying the scope named on the
operation. Errors are `{"message", "code"}`. Use **Authorize** to sign in (PKCE) and try calls.
"""


def install_openapi(app: FastAPI, issuer: str) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=DESCRIPTION, routes=app.routes
        )
        _, defs = models_json_schema(
            [(m, "validation") for m in REQUEST_BODIES],
            ref_template="#/components/schemas/{model}",
        )
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {}).update(defs.get("$defs", {}))
        _validation_errors_are_400(schema)
        for scheme in components.get("securitySchemes", {}).values():
            flow = scheme.get("flows", {}).get("authorizationCode")
            if flow:
                flow["authorizationUrl"] = f"{issuer}/oauth2/authorize"
                flow["tokenUrl"] = f"{issuer}/oauth2/token"
                flow["refreshUrl"] = f"{issuer}/oauth2/token"
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_FASTAPI_422 = "#/components/schemas/HTTPValidationError"
_ERROR_BODY = "#/components/schemas/ErrorBody"


def _validation_errors_are_400(schema: dict[str, Any]) -> None:
    """FastAPI documents a 422 `HTTPValidationError` for every operation with parameters, but
    our handler answers a parameter that fails validation with a 400 `{"message", "code"}`.
    Document what is sent: a 400 with the error body, and no framework 422."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            generated = responses.get("422", {})
            ref = generated.get("content", {}).get("application/json", {}).get("schema", {})
            if ref.get("$ref") != _FASTAPI_422:
                continue
            del responses["422"]
            responses.setdefault(
                "400",
                {
                    "description": "Malformed input",
                    "content": {"application/json": {"schema": {"$ref": _ERROR_BODY}}},
                },
            )
    defs = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        defs.pop(name, None)
