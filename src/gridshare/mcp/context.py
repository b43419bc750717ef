"""A resource and a prompt that make an assistant better at the home.

- `gridshare://home` (resource, Markdown): every site of the homeowner in a few lines (address,
  time zone, tariffs, devices with their modes, the latest readings, this month's savings), so
  an assistant that attaches it starts a conversation knowing the home without a dozen calls.
- `gridshare://sites/{site_id}/summary` (resource template): the same for one site.
- `review_home_energy` (prompt): asks the assistant for a review of the last week (what the
  battery, PV and grid did, what it cost, what the tariff would reward) using the read tools,
  and forbids changing anything without the homeowner's explicit yes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from gridshare.fleet.site_views import SiteViews
from gridshare.homes.errors import DomainError
from gridshare.mcp.auth import current_caller
from gridshare.services import Services


async def _site_summary(services: Services, site_id: str) -> str:
    caller = current_caller()
    views = SiteViews(services.homes)
    site = await views.site(caller, site_id)
    state = await views.current_state(caller, site_id)
    savings = await views.savings(caller, site_id, None)
    modes = {d["synthId"]: d["operationMode"] for d in state["devices"]}
    lines = [
        f"## Site {site.site_reference} (`{site.site_id}`)",
        f"- Address: {', '.join(site.address.lines)}, {site.address.city} "
        f"{site.address.postcode}, {site.address.country}; time zone {site.time_zone}",
        f"- Tariffs: import `{site.import_tariff_id}`, export "
        f"`{site.export_tariff_id or 'none'}` (show_tariff for prices)",
        "- Devices:",
    ]
    for device in site.devices:
        mode = f", mode {modes[device.synth_id]}" if device.synth_id in modes else ""
        lines.append(
            f"  - {device.name or device.kind.value} ({device.kind.value}{mode}) "
            f"`{device.synth_id}`"
        )
    readings = [
        f"{s['role']} {s['power_W']:.0f} W"
        + (f" at {s['soc_percent']:.0f} %" if s.get("soc_percent") is not None else "")
        for s in state["sensors"]
        if "power_W" in s
    ]
    lines.append(
        f"- Latest readings ({state['timestamp']}): {'; '.join(readings)}"
        if readings
        else "- Latest readings: none stored yet"
    )
    if savings["entries"]:
        month = savings["entries"][-1]
        lines.append(
            f"- Savings {month['month']}{' so far' if month['partial'] else ''}: "
            f"{month['savings']} {savings['currency']} (baseline {month['baselineCost']}, "
            f"actual {month['actualCost']})"
        )
    return "\n".join(lines)


def register_context(server: MCPServer[Any], services: Callable[[], Services]) -> None:
    @server.resource(
        "gridshare://home",
        name="home",
        title="The homeowner's home",
        description="Every site in a few lines: address, tariffs, devices and modes, latest "
        "readings, this month's savings.",
        mime_type="text/markdown",
    )
    async def home() -> str:
        ids = await services().homes.site_ids(current_caller())
        parts = [await _site_summary(services(), site_id) for site_id in ids]
        return "# Home\n\n" + ("\n\n".join(parts) if parts else "No sites.")

    @server.resource(
        "gridshare://sites/{site_id}/summary",
        name="site_summary",
        title="One site in a few lines",
        mime_type="text/markdown",
    )
    async def site_summary(site_id: str) -> str:
        try:
            return await _site_summary(services(), site_id)
        except DomainError as exc:
            raise ResourceError(f"{exc.message}: see gridshare://home for the site ids") from exc

    @server.prompt(
        name="review_home_energy",
        title="Review my home energy",
        description="A review of the last week: what the battery, PV and grid did, what it "
        "cost, and what could be better.",
    )
    def review_home_energy(site_id: str | None = None) -> str:
        target = f"site {site_id}" if site_id else "each of my sites (list_sites)"
        return (
            f"Review the last 7 days of {target} with the Gridshare tools: "
            "get_site_current_state for now, get_site_telemetry with resolution PT1H for the "
            "week (battery, pv, grid, consumption), list_site_savings for the money, and "
            "show_tariff on the import tariff for when power is cheap. Tell me in plain words "
            "what the battery and PV did, when I imported and exported, what I saved, and "
            "what could be better. Do not change any setting or plan unless I explicitly say "
            "yes to that exact change."
        )
