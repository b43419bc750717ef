"""Clients that AI assistants register for themselves (RFC 7591), limited by the operator's
callback allow-list.

An assistant connecting with only the MCP URL registers a public client (no secret,
`token_endpoint_auth_method: none`, PKCE mandatory) naming its callback URLs. Every callback
must be on the allow-list the operator keeps (`gridshare admin mcp-allow|mcp-deny|mcp-list`),
so the list, not the registration endpoint, decides which assistants may ask a homeowner for
consent. Loopback callbacks (desktop assistants, `mcp-remote`, IDEs) match on any port
(RFC 8252 §7.3), as they listen on a port of their choosing. The consent page still names the
client as it registered itself, marked as an AI assistant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

from gridshare.auth import redirects
from gridshare.auth.clients import ClientConfigError, ClientOptions, ClientService
from gridshare.auth.scopes import API_SCOPES, DEVICE_READ, PLAN_READ
from gridshare.clock import Clock
from gridshare.storage.db import Database
from gridshare.storage.models import Client, McpCallback, McpClient

#: What the allow-list holds on a new database: the callbacks of the clients the real service
#: names as supported. Loopback entries match any port.
SEED_CALLBACKS: tuple[tuple[str, str], ...] = (
    ("http://localhost/oauth/callback", "mcp-remote, MCP Inspector, Gemini CLI (loopback)"),
    ("http://127.0.0.1/oauth/callback", "mcp-remote, MCP Inspector, Gemini CLI (loopback)"),
    ("http://localhost/oauth/callback/debug", "MCP Inspector debugger (loopback)"),
    ("http://localhost/callback", "Claude Code, desktop assistants (loopback)"),
    ("http://127.0.0.1/callback", "Claude Code, desktop assistants (loopback)"),
    ("http://127.0.0.1/", "VS Code (loopback)"),
    ("http://localhost/", "VS Code (loopback)"),
    ("https://vscode.dev/redirect", "VS Code for the web"),
    ("https://insiders.vscode.dev/redirect", "VS Code Insiders for the web"),
    ("https://claude.ai/api/mcp/auth_callback", "Claude (web and desktop connectors)"),
    ("https://claude.com/api/mcp/auth_callback", "Claude (web and desktop connectors)"),
    ("https://chatgpt.com/connector_platform_oauth_redirect", "ChatGPT connectors"),
    ("https://oauth.pstmn.io/v1/callback", "Postman"),
)
#: Scopes an assistant's client may ask for: the customer API's, nothing of OpenID.
ASSISTANT_SCOPES = list(API_SCOPES)
DEFAULT_ASSISTANT_SCOPES = [DEVICE_READ, PLAN_READ]
MAX_REDIRECT_URIS = 10
MAX_BODY_MEMBERS = 50


class RegistrationError(Exception):
    """RFC 7591 §3.2.2: `error` is invalid_redirect_uri or invalid_client_metadata."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def _loopback_key(uri: str) -> str | None:
    """`uri` without its port when it is an http loopback URI, else None."""
    key = redirects._without_port(uri)
    if key is None:
        return None
    scheme, host, path, query, _ = key
    return f"{scheme}://{host}{path or '/'}{'?' + query if query else ''}"


def callback_permitted(uri: str, allowed: list[str]) -> bool:
    """Exact match, or for loopback callbacks the same URI on any port."""
    if uri in allowed:
        return True
    key = _loopback_key(uri)
    return key is not None and any(_loopback_key(a) == key for a in allowed)


async def is_assistant_client(db: Database, client: Client) -> bool:
    """Whether an assistant registered this client itself (its tokens are for /mcp only)."""
    if not client.public:
        return False
    async with db.read() as session:
        return await session.get(McpClient, client.client_id) is not None


async def assistant_client_ids(db: Database, client_ids: list[str]) -> set[str]:
    """Which of these clients assistants registered themselves (the portal marks them)."""
    if not client_ids:
        return set()
    async with db.read() as session:
        rows = await session.execute(
            select(McpClient.client_id).where(McpClient.client_id.in_(client_ids))
        )
        return set(rows.scalars())


@dataclass(frozen=True)
class Registered:
    client: Client
    registration: dict[str, Any]


class AssistantClients:
    """The allow-list and self-registration of assistants' clients."""

    def __init__(self, db: Database, clock: Clock, clients: ClientService) -> None:
        self.db = db
        self.clock = clock
        self.clients = clients

    async def is_assistant(self, client: Client) -> bool:
        """Whether an assistant registered `client` itself (its tokens are for /mcp only)."""
        return await is_assistant_client(self.db, client)

    async def client_ids(self, client_ids: list[str]) -> set[str]:
        """Which of these clients assistants registered themselves (the portal marks them)."""
        return await assistant_client_ids(self.db, client_ids)

    # -- the operator's allow-list -----------------------------------------------------------

    async def allowed(self) -> list[McpCallback]:
        async with self.db.read() as session:
            rows = await session.execute(select(McpCallback).order_by(McpCallback.uri))
            return list(rows.scalars())

    async def allow(self, uri: str, label: str) -> McpCallback:
        try:
            redirects.validate_registration(uri)
        except redirects.RedirectURIError as exc:
            raise ValueError(str(exc)) from exc
        async with self.db.write() as session:
            row = await session.get(McpCallback, uri)
            if row is None:
                row = McpCallback(uri=uri, label=label[:200], created_at=self.clock.now())
                session.add(row)
            else:
                row.label = label[:200]
            return row

    async def deny(self, uri: str) -> bool:
        async with self.db.write() as session:
            result = await session.execute(delete(McpCallback).where(McpCallback.uri == uri))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- RFC 7591 registration ---------------------------------------------------------------

    async def register(self, body: object) -> Registered:
        """Register a public client from an RFC 7591 request; callbacks must be allow-listed."""
        if not isinstance(body, dict) or len(body) > MAX_BODY_MEMBERS:
            raise RegistrationError("invalid_client_metadata", "the body must be a JSON object")
        uris = body.get("redirect_uris")
        if (
            not isinstance(uris, list)
            or not uris
            or len(uris) > MAX_REDIRECT_URIS
            or not all(isinstance(u, str) for u in uris)
        ):
            raise RegistrationError(
                "invalid_redirect_uri", "redirect_uris must be a list of 1 to 10 URIs"
            )
        method = body.get("token_endpoint_auth_method", "none")
        if method != "none":
            raise RegistrationError(
                "invalid_client_metadata",
                "only public clients may register: token_endpoint_auth_method must be none",
            )
        grant_types = body.get("grant_types", ["authorization_code", "refresh_token"])
        if not isinstance(grant_types, list) or not set(grant_types) <= {
            "authorization_code",
            "refresh_token",
        }:
            raise RegistrationError(
                "invalid_client_metadata", "grant_types may be authorization_code, refresh_token"
            )
        response_types = body.get("response_types", ["code"])
        if response_types != ["code"]:
            raise RegistrationError("invalid_client_metadata", "response_types must be [code]")
        scope = body.get("scope")
        if scope is None:
            scopes = list(DEFAULT_ASSISTANT_SCOPES)
        elif isinstance(scope, str):
            scopes = [s for s in dict.fromkeys(scope.split()) if s in ASSISTANT_SCOPES]
            if DEVICE_READ not in scopes:
                scopes.insert(0, DEVICE_READ)
        else:
            raise RegistrationError("invalid_client_metadata", "scope must be a string")
        name = body.get("client_name", "AI assistant")
        if not isinstance(name, str) or not name.strip():
            name = "AI assistant"
        allowed = [row.uri for row in await self.allowed()]
        refused = [u for u in uris if not callback_permitted(u, allowed)]
        if refused:
            raise RegistrationError(
                "invalid_redirect_uri",
                f"callback not on this server's allow-list: {refused[0]} (the operator adds "
                "callbacks with `gridshare admin mcp-allow`)",
            )
        try:
            client, _ = await self.clients.create(
                ClientOptions(
                    name=name.strip()[:200],
                    redirect_uris=list(uris),
                    scopes=scopes,
                    public=True,
                )
            )
        except ClientConfigError as exc:
            raise RegistrationError("invalid_redirect_uri", str(exc)) from exc
        registration = {
            k: v
            for k, v in body.items()
            if k in ("client_name", "client_uri", "software_id", "software_version", "scope")
            and isinstance(v, str)
        }
        async with self.db.write() as session:
            session.add(
                McpClient(
                    client_id=client.client_id,
                    registration=registration,
                    created_at=self.clock.now(),
                )
            )
        return Registered(client, registration)


def registration_response(registered: Registered) -> dict[str, Any]:
    """RFC 7591 §3.2.1: the client's metadata as registered."""
    client = registered.client
    issued = client.created_at
    if issued.tzinfo is None:
        issued = issued.replace(tzinfo=UTC)
    return {
        "client_id": client.client_id,
        "client_id_issued_at": int(datetime.timestamp(issued)),
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": " ".join(client.allowed_scopes),
    }
