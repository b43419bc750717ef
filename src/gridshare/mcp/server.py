"""The MCP server object and how it sits in the one ASGI app.

Built with the official SDK (`MCPServer`), served as Streamable HTTP in stateless mode with
JSON answers: no session lives in a process, so any process (and any worker) answers any call,
as for the REST API. The SDK's bearer middleware asks `GridshareTokenVerifier` about each
token and accepts only those issued for this resource (RFC 8707), with `lunar/device.read`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, InputRequiredResult
from mcp.types import Tool as MCPTool
from pydantic import AnyHttpUrl
from starlette.routing import Route

from gridshare import __version__
from gridshare.auth.resources import MCP_PATH, mcp_resource
from gridshare.auth.scopes import API_SCOPES, DEVICE_READ
from gridshare.mcp.auth import GridshareTokenVerifier, current_caller, current_family
from gridshare.mcp.context import register_context
from gridshare.mcp.tools import register_read_tools
from gridshare.mcp.writes import WRITE_SCOPES, register_write_tools
from gridshare.services import Services

INSTRUCTIONS = (
    "Gridshare: the homeowner's home energy system (battery, PV, grid meter, EV charger, hot "
    "water). Start with list_sites, then get_site_current_state for what is happening now, "
    "get_site_telemetry or get_device_telemetry for history, list_site_savings for money saved, "
    "show_site and show_tariff for prices. Telemetry intervals are ISO 8601 in UTC."
)
PROTECTED_RESOURCE_PATH = "/.well-known/oauth-protected-resource"


def _transport_security(issuer: str) -> TransportSecuritySettings:
    """DNS-rebinding protection: only our own host (and loopback, for local use) in `Host`."""
    netloc = urlsplit(issuer).netloc
    hosts = [netloc, "127.0.0.1:*", "localhost:*", "[::1]:*"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[
            f"{urlsplit(issuer).scheme}://{netloc}",
            "http://127.0.0.1:*",
            "http://localhost:*",
            "http://[::1]:*",
        ],
    )


class GridshareServer(MCPServer[Any]):
    """The SDK server, showing and running write tools only for tokens with their scope, and
    counting tool calls against the token's rate limit like REST calls (one budget per token
    family, shared by both)."""

    def __init__(self, services: Callable[[], Services], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._services = services

    async def list_tools(self) -> list[MCPTool]:
        scopes = current_caller().scopes
        return [
            tool
            for tool in await super().list_tools()
            if WRITE_SCOPES.get(tool.name) is None or WRITE_SCOPES[tool.name] in scopes
        ]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        needed = WRITE_SCOPES.get(name)
        if needed is not None and needed not in current_caller().scopes:
            raise ToolError(
                f"This connection may not do that (scope {needed}). Ask the homeowner to "
                "reconnect the assistant and allow control of the home."
            )
        services = self._services()
        decision = await services.limits.hit(
            services.settings.api_rate_per_minute, "api", current_family()
        )
        if not decision.allowed:
            raise ToolError(
                f"Rate limit of {decision.limit} calls per minute reached: retry in "
                f"{decision.reset_after} s, and ask for longer intervals in fewer calls."
            )
        return await super().call_tool(name, arguments, context)


class McpEndpoint:
    """The SDK server and its Starlette app; `routes` go into the FastAPI app, `running()`
    into its lifespan."""

    def __init__(self, issuer: str, services: Callable[[], Services]) -> None:
        self.issuer = issuer
        self.resource = mcp_resource(issuer)
        self.server: MCPServer[Any] = GridshareServer(
            services,
            "gridshare",
            title="Gridshare",
            instructions=INSTRUCTIONS,
            version=__version__,
            token_verifier=GridshareTokenVerifier(services),
            auth=AuthSettings(
                issuer_url=AnyHttpUrl(issuer),
                resource_server_url=AnyHttpUrl(self.resource),
                required_scopes=[DEVICE_READ],
                validate_token_resource=True,
            ),
        )
        register_read_tools(self.server, services)
        register_write_tools(self.server, services)
        register_context(self.server, services)
        self.app = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            json_response=True,
            stateless_http=True,
            transport_security=_transport_security(issuer),
        )

    def routes(self) -> list[Route]:
        """`/mcp`, answered by the SDK's app. Its RFC 9728 document is ours
        (`gridshare.mcp.routes`): the SDK's spells the issuer with a trailing slash, and RFC 8414
        issuers compare as exact strings."""
        return [Route(MCP_PATH, endpoint=self.app)]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The SDK's session manager, run in a task of its own: its anyio cancel scope must be
        left by the task that entered it, and a lifespan may end in another task (tests)."""
        started, stop = asyncio.Event(), asyncio.Event()

        async def serve() -> None:
            async with self.server.session_manager.run():
                started.set()
                await stop.wait()

        task = asyncio.create_task(serve(), name="mcp-session-manager")
        waiter = asyncio.ensure_future(started.wait())
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            waiter.cancel()
            task.result()  # raises what stopped it
        try:
            yield
        finally:
            stop.set()
            await task

    def metadata(self) -> dict[str, Any]:
        """RFC 9728 Protected Resource Metadata (also served at the bare well-known path)."""
        return {
            "resource": self.resource,
            "authorization_servers": [self.issuer],
            "scopes_supported": list(API_SCOPES),
            "bearer_methods_supported": ["header"],
            "resource_name": "Gridshare home energy (MCP)",
            "resource_documentation": f"{self.issuer}/docs",
        }
