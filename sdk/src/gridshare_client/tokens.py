"""Tokens and where they live between runs: `TokenSet`, the `TokenStore` protocol, and the
default `FileTokenStore` (one JSON file per profile, written atomically, owner-only).

An integration that serves many homeowners keeps one `TokenSet` per homeowner: implement
`TokenStore` over its own database and give each client a `token_key` (e.g. the homeowner's id).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from gridshare_client.errors import InvalidArgument
from gridshare_client.paths import config_dir

Clock = Callable[[], float]
"""Seconds since the epoch; injectable so tests can move time without sleeping."""


class TokenSet(BaseModel):
    """What the token endpoint returned, plus when it expires by our clock.

    Tokens are left out of `repr()` so a stray log line does not leak them.
    """

    model_config = ConfigDict(extra="ignore")

    access_token: str = Field(repr=False)
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6749 token type
    #: Epoch seconds (by the client's clock) after which the access token is dead.
    expires_at: float | None = None
    refresh_token: str | None = Field(default=None, repr=False)
    id_token: str | None = Field(default=None, repr=False)
    scope: list[str] = Field(default_factory=list)
    obtained_at: float = 0.0
    #: Which client and authorization server the tokens belong to (stale tokens of another
    #: configuration are ignored rather than sent to the wrong server).
    client_id: str | None = None
    auth_base_url: str | None = None

    def expires_in(self, now: float) -> float | None:
        return None if self.expires_at is None else self.expires_at - now

    def is_fresh(self, now: float, skew: float = 60.0) -> bool:
        """True while the access token has more than `skew` seconds left."""
        return self.expires_at is None or self.expires_at - now > skew

    def belongs_to(self, client_id: str | None, auth_base_url: str) -> bool:
        if self.client_id is not None and client_id is not None and self.client_id != client_id:
            return False
        return self.auth_base_url is None or self.auth_base_url == auth_base_url


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens persist. Implementations must be safe to call from several threads."""

    def load(self, key: str) -> TokenSet | None: ...

    def save(self, key: str, tokens: TokenSet) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryTokenStore:
    """Tokens kept in this process only (tests, short scripts, or as a cache)."""

    def __init__(self) -> None:
        self._tokens: dict[str, TokenSet] = {}
        self._lock = threading.Lock()

    def load(self, key: str) -> TokenSet | None:
        with self._lock:
            return self._tokens.get(key)

    def save(self, key: str, tokens: TokenSet) -> None:
        with self._lock:
            self._tokens[key] = tokens

    def delete(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)


_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")


def write_private_file(path: Path, data: str) -> None:
    """Write `data` to `path` atomically (temp file + rename) with mode 0600.

    The temp file is created 0600 from the start (never world-readable, even for an instant),
    fsynced, then renamed over the target, so a crash leaves the old file or the new one.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            with contextlib.suppress(OSError):  # chmod is limited on some platforms
                os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class FileTokenStore:
    """One JSON file per key (profile) under `<config dir>/tokens/`, owner-only (0600)."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else config_dir() / "tokens"
        self._lock = threading.Lock()

    def path_for(self, key: str) -> Path:
        if not _SAFE_KEY.match(key) or key.startswith("."):
            raise InvalidArgument(f"token key must be a plain name, not {key!r}")
        return self.directory / f"{key}.json"

    def load(self, key: str) -> TokenSet | None:
        path = self.path_for(key)
        with self._lock:
            try:
                raw: Any = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return None
            except (OSError, ValueError):
                return None  # unreadable or corrupt: as if logged out
        try:
            return TokenSet.model_validate(raw)
        except ValueError:
            return None

    def save(self, key: str, tokens: TokenSet) -> None:
        path = self.path_for(key)
        with self._lock:
            write_private_file(path, tokens.model_dump_json(indent=2) + "\n")

    def delete(self, key: str) -> None:
        path = self.path_for(key)
        with self._lock, contextlib.suppress(FileNotFoundError):
            path.unlink()
