"""Type-checked (not run) by test_sdk_findings.py with `mypy --strict`, with and without
pydantic's mypy plugin: what a partner writes must pass, what is wrong must be flagged (each
`type: ignore` below is needed, or --strict reports it as unused)."""

from __future__ import annotations

from datetime import timedelta

from gridshare_client import (
    AsyncGridshareClient,
    Device,
    GridshareClient,
    OverlayCommand,
    OverlayPlan,
    ScheduleIntent,
    SchedulePlan,
    ScheduleSlot,
    Site,
    SiteSummary,
)


def models() -> list[object]:
    command = OverlayCommand(type="charge", duration_minutes=30, power_w=2000)
    plan = OverlayPlan(start_time=None, commands=[command])
    slot = ScheduleSlot(duration_minutes=10_080, intent=ScheduleIntent(kind="idle", soc_min=0.2))
    site = Site(site_id="s", time_zone="Europe/London", import_tariff_id="t")
    minutes: int = command.duration_minutes  # attributes: the same snake_case names
    zone: str | None = site.time_zone
    wrong = OverlayCommand(type="boost", duration_minutes=5)  # type: ignore[arg-type]
    return [plan, SchedulePlan(slots=[slot]), SiteSummary(site_id="s"), minutes, zone, wrong]


def calls(gs: GridshareClient) -> None:
    gs.set_operation_mode("d", "smart")
    gs.set_operation_mode("d", "turbo")  # type: ignore[arg-type]
    gs.get_telemetry("x", "2026-01-01T00:00:00Z", resolution="PT5M", aggregation="latest")
    gs.get_telemetry("x", "2026-01-01T00:00:00Z", resolution=timedelta(hours=1))
    gs.get_telemetry("x", "2026-01-01T00:00:00Z", resolution="PT7M")  # type: ignore[arg-type]
    gs.get_telemetry("x", "2026-01-01T00:00:00Z", aggregation="max")  # type: ignore[arg-type]
    sites: list[Site] = gs.list_sites(details=True)
    devices: list[Device] = gs.list_devices(details=True)
    ids: list[SiteSummary] = gs.list_sites()
    print(sites, devices, ids)


async def async_calls(gs: AsyncGridshareClient) -> None:
    sites: list[Site] = await gs.list_sites(details=True, concurrency=4)
    await gs.set_operation_mode("d", "Simple")  # type: ignore[arg-type]
    print(sites)
