"""The client distribution (`sdk/`) installs and works alone.

Two proofs: the real one installs the `sdk/` folder into a fresh virtual environment (from PyPI,
as a partner would) and checks that pip's resolver is content, the SDK imports, and the server's
commands answer with one line rather than a traceback; the quick one runs the SDK and the partner
CLI in this environment with every server-side dependency blocked from importing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parents[2] / "sdk"

SERVER_ONLY = [
    "gridshare",
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

    if BLOCKED != {""}:
        sys.meta_path.insert(0, Block())
    import gridshare_client as sdk
    client = sdk.GridshareClient(sdk.Profile(
        auth_base_url="https://auth.example", api_base_url="https://api.example", client_id="abc"))
    client.close()
    from gridshare_client.cli.main import app
    for args in (["--help"], ["sites", "--help"], ["login", "--help"], ["profile", "list"]):
        try:
            app(args, standalone_mode=False)
        except SystemExit as exc:
            assert not exc.code, (args, exc.code)
    print("light-ok")
    """
)


def light_env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "PATH": "/usr/bin"}


def test_sdk_and_partner_cli_need_no_server_dependency(tmp_path: Path) -> None:
    """The server's plugin is installed here but cannot load: the partner CLI still works."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, ",".join(SERVER_ONLY)],
        capture_output=True,
        text=True,
        env=light_env(tmp_path),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "light-ok" in result.stdout


def test_client_folder_installs_alone_into_a_fresh_venv(tmp_path: Path) -> None:
    """`pip install sdk/` into a new venv: resolver clean, SDK and CLI work, the server's
    commands say in one line where they live."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    pip_env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(SDK_DIR)],
        capture_output=True,
        text=True,
        env=pip_env,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    check = subprocess.run(
        [str(python), "-m", "pip", "check"], capture_output=True, text=True, env=pip_env
    )
    assert check.returncode == 0, check.stdout + check.stderr

    run = subprocess.run(
        [str(python), "-c", SCRIPT, ""],
        capture_output=True,
        text=True,
        env=light_env(tmp_path),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "light-ok" in run.stdout
    no_server = subprocess.run(
        [str(python), "-c", "import gridshare"], capture_output=True, text=True
    )
    assert no_server.returncode != 0  # the server is really absent

    script = str(env_dir / "bin" / "gridshare")
    for args in (["serve", "--port", "9000"], ["db", "upgrade"], ["admin", "--help"]):
        answer = subprocess.run(
            [script, *args], capture_output=True, text=True, env=light_env(tmp_path)
        )
        assert answer.returncode == 1, (args, answer.stdout, answer.stderr)
        lines = answer.stderr.strip().splitlines()
        assert lines == [f"`gridshare {args[0]}` is part of the server: pip install gridshare"]
    help_text = subprocess.run(
        [script, "--help"], capture_output=True, text=True, env=light_env(tmp_path)
    ).stdout
    assert re.search(r"\blogin\b", help_text)
    assert not re.search(r"\bserve\b", help_text)  # hidden: not offered, only explained
