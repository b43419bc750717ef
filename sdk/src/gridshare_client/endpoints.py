"""Every customer-API endpoint as a `Call`: the request and how to read its answer.

The sync and async clients execute the same calls, so the two surfaces cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from gridshare_client.errors import InvalidArgument
from gridshare_client.models import (
    CurrentState,
    Device,
    DeviceSummary,
    ModeName,
    OperationMode,
    OverlayCommand,
    OverlayPlan,
    Savings,
    SchedulePlan,
    ScheduleSlot,
    Site,
    SiteSummary,
    SiteTelemetry,
    TariffPage,
    TelemetryEntry,
    TelemetrySeries,
    Topology,
)
from gridshare_client.telemetry import (
    Aggregation,
    ResolutionName,
    canonical_resolution,
    format_instant,
    interval_param,
    resolve_range,
)
from gridshare_client.transport import ApiRequest, Call, segment

M = TypeVar("M", bound=BaseModel)

MERGE_PATCH = "application/merge-patch+json"
OPERATION_MODES = ("simple", "schedule", "smart")


def _model(cls: type[M]) -> Callable[[httpx.Response], M]:
    def parse(response: httpx.Response) -> M:
        return cls.model_validate(response.json())

    return parse


def _entries(cls: type[M]) -> Callable[[httpx.Response], list[M]]:
    def parse(response: httpx.Response) -> list[M]:
        body = response.json()
        entries = body.get("entries", []) if isinstance(body, dict) else body
        return [cls.model_validate(e) for e in entries]

    return parse


def _none(_response: httpx.Response) -> None:
    return None


def _version(version: int) -> str:
    if version not in (1, 2):
        raise InvalidArgument("the API has versions 1 and 2")
    return f"/api/v{version}"


def _device_path(synth_id: str, *rest: str) -> str:
    return "/".join(["/api/v2/devices", segment(synth_id), *rest])


def list_sites(version: int = 2) -> Call[list[SiteSummary]]:
    return Call(ApiRequest("GET", f"{_version(version)}/sites"), _entries(SiteSummary))


def get_site(site_id: str) -> Call[Site]:
    return Call(ApiRequest("GET", f"/api/v2/sites/{segment(site_id)}"), _model(Site))


def get_topology(site_id: str, compact: bool = True) -> Call[Topology]:
    return Call(
        ApiRequest(
            "GET",
            f"/api/v2/sites/{segment(site_id)}/topology",
            params={"compact": "true" if compact else "false"},
        ),
        _model(Topology),
    )


def list_devices(version: int = 2) -> Call[list[DeviceSummary]]:
    return Call(ApiRequest("GET", f"{_version(version)}/devices"), _entries(DeviceSummary))


def get_device(synth_id: str) -> Call[Device]:
    return Call(ApiRequest("GET", _device_path(synth_id)), _model(Device))


def rename_device(synth_id: str, name: str) -> Call[Device]:
    return Call(
        ApiRequest("PATCH", _device_path(synth_id), json={"name": name}, content_type=MERGE_PATCH),
        _model(Device),
    )


def get_operation_mode(synth_id: str) -> Call[OperationMode]:
    return Call(ApiRequest("GET", _device_path(synth_id, "operationMode")), _model(OperationMode))


def set_operation_mode(synth_id: str, mode: ModeName) -> Call[OperationMode]:
    return Call(
        ApiRequest("PUT", _device_path(synth_id, "operationMode"), json={"mode": mode}),
        _model(OperationMode),
    )


def get_overlay_plan(synth_id: str) -> Call[OverlayPlan]:
    return Call(ApiRequest("GET", _device_path(synth_id, "plans", "overlay")), _model(OverlayPlan))


def overlay_body(
    plan: OverlayPlan | Mapping[str, Any] | None = None,
    *,
    start_time: datetime | str | None = None,
    commands: Sequence[OverlayCommand | Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    if plan is not None:
        if isinstance(plan, OverlayPlan):
            return plan.to_wire()
        return OverlayPlan.model_validate(plan).to_wire()
    built = OverlayPlan.model_validate(
        {
            "startTime": start_time,
            "commands": [
                c if isinstance(c, OverlayCommand) else OverlayCommand.model_validate(c)
                for c in commands or []
            ],
        }
    )
    return built.to_wire()


def set_overlay_plan(synth_id: str, body: dict[str, Any]) -> Call[None]:
    return Call(ApiRequest("PUT", _device_path(synth_id, "plans", "overlay"), json=body), _none)


def clear_overlay_plan(synth_id: str) -> Call[None]:
    return set_overlay_plan(synth_id, {"commands": []})


def get_schedule_plan(synth_id: str) -> Call[SchedulePlan]:
    return Call(
        ApiRequest("GET", _device_path(synth_id, "plans", "schedule")), _model(SchedulePlan)
    )


def schedule_body(
    plan: SchedulePlan | Mapping[str, Any] | Sequence[ScheduleSlot | Mapping[str, Any]],
) -> dict[str, Any]:
    if isinstance(plan, SchedulePlan):
        return plan.to_wire()
    if isinstance(plan, Mapping):
        return SchedulePlan.model_validate(plan).to_wire()
    return SchedulePlan(
        slots=[s if isinstance(s, ScheduleSlot) else ScheduleSlot.model_validate(s) for s in plan]
    ).to_wire()


def set_schedule_plan(synth_id: str, body: dict[str, Any]) -> Call[None]:
    return Call(ApiRequest("PUT", _device_path(synth_id, "plans", "schedule"), json=body), _none)


def clear_schedule_plan(synth_id: str) -> Call[None]:
    return set_schedule_plan(synth_id, {"slots": []})


def get_telemetry(
    synth_id: str,
    start: datetime | str | None,
    end: datetime | str | None = None,
    *,
    duration: timedelta | str | None = None,
    resolution: ResolutionName | timedelta = "PT15M",
    include_energy: bool = False,
    aggregation: Aggregation = "default",
    version: int = 2,
) -> Call[TelemetrySeries]:
    """`GET /api/v{1,2}/devices/{synthId}/telemetry` over [start, end) (or start + duration;
    v1 also end - duration)."""
    if version == 2 and start is None:
        raise InvalidArgument("API v2 intervals need a start (start/end or start/duration)")
    interval = interval_param(start, end, duration)
    first, last = resolve_range(start, end, duration)
    canonical = canonical_resolution(resolution)
    params = {
        "interval": interval,
        "resolution": canonical,
        "include": "default,energy" if include_energy else "default",
        "aggregation": aggregation,
    }
    path = f"{_version(version)}/devices/{segment(synth_id)}/telemetry"

    def parse(response: httpx.Response) -> TelemetrySeries:
        body = response.json()
        entries = body.get("entries", []) if isinstance(body, dict) else []
        return TelemetrySeries(
            synth_id=synth_id,
            resolution=canonical,
            start=first,
            end=last,
            entries=[TelemetryEntry.model_validate(e) for e in entries],
        )

    return Call(ApiRequest("GET", path, params=params), parse)


def describe_interval(start: datetime, end: datetime) -> str:
    return f"{format_instant(start)}/{format_instant(end)}"


# -- site-level views ----------------------------------------------------------------------------


def _site_path(site_id: str, *rest: str) -> str:
    return "/".join(["/api/v2/sites", segment(site_id), *rest])


def get_current_state(site_id: str) -> Call[CurrentState]:
    return Call(ApiRequest("GET", _site_path(site_id, "currentState")), _model(CurrentState))


def get_site_telemetry(
    site_id: str,
    start: datetime | str,
    end: datetime | str | None = None,
    *,
    duration: timedelta | str | None = None,
    resolution: ResolutionName | timedelta = "PT15M",
    include_energy: bool = False,
    aggregation: Aggregation = "default",
    roles: Sequence[str] | None = None,
) -> Call[SiteTelemetry]:
    """`GET /api/v2/sites/{siteId}/telemetry` over [start, end) (or start + duration)."""
    params = {
        "interval": interval_param(start, end, duration),
        "resolution": canonical_resolution(resolution),
        "include": "default,energy" if include_energy else "default",
        "aggregation": aggregation,
    }
    if roles:
        params["roles"] = ",".join(roles)
    return Call(
        ApiRequest("GET", _site_path(site_id, "telemetry"), params=params), _model(SiteTelemetry)
    )


def get_tariff_page(
    tariff_id: str,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    *,
    duration: timedelta | str | None = None,
    next_token: str | None = None,
    direction: str | None = None,
    version: int = 2,
) -> Call[TariffPage]:
    """One page (at most 7 days, newest first) of a tariff's prices; `next_token` wins over the
    interval. Without either, the server's default (the last 7 UTC days)."""
    params: dict[str, str] = {}
    if next_token is not None:
        params["nextToken"] = next_token
    elif start is not None or end is not None:
        params["interval"] = interval_param(start, end, duration)
    if direction is not None:
        params["direction"] = direction
    path = (
        f"/api/v2/tariffs/{segment(tariff_id)}"
        if _version(version) == "/api/v2"
        else f"/api/v1/dynamicTariffs/{segment(tariff_id)}"
    )
    return Call(ApiRequest("GET", path, params=params), _model(TariffPage))


def get_savings(
    site_id: str,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    *,
    duration: timedelta | str | None = None,
) -> Call[Savings]:
    """Monthly savings over the site-local months [start, end) touches (default: the last 12)."""
    params = {}
    if start is not None or end is not None:
        params["interval"] = interval_param(start, end, duration)
    return Call(ApiRequest("GET", _site_path(site_id, "savings"), params=params), _model(Savings))
