"""What `gridshare serve` hands uvicorn: the guarded httptools protocol, uvloop, and the access
log off unless asked for (each line costs about as much CPU as answering the JWKS)."""

from __future__ import annotations

import uvicorn
from uvicorn.importer import import_from_string
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gridshare.config import Settings
from gridshare.serving import GuardedHttpToolsProtocol, serve_options


def _config(settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        "gridshare.ops.workers:app_from_environment", factory=True, **serve_options(settings)
    )


def test_serve_runs_the_guarded_httptools_protocol_on_uvloop(settings: Settings) -> None:
    config = _config(settings)
    protocol = import_from_string(config.http)
    assert issubclass(protocol, GuardedHttpToolsProtocol)
    assert issubclass(protocol, HttpToolsProtocol)
    loop_factory = config.get_loop_factory()
    assert loop_factory is not None and loop_factory.__module__.startswith("uvloop")


def test_the_access_log_is_off_by_default_and_on_when_asked(settings: Settings) -> None:
    assert Settings(database_url=settings.database_url).access_log is False
    assert _config(settings.model_copy(update={"access_log": False})).access_log is False
    assert _config(settings.model_copy(update={"access_log": True})).access_log is True
