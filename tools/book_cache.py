"""Keep `make book`'s execution cache honest: drop it when what every chapter runs on has changed.

    python tools/book_cache.py            # before a build: clear the cache if the fingerprint changed
    python tools/book_cache.py --clear    # clear it anyway (`make book-force`: every chapter runs again)
    python tools/book_cache.py --show     # print the fingerprint and what it was made from

Jupyter Book executes a chapter again only when its code cells change (``execute_notebooks:
cache``, with jupyter-cache). That is right for a chapter's own code, and wrong for what all
chapters import: a change to ``course_utils`` changes what every chapter prints, though no
cell changed. So the cache carries a fingerprint of the package's source, the pinned
requirements, the Python version and the profile (``COURSE_PROFILE``); when it differs from
the last build's, the cache is cleared and every chapter runs again.

Nothing here imports the package or torch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path("_build") / ".jupyter_cache"  # Jupyter Book's default, relative to the book's root
STAMP_NAME = "course_fingerprint.txt"


def inputs(root: Path) -> list[Path]:
    """The files every chapter's output depends on: the package's source and the pins."""
    files = sorted((root / "course_utils").rglob("*.py"))
    files += [p for p in (root / "requirements.txt", root / "pyproject.toml") if p.exists()]
    if not files:
        raise FileNotFoundError(f"no course_utils/ or requirements.txt under {root}: is this the repository root?")
    return files


def fingerprint(root: Path, profile: str | None = None) -> str:
    """sha256 over the input files (path and bytes), the Python version and the profile."""
    digest = hashlib.sha256()
    for path in inputs(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"python {sys.version_info[0]}.{sys.version_info[1]}\0".encode())
    digest.update(f"profile {profile if profile is not None else os.environ.get('COURSE_PROFILE', '')}".encode())
    return digest.hexdigest()


def refresh(root: Path, *, clear: bool = False, profile: str | None = None) -> str:
    """Clear the cache if ``clear`` or if its fingerprint is not the current one; then record the
    current one. Returns what happened, in words."""
    cache = root / CACHE
    stamp = cache / STAMP_NAME
    now = fingerprint(root, profile)
    before = stamp.read_text().strip() if stamp.exists() else None
    if clear or (cache.exists() and before != now):
        shutil.rmtree(cache)
        why = "asked to" if clear else ("course_utils, the pins or the profile changed" if before
                                        else "it has no fingerprint")
        message = f"cleared the execution cache ({why}): every chapter runs"
    elif cache.exists():
        message = "execution cache kept: only chapters whose code changed run"
    else:
        message = "no execution cache yet: every chapter runs"
    cache.mkdir(parents=True, exist_ok=True)
    stamp.write_text(now + "\n")
    return message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clear", action="store_true", help="clear the cache whatever the fingerprint")
    parser.add_argument("--show", action="store_true", help="print the fingerprint and its inputs; change nothing")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository root (default: this one)")
    args = parser.parse_args(argv)
    try:
        if args.show:
            print(fingerprint(args.root))
            for path in inputs(args.root):
                print(f"  {path.relative_to(args.root)}")
            return 0
        print(f"book cache: {refresh(args.root, clear=args.clear)}")
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
