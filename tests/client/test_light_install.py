"""The SDK and the partner CLI work with only their light dependency set installed.

A fresh interpreter refuses to import any server-side dependency; importing the SDK, building a
client and running partner commands must still work.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SERVER_ONLY = [
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "aiosqlite",
    "asyncpg",
    "argon2",
    "joserfc",
    "cryptography",
    "jinja2",
    "multipart",
    "pydantic_settings",
    "orjson",
    "limits",
    "redis",
    "numpy",
    "scipy",
    "pandas",
    "pvlib",
    "email_validator",
    "swagger_ui_bundle",
]

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCKED = set(sys.argv[1].split(","))

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"server dependency {name} imported")
            return None

    sys.meta_path.insert(0, Block())
    import gridshare.client as sdk
    client = sdk.GridshareClient(sdk.Profile(
        auth_base_url="https://auth.example", api_base_url="https://api.example", client_id="abc"))
    client.close()
    from gridshare.cli.main import app
    for args in (["--help"], ["sites", "--help"], ["login", "--help"], ["profile", "list"]):
        try:
            app(args, standalone_mode=False)
        except SystemExit as exc:
            assert not exc.code, (args, exc.code)
    print("light-ok")
    """
)


def test_sdk_and_partner_cli_need_no_server_dependency(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "PATH": "/usr/bin"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(SERVER_ONLY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "light-ok" in result.stdout
