"""What the SDK does on its own between a call and its answer, made visible: retries, waits for a
rate limit, token refreshes. Each is logged on the `gridshare_client` logger and handed to the
client's `on_event` hook, if any (e.g. to count them in the integration's metrics).

Nothing secret is logged: URLs carry no tokens (the token endpoint gets them in the body).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

logger = logging.getLogger("gridshare_client")

EventKind = Literal["retry", "rate_limited", "token_refreshed"]


@dataclass(frozen=True)
class ClientEvent:
    """One thing the SDK did by itself.

    `retry`: a request failed (network error or a retryable status) and is sent again after
    `delay` seconds; `rate_limited`: a 429, waited out for `delay` seconds (the server's
    `Retry-After` when it gave one); `token_refreshed`: the access token was renewed.
    """

    kind: EventKind
    method: str
    url: str
    attempt: int = 0
    delay: float | None = None
    status_code: int | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.kind == "token_refreshed":
            return f"access token refreshed ({self.reason})" if self.reason else "token refreshed"
        status = f" {self.status_code}" if self.status_code is not None else ""
        why = f": {self.reason}" if self.reason else ""
        wait = "rate limited" if self.kind == "rate_limited" else "retrying"
        return (
            f"{self.method} {self.url} attempt {self.attempt}{status}{why}; {wait}, "
            f"next attempt in {self.delay or 0:.2f} s"
        )


EventHook = Callable[[ClientEvent], object]
"""`on_event(event)`: called in the caller's task or thread; what it raises is logged, not
raised into the request."""


def report(hook: EventHook | None, event: ClientEvent) -> None:
    level = logging.WARNING if event.kind == "rate_limited" else logging.INFO
    logger.log(level, "%s", event.describe(), extra={"gridshare_event": event})
    if hook is None:
        return
    try:
        hook(event)
    except Exception:
        logger.exception("the on_event hook failed on %s", event.kind)
