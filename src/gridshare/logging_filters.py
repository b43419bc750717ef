"""Keep secrets out of logs (security bar point 8).

The access log prints each request line; query strings can carry codes or tokens (a partner's
callback on a loopback listener, Swagger UI's redirect page). Values of sensitive parameters are
replaced before the line is formatted.
"""

from __future__ import annotations

import logging
import re

SENSITIVE = (
    "code",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "code_verifier",
    "csrf_token",
)
_PATTERN = re.compile(r"(?i)([?&](?:" + "|".join(SENSITIVE) + r")=)[^&\s\"]*")


def redact(text: str) -> str:
    return _PATTERN.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


def install() -> None:
    """Idempotent: `serve` installs it, and so does each worker it starts."""
    for name in ("uvicorn.access", "uvicorn.error", "gridshare"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
