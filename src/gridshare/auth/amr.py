"""Authentication Methods References (RFC 8176) a sign-in can end with, for the ID token's `amr`.

A second factor adds `otp` (a one-time password: a TOTP code, or a single-use recovery code) and
`mfa` (RFC 8176: more than one factor was used), so a relying party can test either the method or
simply "was this multi-factor".
"""

from __future__ import annotations

PASSWORD_ONLY: tuple[str, ...] = ("pwd",)
PASSWORD_AND_OTP: tuple[str, ...] = ("pwd", "otp", "mfa")


def amr_of(stored: list[str] | None) -> list[str]:
    """The claim value from a stored column (None: rows from before `amr` was kept, all "pwd")."""
    return list(stored) if stored else list(PASSWORD_ONLY)
