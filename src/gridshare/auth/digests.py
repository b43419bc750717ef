"""Random tokens and their digests. Thin wrappers over `secrets`, `hashlib` and `hmac`.

Every stored secret (refresh token, code, session id) is a random string of at least 256 bits,
so a single SHA-256 is a sound way to store it; client secrets get an HMAC keyed by the server
secret so a leaked table alone cannot be used to test guesses offline.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

_CLIENT_ID_ALPHABET = string.ascii_lowercase + string.digits


def random_token(nbytes: int = 32) -> str:
    """URL-safe random string with `nbytes` bytes of entropy (32 → 256 bits)."""
    return secrets.token_urlsafe(nbytes)


def new_client_id() -> str:
    """26 lower-case alphanumerics, like a Cognito app client id (≈134 bits)."""
    return "".join(secrets.choice(_CLIENT_ID_ALPHABET) for _ in range(26))


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hmac_hex(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
