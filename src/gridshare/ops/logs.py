"""Request ids and optional JSON log lines.

Each request carries an id (the caller's `X-Request-Id` when it is sane, else a new one) in a
context variable, so every log line written while serving it, the access line included, names
it. `GRIDSHARE_LOG_FORMAT=json` makes every line one JSON object; the secret redaction of
`gridshare.logging_filters` runs before formatting either way (it rewrites the record).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("gridshare_request_id", default=None)

_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

#: Fresh ids are this process's random 64-bit prefix and a counter (32 hex digits): unique across
#: processes (workers are spawned, so each draws its own prefix) without asking the kernel for
#: randomness per request, which cost a tenth of serving the JWKS. An id correlates log lines;
#: it is no secret (callers may choose their own).
_PREFIX = secrets.token_hex(8)
_SEQUENCE = itertools.count(1)


def request_id_from(header: bytes | None) -> str:
    """The caller's id if it is short printable ASCII (no log forging), else a fresh one."""
    if header is not None:
        with_text = header.decode("latin-1")
        if _SANE_ID.fullmatch(with_text):
            return with_text
    return f"{_PREFIX}{next(_SEQUENCE):016x}"


_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and for uvicorn's
    access lines the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            if len(record.args) == len(_ACCESS_FIELDS):
                line.update(zip(_ACCESS_FIELDS, record.args, strict=True))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def uvicorn_log_config(log_format: str) -> dict[str, Any] | None:
    """uvicorn's `log_config` for the format: None keeps uvicorn's own (text) configuration."""
    if log_format != "json":
        return None
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "gridshare.ops.logs.JsonFormatter"}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["default"], "level": "INFO"},
    }
