"""`gridshare serve` and `gridshare db upgrade`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from gridshare.cli.common import DatabaseOption, settings_for

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database_url: DatabaseOption = None,
    issuer: Annotated[
        str | None,
        typer.Option(
            help="Public base URL of the server (the tokens' `iss`). Default: from host/port."
        ),
    ] = None,
    no_demo: Annotated[bool, typer.Option("--no-demo", help="Do not seed demo data.")] = False,
    proxy_headers: Annotated[
        bool, typer.Option(help="Trust X-Forwarded-* from a reverse proxy (for https behind one).")
    ] = False,
) -> None:
    """Run the authorization server, its pages and the customer API in one process."""
    import uvicorn

    from gridshare import logging_filters
    from gridshare.app import create_app

    overrides: dict[str, object] = {"host": host, "port": port}
    if issuer:
        overrides["issuer"] = issuer
    if no_demo:
        overrides["demo"] = False
    settings = settings_for(database_url, **overrides)
    logging_filters.install()
    typer.echo(f"Gridshare on {settings.resolved_issuer()}  (database: {settings.database_url})")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        proxy_headers=proxy_headers,
        log_level="info",
    )


@db_app.command("upgrade")
def upgrade(database_url: DatabaseOption = None) -> None:
    """Apply every pending migration."""
    from gridshare.storage import migrate
    from gridshare.storage.db import Database

    settings = settings_for(database_url)

    async def run() -> None:
        db = Database(settings.database_url)
        try:
            await migrate.upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(run())
    typer.echo("database is up to date")
