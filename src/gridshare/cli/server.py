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
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Worker processes. Default: 1 on SQLite, the CPU count on PostgreSQL.",
            show_default=False,
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus metrics on this port (all workers summed)."),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Address of the metrics listener.")
    ] = "127.0.0.1",
) -> None:
    """Run the authorization server, its pages and the customer API (one or more workers)."""
    import uvicorn

    from gridshare.ops import workers as ops_workers
    from gridshare.ops.logs import uvicorn_log_config

    overrides: dict[str, object] = {"host": host, "port": port}
    if issuer:
        overrides["issuer"] = issuer
    if no_demo:
        overrides["demo"] = False
    settings = settings_for(database_url, **overrides)
    count = workers or ops_workers.default_workers(settings.database_url)
    ops_workers.export_settings({**overrides, "database_url": settings.database_url})
    ops_workers.prepare_metrics_dir()  # before any worker imports prometheus_client
    if metrics_port is not None:
        ops_workers.serve_metrics(metrics_host, metrics_port)
    typer.echo(
        f"Gridshare on {settings.resolved_issuer()}  (database: {settings.database_url}, "
        f"workers: {count})"
    )
    uvicorn.run(
        ops_workers.APP_FACTORY,
        factory=True,
        workers=count,
        host=host,
        port=port,
        proxy_headers=proxy_headers,
        log_level="info",
        log_config=uvicorn_log_config(settings.log_format) or uvicorn.config.LOGGING_CONFIG,
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
