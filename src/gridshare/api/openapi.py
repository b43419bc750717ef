"""/openapi.json: FastAPI's document, plus the request-body schemas the domain validates and
absolute OAuth URLs pointing at our own authorization server."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gridshare.api.schemas import DevicePatchBody, OperationModeInput
from gridshare.homes.plans import OverlayPlan, SchedulePlan

REQUEST_BODIES: list[type[BaseModel]] = [DevicePatchBody, OperationModeInput]
#: The plan bodies, documented from the very models that validate them, under their names here.
PLAN_BODIES: dict[str, type[BaseModel]] = {
    "OverlayPlanBody": OverlayPlan,
    "SchedulePlanBody": SchedulePlan,
}
REF = "#/components/schemas/{model}"

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
        _, defs = models_json_schema([(m, "validation") for m in REQUEST_BODIES], ref_template=REF)
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {}).update(defs.get("$defs", {}))
        components["schemas"].update(plan_schemas())
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


def plan_schemas() -> dict[str, Any]:
    """The plan bodies' schemas from `homes.plans`: renamed to their names in the document, and
    the overlay's command union named `OverlayCommand` (one closed schema per command type)."""
    _, defs = models_json_schema(
        [(m, "validation") for m in PLAN_BODIES.values()], ref_template=REF
    )
    text = json.dumps(defs["$defs"])
    for name, model in PLAN_BODIES.items():
        text = text.replace(f'"{REF.format(model=model.__name__)}"', f'"{REF.format(model=name)}"')
    schemas: dict[str, Any] = json.loads(text)
    for name, model in PLAN_BODIES.items():
        schemas[name] = schemas.pop(model.__name__)
    commands = schemas["OverlayPlanBody"]["properties"]["commands"]
    schemas["OverlayCommand"] = commands["items"]
    commands["items"] = {"$ref": REF.format(model="OverlayCommand")}
    return schemas


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
