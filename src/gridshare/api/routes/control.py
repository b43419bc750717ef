"""Operation mode and plans of a controllable device (`/api/v2/devices/{synthId}/...`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response

from gridshare.api.body import json_body
from gridshare.api.deps import DeviceReader, DeviceWriter, PlanReader, PlanWriter, counted
from gridshare.api.schemas import OperationModeBody, error_responses
from gridshare.deps import Homes
from gridshare.homes.modes import mode_body

router = APIRouter(tags=["control"])

SynthId = Annotated[str, Path(max_length=200, description="A device or sensor id.")]
READ_ERRORS = error_responses(401, 403, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 413, 422, 429)


def _answer(schema: str, description: str) -> dict[int | str, dict[str, Any]]:
    """A 200 documented by a schema of the document (plans: generated from `homes.plans`, the
    models that validate them), plus the read errors."""
    ref = {"$ref": f"#/components/schemas/{schema}"}
    ok = {"description": description, "content": {"application/json": {"schema": ref}}}
    return {200: ok, **READ_ERRORS}


def _body_of(schema: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    }


MODE_PATHS = ("/api/v2/devices/{synthId}/operationMode", "/api/v2/devices/{synthId}/operationmode")


async def get_mode(synthId: SynthId, caller: DeviceReader, homes: Homes) -> dict[str, str]:
    """The device's operation mode. Scope: `lunar/device.read`."""
    return mode_body(await homes.mode(caller, synthId))


async def put_mode(
    synthId: SynthId, request: Request, caller: DeviceWriter, homes: Homes
) -> dict[str, str]:
    """Switch mode (`simple`, `schedule`, `smart`; any case). `schedule` needs a stored schedule
    plan (422). Scope: `lunar/device.write`."""
    body = await json_body(request)
    return mode_body(await homes.set_mode(caller, synthId, body))


for index, path in enumerate(MODE_PATHS):
    # The camelCase path is canonical; the lower-case one is accepted and left out of the docs.
    documented = index == 0
    router.add_api_route(
        path,
        get_mode,
        methods=["GET"],
        response_model=OperationModeBody,
        responses=READ_ERRORS,
        include_in_schema=documented,
        name=f"get_mode_{index}",
    )
    router.add_api_route(
        path,
        put_mode,
        methods=["PUT"],
        response_model=OperationModeBody,
        responses=WRITE_ERRORS,
        include_in_schema=documented,
        name=f"put_mode_{index}",
        openapi_extra=_body_of("OperationModeInput"),
    )


@router.get(
    "/api/v2/devices/{synthId}/plans/overlay",
    responses=_answer("OverlayPlanBody", 'The overlay plan (`{"commands": []}` when none)'),
)
async def get_overlay(synthId: SynthId, caller: PlanReader, homes: Homes) -> dict[str, Any]:
    """The stored overlay plan, or `{"commands": []}`. Scope: `lunar/plan.read`."""
    plan: dict[str, Any] = (await homes.overlay(caller, synthId)).to_json()
    return plan


@router.put(
    "/api/v2/devices/{synthId}/plans/overlay",
    status_code=204,
    responses=WRITE_ERRORS,
    openapi_extra=_body_of("OverlayPlanBody"),
)
async def put_overlay(
    synthId: SynthId, request: Request, caller: PlanWriter, homes: Homes
) -> Response:
    """Store an overlay plan (commands back to back from `startTime`, at most 7 days); empty
    `commands` deletes it. Scope: `lunar/plan.write`."""
    await homes.set_overlay(caller, synthId, await json_body(request))
    return counted(request, Response(status_code=204))


@router.get(
    "/api/v2/devices/{synthId}/plans/schedule",
    responses=_answer("SchedulePlanBody", 'The weekly schedule (`{"slots": []}` when none)'),
)
async def get_schedule(synthId: SynthId, caller: PlanReader, homes: Homes) -> dict[str, Any]:
    """The weekly schedule plan that `schedule` mode follows, or `{"slots": []}`.
    Scope: `lunar/plan.read`."""
    plan = await homes.schedule(caller, synthId)
    return plan.to_json() if plan is not None else {"slots": []}


@router.put(
    "/api/v2/devices/{synthId}/plans/schedule",
    status_code=204,
    responses=WRITE_ERRORS,
    openapi_extra=_body_of("SchedulePlanBody"),
)
async def put_schedule(
    synthId: SynthId, request: Request, caller: PlanWriter, homes: Homes
) -> Response:
    """Store the weekly schedule (slots summing to 10,080 minutes from Monday 00:00 site-local);
    empty `slots` deletes it. Scope: `lunar/plan.write`."""
    await homes.set_schedule(caller, synthId, await json_body(request))
    return counted(request, Response(status_code=204))
