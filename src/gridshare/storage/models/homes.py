"""Tables of the homes behind the API: sites, their devices, device control, and the audit log.

A site's devices are rows (so ownership checks and lookups by id are index seeks); the
kind-specific static properties, validated by the domain's Pydantic models, sit in one JSON
column. Mode and plans are stored against the control device (see `homes.modes.control_device`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.storage.base import Base
from gridshare.storage.types import UTCDateTime


class SiteRow(Base):
    __tablename__ = "sites"

    site_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    template: Mapped[str] = mapped_column(String(64))
    site_reference: Mapped[str] = mapped_column(String(100))
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    time_zone: Mapped[str] = mapped_column(String(64))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    import_tariff_id: Mapped[str] = mapped_column(String(100))
    export_tariff_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: May the battery export grid-charged energy; NULL = the market's rule.
    battery_grid_export: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: Seeds the twin's weather and household so each home is different but reproducible.
    seed: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeviceRow(Base):
    __tablename__ = "devices"
    __table_args__ = (Index("ix_devices_owner", "owner_id"),)

    synth_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.site_id", ondelete="CASCADE"), index=True
    )
    #: Denormalised from the site so an ownership check is one primary-key read.
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    type: Mapped[str] = mapped_column(String(100))
    manufacturer: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    serial_number: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON)


class DeviceControl(Base):
    """Operation mode and plans of a control device; the twin reads them at every step."""

    __tablename__ = "device_controls"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.synth_id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(16))
    overlay: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who (homeowner, partner) changed what, when: every write through the API."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_user_client_at", "user_id", "client_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text)
