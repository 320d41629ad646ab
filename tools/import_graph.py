"""The package's structure from its own source: modules, line counts, imports, layers, circles.

    python tools/import_graph.py            # the layers, bottom up, each module with its lines and imports
    python tools/import_graph.py --check    # exit 1 if an import points up, a circle exists, two domains
                                            # import each other, or a sibling is imported inside a function

Nothing is imported or run: the source is parsed with ``ast``. ``LAYERS`` is the map of
ARCHITECTURE.md; tests/test_architecture.py runs ``--check``'s rules on every commit.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = "course_utils"

LAYERS: dict[str, int] = {
    # 0: foundations -- nothing of the package below them
    "runtime": 0, "data": 0, "validate": 0,
    # 1: operations and networks
    "conv": 1, "pooling": 1, "augment": 1, "receptive_field": 1, "feature_maps": 1, "attribution": 1, "training": 1, "models": 1,
    "checks": 1,
    # 2: services every domain shares
    "checkpoint": 2, "recipe": 2, "plotting": 2, "widgets": 2,
    # 3: the domains, one package each, independent of one another
    "classification": 3, "detection": 3, "vlm": 3,
    # 4: entry points
    "bench": 4, "predict": 4,
}
"""Each top-level unit of the package (a module, or a sub-package as one unit) and its layer."""

DOMAINS = {"classification", "detection", "vlm"}


def modules(root: Path) -> dict[str, Path]:
    """``course_utils.x.y`` -> its file, for every module of the package."""
    out = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _resolve(module: str, is_package: bool, node: ast.ImportFrom, known: dict) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if is_package else 0)
        base = ".".join(parts[:keep] + ([node.module] if node.module else []))
    subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]  # `from . import runtime`
    return subs if len(subs) == len(node.names) else [base] + subs


def imports(root: Path) -> tuple[dict[str, set[str]], list[tuple[str, int, str]]]:
    """The package's import edges (module -> modules of the package), and the imports inside functions."""
    mods = modules(root)
    edges: dict[str, set[str]] = defaultdict(set)
    local: list[tuple[str, int, str]] = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        top = set(id(n) for n in tree.body)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                targets = _resolve(name, is_package, node, mods)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            ours = [t for t in targets if t in mods]
            if not ours:
                continue
            if id(node) not in top and not (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
                local.append((name, node.lineno, ", ".join(ours)))
            edges[name].update(t for t in ours if t != name)
    return edges, local


def unit(module: str) -> str:
    """The top-level unit of a module: ``course_utils.vlm.train`` -> ``vlm``; the package itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return out


def problems(root: Path) -> list[str]:
    """Every broken rule of ARCHITECTURE.md, one line each (empty: the structure holds)."""
    edges, local = imports(root)
    mods = modules(root)
    out = []
    for m in mods:
        u = unit(m)
        if u and u not in LAYERS:
            out.append(f"{m}: its unit {u!r} has no layer in tools/import_graph.py LAYERS (and ARCHITECTURE.md)")
    unit_edges = {(unit(x), unit(y)) for x, ys in edges.items() for y in ys}
    for a, targets in sorted(edges.items()):
        for b in sorted(targets):
            ua, ub = unit(a), unit(b)
            if not ua or not ub or ua == ub:
                continue
            if LAYERS.get(ub, -1) > LAYERS.get(ua, 99):
                out.append(f"{a} imports {b}: layer {LAYERS[ua]} ({ua}) imports upward, layer {LAYERS[ub]} ({ub})")
            elif ua in DOMAINS and ub in DOMAINS:
                out.append(f"{a} imports {b}: two domains depend on each other")
            elif LAYERS.get(ua) == LAYERS.get(ub) and (ub, ua) in unit_edges:
                out.append(f"{a} imports {b}: {ua} and {ub} import each other")
    for group in circles(edges):
        out.append("import circle: " + " -> ".join(group))
    for m, line, what in local:
        out.append(f"{mods[m].relative_to(root)}:{line}: imports {what} inside a function; sibling imports go at the top")
    return out


def report(root: Path) -> str:
    """The layers, bottom up: each module with its line count and what of the package it imports."""
    edges, _ = imports(root)
    mods = modules(root)
    by_layer: dict[int, list[str]] = defaultdict(list)
    for m in mods:
        by_layer[LAYERS.get(unit(m), 5) if unit(m) else 5].append(m)
    names = {0: "foundations", 1: "operations and networks", 2: "shared services", 3: "domains", 4: "entry points",
             5: "the package"}
    lines = []
    for layer in sorted(by_layer):
        lines.append(f"layer {layer}: {names[layer]}")
        for m in sorted(by_layer[layer]):
            n = len(mods[m].read_text().splitlines())
            deps = sorted({d.removeprefix(PACKAGE + ".") for d in edges.get(m, ())})
            lines.append(f"  {m.removeprefix(PACKAGE + '.') or PACKAGE:<34} {n:>4}  -> {', '.join(deps) or '-'}")
    total = sum(len(p.read_text().splitlines()) for p in mods.values())
    lines.append(f"{len(mods)} modules, {total:,} lines, {sum(len(v) for v in edges.values())} import edges")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check the rules; exit 1 if one is broken")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="the repository")
    args = parser.parse_args(argv)
    if not (args.root / PACKAGE).is_dir():
        print(f"error: no {PACKAGE}/ under {args.root}", file=sys.stderr)
        return 2
    found = problems(args.root)
    if not args.check:
        print(report(args.root))
    for p in found:
        print(p, file=sys.stderr)
    if args.check and not found:
        print("the structure holds: no circle, no upward import, domains independent, sibling imports at the top")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
