"""The GPU check: every bench task and every chapter on the ``gpu`` profile, one results file.

    make gpu-check                  # on a machine with one CUDA GPU (see .ci/gpu/README.md)
    python .ci/gpu/check.py --budget 510 --commit <sha>

Made for the GPU machine as it is: Python 3.12 with torch, torchvision, transformers, peft,
accelerate, matplotlib, scikit-image and tqdm, no package registry, and no Jupyter at all
(no nbclient, ipykernel, nbval or jupytext). So the chapters run without Jupyter: each
notebook's code cells execute in order in one fresh Python process per chapter, with
matplotlib's Agg backend, exactly as the cells are written (the set-up cell's Colab branch is
not taken: there is no ``google.colab``). What a chapter needs beyond that machine's packages
(captum for chapter 6; PocketSphinx and eSpeak NG for chapter 9's speech) comes as wheels in
``.gpu-wheels/`` (``make gpu-wheels`` here, then carried along), installed into a folder of the
check's own when present.

Tasks run in order (benches, then chapters) until ``--budget`` seconds are spent: a task still
running at the deadline is stopped and recorded as ``timeout``, the rest as ``skipped``. Each
task's record has its metric and value (benches), seconds, status, GPU name, torch version and
commit; the file goes to ``course_utils/results/gpu_check.json``, where each chapter's set-up
cell finds its own line (:func:`course_utils.runtime.gpu_timing`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCHES = ("data-mnist", "nms", "mnist", "cifar", "yolo", "ssd", "vlm")
RESULTS = ROOT / "course_utils" / "results" / "gpu_check.json"


def run_notebook(path: Path) -> int:
    """Execute a notebook's code cells in order in this process; print one JSON line per cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.show = lambda *a, **k: plt.close("all")  # figures are drawn, then dropped
    try:
        from IPython.display import display
    except ImportError:  # no IPython on the GPU machine: show what a notebook would, as text
        def display(*objs, **kwargs):
            for obj in objs:
                print(repr(obj))
    namespace = {"__name__": "__main__", "display": display}
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        start = time.perf_counter()
        try:
            exec(compile(source, f"<{path.stem} code cell {i}>", "exec"), namespace)
        except BaseException as e:  # noqa: BLE001 -- report, whatever it is
            print(json.dumps({"cell": i, "seconds": round(time.perf_counter() - start, 2),
                              "error": f"{type(e).__name__}: {e}"[:2000]}), flush=True)
            return 1
        print(json.dumps({"cell": i, "seconds": round(time.perf_counter() - start, 2)}), flush=True)
    return 0


def _environment(extra_site: Path | None) -> dict[str, str]:
    env = dict(os.environ, MPLBACKEND="Agg", COURSE_PROFILE=os.environ.get("COURSE_PROFILE", "gpu"))
    paths = [str(ROOT)] + ([str(extra_site)] if extra_site else [])
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH")] if p])
    if "COURSE_DATA_DIR" not in env:
        for candidate in (ROOT.parent / "shared" / "data", ROOT / "shared" / "data"):
            if candidate.is_dir():
                env["COURSE_DATA_DIR"] = str(candidate)
                break
    return env


def _install_wheels(wheels: Path, target: Path) -> str:
    found = sorted(wheels.glob("*.whl")) if wheels.is_dir() else []
    if not found:
        return "no wheels"
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                          "--target", str(target), *map(str, found)], capture_output=True, text=True)
    return f"installed {len(found)} wheels" if out.returncode == 0 else f"wheel install failed: {out.stderr[-300:]}"


def _run(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[str, str, float]:
    start = time.perf_counter()
    try:
        out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=max(timeout, 1))
        status = "ok" if out.returncode == 0 else "failed"
        text = out.stdout + ("\n" + out.stderr[-3000:] if out.returncode else "")
    except subprocess.TimeoutExpired as e:
        status = "timeout"
        text = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
    return status, text, time.perf_counter() - start


def check(*, budget: float, commit: str, benches: list[str], chapters: list[Path], out: Path,
          wheels: Path) -> dict:
    """Run the tasks within ``budget`` seconds and write ``out``; return the results."""
    import torch

    deadline = time.monotonic() + budget
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"no GPU ({platform.processor() or 'CPU'})"
    common = {"gpu": gpu, "torch": torch.__version__, "commit": commit}
    site = Path(tempfile.mkdtemp(prefix="gpu-check-site-"))
    wheel_note = _install_wheels(wheels, site)
    env = _environment(site)
    tasks = [("bench", b) for b in benches] + [("chapter", str(c)) for c in chapters]
    records = []
    for kind, what in tasks:
        left = deadline - time.monotonic()
        name = what if kind == "bench" else Path(what).stem
        record = {"task": f"{kind} {name}", **common}
        if left <= 1:
            records.append({**record, "status": "skipped", "seconds": 0.0, "error": "out of the check's time budget"})
            continue
        if kind == "bench":
            status, text, seconds = _run([sys.executable, "-m", "course_utils.bench", what], env, left)
            record.update(status=status, seconds=round(seconds, 1))
            lines = [ln for ln in text.splitlines() if ln.startswith("{")]
            if status == "ok" and lines:
                line = json.loads(lines[-1])
                record.update(metric=line.get("metric"), value=line.get("value"), bench=line)
            elif status != "ok":
                record["error"] = text.strip().splitlines()[-1][:500] if text.strip() else status
        else:
            status, text, seconds = _run([sys.executable, __file__, "--run-notebook", what], env, left)
            cells = [json.loads(ln) for ln in text.splitlines() if ln.startswith('{"cell"')]
            record.update(status=status, seconds=round(seconds, 1), cells=len(cells))
            errors = [c["error"] for c in cells if "error" in c]
            if errors:
                record["error"] = f"cell {cells[-1]['cell']}: {errors[-1]}"
            elif status != "ok":
                record["error"] = status
        records.append(record)
        print(json.dumps({k: v for k, v in record.items() if k != "bench"}), flush=True)
    results = {"measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **common,
               "python": platform.python_version(), "profile": env["COURSE_PROFILE"], "budget_s": budget,
               "wheels": wheel_note, "tasks": records}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    return results


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=510.0, help="seconds for every task together (default 510)")
    parser.add_argument("--commit", default=None, help="the commit under test (default: git rev-parse HEAD)")
    parser.add_argument("--benches", default=",".join(BENCHES), help="comma-separated bench tasks ('' for none)")
    parser.add_argument("--chapters", default="notebooks/*.ipynb", help="a glob of notebooks ('' for none)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--wheels", type=Path, default=ROOT / ".gpu-wheels", help="wheels to install first")
    parser.add_argument("--run-notebook", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_notebook:
        return run_notebook(args.run_notebook)
    if args.budget <= 0:
        print("gpu check: --budget must be positive seconds", file=sys.stderr)
        return 2
    benches = [b for b in args.benches.split(",") if b]
    chapters = sorted(Path(p) for p in glob.glob(str(ROOT / args.chapters))) if args.chapters else []
    results = check(budget=args.budget, commit=args.commit or _commit(), benches=benches, chapters=chapters,
                    out=args.out, wheels=args.wheels)
    ok = sum(t["status"] == "ok" for t in results["tasks"])
    print(f"gpu check: {ok} of {len(results['tasks'])} tasks ok on {results['gpu']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
