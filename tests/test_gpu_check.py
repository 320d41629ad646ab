"""The GPU check's machinery (.ci/gpu/check.py) and the chapters' reading of its results.

The check itself needs a CUDA GPU; what it is made of does not. Here it runs on the CPU
over tiny notebooks and a bench task on the fake mirror, so CI proves that it executes
notebooks without Jupyter, stops at its deadline, and writes the file that
:func:`course_utils.runtime.gpu_timing` reads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.runtime import gpu_timing

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / ".ci" / "gpu" / "check.py"


def notebook(path: Path, *cells: str) -> Path:
    path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": ["# t"], "metadata": {}}] + [
        {"cell_type": "code", "source": c.splitlines(keepends=True), "metadata": {}, "outputs": [],
         "execution_count": None} for c in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def run_check(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "gpu_check.json"
    result = subprocess.run([sys.executable, str(CHECK), "--out", str(out), "--commit", "abc1234def",
                             "--wheels", str(tmp_path / "no-wheels"), *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(out.read_text())


def test_check_runs_notebooks_without_jupyter_and_records_each(tmp_path, fake_mirror):
    notebook(tmp_path / "01_ok.ipynb", "import matplotlib.pyplot as plt\nx = 6 * 7",
             "plt.plot([1, 2]); plt.show()\nassert x == 42")
    notebook(tmp_path / "02_bad.ipynb", "y = 1", "assert y == 2, 'y is not 2'", "never = True")
    results = run_check(tmp_path, "--benches", "data-mnist", "--chapters", str(tmp_path / "*.ipynb"),
                        "--budget", "240")
    tasks = {t["task"]: t for t in results["tasks"]}
    assert list(tasks) == ["bench data-mnist", "chapter 01_ok", "chapter 02_bad"]
    assert tasks["bench data-mnist"]["status"] == "ok" and tasks["bench data-mnist"]["bench"]["task"] == "data-mnist"
    assert tasks["chapter 01_ok"]["status"] == "ok" and tasks["chapter 01_ok"]["cells"] == 2
    bad = tasks["chapter 02_bad"]
    assert bad["status"] == "failed" and bad["error"] == "cell 1: AssertionError: y is not 2" and bad["cells"] == 2
    for t in results["tasks"]:
        assert {"gpu", "torch", "commit", "seconds", "status"} <= t.keys() and t["commit"] == "abc1234def"
    assert results["profile"] == "gpu" and results["measured_at"][:2] == "20"


def test_check_stops_at_its_budget(tmp_path):
    notebook(tmp_path / "01_slow.ipynb", "import time\ntime.sleep(30)")
    notebook(tmp_path / "02_later.ipynb", "x = 1")
    results = run_check(tmp_path, "--benches", "", "--chapters", str(tmp_path / "*.ipynb"), "--budget", "3")
    slow, later = results["tasks"]
    assert slow["status"] == "timeout" and slow["seconds"] < 10
    assert later["status"] == "skipped" and "time budget" in later["error"]


def test_gpu_timing_reads_the_results_file(tmp_path):
    path = tmp_path / "r.json"
    assert gpu_timing("05_x", path).startswith("gpu profile: not yet timed on a GPU (no GPU check")
    common = {"gpu": "NVIDIA H200", "torch": "2.11.0", "commit": "0123456789"}
    path.write_text(json.dumps({"measured_at": "2026-12-01T22:00:00+00:00", "tasks": [
        {"task": "chapter 05_x", "status": "ok", "seconds": 73.6, **common},
        {"task": "chapter 06_y", "status": "failed", "seconds": 12.0, "error": "cell 3: ImportError: captum", **common},
        {"task": "chapter 07_z", "status": "skipped", "seconds": 0.0, **common}]}))
    assert gpu_timing("05_x", path) == "gpu profile: 74 s on NVIDIA H200 (torch 2.11.0, commit 0123456, 2026-12-01)"
    assert gpu_timing("06_y", path).startswith("gpu profile: failed after 12 s on NVIDIA H200")
    assert "ran out of time" in gpu_timing("07_z", path)
    assert "did not include 08_w" in gpu_timing("08_w", path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not a GPU check results file"):
        gpu_timing("05_x", path)


def test_the_package_ships_no_stale_results_or_a_valid_file():
    shipped = ROOT / "course_utils" / "results" / "gpu_check.json"
    if shipped.exists():
        data = json.loads(shipped.read_text())
        assert data["tasks"] and all({"task", "status", "seconds", "gpu", "torch", "commit"} <= t.keys()
                                     for t in data["tasks"])
    assert "results/*.json" in (ROOT / "pyproject.toml").read_text(), "the results file ships with the package"
