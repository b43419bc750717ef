"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL when reachable), the app
in-process over ASGI, and helpers to create homeowners and partners.

A migrated template is built once per session per backend; each test gets a copy (a file copy on
SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL), so every test starts from a real, fully
migrated, empty schema without paying for migrations each time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from gridshare.app import create_app
from gridshare.clock import Clock
from gridshare.config import Settings
from gridshare.services import Services
from gridshare.storage import migrate
from gridshare.storage.db import Database
from tests.e2e.live import LiveServer
from tests.support import TestServices

PG_ADMIN_DSN = os.environ.get("GRIDSHARE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ISSUER = "http://testserver"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("GRIDSHARE_TEST_DB", "sqlite,postgresql"),
        help="comma-separated backends to run database tests on (postgresql is skipped when "
        "unreachable unless GRIDSHARE_REQUIRE_PG=1)",
    )


def _pg_reachable() -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = [b.strip() for b in metafunc.config.getoption("--db").split(",") if b.strip()]
        metafunc.parametrize("backend", backends, scope="session")


@pytest.fixture(scope="session")
def template_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        db = Database(f"sqlite:///{path}")
        await migrate.upgrade(db)
        await db.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def template_pg() -> Iterator[str]:
    if not _pg_reachable():
        if os.environ.get("GRIDSHARE_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL is required (GRIDSHARE_REQUIRE_PG=1) but unreachable")
        pytest.skip("PostgreSQL is not reachable")
    name = f"gs_tpl_{uuid.uuid4().hex[:12]}"

    async def build() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        db = Database(_pg_url(name))
        await migrate.upgrade(db)
        await db.dispose()

    asyncio.run(build())
    yield name
    asyncio.run(_drop_pg(name))


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def _drop_pg(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database for this test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("template_sqlite")
        path = tmp_path / "gridshare.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
    elif backend == "postgresql":
        template_name: str = request.getfixturevalue("template_pg")
        name = f"gs_t_{uuid.uuid4().hex[:16]}"

        async def create() -> None:
            # FILE_COPY: slower to create (0.1 s) but its DROP is 0.04 s instead of WAL_LOG's
            # 1.2 s checkpoint, measured here; per test that is the whole difference.
            conn = await asyncpg.connect(PG_ADMIN_DSN)
            try:
                await conn.execute(
                    f'CREATE DATABASE "{name}" TEMPLATE "{template_name}" STRATEGY FILE_COPY'
                )
            finally:
                await conn.close()

        asyncio.run(create())
        yield _pg_url(name)
        asyncio.run(_drop_pg(name))
    else:
        raise pytest.UsageError(f"unknown backend {backend!r}")


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Fast Argon2 parameters: hashing cost is measured by the benchmark, not the tests."""
    return Settings(
        database_url=database_url,
        issuer=ISSUER,
        demo=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        key_publish_ahead_seconds=0,
        twin_live=False,  # tests advance the twin explicitly, on their own clock
        webhooks_live=False,  # and deliver webhooks explicitly
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def services(app: FastAPI) -> Services:
    result: Services = app.state.services
    return result


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


@pytest.fixture
def gs(services: Services, http: httpx.AsyncClient) -> TestServices:
    return TestServices(services, http)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The real app under uvicorn on 127.0.0.1 (a free port), one per test, on each backend; its
    `issuer` is its real base URL (end-to-end and browser tests)."""
    server = LiveServer.start(settings)
    try:
        yield server
    finally:
        server.stop()
