"""homeowners' optional TOTP second factor, recovery codes, and `amr` along the sign-in chain

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-07 23:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gridshare.storage.types

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "totp_factors",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", gridshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "confirmed_at", gridshare.storage.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "locked_until", gridshare.storage.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_totp_factors_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_totp_factors")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("code_hmac", sa.String(length=64), nullable=False),
        sa.Column("created_at", gridshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", gridshare.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("user_id", "code_hmac", name=op.f("uq_recovery_codes_user_id")),
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"], unique=False)
    op.add_column("sign_in_sessions", sa.Column("amr", sa.JSON(), nullable=True))
    op.add_column(
        "sign_in_sessions",
        sa.Column("second_factor_due", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("auth_codes", sa.Column("amr", sa.JSON(), nullable=True))
    op.add_column("token_families", sa.Column("amr", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("token_families") as batch:
        batch.drop_column("amr")
    with op.batch_alter_table("auth_codes") as batch:
        batch.drop_column("amr")
    with op.batch_alter_table("sign_in_sessions") as batch:
        batch.drop_column("second_factor_due")
        batch.drop_column("amr")
    op.drop_index(op.f("ix_recovery_codes_user_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_table("totp_factors")
