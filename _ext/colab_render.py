"""Render each chapter's MyST source (``book/<chapter>.md``) as the notebook Colab opens.

``book/*.md`` is the one source. The website reads it with MyST (citations, dropdowns,
admonitions); Colab reads ``notebooks/<chapter>.ipynb``, and Colab knows no MyST. So the
notebook is *generated* from the ``.md``, not paired with it:

* ``{footcite}`key``` becomes "(Redmon and Farhadi, 2017)", ``{footcite:t}`key``` becomes
  "Redmon and Farhadi (2017)", and ``{footbibliography}`` becomes the chapter's reference
  list, all from ``references.bib``;
* an ``{admonition}`` (or ``{note}``, ``{warning}``, ``{tip}``, ``{important}``) becomes a
  quoted paragraph under its bold title;
* a ``{literalinclude}`` becomes a code block holding the file's text;
* a solution cell (tag ``hide-cell``) becomes a Colab form: ``# @title Solution`` on its
  first line and ``cellView: form``, so Colab shows it collapsed under its title;
* the notebook's metadata asks Colab for a GPU runtime.

Any other MyST directive or role raises, naming the file and line, so that new syntax is
taught here before it can reach a learner as raw text. Code cells are otherwise copied
unchanged, so the notebook runs exactly the chapter's code.

    python _ext/colab_render.py           # write notebooks/*.ipynb (`make sync`)
    python _ext/colab_render.py --check   # exit 1 if a notebook is not what this makes
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

TEXT_DIR, NB_DIR = "book", "notebooks"
"""Where the chapter sources live, and where their rendered notebooks go (repository-relative)."""

ROOT = Path(__file__).resolve().parents[1]

ADMONITIONS = ("admonition", "note", "warning", "tip", "important", "caution", "attention", "hint", "seealso")
CITE = re.compile(r"\{footcite(?P<textual>:t)?\}`(?P<keys>[^`]+)`")
DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                       re.M | re.S)
# What must never reach a notebook: a directive fence, a role, a target label, a MyST comment.
MYST_ONLY = re.compile(r"^(`{3,}|:{3,})\{[a-z-]+\}|\{[a-z]+(:[a-z]+)?\}`|^\([\w-]+\)=\s*$|^%\s", re.M)


def is_chapter(md: Path) -> bool:
    """A chapter is a Jupytext MyST notebook (the introduction and bibliography are plain pages)."""
    return "\njupytext:" in md.read_text()[:300]


def chapters(root: Path = ROOT) -> list[Path]:
    """``book/*.md`` files that are chapters, sorted."""
    return sorted(p for p in (root / TEXT_DIR).glob("*.md") if is_chapter(p))


# ------------------------------------------------------------------ the bibliography


class Bibliography:
    """``references.bib`` as the two strings a notebook needs per entry: in-text and listed."""

    def __init__(self, path: Path) -> None:
        from pybtex.database import parse_file

        self.path = path
        self.entries = parse_file(str(path)).entries

    @staticmethod
    def _plain(latex: str) -> str:
        from pybtex.richtext import Text

        return Text.from_latex(latex).render_as("text")

    def _entry(self, key: str, where: str):
        if key not in self.entries:
            raise KeyError(f"{where}: citation key {key!r} is not in {self.path.name}")
        return self.entries[key]

    def _surnames(self, entry) -> list[str]:
        return [self._plain(" ".join(p.prelast_names + p.last_names)) for p in entry.persons.get("author", [])]

    def authors_short(self, key: str, where: str = "") -> str:
        names = self._surnames(self._entry(key, where))
        if len(names) >= 3:
            return f"{names[0]} et al."
        return " and ".join(names) if names else self._plain(self._entry(key, where).fields.get("title", key))

    def year(self, key: str, where: str = "") -> str:
        return self._entry(key, where).fields.get("year", "n.d.")

    def cite(self, keys: list[str], textual: bool, where: str) -> str:
        """``(A and B, 2017; C et al., 2016)``, or ``A and B (2017)`` when ``textual``."""
        if textual:
            return " and ".join(f"{self.authors_short(k, where)} ({self.year(k, where)})" for k in keys)
        return "(" + "; ".join(f"{self.authors_short(k, where)}, {self.year(k, where)}" for k in keys) + ")"

    def reference(self, key: str) -> str:
        """One list item: authors (year). Title. Venue. Link."""
        entry = self._entry(key, "")
        people = entry.persons.get("author", [])
        names = []
        for p in people:
            last = self._plain(" ".join(p.prelast_names + p.last_names))
            initials = " ".join(f"{self._plain(n)[0]}." for n in p.first_names + p.middle_names if self._plain(n))
            names.append(f"{last}, {initials}" if initials else last)
        authors = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1] if names else ""
        f = entry.fields
        parts = [f"{authors} ({f.get('year', 'n.d.')})." if authors else f"({f.get('year', 'n.d.')}).",
                 f"{self._plain(f.get('title', key))}."]
        venue = f.get("journal") or f.get("booktitle") or f.get("howpublished") or f.get("institution") \
            or f.get("publisher")
        if venue:
            parts.append(f"*{self._plain(venue)}*.")
        link = f.get("url") or (f"https://doi.org/{f['doi']}" if "doi" in f else "") \
            or (f"https://arxiv.org/abs/{f['eprint']}" if "eprint" in f else "")
        if link:
            parts.append(f"<{link}>")
        return " ".join(parts)


# ------------------------------------------------------------------ markdown


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def render_markdown(source: str, *, bib: Bibliography, cited: list[str], where: str, root: Path) -> str:
    """One markdown cell's MyST as CommonMark that Colab renders. ``cited`` collects keys in order."""

    def directive(m: re.Match) -> str:
        name, arg, body = m["name"], m["arg"].strip(), m["body"]
        options = dict(re.findall(r"^:(\w[\w-]*):[ \t]*(.*)$", body, re.M))
        body = re.sub(r"^:\w[\w-]*:.*\n?", "", body, flags=re.M).strip("\n")
        if name == "footbibliography":
            if not cited:
                return ""
            return "\n".join(f"- {bib.reference(k)}" for k in cited)
        if name in ADMONITIONS:
            title = arg if name == "admonition" else (arg or name.capitalize())
            quoted = "\n".join(f"> {line}" if line else ">" for line in body.splitlines())
            return f"> **{title}**\n>\n{quoted}"
        if name == "literalinclude":
            path = (root / TEXT_DIR / arg).resolve()
            if not path.is_file():
                raise FileNotFoundError(f"{where}:{_line_of(source, m.start())}: literalinclude {arg!r} not found")
            lang = options.get("language", "")
            return f"```{lang}\n{path.read_text().rstrip()}\n```"
        raise ValueError(f"{where}:{_line_of(source, m.start())}: MyST directive {{{name}}} has no Colab rendering; "
                         "add one to _ext/colab_render.py")

    def citation(m: re.Match) -> str:
        keys = [k.strip() for k in m["keys"].split(",") if k.strip()]
        for k in keys:
            bib._entry(k, f"{where}:{_line_of(source, m.start())}")
            if k not in cited:
                cited.append(k)
        return bib.cite(keys, bool(m["textual"]), where)

    # Citations first, so that a reference list below them sees every key of the cell.
    out = CITE.sub(citation, source)
    out = DIRECTIVE.sub(directive, out)
    left = MYST_ONLY.search(out)
    if left:
        raise ValueError(f"{where}: MyST-only syntax {left.group(0)!r} has no Colab rendering; "
                         "add one to _ext/colab_render.py")
    return out


# ------------------------------------------------------------------ the notebook


def render(md: Path, *, root: Path = ROOT, bib: Bibliography | None = None) -> dict:
    """The Colab notebook (nbformat 4 JSON as a dict) for one chapter source."""
    import jupytext

    bib = bib or Bibliography(root / "references.bib")
    nb = jupytext.read(md)
    cited: list[str] = []
    cells = []
    for i, cell in enumerate(nb.cells):
        where = f"{md.relative_to(root)} (cell {i})"
        meta = {k: v for k, v in cell.metadata.items()}
        source = cell.source
        if cell.cell_type == "markdown":
            source = render_markdown(source, bib=bib, cited=cited, where=where, root=root)
            cells.append({"cell_type": "markdown", "id": f"cell-{i:03d}", "metadata": meta, "source": source})
            continue
        if cell.cell_type != "code":
            raise ValueError(f"{where}: unexpected {cell.cell_type} cell")
        if "hide-cell" in meta.get("tags", []):
            source = "# @title Solution\n" + source
            meta["cellView"] = "form"
        cells.append({"cell_type": "code", "execution_count": None, "id": f"cell-{i:03d}", "metadata": meta,
                      "outputs": [], "source": source})
    for cell in cells:  # nbformat stores sources as lists of lines
        cell["source"] = cell["source"].splitlines(keepends=True)
    return {
        "cells": cells,
        "metadata": {
            "accelerator": "GPU",  # Colab opens it on a GPU runtime: the full recipe
            "colab": {"provenance": [], "toc_visible": True},
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def dumps(nb: dict) -> str:
    """The notebook's file text, as nbformat writes it (so Jupyter saves it back unchanged)."""
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def notebook_path(md: Path, root: Path = ROOT) -> Path:
    return root / NB_DIR / f"{md.stem}.ipynb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render book/*.md as the notebooks Colab opens.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is stale")
    args = parser.parse_args(argv)
    bib = Bibliography(ROOT / "references.bib")
    stale = []
    for md in chapters():
        text = dumps(render(md, bib=bib))
        out = notebook_path(md)
        if out.is_file() and out.read_text() == text:
            continue
        stale.append(out.relative_to(ROOT))
        if not args.check:
            out.parent.mkdir(exist_ok=True)
            out.write_text(text)
    names = ", ".join(map(str, stale)) or "none"
    if args.check:
        print(f"stale notebooks: {names}" + (" (run `make sync`)" if stale else ""))
        return 1 if stale else 0
    print(f"rendered: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
