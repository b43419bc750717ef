"""The real service's twelve read tools, each the answer of the customer API call it wraps.

Every tool calls the same owner-scoped services as its REST route, so its structured content
equals that route's JSON body (the tests compare them); the output schema is the route's
response model, and the text is a one-line summary for the model to read. Errors say what to
ask instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from gridshare.api.schemas import (
    CurrentState,
    DeviceDetail,
    DeviceList,
    OperationModeBody,
    Savings,
    SiteDetail,
    SiteList,
    SiteTelemetry,
    TariffPage,
    Topology,
)
from gridshare.auth.scopes import PLAN_READ
from gridshare.fleet.site_views import SiteViews
from gridshare.homes.errors import DomainError
from gridshare.homes.modes import mode_body
from gridshare.homes.plans import OverlayPlan
from gridshare.homes.sites import site_resource
from gridshare.homes.topology import build_topology
from gridshare.mcp.auth import current_caller
from gridshare.services import Services
from gridshare.telemetry import EMPTY_RESPONSE, TelemetryQueryError, parse_telemetry_query
from gridshare.telemetry.store import telemetry_body

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)

#: What an assistant can do about each error code, appended to the error's own message.
ADVICE = {
    "not_found": "Call list_sites or list_devices (or get_site_topology for sensor ids) to see "
    "the ids this homeowner has.",
    "too_many_points": "Ask for a coarser resolution (PT1H or P1D) or a shorter interval.",
    "interval_too_long": "Ask for at most 120 months, e.g. one year at a time.",
    "interval_out_of_range": "Ask for an interval that ends before 2200.",
    "malformed_interval": "Give an ISO 8601 interval in UTC, e.g. "
    "2026-06-01T00:00:00Z/2026-06-02T00:00:00Z or 2026-06-01T00:00:00Z/P1D.",
    "empty_interval": "Give an interval whose end is after its start.",
    "interval_reversed": "Give an interval whose end is after its start.",
    "unsupported_resolution": "Use PT1M, PT5M, PT15M, PT30M, PT1H or P1D.",
    "malformed_resolution": "Use PT1M, PT5M, PT15M, PT30M, PT1H or P1D.",
    "malformed_include": "Use include=default or include=default,energy.",
    "malformed_aggregation": "Use aggregation=default (mean) or latest.",
    "malformed_roles": "Use roles among battery, pv, grid, inverter, consumption, ev, hotWater.",
    "malformed_token": "Leave next_token out to start from the newest page again.",
    "malformed_direction": "Use direction=import or export.",
    "not_controllable": "Only battery packs, EV chargers and hot-water relays have a mode or "
    "plan; see get_site_current_state for them.",
}

SiteId = Annotated[str, Field(description="A site id from list_sites.", max_length=100)]
DeviceId = Annotated[str, Field(description="A device id from list_devices.", max_length=200)]
Interval = Annotated[
    str | None,
    Field(
        description="ISO 8601 interval in UTC, start/end or start/duration, e.g. "
        "2026-06-01T00:00:00Z/P1D.",
        max_length=200,
    ),
]
Resolution = Annotated[
    str | None,
    Field(description="PT1M, PT5M, PT15M (default), PT30M, PT1H or P1D.", max_length=64),
]
Include = Annotated[
    str | None, Field(description="default, or default,energy for the counters.", max_length=64)
]
Aggregation = Annotated[
    str | None, Field(description="default (mean over the bucket) or latest.", max_length=64)
]


class TelemetryEntries(BaseModel):
    entries: list[dict[str, Any]] = Field(description="One entry per bucket with data.")


def _failure(exc: DomainError | TelemetryQueryError) -> ToolError:
    advice = ADVICE.get(exc.code)
    text = f"{exc.message} ({exc.code})."
    return ToolError(f"{text} {advice}" if advice else text)


async def answer(
    body: Awaitable[dict[str, Any]], summary: Callable[[dict[str, Any]], str]
) -> CallToolResult:
    """The REST body as structured content with a one-line text; domain errors as advice."""
    try:
        result = await body
    except (DomainError, TelemetryQueryError) as exc:
        raise _failure(exc) from exc
    return CallToolResult(
        content=[TextContent(type="text", text=summary(result))], structured_content=result
    )


def register_read_tools(server: MCPServer[Any], services: Callable[[], Services]) -> None:
    """The twelve tools of the real service, with exactly its names."""

    def views() -> SiteViews:
        return SiteViews(services().homes)

    @server.tool(annotations=READ_ONLY)
    async def list_sites() -> Annotated[CallToolResult, SiteList]:
        """The site ids the signed-in homeowner can see."""

        async def body() -> dict[str, Any]:
            ids = await services().homes.site_ids(current_caller())
            return {"entries": [{"siteId": s} for s in ids]}

        return await answer(
            body(),
            lambda b: (
                f"{len(b['entries'])} site(s): " + ", ".join(e["siteId"] for e in b["entries"])
            ),
        )

    @server.tool(annotations=READ_ONLY)
    async def show_site(site_id: SiteId) -> Annotated[CallToolResult, SiteDetail]:
        """One site's attributes: address, site reference, time zone, import and export
        tariff ids."""

        async def body() -> dict[str, Any]:
            stored = await services().homes.site(current_caller(), site_id)
            return site_resource(stored.site)

        return await answer(
            body(),
            lambda b: (
                f"Site {b['siteReference']} at {', '.join(b['address']['lines'])}, "
                f"{b['address']['city']}; import tariff {b['importTariffId']}, export tariff "
                f"{b.get('exportTariffId') or 'none'}."
            ),
        )

    @server.tool(annotations=READ_ONLY)
    async def get_site_topology(
        site_id: SiteId,
        compact: Annotated[
            bool, Field(description="Fold battery blocks and PV optimisers into their parent.")
        ] = True,
    ) -> Annotated[CallToolResult, Topology]:
        """The site's electrical topology: devices and their sensors (sensor ids are what
        get_device_telemetry reads) with their channels."""

        async def body() -> dict[str, Any]:
            stored = await services().homes.site(current_caller(), site_id)
            topology: dict[str, Any] = build_topology(stored.site, compact=compact).to_json()
            return topology

        def summary(b: dict[str, Any]) -> str:
            nodes = b["root"].get("children") or []
            return f"{len(nodes)} device(s) on site {b['root']['id']}."

        return await answer(body(), summary)

    @server.tool(annotations=READ_ONLY)
    async def get_site_current_state(site_id: SiteId) -> Annotated[CallToolResult, CurrentState]:
        """The latest reading of every sensor (power, state of charge, lifetime counters) and
        each controllable device's operation mode and (with plan access) overlay plan."""

        def summary(b: dict[str, Any]) -> str:
            parts = [
                f"{s['role']} {s['power_W']:.0f} W"
                + (f" ({s['soc_percent']:.0f} %)" if s.get("soc_percent") is not None else "")
                for s in b["sensors"]
                if "power_W" in s
            ]
            modes = [f"{d['kind']} {d['operationMode']}" for d in b["devices"]]
            return f"At {b['timestamp']}: " + "; ".join(parts + modes) + "."

        return await answer(views().current_state(current_caller(), site_id), summary)

    @server.tool(annotations=READ_ONLY)
    async def get_site_telemetry(
        site_id: SiteId,
        interval: Interval = None,
        resolution: Resolution = None,
        include: Include = None,
        aggregation: Aggregation = None,
        roles: Annotated[
            str | None,
            Field(
                description="Comma list of roles: battery, pv, grid, inverter, consumption, ev, "
                "hotWater (default: every primary stream).",
                max_length=1000,
            ),
        ] = None,
    ) -> Annotated[CallToolResult, SiteTelemetry]:
        """Time series of every sensor of the site over an interval, each stream labelled with
        its role (battery, pv, grid, inverter, consumption, ...). At most 10,000 buckets per
        stream."""

        async def body() -> dict[str, Any]:
            site = await views().site(current_caller(), site_id)
            query = parse_telemetry_query(
                interval, resolution, include, aggregation, zone=site.time_zone, api_version=2
            )
            result: dict[str, Any] = orjson.loads(
                orjson.dumps(await views().telemetry(site, roles, query))
            )
            return result

        return await answer(
            body(),
            lambda b: (
                "; ".join(f"{s['role']}: {len(s['entries'])} points" for s in b["streams"]) + "."
            ),
        )

    @server.tool(annotations=READ_ONLY)
    async def list_site_savings(
        site_id: SiteId,
        interval: Annotated[
            str | None,
            Field(
                description="ISO 8601 interval; every month it touches is listed (default: the "
                "running month and the 11 before it).",
                max_length=1000,
            ),
        ] = None,
    ) -> Annotated[CallToolResult, Savings]:
        """The site's cost savings against a consumption-only baseline (everything imported at
        the import tariff), month by month, from stored telemetry."""

        def summary(b: dict[str, Any]) -> str:
            total = round(sum(e["savings"] for e in b["entries"]), 2)
            return f"{len(b['entries'])} month(s), saved {total} {b['currency']} in total."

        return await answer(views().savings(current_caller(), site_id, interval), summary)

    @server.tool(annotations=READ_ONLY)
    async def list_devices() -> Annotated[CallToolResult, DeviceList]:
        """Every device the homeowner owns, on all their sites."""

        async def body() -> dict[str, Any]:
            ids = await services().homes.device_ids(current_caller())
            return {"entries": [{"synthId": d} for d in ids]}

        return await answer(body(), lambda b: f"{len(b['entries'])} device(s).")

    @server.tool(annotations=READ_ONLY)
    async def show_device(device_id: DeviceId) -> Annotated[CallToolResult, DeviceDetail]:
        """One device's metadata: kind, name, site, and the partners it publishes to."""
        return await answer(
            services().homes.device(current_caller(), device_id),
            lambda b: (
                f"{b.get('name') or b['synthId']}: {b.get('deviceKind', b.get('kind'))} "
                f"on site {b.get('siteId')}."
            ),
        )

    @server.tool(annotations=READ_ONLY)
    async def get_device_operation_mode(
        device_id: DeviceId,
    ) -> Annotated[CallToolResult, OperationModeBody]:
        """The device's operation mode: simple, schedule or smart."""

        async def body() -> dict[str, Any]:
            return dict(mode_body(await services().homes.mode(current_caller(), device_id)))

        return await answer(body(), lambda b: f"Operation mode: {next(iter(b.values()))}.")

    @server.tool(annotations=READ_ONLY)
    async def get_device_overlay_plan(
        device_id: DeviceId,
    ) -> Annotated[CallToolResult, OverlayPlan]:
        """The device's overlay plan: its start time and ordered commands (charge, idle,
        setpoint, heat water); no commands when there is none."""
        caller = current_caller()
        if PLAN_READ not in caller.scopes:
            raise ToolError(
                "This connection may not read plans (scope lunar/plan.read). Ask the homeowner "
                "to reconnect the assistant and allow reading plans."
            )

        async def body() -> dict[str, Any]:
            plan: dict[str, Any] = (await services().homes.overlay(caller, device_id)).to_json()
            return plan

        return await answer(
            body(),
            lambda b: (
                f"{len(b['commands'])} command(s)"
                + (f" from {b['startTime']}." if b.get("startTime") else ".")
            ),
        )

    @server.tool(annotations=READ_ONLY)
    async def get_device_telemetry(
        sensor_id: Annotated[
            str,
            Field(description="A sensor id from get_site_topology.", max_length=200),
        ],
        interval: Interval = None,
        resolution: Resolution = None,
        include: Include = None,
        aggregation: Aggregation = None,
    ) -> Annotated[CallToolResult, TelemetryEntries]:
        """One sensor's bucketed telemetry over an ISO 8601 interval (resolutions PT15M, PT1H,
        P1D and finer); at most 10,000 buckets."""

        async def body() -> dict[str, Any]:
            homes = services().homes
            source = await homes.telemetry_source(current_caller(), sensor_id)
            if source.device_primary_sensor is not None:
                raw = EMPTY_RESPONSE  # as the REST call: a bare device id has no series
            else:
                query = parse_telemetry_query(
                    interval,
                    resolution,
                    include,
                    aggregation,
                    zone=source.time_zone,
                    api_version=2,
                )
                raw = await telemetry_body(homes.db, sensor_id, query)
            result: dict[str, Any] = orjson.loads(raw)
            return result

        return await answer(
            body(),
            lambda b: (
                f"{len(b['entries'])} point(s)."
                if b["entries"]
                else "No points: give a sensor id from get_site_topology and an interval with data."
            ),
        )

    @server.tool(annotations=READ_ONLY)
    async def show_tariff(
        tariff_id: Annotated[str, Field(description="A tariff id from show_site.", max_length=100)],
        interval: Interval = None,
        next_token: Annotated[
            str | None,
            Field(
                description="nextToken of the previous page; wins over interval.", max_length=1000
            ),
        ] = None,
        direction: Annotated[
            str | None, Field(description="import or export.", max_length=20)
        ] = None,
    ) -> Annotated[CallToolResult, TariffPage]:
        """A tariff on one of the homeowner's sites: its metadata and a page of at most 7 days
        of prices (runs of equal price, newest first); next_token fetches the page before."""
        return await answer(
            views().tariff(current_caller(), tariff_id, interval, next_token, direction),
            lambda b: (
                f"{b['name']} ({b['kind']}, {b['direction']}, {b['currency']}/kWh): "
                f"{len(b['entries'])} price run(s)"
                + ("; more with next_token." if b.get("nextToken") else ".")
            ),
        )
