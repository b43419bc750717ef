"""Hosted-UI sign-in sessions and the CSRF tokens of their forms.

The session cookie carries a random id; the database keeps only its digest, so any server
process can read it and a leaked table cannot be replayed. A new id is minted at every sign-in
(no session fixation). Before sign-in, the login form's CSRF token is bound to a separate random
cookie; after it, forms are bound to the session id.

A homeowner with a second factor gets, after the right password, a *pending* session: the same
cookie and table, marked `second_factor_due`, short-lived, never accepted as signed in; its id
binds the code form's CSRF token, and a fresh id replaces it once the code is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from starlette.requests import Request
from starlette.responses import Response

from gridshare.auth.amr import PASSWORD_ONLY
from gridshare.auth.digests import constant_time_equal, hmac_hex, random_token, sha256_hex
from gridshare.clock import Clock
from gridshare.storage.db import Database
from gridshare.storage.models import SignInSession, User

SESSION_COOKIE = "gridshare_session"
CSRF_COOKIE = "gridshare_csrf"
#: How long a homeowner has to type the second factor's code after the password.
SECOND_FACTOR_TTL_SECONDS = 300


@dataclass(frozen=True)
class ActiveSession:
    user: User
    auth_time: datetime
    raw_id: str
    #: RFC 8176 methods this sign-in used, for the ID token's `amr`.
    amr: tuple[str, ...] = PASSWORD_ONLY


@dataclass(frozen=True)
class PendingSignIn:
    """The password was right; the second factor is still due."""

    user: User
    raw_id: str


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def _secure(request: Request) -> bool:
    """Secure when the page came over HTTPS or the issuer is https: a deployment that is https
    publicly never sets a session cookie a browser would send over plain http (for example to a
    proxy that forgot X-Forwarded-Proto)."""
    services = getattr(request.app.state, "services", None)
    issuer: str = getattr(services, "issuer", "")
    return is_https(request) or issuer.startswith("https://")


def cookie_name(request: Request, name: str) -> str:
    """`name`, with the `__Host-` prefix on secure pages: the browser then insists on Secure,
    Path=/ and no Domain, so no sibling subdomain can plant or overwrite the cookie."""
    return f"__Host-{name}" if _secure(request) else name


def read_cookie(request: Request, name: str) -> str | None:
    return request.cookies.get(cookie_name(request, name))


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Lax, host-only; Secure and `__Host-` on https (see `_secure`), plain
    on http://127.0.0.1 and http://localhost so the flow works there."""
    response.set_cookie(
        cookie_name(request, name),
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        cookie_name(request, name), path="/", httponly=True, samesite="lax", secure=_secure(request)
    )


class SessionService:
    def __init__(self, db: Database, clock: Clock, hmac_key: bytes, ttl_seconds: int) -> None:
        self.db = db
        self.clock = clock
        self.hmac_key = hmac_key
        self.ttl = ttl_seconds

    async def create(self, user: User, amr: tuple[str, ...] = PASSWORD_ONLY) -> str:
        return await self._insert(user, amr, self.ttl, second_factor_due=False)

    async def create_pending(self, user: User) -> str:
        """A session that is not signed in until `second_factor_due` is settled (a new one)."""
        return await self._insert(
            user, PASSWORD_ONLY, SECOND_FACTOR_TTL_SECONDS, second_factor_due=True
        )

    async def _insert(
        self, user: User, amr: tuple[str, ...], ttl: int, *, second_factor_due: bool
    ) -> str:
        raw = random_token(32)
        now = self.clock.now()
        async with self.db.write() as session:
            session.add(
                SignInSession(
                    id_hash=sha256_hex(raw),
                    user_id=user.id,
                    auth_time=now,
                    expires_at=now + timedelta(seconds=ttl),
                    amr=list(amr),
                    second_factor_due=second_factor_due,
                )
            )
        return raw

    async def current(self, request: Request) -> ActiveSession | None:
        found = await self._live_row(request, second_factor_due=False)
        if found is None:
            return None
        row, user, raw = found
        return ActiveSession(user, row.auth_time, raw, tuple(row.amr or PASSWORD_ONLY))

    async def pending(self, request: Request) -> PendingSignIn | None:
        """The browser's sign-in waiting for its second factor, if any."""
        found = await self._live_row(request, second_factor_due=True)
        if found is None:
            return None
        _, user, raw = found
        return PendingSignIn(user, raw)

    async def _live_row(
        self, request: Request, *, second_factor_due: bool
    ) -> tuple[SignInSession, User, str] | None:
        raw = read_cookie(request, SESSION_COOKIE)
        if not raw or len(raw) > 100:
            return None
        async with self.db.read() as session:
            row = await session.get(SignInSession, sha256_hex(raw))
            if (
                row is None
                or row.expires_at <= self.clock.now()
                or row.second_factor_due != second_factor_due
            ):
                return None
            user = await session.get(User, row.user_id)
        if user is None or user.disabled:
            return None
        return row, user, raw

    async def end(self, raw_id: str | None) -> None:
        if not raw_id:
            return
        async with self.db.write() as session:
            await session.execute(
                delete(SignInSession).where(SignInSession.id_hash == sha256_hex(raw_id))
            )

    # -- CSRF --------------------------------------------------------------------------------

    def csrf_token(self, binding: str) -> str:
        return hmac_hex(self.hmac_key, "csrf:" + binding)

    def csrf_valid(self, binding: str | None, submitted: str | None) -> bool:
        if not binding or not submitted:
            return False
        return constant_time_equal(self.csrf_token(binding), submitted)
