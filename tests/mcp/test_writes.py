"""Write tools: offered only with the write scopes, marked destructive, their effect visible
through REST, audited under the assistant's client like a partner's writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.client.live import LiveServer
from tests.mcp.support import mcp_session, mcp_url, public_partner, rest, token_for
from tests.mcp.test_tools import REAL_TOOLS
from tests.support import TestServices, hidden

WRITE_TOOLS = {"set_device_operation_mode", "set_device_overlay_plan", "clear_device_overlay_plan"}
ALL_API = "lunar/device.read lunar/device.write lunar/plan.read lunar/plan.write"


async def test_write_tools_need_the_write_scopes(live: LiveServer) -> None:
    owner = live.owner()
    partner = public_partner(live)
    token = await token_for(live, owner, partner, "lunar/device.read", resource=mcp_url(live))
    state = await rest(
        live, await token_for(live, owner, partner), f"/api/v2/sites/{owner.sites[0]}/currentState"
    )
    device = state["devices"][0]["synthId"]
    async with mcp_session(live, token) as session:
        assert {t.name for t in (await session.list_tools()).tools} == REAL_TOOLS
        refused = await session.call_tool(
            "set_device_operation_mode", {"device_id": device, "mode": "simple"}
        )
        assert refused.is_error and "lunar/device.write" in refused.content[0].text
        plans = await session.call_tool("get_device_overlay_plan", {"device_id": device})
        assert plans.is_error and "lunar/plan.read" in plans.content[0].text


async def test_write_tools_change_the_home_and_are_audited(live: LiveServer) -> None:
    owner = live.owner()
    partner = public_partner(live)
    token = await token_for(live, owner, partner, ALL_API, resource=mcp_url(live))
    rest_token = await token_for(live, owner, partner, ALL_API)
    state = await rest(live, rest_token, f"/api/v2/sites/{owner.sites[0]}/currentState")
    device = next(d["synthId"] for d in state["devices"] if d["kind"] == "battery_pack")
    start = (datetime.now(UTC) + timedelta(hours=1)).replace(second=0, microsecond=0)
    async with mcp_session(live, token) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == REAL_TOOLS | WRITE_TOOLS
        for name in WRITE_TOOLS:
            annotations = tools[name].annotations
            assert annotations is not None
            assert annotations.read_only_hint is False and annotations.destructive_hint is True
        mode = await session.call_tool(
            "set_device_operation_mode", {"device_id": device, "mode": "simple"}
        )
        assert not mode.is_error, mode.content
        assert mode.structured_content == {"mode": "simple"}
        assert await rest(live, rest_token, f"/api/v2/devices/{device}/operationMode") == {
            "mode": "simple"
        }
        plan = await session.call_tool(
            "set_device_overlay_plan",
            {
                "device_id": device,
                "start_time": start.isoformat().replace("+00:00", "Z"),
                "commands": [
                    {"type": "charge", "durationMinutes": 30, "powerW": 2000},
                    {"type": "idle", "durationMinutes": 60},
                ],
            },
        )
        assert not plan.is_error, plan.content
        stored = await rest(live, rest_token, f"/api/v2/devices/{device}/plans/overlay")
        assert plan.structured_content == stored and len(stored["commands"]) == 2
        cleared = await session.call_tool("clear_device_overlay_plan", {"device_id": device})
        assert not cleared.is_error, cleared.content
        assert await rest(live, rest_token, f"/api/v2/devices/{device}/plans/overlay") == {
            "commands": []
        }
        bad = await session.call_tool(
            "set_device_operation_mode", {"device_id": device, "mode": "turbo"}
        )
        assert bad.is_error
    actions = live.call(live.services.homes.recent_actions(owner.sub, partner.client_id))
    assert [a.action for a in actions] == ["overlay.clear", "overlay.set", "mode.set"]


async def test_the_consent_page_says_an_assistant_will_control_the_home(
    live: LiveServer,
) -> None:
    owner = live.owner()
    partner = public_partner(live)
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        gs = TestServices(live.services, http)
        for scope, controls in (("lunar/device.read", False), (ALL_API, True)):
            query, _ = gs.authorize_query(partner, scope=scope, resource=mcp_url(live))  # type: ignore[arg-type]
            first = await http.get(f"/oauth2/authorize?{query}")
            if first.headers.get("location", "").startswith("/login"):
                login = first.headers["location"]
                page = await http.get(login)
                signed = await http.post(
                    login,
                    data={
                        "username": owner.email,
                        "password": owner.password,
                        "csrf_token": hidden(page.text, "csrf_token"),
                    },
                )
                first = await http.get(signed.headers["location"])
            assert first.status_code == 200, first.text
            assert "is an AI assistant" in first.text
            assert ("able to control your home" in first.text) is controls
