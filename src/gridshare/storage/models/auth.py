"""Tables of the authorization server.

Secrets never sit here in clear: refresh tokens, codes and session ids are stored as SHA-256
digests (they are high-entropy random strings), client secrets as HMAC-SHA-256 digests.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from gridshare.storage.base import Base
from gridshare.storage.types import UTCDateTime


class User(Base):
    """A homeowner. `id` is the stable `sub` (a UUID)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed sign-ins of a username from one address, or from everywhere (`address` "*").

    Kept for unknown usernames too, so lockout reveals nothing; forgotten at `expires_at` (a
    while after the last failure), when the background purge deletes the row.
    """

    __tablename__ = "login_throttles"

    username: Mapped[str] = mapped_column(String(320), primary_key=True)
    address: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Client(Base):
    """A partner application registered with the authorization server."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    logout_uris: Mapped[list[str]] = mapped_column(JSON)
    allowed_scopes: Mapped[list[str]] = mapped_column(JSON)
    access_token_ttl: Mapped[int] = mapped_column(Integer)
    id_token_ttl: Mapped[int] = mapped_column(Integer)
    refresh_token_ttl: Mapped[int] = mapped_column(Integer)
    rotate_refresh_tokens: Mapped[bool] = mapped_column(Boolean)
    rotation_grace_seconds: Mapped[int] = mapped_column(Integer)
    require_pkce: Mapped[bool] = mapped_column(Boolean)
    loopback_any_port: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_implicit: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClientSecret(Base):
    """One of a client's secrets; two may be active at once so partners rotate without downtime."""

    __tablename__ = "client_secrets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    secret_hmac: Mapped[str] = mapped_column(String(64))
    #: First characters of the secret, so an operator can tell secrets apart.
    hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SigningKey(Base):
    """An RSA key that signs access or ID tokens during [activates_at, retires_at)."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    use: Mapped[str] = mapped_column(String(16))  # "access" | "id"
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activates_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ServerSecret(Base):
    """Process-shared random secrets (e.g. the HMAC key) created once per database."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class SignInSession(Base):
    """A homeowner's hosted-UI sign-in (the session cookie points here by digest)."""

    __tablename__ = "sign_in_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: RFC 8176 methods the sign-in used (None: a session from before the column, i.e. "pwd").
    amr: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    #: The password was right but a second factor is still due: not signed in yet.
    second_factor_due: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Grant(Base):
    """A homeowner's consent to a partner: the scopes allowed, until revoked."""

    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_user_client", "user_id", "client_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuthCode(Base):
    """An authorization code, bound to everything the authorize request said."""

    __tablename__ = "auth_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    nonce: Mapped[str | None] = mapped_column(Text, nullable=True)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The sign-in's RFC 8176 methods, for the ID token's `amr` (None: "pwd").
    amr: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The token family the redemption created; replay of the code revokes it.
    family_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    #: RFC 8707 resource the client asked for (the MCP endpoint), None for the customer API.
    resource: Mapped[str | None] = mapped_column(String(2048), nullable=True)


class TokenFamily(Base):
    """Every token descended from one code redemption shares this id (the `origin_jti`)."""

    __tablename__ = "token_families"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    nonce: Mapped[str | None] = mapped_column(Text, nullable=True)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The sign-in's RFC 8176 methods, kept at refresh like `auth_time` (None: "pwd").
    amr: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Fixed at creation: rotation never extends a refresh token's life.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: RFC 8707 resource every access token of the family is for (its `aud`); None: the
    #: customer API's Cognito-shaped tokens, which have no `aud`.
    resource: Mapped[str | None] = mapped_column(String(2048), nullable=True)


class RefreshToken(Base):
    """A refresh token's digest and the generation of its family it belongs to."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(
        ForeignKey("token_families.id", ondelete="CASCADE"), index=True
    )
    generation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
