"""tools/book_cache.py: the incremental book drops its execution cache when the package or the pins change."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("book_cache", ROOT / "tools" / "book_cache.py")
book_cache = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book_cache)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "course_utils" / "detection").mkdir(parents=True)
    (tmp_path / "course_utils" / "__init__.py").write_text("")
    (tmp_path / "course_utils" / "detection" / "boxes.py").write_text("X = 1\n")
    (tmp_path / "requirements.txt").write_text("torch==2.14.1\n")
    return tmp_path


def _cached_chapter(repo: Path) -> Path:
    entry = repo / book_cache.CACHE / "executed" / "chapter.ipynb"
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text("{}")
    return entry


def test_the_cache_survives_a_build_where_nothing_shared_changed(repo):
    assert book_cache.refresh(repo, profile="cpu") == "no execution cache yet: every chapter runs"
    entry = _cached_chapter(repo)
    assert book_cache.refresh(repo, profile="cpu").startswith("execution cache kept")
    assert entry.exists()


@pytest.mark.parametrize("change", ["package", "pins", "new module", "profile"])
def test_a_change_every_chapter_depends_on_clears_the_cache(repo, change):
    book_cache.refresh(repo, profile="cpu")
    entry = _cached_chapter(repo)
    profile = "cpu"
    if change == "package":
        (repo / "course_utils" / "detection" / "boxes.py").write_text("X = 2\n")
    elif change == "pins":
        (repo / "requirements.txt").write_text("torch==2.15.0\n")
    elif change == "new module":
        (repo / "course_utils" / "detection" / "nms_speed.py").write_text("")
    else:
        profile = "gpu"
    message = book_cache.refresh(repo, profile=profile)
    assert message.startswith("cleared the execution cache (course_utils, the pins or the profile changed)")
    assert not entry.exists() and (repo / book_cache.CACHE / book_cache.STAMP_NAME).exists()


def test_a_cache_without_a_fingerprint_is_not_trusted(repo):
    entry = _cached_chapter(repo)  # made by a build before this tool existed
    assert "it has no fingerprint" in book_cache.refresh(repo, profile="cpu")
    assert not entry.exists()


def test_clear_always_clears(repo):
    book_cache.refresh(repo, profile="cpu")
    entry = _cached_chapter(repo)
    assert book_cache.refresh(repo, clear=True, profile="cpu").startswith("cleared the execution cache (asked to)")
    assert not entry.exists()


def test_the_cli_says_what_is_wrong_without_a_traceback(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "book_cache.py"), "--root", str(tmp_path)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.startswith("error: no course_utils/") and "Traceback" not in out.stderr
    shown = subprocess.run([sys.executable, str(ROOT / "tools" / "book_cache.py"), "--show"],
                           capture_output=True, text=True)
    assert shown.returncode == 0 and "course_utils/detection/boxes.py" in shown.stdout


def test_make_book_goes_through_the_cache_and_config_asks_for_it():
    makefile = (ROOT / "Makefile").read_text()
    assert "tools/book_cache.py\n\t$(BIN)/jupyter-book build" in makefile
    assert "tools/book_cache.py --clear" in makefile
    assert "execute_notebooks: cache" in (ROOT / "_config.yml").read_text()
