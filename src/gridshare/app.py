"""`create_app`: one ASGI app serving the authorization server, its pages and the customer API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from gridshare import __version__
from gridshare.api.errors import ApiError, domain_error_response, telemetry_query_error_response
from gridshare.api.openapi import install_openapi
from gridshare.api.routes import (
    control,
    devices,
    events,
    site_views,
    sites,
    subscriptions,
    tariffs,
    telemetry,
)
from gridshare.auth.purge import ExpiredRows, purging
from gridshare.auth.routes import router as auth_router
from gridshare.auth.well_known import WellKnown
from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.demo import demo_credentials, seed_if_empty, walkthrough
from gridshare.fleet.twin_runner import running
from gridshare.fleet.webhooks import delivering
from gridshare.homes.errors import DomainError
from gridshare.mcp import routes as mcp_routes
from gridshare.mcp.server import McpEndpoint
from gridshare.ops import health
from gridshare.ops.metrics import WORKER_START, instrument_pool
from gridshare.ops.middleware import Observability
from gridshare.services import Services, build_services
from gridshare.storage import migrate
from gridshare.storage.db import Database
from gridshare.telemetry import TelemetryQueryError
from gridshare.web import account, account_totp, docs
from gridshare.web.docs import ensure_docs_client
from gridshare.web.render import STATIC, error_page

log = logging.getLogger("gridshare")


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/oauth2/token", "/oauth2/revoke"))


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        for engine in {db.engine, db.write_engine}:
            instrument_pool(engine)
        await migrate.upgrade(db)
        services = await build_services(settings, db, clock)
        app.state.services = services
        if settings.demo:
            await seed_if_empty(services)  # before the docs client, which would make it non-empty
            creds = await demo_credentials(services)
            if creds is not None:
                print(walkthrough(services.issuer, creds), flush=True)
        await ensure_docs_client(services.clients, services.issuer)
        WORKER_START.set_to_current_time()
        try:
            mcp: McpEndpoint = app.state.mcp
            purger = ExpiredRows(db, services.clock, settings.purge_batch_size)
            async with (
                running(
                    services.twin,
                    enabled=settings.twin_live,
                    interval_seconds=settings.twin_interval_seconds,
                ),
                purging(purger, settings.purge_interval_seconds),
                services.hub.running(),
                delivering(
                    services.deliverer,
                    enabled=settings.webhooks_live,
                    interval_seconds=settings.webhook_interval_seconds,
                ),
                mcp.running(),
            ):
                yield
        finally:
            await health.aclose(app)
            await services.aclose()
            await db.dispose()

    app = FastAPI(
        title="Gridshare Customer API",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(WellKnown)  # inside Observability: ids and metrics apply to it too
    app.add_middleware(Observability)
    app.include_router(health.router)
    app.include_router(auth_router)
    app.include_router(account.router)
    app.include_router(account_totp.router)
    for router in (
        sites.router,
        devices.router,
        control.router,
        telemetry.router,
        site_views.router,
        tariffs.router,
        subscriptions.router,
        events.router,
    ):
        app.include_router(router)
    app.include_router(docs.router)
    app.include_router(mcp_routes.router)
    app.state.mcp = McpEndpoint(settings.resolved_issuer(), lambda: services_of(app))
    app.router.routes.extend(app.state.mcp.routes())
    app.mount("/docs/ui", docs.assets, name="docs-assets")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_openapi(app, settings.resolved_issuer())

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> Response:
        return domain_error_response(exc)

    @app.exception_handler(TelemetryQueryError)
    async def telemetry_query_error(_request: Request, exc: TelemetryQueryError) -> Response:
        return telemetry_query_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid input')}" if where else "invalid input"
        return ApiError(400, "malformed_request", message).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request) and exc.status_code == 404:
            return error_page("There is no page at this address.", 404, "Not found")
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"message": str(exc.detail), "code": code},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _wants_html(request):
            return error_page("Something went wrong on our side. Please try again.", 500)
        return JSONResponse(
            {"message": "internal error", "code": "internal_error"}, status_code=500
        )

    return app


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services
