"""Alembic environment: runs on the connection `gridshare.storage.migrate` hands over.

The application always migrates through `gridshare db upgrade` or at server start, so the
connection (and its async driver) comes from our own engine; there is no alembic.ini URL.
"""

from __future__ import annotations

from alembic import context

import gridshare.storage.models
import gridshare.telemetry.schema  # noqa: F401  (telemetry tables live with their queries)
from gridshare.storage.base import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by a bare `alembic` invocation
    raise RuntimeError("run migrations with `gridshare db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER constraints; batch mode recreates tables
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
