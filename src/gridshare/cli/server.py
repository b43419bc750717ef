"""`gridshare serve` and `gridshare db upgrade`."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from gridshare.cli.common import DatabaseOption, fail, settings_for

if TYPE_CHECKING:
    from gridshare.config import Settings

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
        bool | None,
        typer.Option(
            "--proxy-headers/--no-proxy-headers",
            help="Honour X-Forwarded-For/-Proto from the --forwarded-allow-ips addresses "
            "(default: on, $GRIDSHARE_PROXY_HEADERS).",
            show_default=False,
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Reverse-proxy addresses trusted for X-Forwarded-*: comma-separated IPs or "
            "networks, '*' for any (default: loopback only, $GRIDSHARE_FORWARDED_ALLOW_IPS).",
            show_default=False,
        ),
    ] = None,
    header_timeout: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            max=300,
            help="Seconds a client has to send a complete request head, else 408 and closed "
            "(default: 10, $GRIDSHARE_HEADER_TIMEOUT_SECONDS).",
            show_default=False,
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Open connections per process; past it the longest-idle one is closed "
            "(default: 2048, at most half the open-files limit; $GRIDSHARE_MAX_CONNECTIONS).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Worker processes. Default: 1 on SQLite, the CPU count on PostgreSQL.",
            show_default=False,
        ),
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log one line per request (default: off, $GRIDSHARE_ACCESS_LOG; each line costs "
            "about as much CPU as answering the JWKS).",
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

    from gridshare import logging_filters
    from gridshare.ops import workers as ops_workers
    from gridshare.ops.logs import uvicorn_log_config
    from gridshare.serving import raise_descriptor_limit, serve_options

    overrides: dict[str, object] = {
        "host": host,
        "port": port,
        "issuer": issuer or None,
        "demo": False if no_demo else None,
        "proxy_headers": proxy_headers,
        "forwarded_allow_ips": forwarded_allow_ips,
        "header_timeout_seconds": header_timeout,
        "max_connections": max_connections,
        "access_log": access_log,
    }
    given = {k: v for k, v in overrides.items() if v is not None}
    settings = settings_for(database_url, **given)
    _refuse_a_foreign_key(settings)
    logging_filters.install()
    raise_descriptor_limit()  # inherited by the workers
    count = workers or ops_workers.default_workers(settings.database_url)
    ops_workers.export_settings({**given, "database_url": settings.database_url})
    ops_workers.prepare_metrics_dir()  # before any worker imports prometheus_client
    if metrics_port is not None:
        ops_workers.serve_metrics(metrics_host, metrics_port)
    typer.echo(
        f"Gridshare on {settings.resolved_issuer()}  (database: {settings.database_url}, "
        f"workers: {count})"
    )
    # Exits 3 itself when a single worker's startup fails.
    uvicorn.run(
        ops_workers.APP_FACTORY,
        factory=True,
        workers=count,
        host=host,
        port=port,
        log_level="info",
        log_config=uvicorn_log_config(settings.log_format) or uvicorn.config.LOGGING_CONFIG,
        **serve_options(settings),
    )


def _refuse_a_foreign_key(settings: Settings) -> None:
    """Exit with one line, before uvicorn starts, if the database belongs to another key."""
    from gridshare.auth.secret_key import SecretKeyMismatch, load_secret_key
    from gridshare.storage import migrate
    from gridshare.storage.db import Database

    async def check() -> None:
        db = Database(settings.database_url)
        try:
            await migrate.upgrade(db)
            await load_secret_key(db, settings.secret_key)
        finally:
            await db.dispose()

    try:
        asyncio.run(check())
    except SecretKeyMismatch as exc:
        fail(str(exc))


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
