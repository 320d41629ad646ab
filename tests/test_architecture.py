"""The package's structure holds the rules of ARCHITECTURE.md (checked by tools/import_graph.py from the source)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("import_graph", ROOT / "tools" / "import_graph.py")
graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(graph)


def test_no_circle_no_upward_import_domains_independent_sibling_imports_at_the_top():
    assert graph.problems(ROOT) == []


def test_the_checker_finds_each_kind_of_broken_rule(tmp_path):
    pkg = tmp_path / "course_utils"
    (pkg / "vlm").mkdir(parents=True)
    (pkg / "detection").mkdir()
    files = {
        "__init__.py": "",
        "runtime.py": "from .training import fit\n",  # layer 0 imports layer 1
        "training.py": "def fit():\n    from .conv import conv2d_naive\n",  # a sibling imported inside a function
        "conv.py": "",
        "vlm/__init__.py": "",
        "vlm/a.py": "from .b import x\n",
        "vlm/b.py": "from .a import y\nfrom ..detection.yolo import z\n",  # a circle, and one domain importing another
        "detection/__init__.py": "",
        "detection/yolo.py": "",
        "extra.py": "",  # a unit with no layer
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    found = "\n".join(graph.problems(tmp_path))
    assert "course_utils.runtime imports course_utils.training: layer 0 (runtime) imports upward" in found
    assert "training.py:2: imports course_utils.conv inside a function" in found
    assert "import circle: course_utils.vlm.a -> course_utils.vlm.b" in found
    assert "course_utils.vlm.b imports course_utils.detection.yolo: two domains depend on each other" in found
    assert "its unit 'extra' has no layer" in found


def test_the_command_prints_the_layers_and_checks():
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "import_graph.py")], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("layer 0: foundations") and "import edges" in out.stdout
    check = subprocess.run([sys.executable, str(ROOT / "tools" / "import_graph.py"), "--check"], capture_output=True,
                           text=True)
    assert check.returncode == 0 and "the structure holds" in check.stdout
    bad = subprocess.run([sys.executable, str(ROOT / "tools" / "import_graph.py"), "--root", "/nonexistent"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_architecture_md_names_every_unit_with_its_layer():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    for unit, layer in graph.LAYERS.items():
        row = re.search(rf"^\| {layer} \|.*`{unit}/?`", text, re.M)
        assert row, f"ARCHITECTURE.md's layer table lacks `{unit}` in layer {layer}"
    for path in re.findall(r"`(course_utils/[\w/]+\.py)`", text):
        assert (ROOT / path).is_file(), f"ARCHITECTURE.md names {path}, which does not exist"


def test_every_chapter_imports_only_what_the_package_exposes():
    """Chapters use the package's public names: no private module, no leftover of the old layout."""
    for md in sorted((ROOT / "book").glob("0*.md")):
        code = md.read_text()
        assert not re.search(r"from course_utils\.\S*\._\w+ import|import _\w+", code), md.name
        assert "course_utils.recipes" not in code and "vlm.data " not in code, md.name
