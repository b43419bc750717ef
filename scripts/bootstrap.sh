#!/usr/bin/env bash
# Create .venv (once) and install the project into it. Sourced by the other scripts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
if [ ! -x "$root/.venv/bin/python" ]; then
  "$python" -m venv "$root/.venv"
  "$root/.venv/bin/python" -m pip install -q --upgrade pip
fi
"$root/.venv/bin/python" -m pip install -q -e "$root${GRIDSHARE_EXTRAS:-}"
