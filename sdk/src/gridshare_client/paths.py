"""Where the SDK keeps its files: `$GRIDSHARE_CONFIG_DIR`, else the user config directory
(`~/.config/gridshare` on Linux, `~/Library/Application Support/gridshare` on macOS,
`%APPDATA%\\gridshare` on Windows)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir

CONFIG_DIR_ENV = "GRIDSHARE_CONFIG_DIR"


def config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(user_config_dir("gridshare", appauthor=False))
