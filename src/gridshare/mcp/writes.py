"""Write tools beyond the real service's twelve: what the customer API already lets a partner
do (switch operation mode, set or clear an overlay plan), offered only to a token that carries
the write scope each needs, marked destructive, and audited like a partner's writes (the same
`HomesService` methods, under the assistant's client id)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from gridshare.api.schemas import OperationModeBody
from gridshare.auth.scopes import DEVICE_WRITE, PLAN_WRITE
from gridshare.homes.modes import mode_body
from gridshare.homes.plans import OverlayCommand, OverlayPlan
from gridshare.mcp.auth import current_caller
from gridshare.mcp.tools import DeviceId, answer
from gridshare.services import Services

WRITES = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
#: The scope each write tool needs; a token without it neither sees nor may call the tool.
WRITE_SCOPES = {
    "set_device_operation_mode": DEVICE_WRITE,
    "set_device_overlay_plan": PLAN_WRITE,
    "clear_device_overlay_plan": PLAN_WRITE,
}


def register_write_tools(server: MCPServer[Any], services: Callable[[], Services]) -> None:
    @server.tool(annotations=WRITES)
    async def set_device_operation_mode(
        device_id: DeviceId,
        mode: Annotated[
            str, Field(description="simple, schedule (needs a stored schedule) or smart.")
        ],
    ) -> Annotated[CallToolResult, OperationModeBody]:
        """Switch a battery, EV charger or hot-water relay to another operation mode. Changes
        how the home runs: confirm with the homeowner first."""

        async def body() -> dict[str, Any]:
            caller = current_caller()
            return dict(
                mode_body(await services().homes.set_mode(caller, device_id, {"mode": mode}))
            )

        return await answer(body(), lambda b: f"Operation mode is now {b['mode']}.")

    @server.tool(annotations=WRITES)
    async def set_device_overlay_plan(
        device_id: DeviceId,
        start_time: Annotated[
            str, Field(description="ISO 8601 date-time with offset, e.g. 2026-06-01T17:00:00Z.")
        ],
        commands: Annotated[
            list[OverlayCommand],
            Field(description="Back to back from start_time, at most 7 days in all.", min_length=1),
        ],
    ) -> Annotated[CallToolResult, OverlayPlan]:
        """Replace the device's overlay plan (charge, idle, setpoint, heat water commands) that
        overrides its mode for a while. Changes how the home runs: confirm with the homeowner
        first."""

        async def body() -> dict[str, Any]:
            caller = current_caller()
            homes = services().homes
            plan = {
                "startTime": start_time,
                "commands": [c.model_dump(exclude_none=True) for c in commands],
            }
            await homes.set_overlay(caller, device_id, plan)
            stored: dict[str, Any] = (await homes.overlay(caller, device_id)).to_json()
            return stored

        return await answer(
            body(), lambda b: f"Overlay plan of {len(b['commands'])} command(s) stored."
        )

    @server.tool(annotations=WRITES)
    async def clear_device_overlay_plan(
        device_id: DeviceId,
    ) -> Annotated[CallToolResult, OverlayPlan]:
        """Delete the device's overlay plan: it follows its operation mode again."""

        async def body() -> dict[str, Any]:
            caller = current_caller()
            await services().homes.set_overlay(caller, device_id, {"commands": []})
            return {"commands": []}

        return await answer(body(), lambda _: "Overlay plan cleared.")
