"""MCP: RFC 8707 resource on codes and token families, the callback allow-list, assistant clients

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 02:30:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import gridshare.storage.types

#: The allow-list a new database starts with (see
#: `gridshare.auth.assistant_clients.SEED_CALLBACKS`, which must say the same; a migration
#: does not import code that may change after it).
SEED = (
    ("http://localhost/oauth/callback", "mcp-remote, MCP Inspector, Gemini CLI (loopback)"),
    ("http://127.0.0.1/oauth/callback", "mcp-remote, MCP Inspector, Gemini CLI (loopback)"),
    ("http://localhost/oauth/callback/debug", "MCP Inspector debugger (loopback)"),
    ("http://localhost/callback", "Claude Code, desktop assistants (loopback)"),
    ("http://127.0.0.1/callback", "Claude Code, desktop assistants (loopback)"),
    ("http://127.0.0.1/", "VS Code (loopback)"),
    ("http://localhost/", "VS Code (loopback)"),
    ("https://vscode.dev/redirect", "VS Code for the web"),
    ("https://insiders.vscode.dev/redirect", "VS Code Insiders for the web"),
    ("https://claude.ai/api/mcp/auth_callback", "Claude (web and desktop connectors)"),
    ("https://claude.com/api/mcp/auth_callback", "Claude (web and desktop connectors)"),
    ("https://chatgpt.com/connector_platform_oauth_redirect", "ChatGPT connectors"),
    ("https://oauth.pstmn.io/v1/callback", "Postman"),
)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auth_codes", sa.Column("resource", sa.String(length=2048), nullable=True))
    op.add_column("token_families", sa.Column("resource", sa.String(length=2048), nullable=True))
    op.create_table(
        "mcp_callbacks",
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", gridshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uri", name=op.f("pk_mcp_callbacks")),
    )
    seeded = datetime(2026, 12, 8, tzinfo=UTC)
    op.bulk_insert(
        sa.table(
            "mcp_callbacks",
            sa.column("uri", sa.String()),
            sa.column("label", sa.String()),
            sa.column("created_at", gridshare.storage.types.UTCDateTime(timezone=True)),
        ),
        [{"uri": uri, "label": label, "created_at": seeded} for uri, label in SEED],
    )
    op.create_table(
        "mcp_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("registration", sa.JSON(), nullable=False),
        sa.Column("created_at", gridshare.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.client_id"],
            name=op.f("fk_mcp_clients_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_mcp_clients")),
    )


def downgrade() -> None:
    op.drop_table("mcp_clients")
    op.drop_table("mcp_callbacks")
    with op.batch_alter_table("token_families") as batch:
        batch.drop_column("resource")
    with op.batch_alter_table("auth_codes") as batch:
        batch.drop_column("resource")
