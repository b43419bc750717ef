"""The sync client is generated from the async one, and the check catches a hand edit."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "unasync.py"


def load() -> dict[str, Any]:
    return runpy.run_path(str(SCRIPT), run_name="unasync_under_test")


def test_sync_client_is_what_the_async_one_generates() -> None:
    script = load()
    target: Path = script["TARGET"]
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# GENERATED FILE: do not edit.")
    assert script["main"](["--check"]) == 0
    assert "await " not in text
    assert "async def" not in text
    assert "from gridshare_client._async_io" not in text
    assert "from gridshare_client._sync_io import" in text


def test_check_fails_on_a_hand_edit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = load()
    edited = tmp_path / "sync.py"
    original: Path = script["TARGET"]
    edited.write_text(
        original.read_text(encoding="utf-8").replace("def list_sites", "def list_sites_edited")
    )
    main = script["main"]
    main.__globals__["TARGET"] = edited
    assert main(["--check"]) == 1
    assert "list_sites_edited" in capsys.readouterr().err
    assert main([]) == 0  # regenerates
    assert main(["--check"]) == 0
