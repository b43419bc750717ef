#!/usr/bin/env bash
# Create .venv (once) and install the project into it: the client distribution (sdk/: the SDK and
# the `gridshare` CLI) and the server that depends on it, in one pip call so that the resolver takes
# the client from this clone. Sourced by the other scripts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
if [ ! -x "$root/.venv/bin/python" ]; then
  "$python" -m venv "$root/.venv"
  "$root/.venv/bin/python" -m pip install -q --upgrade pip
fi
"$root/.venv/bin/python" -m pip install -q -e "$root/sdk" -e "$root${GRIDSHARE_EXTRAS:-}"
# A venv made before the split: uninstalling the old server distribution (which owned the
# `gridshare` script) removes the script the client just installed; put it back.
if [ ! -x "$root/.venv/bin/gridshare" ]; then
  "$root/.venv/bin/python" -m pip install -q --no-deps --force-reinstall -e "$root/sdk"
fi
