"""PKCE (RFC 7636), S256 only: `plain` is refused, as Cognito and RFC 9700 §2.1.1 advise."""

from __future__ import annotations

import base64
import hashlib
import re

from gridshare.auth.digests import constant_time_equal

_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def valid_challenge(challenge: str) -> bool:
    return bool(_VALUE.match(challenge))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify(verifier: str, challenge: str) -> bool:
    return bool(_VALUE.match(verifier)) and constant_time_equal(s256(verifier), challenge)
