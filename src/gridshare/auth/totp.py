"""Homeowners' optional second factor: TOTP (RFC 6238) through pyotp, and recovery codes.

- pyotp makes and compares the codes (6 digits, 30 s steps, SHA-1: what every authenticator app
  supports). We only choose which steps to accept (the current one ±1, for clock drift) and
  remember the last step accepted, so a code, or an older one, is never accepted twice (RFC 6238
  §5.2: replay). The check and the update of that step happen in one write transaction with the
  factor's row locked, so two concurrent submissions of one code cannot both pass.
- The secret is stored encrypted with Fernet (AES-128-CBC + HMAC-SHA-256, from `cryptography`)
  under a key derived by HKDF-SHA-256 from the server's secret key: a copy of the database alone
  does not reveal it. (Changing `GRIDSHARE_SECRET_KEY` makes enrolled factors unreadable, as it
  makes client secrets unverifiable.)
- Ten recovery codes of ~50 random bits each, shown once, stored as HMAC-SHA-256 digests keyed by
  the server's secret; each is spent by a conditional update, so it works exactly once.
- Wrong codes are counted per homeowner in the same transaction that checks the lock (no race
  lets a burst of guesses past it), with the password lockout's rule: after `threshold`
  consecutive failures each further one locks the factor for 2^(n-threshold) s, up to `max_lock`.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import pyotp.utils
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gridshare.auth.digests import hmac_hex
from gridshare.auth.passwords import Passwords
from gridshare.clock import Clock
from gridshare.storage.db import Database
from gridshare.storage.models import RecoveryCode, TotpFactor, User

ISSUER_NAME = "Gridshare"
RECOVERY_CODE_COUNT = 10
#: 31 letters and digits, none easily confused (no 0/o, 1/l/i): 10 of them ≈ 49.5 bits.
_RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_RECOVERY_LENGTH = 10
#: Steps either side of the current one that are still accepted (clock drift).
VALID_WINDOW = 1


class TotpError(ValueError):
    """An enrolment step that does not apply to the factor's current state."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of a code (or password) check: accepted, wrong, or refused while locked."""

    accepted: bool
    #: "otp" for an authenticator code, "recovery" for a recovery code, "pwd" for a password.
    method: str | None = None
    #: Seconds until the factor accepts attempts again (> 0 only when locked).
    retry_after: int = 0


@dataclass(frozen=True)
class Enrolment:
    """A factor waiting for its first code: what the homeowner scans or types in."""

    secret: str
    uri: str


def _fernet(server_key: bytes) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"gridshare totp secret v1"
    ).derive(server_key)
    return Fernet(base64.urlsafe_b64encode(key))


def _normalized_recovery(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    half = _RECOVERY_LENGTH // 2
    return f"{raw[:half]}-{raw[half:]}"


def _looks_like_totp(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


class TotpService:
    def __init__(
        self, db: Database, clock: Clock, hmac_key: bytes, threshold: int, max_lock: int
    ) -> None:
        self.db = db
        self.clock = clock
        self.hmac_key = hmac_key
        self.threshold = threshold
        self.max_lock = max_lock
        self._fernet = _fernet(hmac_key)

    # -- state -------------------------------------------------------------------------------

    async def enabled(self, user_id: str) -> bool:
        """True when sign-in must ask this homeowner for a code."""
        async with self.db.read() as session:
            row = await session.get(TotpFactor, user_id)
        return row is not None and row.confirmed_at is not None

    async def pending(self, user: User) -> Enrolment | None:
        """The enrolment awaiting its first code, if one was started."""
        async with self.db.read() as session:
            row = await session.get(TotpFactor, user.id)
        if row is None or row.confirmed_at is not None:
            return None
        return self._enrolment(user, self._secret(row))

    async def recovery_codes_left(self, user_id: str) -> int:
        async with self.db.read() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(RecoveryCode)
                .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
            )
        return int(count or 0)

    # -- enrolment ---------------------------------------------------------------------------

    async def begin(self, user: User) -> Enrolment:
        """Start (or restart, with a new secret) an enrolment; refused once a factor is on."""
        secret = pyotp.random_base32()  # 32 base32 characters: 160 bits, RFC 4226's advice
        encrypted = self._fernet.encrypt(secret.encode()).decode()
        now = self.clock.now()
        try:
            async with self.db.write() as session:
                row = await session.get(TotpFactor, user.id, with_for_update=True)
                if row is not None and row.confirmed_at is not None:
                    raise TotpError("two-step verification is already on")
                if row is None:
                    session.add(
                        TotpFactor(
                            user_id=user.id,
                            secret_encrypted=encrypted,
                            created_at=now,
                            failures=0,
                        )
                    )
                else:
                    row.secret_encrypted = encrypted
                    row.created_at = now
                    row.last_used_step = None
        except IntegrityError as exc:  # a concurrent start inserted first: keep theirs
            raise TotpError("an enrolment was started at the same time; reload the page") from exc
        return self._enrolment(user, secret)

    async def confirm(self, user_id: str, code: str) -> tuple[Verdict, list[str]]:
        """Turn a pending factor on with its first code; the recovery codes come back once."""
        async with self.db.write() as session:
            row = await session.get(TotpFactor, user_id, with_for_update=True)
            if row is None or row.confirmed_at is not None:
                raise TotpError("no enrolment is waiting for a code")
            verdict = await self._check(session, row, code, allow_recovery=False)
            if not verdict.accepted:
                return verdict, []
            row.confirmed_at = self.clock.now()
            codes = await self._replace_recovery_codes(session, user_id)
        return verdict, codes

    async def disable(self, user_id: str) -> None:
        """Remove the factor and its recovery codes (the caller re-authenticated the homeowner)."""
        async with self.db.write() as session:
            await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
            await session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))

    async def regenerate_recovery_codes(self, user_id: str) -> list[str]:
        """New recovery codes; every earlier one stops working."""
        async with self.db.write() as session:
            row = await session.get(TotpFactor, user_id, with_for_update=True)
            if row is None or row.confirmed_at is None:
                raise TotpError("two-step verification is not on")
            return await self._replace_recovery_codes(session, user_id)

    # -- checks ------------------------------------------------------------------------------

    async def verify(self, user_id: str, code: str, *, allow_recovery: bool = True) -> Verdict:
        """Check a code of an active factor: an authenticator code, or a recovery code."""
        async with self.db.write() as session:
            row = await session.get(TotpFactor, user_id, with_for_update=True)
            if row is None or row.confirmed_at is None:
                return Verdict(False)
            return await self._check(session, row, code, allow_recovery=allow_recovery)

    async def verify_password(self, user: User, password: str, passwords: Passwords) -> Verdict:
        """A password standing in for a code (to turn the factor off), under the same lock.

        The attempt is counted as a failure before the slow hash runs and cleared if it was
        right, so concurrent guesses cannot all slip in before the lock is seen.
        """
        now = self.clock.now()
        async with self.db.write() as session:
            row = await session.get(TotpFactor, user.id, with_for_update=True)
            if row is None:
                return Verdict(False)
            locked = self._locked_for(row, now)
            if locked:
                return Verdict(False, retry_after=locked)
            self._count_failure(row, now)
        if not await passwords.verify(user.password_hash, password):
            return Verdict(False)
        async with self.db.write() as session:
            await session.execute(
                update(TotpFactor)
                .where(TotpFactor.user_id == user.id)
                .values(failures=0, locked_until=None)
            )
        return Verdict(True, "pwd")

    async def _check(
        self, session: AsyncSession, row: TotpFactor, code: str, *, allow_recovery: bool
    ) -> Verdict:
        """Inside the caller's write transaction, with `row` locked."""
        now = self.clock.now()
        locked = self._locked_for(row, now)
        if locked:
            return Verdict(False, retry_after=locked)
        code = code.strip()
        if _looks_like_totp(code):
            step = self._matching_step(row, code)
            if step is not None:
                row.last_used_step = step
                row.failures, row.locked_until = 0, None
                return Verdict(True, "otp")
        elif allow_recovery and await self._spend_recovery_code(session, row.user_id, code, now):
            row.failures, row.locked_until = 0, None
            return Verdict(True, "recovery")
        self._count_failure(row, now)
        return Verdict(False)

    def _matching_step(self, row: TotpFactor, code: str) -> int | None:
        """The not-yet-used step within the window whose code this is, if any."""
        totp = pyotp.TOTP(self._secret(row))
        current = totp.timecode(self.clock.now())
        for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
            if row.last_used_step is not None and step <= row.last_used_step:
                continue
            if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
                return step
        return None

    async def _spend_recovery_code(
        self, session: AsyncSession, user_id: str, code: str, now: datetime
    ) -> bool:
        normalized = _normalized_recovery(code)
        if len(normalized) != _RECOVERY_LENGTH:
            return False
        result = await session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.code_hmac == self._recovery_hmac(user_id, normalized),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _locked_for(self, row: TotpFactor, now: datetime) -> int:
        if row.locked_until is None or row.locked_until <= now:
            return 0
        return int((row.locked_until - now).total_seconds()) + 1

    def _count_failure(self, row: TotpFactor, now: datetime) -> None:
        row.failures += 1
        if row.failures >= self.threshold:
            seconds = min(2 ** (row.failures - self.threshold), self.max_lock)
            row.locked_until = now + timedelta(seconds=seconds)

    # -- helpers -----------------------------------------------------------------------------

    async def _replace_recovery_codes(self, session: AsyncSession, user_id: str) -> list[str]:
        await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
        codes: list[str] = []
        while len(codes) < RECOVERY_CODE_COUNT:
            code = _new_recovery_code()
            if code not in codes:
                codes.append(code)
        now = self.clock.now()
        session.add_all(
            RecoveryCode(
                user_id=user_id,
                code_hmac=self._recovery_hmac(user_id, _normalized_recovery(code)),
                created_at=now,
            )
            for code in codes
        )
        return codes

    def _recovery_hmac(self, user_id: str, normalized: str) -> str:
        return hmac_hex(self.hmac_key, f"recovery-code:{user_id}:{normalized}")

    def _secret(self, row: TotpFactor) -> str:
        try:
            return self._fernet.decrypt(row.secret_encrypted.encode()).decode()
        except InvalidToken as exc:
            raise TotpError(
                "the authenticator secret cannot be read with this server's secret key"
            ) from exc

    @staticmethod
    def _enrolment(user: User, secret: str) -> Enrolment:
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER_NAME)
        return Enrolment(secret, uri)
