"""`gridshare admin mcp-allow|mcp-deny|mcp-list`: the callback allow-list of AI assistants.

An assistant registers its own client (RFC 7591) only with callbacks on this list; loopback
entries match any port. Denying a callback refuses new registrations with it; clients already
registered keep working until disabled (`gridshare admin disable-client`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gridshare.cli.admin import _run, app
from gridshare.cli.common import DatabaseOption, JsonOption, emit, fail


def _assistants(services: Any) -> Any:
    return services.assistants


@app.command("mcp-list")
def mcp_list(database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """The callbacks AI assistants may register (loopback entries match any port)."""

    async def work(services: Any) -> list[dict[str, str]]:
        rows = await _assistants(services).allowed()
        return [{"uri": r.uri, "label": r.label} for r in rows]

    rows = _run(database_url, work)
    emit(rows, as_json, "\n".join(f"{r['uri']}  {r['label']}" for r in rows) or "empty")


@app.command("mcp-allow")
def mcp_allow(
    uri: str,
    label: Annotated[str, typer.Option(help="Which assistant uses it.")] = "",
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Allow assistants to register with this callback URI."""

    async def work(services: Any) -> None:
        await _assistants(services).allow(uri, label or uri)

    try:
        _run(database_url, work)
    except ValueError as exc:
        fail(str(exc))
    emit({"uri": uri, "allowed": True}, as_json, f"allowed {uri}")


@app.command("mcp-deny")
def mcp_deny(uri: str, database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Remove a callback from the list: new registrations with it are refused."""

    async def work(services: Any) -> bool:
        return bool(await _assistants(services).deny(uri))

    if not _run(database_url, work):
        fail(f"{uri!r} is not on the list")
    emit({"uri": uri, "allowed": False}, as_json, f"denied {uri}")
