"""Request ids: the caller's sane `X-Request-Id` comes back, anything else is replaced by a fresh
id; and the JSON log line names it, with secrets still redacted."""

from __future__ import annotations

import io
import json
import logging
import re

from gridshare.config import Settings
from gridshare.logging_filters import RedactSecrets
from gridshare.ops.logs import REQUEST_ID, JsonFormatter
from tests.api.homes_support import running_app

FRESH = re.compile(r"[0-9a-f]{32}")


async def test_a_sane_incoming_id_is_returned(settings: Settings) -> None:
    async with running_app(settings) as (_, gs):
        response = await gs.http.get("/healthz", headers={"X-Request-Id": "lb-7f3a.9:2"})
        failed = await gs.http.get("/api/v2/sites", headers={"X-Request-Id": "abc-401"})
    assert response.headers["x-request-id"] == "lb-7f3a.9:2"
    assert failed.status_code == 401 and failed.headers["x-request-id"] == "abc-401"


async def test_a_missing_or_unsafe_id_is_replaced(settings: Settings) -> None:
    async with running_app(settings) as (_, gs):
        first = await gs.http.get("/healthz")
        second = await gs.http.get("/healthz")
        forged = await gs.http.get("/healthz", headers={"X-Request-Id": 'x" level=ERROR'})
        too_long = await gs.http.get("/healthz", headers={"X-Request-Id": "a" * 200})
    ids = [r.headers["x-request-id"] for r in (first, second, forged, too_long)]
    assert all(FRESH.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == 4


def _json_line(logger_name: str, message: str, *args: object) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.addFilter(redact := RedactSecrets())
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        token = REQUEST_ID.set("req-42")
        try:
            logger.info(message, *args)
        finally:
            REQUEST_ID.reset(token)
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(redact)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    line: dict[str, object] = json.loads(lines[0])
    return line


def test_an_access_line_is_one_json_object_with_the_request_id() -> None:
    line = _json_line(
        "uvicorn.access",
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000",
        "GET",
        "/cb?code=SECRETCODE&state=s",
        "1.1",
        200,
    )
    assert set(line) == {
        "time", "level", "logger", "message", "request_id",
        "client", "method", "path", "http_version", "status",
    }  # fmt: skip
    assert line["request_id"] == "req-42"
    assert line["status"] == 200 and line["method"] == "GET"
    assert line["path"] == "/cb?code=[redacted]&state=s"
    assert "SECRETCODE" not in json.dumps(line)


def test_an_application_line_carries_the_request_id() -> None:
    line = _json_line("gridshare.test", "twin of site %s failed", "s-1")
    assert line["message"] == "twin of site s-1 failed"
    assert line["level"] == "INFO" and line["logger"] == "gridshare.test"
    assert line["request_id"] == "req-42"
