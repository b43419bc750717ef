#!/usr/bin/env python3
"""Generate the sync client from the async one (the approach httpcore takes).

`sdk/src/gridshare_client/aio.py` is the source; `sync.py` beside it is produced by replacing
whole words (`async def` -> `def`, `await x` -> `x`, `AsyncGridshareClient` -> `GridshareClient`,
`_async_io` -> `_sync_io`, ...). What really differs between the two lives in `_async_io.py` and
`_sync_io.py` behind the same names.

    python scripts/unasync.py           # rewrite sync.py
    python scripts/unasync.py --check   # exit 1 if sync.py is not what aio.py generates
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sdk" / "src" / "gridshare_client"
SOURCE = PACKAGE / "aio.py"
TARGET = PACKAGE / "sync.py"

HEADER = (
    "# GENERATED FILE: do not edit. It is made from aio.py by scripts/unasync.py; edit aio.py\n"
    "# (or _async_io.py / _sync_io.py for what really differs) and run the script again.\n"
)

SUBS: list[tuple[str, str]] = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait\s+", ""),
    (r"\b_async_io\b", "_sync_io"),
    (r"\bAsyncGridshareClient\b", "GridshareClient"),
    (r"\bAsyncOAuthSession\b", "OAuthSession"),
    (r"\bAsyncClient\b", "Client"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\baclose\b", "close"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\basynchronous\b", "synchronous"),
    (r"  # noqa: ASYNC\d+[^\n]*", ""),  # async-only lint waivers
]
COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in SUBS]


def unasync(text: str) -> str:
    for pattern, replacement in COMPILED:
        text = pattern.sub(replacement, text)
    return HEADER + text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args(argv)
    generated = unasync(SOURCE.read_text(encoding="utf-8"))
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if generated == current:
        return 0
    if args.check:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            generated.splitlines(keepends=True),
            str(TARGET.name),
            f"{TARGET.name} (generated from {SOURCE.name})",
        )
        sys.stderr.writelines(diff)
        sys.stderr.write(
            f"{TARGET} is not what {SOURCE.name} generates: run `python scripts/unasync.py`\n"
        )
        return 1
    TARGET.write_text(generated, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
