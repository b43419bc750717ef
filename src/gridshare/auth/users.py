"""Homeowners: creation and sign-in with Cognito's lockout rule (see `lockout`).

Unknown usernames and wrong passwords get the same answer and cost the same Argon2 work; failures
are counted per username whether or not it exists, so lockout says nothing about existence
either.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from gridshare.auth.lockout import Locked, Lockout
from gridshare.auth.passwords import Passwords
from gridshare.clock import Clock
from gridshare.storage.db import Database
from gridshare.storage.models import User

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


class UserError(ValueError):
    pass


class SignInFailure(enum.Enum):
    BAD_CREDENTIALS = "Incorrect username or password."
    LOCKED = "Too many failed attempts. Try again later."


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    failure: SignInFailure | None = None
    retry_after: int = 0


def normalize_email(email: str) -> str:
    return email.strip().lower()


class UserService:
    def __init__(self, db: Database, clock: Clock, passwords: Passwords, lockout: Lockout) -> None:
        self.db = db
        self.clock = clock
        self.passwords = passwords
        self.lockout = lockout

    async def create(self, email: str, password: str) -> User:
        try:
            address = validate_email(email.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise UserError(f"not a valid email address: {email!r}") from exc
        if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            raise UserError(
                f"password must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters"
            )
        user = User(
            id=str(uuid.uuid4()),
            email=normalize_email(address),
            password_hash=await self.passwords.hash(password),
            email_verified=True,
            disabled=False,
            created_at=self.clock.now(),
        )
        async with self.db.write() as session:
            existing = await session.execute(select(User.id).where(User.email == user.email))
            if existing.first() is not None:
                raise UserError(f"a user with email {user.email} exists already")
            session.add(user)
        return user

    async def get(self, user_id: str) -> User | None:
        async with self.db.read() as session:
            return await session.get(User, user_id)

    async def by_email(self, email: str) -> User | None:
        async with self.db.read() as session:
            result = await session.execute(select(User).where(User.email == normalize_email(email)))
            return result.scalar_one_or_none()

    async def sign_in(self, username: str, password: str, *, address: str) -> SignInResult:
        """Check a password from the client at `address`, within the lockout rule."""
        name = normalize_email(username)[:320]
        reservation = await self.lockout.reserve(name, address)
        if isinstance(reservation, Locked):
            return SignInResult(None, SignInFailure.LOCKED, reservation.retry_after)
        user = await self.by_email(name)
        ok = await self.passwords.verify(
            user.password_hash if user is not None else None, password[:MAX_PASSWORD_LENGTH]
        )
        if ok and user is not None and not user.disabled:
            await self.lockout.succeeded(reservation)
            return SignInResult(user)
        return SignInResult(None, SignInFailure.BAD_CREDENTIALS)
