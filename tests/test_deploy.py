"""The inference image's Dockerfile agrees with the project (no Docker engine runs in CI)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_runs_the_predict_cli_on_the_cpu_wheel():
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r'ENTRYPOINT \["python", "-m", "course_utils.predict", "--checkpoint", "/app/model.pt"\]', text)
    assert "download.pytorch.org/whl/cpu" in text, "the image must install the CPU-only wheel"
    assert "COPY course_utils ./course_utils" in text and "pip install --no-deps ." in text
    assert (ROOT / "course_utils" / "predict.py").is_file()
    assert "USER " in text, "the container should not run as root"
