"""`/healthz` and `/readyz`: alive without I/O; ready only when the database answers at the
migrations' head and Redis (when configured) answers; no credentials, no rate limit."""

from __future__ import annotations

from sqlalchemy import text

from gridshare.config import Settings
from gridshare.storage.db import Database
from tests.api.homes_support import running_app
from tests.support import require_redis

UNREACHABLE_PG = "postgresql://nobody@127.0.0.1:1/none"


async def test_healthz_answers_without_credentials(settings: Settings) -> None:
    async with running_app(settings) as (_, gs):
        response = await gs.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_ready_when_database_is_at_head(settings: Settings) -> None:
    async with running_app(settings) as (_, gs):
        response = await gs.http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok"},
    }


async def test_not_ready_when_the_database_is_unreachable(settings: Settings) -> None:
    async with running_app(settings) as (_, gs):
        working = gs.services.db
        gs.services.db = Database(UNREACHABLE_PG)  # the database server went away
        try:
            response = await gs.http.get("/readyz")
            alive = await gs.http.get("/healthz")
        finally:
            await gs.services.db.dispose()
            gs.services.db = working
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("unreachable")
    assert alive.status_code == 200  # alive, just not ready


async def test_not_ready_when_migrations_are_pending(settings: Settings) -> None:
    async with running_app(settings) as (_, gs):
        async with gs.services.db.write() as session:  # as if a newer release's head were absent
            await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        response = await gs.http.get("/readyz")
    assert response.status_code == 503, response.text
    assert response.json()["checks"] == {"database": "ok", "migrations": "pending"}


async def test_redis_is_checked_when_configured(settings: Settings) -> None:
    redis_url = await require_redis()
    async with running_app(settings.model_copy(update={"redis_url": redis_url})) as (_, gs):
        response = await gs.http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["redis"] == "ok"


async def test_not_ready_when_redis_is_unreachable(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    async with running_app(down) as (_, gs):
        response = await gs.http.get("/readyz")
    assert response.status_code == 503, response.text
    assert response.json()["checks"]["redis"].startswith("unreachable")


async def test_probes_are_not_rate_limited(settings: Settings) -> None:
    limited = settings.model_copy(update={"api_rate_per_minute": 1, "login_rate_per_minute": 1})
    async with running_app(limited) as (_, gs):
        statuses = {(await gs.http.get(path)).status_code for path in ("/healthz", "/readyz") * 5}
    assert statuses == {200}
