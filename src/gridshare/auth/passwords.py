"""Argon2id password hashing, off the event loop and with bounded concurrency.

Argon2id is deliberately slow and memory-hungry (64 MiB per hash by default). Running it inline
would block the event loop; running unbounded in threads would let a burst of sign-ins take every
core from the API. A capacity limiter keeps at most N hashes in flight.
"""

from __future__ import annotations

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int, parallelism: int, concurrency: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._limiter = anyio.CapacityLimiter(concurrency)
        # Verified against when the username is unknown, so both paths cost the same.
        self._dummy_hash = self._hasher.hash("not a real password")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._limiter)

    def hash_sync(self, password: str) -> str:
        return self._hasher.hash(password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when `password` matches; a missing hash still costs one full verification."""
        target = stored_hash or self._dummy_hash

        def _verify() -> bool:
            try:
                return self._hasher.verify(target, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        ok = await anyio.to_thread.run_sync(_verify, limiter=self._limiter)
        return ok and stored_hash is not None
