"""Every tool on a provisioned home over a real socket with the MCP SDK's client: its structured
content equals the REST answer it wraps, fetched independently over HTTP with a REST token."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from tests.client.live import LiveServer
from tests.mcp.support import mcp_session, mcp_url, public_partner, rest, token_for

REAL_TOOLS = {
    "list_sites",
    "show_site",
    "get_site_topology",
    "get_site_current_state",
    "get_site_telemetry",
    "list_site_savings",
    "list_devices",
    "show_device",
    "get_device_operation_mode",
    "get_device_overlay_plan",
    "get_device_telemetry",
    "show_tariff",
}


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sensors(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node] if node["kind"] == "sensor" else []
    for child in node.get("children") or []:
        found += _sensors(child)
    return found


async def test_every_tool_answers_what_the_rest_call_answers(live: LiveServer) -> None:
    owner = live.owner()
    partner = public_partner(live)
    scope = "lunar/device.read lunar/plan.read"
    rest_token = await token_for(live, owner, partner, scope)
    mcp_token = await token_for(live, owner, partner, scope, resource=mcp_url(live))
    site_id = owner.sites[0]
    topology = await rest(live, rest_token, f"/api/v2/sites/{site_id}/topology")
    sensor = next(
        s for s in _sensors(topology["root"]) if "soc_percent" in (s.get("channels") or [])
    )
    now = int(time.time()) // 60 * 60
    live.seed_telemetry(sensor["id"], now - 3 * 3600, now)
    interval = f"{_iso(now - 3 * 3600)}/{_iso(now)}"
    site = await rest(live, rest_token, f"/api/v2/sites/{site_id}")
    devices = (await rest(live, rest_token, "/api/v2/devices"))["entries"]
    state = await rest(live, rest_token, f"/api/v2/sites/{site_id}/currentState")
    controllable = state["devices"][0]["synthId"]

    calls: list[tuple[str, dict[str, Any], str, dict[str, str]]] = [
        ("list_sites", {}, "/api/v2/sites", {}),
        ("show_site", {"site_id": site_id}, f"/api/v2/sites/{site_id}", {}),
        ("get_site_topology", {"site_id": site_id}, f"/api/v2/sites/{site_id}/topology", {}),
        (
            "get_site_current_state",
            {"site_id": site_id},
            f"/api/v2/sites/{site_id}/currentState",
            {},
        ),
        (
            "get_site_telemetry",
            {"site_id": site_id, "interval": interval, "resolution": "PT15M"},
            f"/api/v2/sites/{site_id}/telemetry",
            {"interval": interval, "resolution": "PT15M"},
        ),
        ("list_site_savings", {"site_id": site_id}, f"/api/v2/sites/{site_id}/savings", {}),
        ("list_devices", {}, "/api/v2/devices", {}),
        (
            "show_device",
            {"device_id": devices[0]["synthId"]},
            f"/api/v2/devices/{devices[0]['synthId']}",
            {},
        ),
        (
            "get_device_operation_mode",
            {"device_id": controllable},
            f"/api/v2/devices/{controllable}/operationMode",
            {},
        ),
        (
            "get_device_overlay_plan",
            {"device_id": controllable},
            f"/api/v2/devices/{controllable}/plans/overlay",
            {},
        ),
        (
            "get_device_telemetry",
            {"sensor_id": sensor["id"], "interval": interval, "include": "default,energy"},
            f"/api/v2/devices/{sensor['id']}/telemetry",
            {"interval": interval, "include": "default,energy"},
        ),
        (
            "show_tariff",
            {"tariff_id": site["importTariffId"]},
            f"/api/v2/tariffs/{site['importTariffId']}",
            {},
        ),
    ]
    assert {name for name, *_ in calls} == REAL_TOOLS
    async with mcp_session(live, mcp_token) as session:
        listed = await session.list_tools()
        assert {t.name for t in listed.tools} == REAL_TOOLS
        for tool in listed.tools:
            assert tool.annotations is not None and tool.annotations.read_only_hint is True
            assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        for name, arguments, path, params in calls:
            result = await session.call_tool(name, arguments)
            assert not result.is_error, (name, result.content)
            expected = await rest(live, rest_token, path, **params)
            assert result.structured_content == expected, name
            assert result.content and result.content[0].type == "text"
            assert len(result.content[0].text) < 2000, name
    sample = (
        await rest(live, rest_token, f"/api/v2/devices/{sensor['id']}/telemetry", interval=interval)
    )["entries"]
    assert len(sample) >= 12  # the seeded 3 hours in 15-minute buckets: the answers had data


async def test_errors_say_what_to_ask_instead(live: LiveServer) -> None:
    owner = live.owner()
    stranger = live.owner()
    partner = public_partner(live)
    token = await token_for(live, owner, partner, resource=mcp_url(live))
    async with mcp_session(live, token) as session:
        unknown = await session.call_tool("show_site", {"site_id": stranger.sites[0]})
        assert unknown.is_error
        assert "not_found" in unknown.content[0].text and "list_sites" in unknown.content[0].text
        sensor = f"{owner.sites[0]}-nothing"
        missing = await session.call_tool("get_device_telemetry", {"sensor_id": sensor})
        assert missing.is_error and "list_devices" in missing.content[0].text
        long = await session.call_tool(
            "list_site_savings",
            {"site_id": owner.sites[0], "interval": "2000-01-01T00:00:00Z/2026-01-01T00:00:00Z"},
        )
        assert long.is_error
        assert "interval_too_long" in long.content[0].text
        assert "at most 120 months" in long.content[0].text
        points = await session.call_tool(
            "get_site_telemetry",
            {
                "site_id": owner.sites[0],
                "interval": "2025-01-01T00:00:00Z/2026-01-01T00:00:00Z",
                "resolution": "PT1M",
            },
        )
        assert points.is_error and "coarser resolution" in points.content[0].text


async def test_the_home_resource_and_the_review_prompt(live: LiveServer) -> None:
    owner = live.owner()
    stranger = live.owner()
    partner = public_partner(live)
    token = await token_for(live, owner, partner, resource=mcp_url(live))
    async with mcp_session(live, token) as session:
        listed = await session.list_resources()
        assert "gridshare://home" in {str(r.uri) for r in listed.resources}
        home = await session.read_resource("gridshare://home")
        text = home.contents[0].text  # type: ignore[union-attr]
        assert owner.sites[0] in text and "Tariffs: import" in text
        one = await session.read_resource(f"gridshare://sites/{owner.sites[0]}/summary")
        assert owner.sites[0] in one.contents[0].text  # type: ignore[union-attr]
        prompts = await session.list_prompts()
        assert [p.name for p in prompts.prompts] == ["review_home_energy"]
        prompt = await session.get_prompt("review_home_energy", {"site_id": owner.sites[0]})
        assert "explicitly say" in prompt.messages[0].content.text  # type: ignore[union-attr]
    async with mcp_session(live, token) as session:
        with pytest.raises(MCPError):
            await session.read_resource(f"gridshare://sites/{stranger.sites[0]}/summary")
