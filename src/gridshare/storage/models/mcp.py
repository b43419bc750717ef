"""Tables of the MCP side of the authorization server: the operator's callback allow-list and
the clients that AI assistants registered for themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.storage.base import Base
from gridshare.storage.types import UTCDateTime


class McpCallback(Base):
    """A redirect URI (or a loopback pattern) an assistant may register (`admin mcp-allow`)."""

    __tablename__ = "mcp_callbacks"

    uri: Mapped[str] = mapped_column(String(2048), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class McpClient(Base):
    """A client registered by an assistant itself (RFC 7591), not by the operator."""

    __tablename__ = "mcp_clients"

    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    #: The registration request as the assistant sent it (software id, version, ...).
    registration: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
