"""`/healthz`, `/readyz` and `/metrics` on the main port.

Outside the API's authentication and rate limits on purpose: a load balancer probes them often
and without credentials. `/healthz` does no I/O (the process answers: it is alive). `/readyz`
asks what a request needs: the database answers, Redis answers when configured, and the schema is
at the migrations' head (a process started before `gridshare db upgrade` of a newer release
would otherwise serve against a schema it does not know). `/metrics` answers only addresses in
`GRIDSHARE_METRICS_ALLOW`; to everyone else it does not exist.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from typing import Any

import redis.asyncio
from alembic.script import ScriptDirectory
from fastapi import APIRouter
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gridshare.ops.exposition import CONTENT_TYPE, render
from gridshare.services import Services
from gridshare.storage.migrate import alembic_config

router = APIRouter(include_in_schema=False)

#: Longest a readiness check waits on one dependency (a probe must answer promptly).
CHECK_TIMEOUT = 2.0
NO_STORE = {"Cache-Control": "no-store"}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def migration_heads() -> frozenset[str]:
    """The revisions this release expects (read from its migration scripts once)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


@functools.cache
def parse_allow_list(value: str) -> tuple[Network, ...]:
    """`GRIDSHARE_METRICS_ALLOW`: comma-separated addresses or networks."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in value.split(",")
        if part.strip()
    )


def allowed(address: str | None, networks: tuple[Network, ...]) -> bool:
    if address is None or not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@router.get("/healthz")
async def healthz() -> Response:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


async def _database(services: Services) -> str:
    """One cheap round trip that also says whether the schema is the one this code expects."""
    async with services.db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        current = frozenset(str(row[0]) for row in rows)
    return "ok" if current == migration_heads() else "ok, migrations pending"


async def _redis(client: redis.asyncio.Redis) -> str:
    await client.ping()
    return "ok"


async def _check(name: str, probe: Any) -> tuple[str, str]:
    try:
        return name, await asyncio.wait_for(probe, CHECK_TIMEOUT)
    except TimeoutError:
        return name, "timeout"
    except Exception as exc:  # reported, not raised: the answer is 503, not 500
        return name, f"unreachable ({type(exc).__name__})"


def _redis_client(request: Request, url: str) -> redis.asyncio.Redis:
    client: redis.asyncio.Redis | None = getattr(request.app.state, "readiness_redis", None)
    if client is None:
        client = redis.asyncio.Redis.from_url(
            url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
        )
        request.app.state.readiness_redis = client
    return client


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"status": "starting", "checks": {}}, 503, headers=NO_STORE)
    probes = [_check("database", _database(services))]
    if services.settings.redis_url:
        probes.append(_check("redis", _redis(_redis_client(request, services.settings.redis_url))))
    checks = dict(await asyncio.gather(*probes))
    if checks["database"].startswith("ok"):
        pending = checks["database"] != "ok"
        checks["database"] = "ok"
        checks["migrations"] = "pending" if pending else "ok"
    ready = all(result == "ok" for result in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers=NO_STORE,
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    services: Services = request.app.state.services
    networks = parse_allow_list(services.settings.metrics_allow)
    if not allowed(request.client.host if request.client else None, networks):
        return JSONResponse({"message": "Not Found", "code": "not_found"}, status_code=404)
    body = await asyncio.to_thread(render)  # multiprocess: reads every worker's files
    return Response(body, media_type=CONTENT_TYPE, headers=NO_STORE)


async def aclose(app: Any) -> None:
    client: redis.asyncio.Redis | None = getattr(app.state, "readiness_redis", None)
    if client is not None:
        await client.aclose()
