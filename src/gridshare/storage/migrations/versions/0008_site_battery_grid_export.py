"""sites.battery_grid_export: may the battery export grid-charged energy (NULL = market rule)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("battery_grid_export", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("battery_grid_export")
