"""Tables of the homeowners' optional second factor (TOTP) and its single-use recovery codes.

The TOTP secret is stored encrypted (Fernet, key derived from the server's secret key: see
`auth/totp.py`); recovery codes only as HMAC-SHA-256 digests keyed by the same secret.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.storage.base import Base
from gridshare.storage.types import UTCDateTime


class TotpFactor(Base):
    """A homeowner's authenticator app: pending until confirmed with a code, then required."""

    __tablename__ = "totp_factors"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: None while enrolment awaits its first code; sign-in asks for a code only once set.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The last 30-second step whose code was accepted: that code, and older ones, are spent.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: Consecutive wrong codes (or passwords, where one may stand in for a code).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RecoveryCode(Base):
    """One single-use recovery code, for when the authenticator is lost."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hmac"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hmac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
