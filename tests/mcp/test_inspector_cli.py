"""A second, independent client: the MCP Inspector CLI (npm) lists and calls our tools with a
bearer token over a real socket. Skipped only where `npx` is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.client.live import LiveServer
from tests.mcp.support import mcp_url, public_partner, token_for
from tests.mcp.test_tools import REAL_TOOLS

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
NPX = shutil.which("npx")
pytestmark = pytest.mark.skipif(NPX is None, reason="npx (Node.js) is not installed")


def inspector(live: LiveServer, token: str, *args: str) -> Any:
    assert NPX is not None
    result = subprocess.run(
        [
            NPX,
            "-y",
            INSPECTOR,
            "--cli",
            mcp_url(live),
            "--transport",
            "http",
            "--header",
            f"Authorization: Bearer {token}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1", "HOME": os.environ.get("HOME", "/tmp")},
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


async def test_the_inspector_lists_and_calls_tools(live: LiveServer) -> None:
    owner = live.owner()
    partner = public_partner(live)
    token = await token_for(live, owner, partner, resource=mcp_url(live))
    listed = inspector(live, token, "--method", "tools/list")
    assert {t["name"] for t in listed["tools"]} == REAL_TOOLS
    called = inspector(
        live,
        token,
        "--method",
        "tools/call",
        "--tool-name",
        "show_site",
        "--tool-arg",
        f"site_id={owner.sites[0]}",
    )
    assert called.get("isError") in (None, False), called
    assert called["structuredContent"]["siteId"] == owner.sites[0]
