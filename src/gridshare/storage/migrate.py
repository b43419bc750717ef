"""Schema migrations, applied at server start and by `gridshare db upgrade`.

Several server processes may start at once against one PostgreSQL: an advisory lock lets one
migrate while the others wait. On SQLite the immediate write transaction does the same.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from gridshare.storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x67726964  # "grid"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade(db: Database, revision: str = "head") -> None:
    async with db.write_engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


def _pending(connection: Connection) -> bool:
    current = MigrationContext.configure(connection).get_current_heads()
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return set(current) != set(heads)


async def is_up_to_date(db: Database) -> bool:
    async with db.engine.connect() as conn:
        return not await conn.run_sync(_pending)


def _autogenerate(connection: Connection, message: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.revision(cfg, message=message, autogenerate=True)


async def revision(db: Database, message: str) -> None:
    """Developer helper: write a new migration from the difference between models and schema."""
    async with db.write_engine.begin() as conn:
        await conn.run_sync(_autogenerate, message)
