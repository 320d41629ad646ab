"""The book as a whole: chapter pairing, stored notebooks, TOC, set-up cells, the build, Colab links.

The build here runs with execution off and warnings as errors: nbval (in the same
test run) already executes every notebook, so executing them again would only
double CI's time. `make book` is the executing build.
"""

from __future__ import annotations

import html.parser
import json
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
from colab_link import colab_url, pairing  # noqa: E402

TEXT_DIR, NB_DIR = pairing(ROOT)
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


def chapter_sources() -> list[Path]:
    """book/*.md files that are Jupytext notebooks (chapters), as opposed to plain pages."""
    return sorted(p for p in (ROOT / TEXT_DIR).glob("*.md") if "\njupytext:" in p.read_text()[:300])


CHAPTERS = chapter_sources()


def toc_files(node) -> list[str]:
    """Every `file:` (and the root) named anywhere in _toc.yml."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root"):
                found.append(value)
            else:
                found += toc_files(value)
    elif isinstance(node, list):
        for item in node:
            found += toc_files(item)
    return found


def test_there_are_chapters():
    assert CHAPTERS, f"no chapters found in {TEXT_DIR}/"
    assert (TEXT_DIR, NB_DIR) == ("book", "notebooks")


def test_jupytext_pairing_is_declared_once():
    headers = [p for p in CHAPTERS if "formats: book///md:myst,notebooks///ipynb" not in p.read_text()]
    assert not headers, f"chapters whose header does not use jupytext.toml's pairing: {headers}"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_and_notebook_are_in_sync(md: Path):
    nb_path = ROOT / NB_DIR / f"{md.stem}.ipynb"
    assert nb_path.is_file(), f"{md.name} has no paired {nb_path.relative_to(ROOT)} (run `make sync`)"
    text, notebook = jupytext.read(md), jupytext.read(nb_path)

    def cells(nb):
        return [(c.cell_type, c.source.strip(), c.metadata.get("tags", [])) for c in nb.cells]

    assert cells(text) == cells(notebook), f"{md.name} and {nb_path.name} differ: run `make sync`"


def test_every_notebook_has_a_chapter():
    orphans = [p.name for p in (ROOT / NB_DIR).glob("*.ipynb") if not (ROOT / TEXT_DIR / f"{p.stem}.md").is_file()]
    assert not orphans, f"notebooks without a book/*.md source: {orphans}"


@pytest.mark.parametrize("nb_path", sorted((ROOT / NB_DIR).glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_carry_no_outputs(nb_path: Path):
    nb = json.loads(nb_path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{nb_path.name}: cells {dirty} have stored outputs; strip them (jupytext --sync rewrites without)"


def test_toc_entries_exist_and_list_every_page():
    listed = toc_files(TOC)
    missing = [f for f in listed if not (ROOT / f"{f}.md").is_file() and not (ROOT / f"{f}.ipynb").is_file()]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"
    pages = {str(p.relative_to(ROOT).with_suffix("")) for p in (ROOT / TEXT_DIR).glob("*.md")}
    unlisted = sorted(pages - set(listed))
    assert not unlisted, f"pages missing from _toc.yml: {unlisted}"
    assert len(listed) == len(set(listed)), "a page is listed twice in _toc.yml"


def test_repository_is_configured_once():
    repo = CONFIG["repository"]
    assert repo["branch"] == "main"
    assert re.fullmatch(r"https://github\.com/[^/]+/[^/]+", repo["url"])
    assert not CONFIG["launch_buttons"]["binderhub_url"], "the course has no Binder button"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_setup_cell_installs_course_utils_from_the_configured_repository(md: Path):
    nb = jupytext.read(md)
    first_code = next(c for c in nb.cells if c.cell_type == "code").source
    repo = CONFIG["repository"]
    expected = f"course-utils @ git+{repo['url']}@{repo['branch']}"
    assert '"google.colab" in sys.modules' in first_code, "the set-up cell must install only on Colab"
    assert expected in first_code, f"the set-up cell must install {expected!r} (from _config.yml)"
    assert not re.search(r"\btorch(vision)?\b", first_code.split("pip")[1]), "the set-up cell must not install torch"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_anatomy(md: Path):
    text = md.read_text()
    nb = jupytext.read(md)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert re.search(r"^# \S", text, re.M), "a chapter starts with a title"
    for part in ("**What you will learn**", "**What you need**", "**Runtime**", "## Exercises", "## Summary", "## References"):
        assert part in text, f"{md.name} lacks {part!r}"
    # document-local citations: a key cited in several chapters must not collide
    assert "{footbibliography}" in text and "{footcite" in text
    assert "{cite" not in text and "{bibliography}" not in text, "chapters use {footcite} and {footbibliography}"
    assert "runtime_info(" in code, "a chapter prints its profile and device"
    assert "assert " in code, "a chapter asserts its key facts"
    assert "hide-cell" in text, "exercise solutions are collapsed"
    figures = [c for c in nb.cells if c.cell_type == "code" and re.search(r"\b(show_\w+|plt\.show)\(", c.source)]
    no_alt = [c.source.splitlines()[0] for c in figures if "alt" not in c.metadata.get("mystnb", {}).get("image", {})]
    assert not no_alt, f"figure cells without alt text: {no_alt}"


# ------------------------------------------------------------------ the build and its Colab links


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """Build the website without executing notebooks, warnings as errors; return its html folder."""
    out = tmp_path_factory.mktemp("site")
    config = dict(CONFIG)
    config["execute"] = {**CONFIG["execute"], "execute_notebooks": "off"}
    sphinx = dict(config["sphinx"])
    sphinx["local_extensions"] = {name: str(ROOT / path) for name, path in sphinx["local_extensions"].items()}
    config["sphinx"] = sphinx
    config["bibtex_bibfiles"] = [str(ROOT / f) for f in CONFIG["bibtex_bibfiles"]]
    (out / "_config.yml").write_text(yaml.safe_dump(config))
    jupyter_book = Path(sys.executable).with_name("jupyter-book")  # the CLI of this environment
    cmd = [str(jupyter_book), "build", str(ROOT), "--path-output", str(out),
           "--config", str(out / "_config.yml"), "--all", "--warningiserror", "--nitpick", "--keep-going"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return out / "_build" / "html"


@pytest.mark.book
def test_book_builds_with_intro_and_search(built_site: Path):
    assert (built_site / "index.html").is_file() and (built_site / "search.html").is_file()
    intro = (built_site / "book" / "intro.html").read_text()
    assert "Runtime profiles" in intro and "COURSE_DATA_DIR" in intro and "nbval" in intro


@pytest.mark.book
@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_page_links_to_its_notebook_on_colab(built_site: Path, md: Path):
    page = built_site / TEXT_DIR / f"{md.stem}.html"
    assert page.is_file(), f"{md.name} was not built"
    parser = _Links()
    parser.feed(page.read_text())
    colab = [h for h in parser.hrefs if h.startswith("https://colab.research.google.com/github/")]
    assert len(colab) >= 2, "expected the badge under the title and the launch button"
    repo = CONFIG["repository"]
    expected = colab_url(repo["url"], repo["branch"], f"{NB_DIR}/{md.stem}.ipynb")
    assert set(colab) == {expected}, f"Colab links {set(colab)} should all be {expected}"
    target = expected.split(f"/blob/{repo['branch']}/", 1)[1]
    assert (ROOT / target).is_file(), f"the Colab link targets {target}, which is not in the repository"
    assert not any(".md" in h for h in colab)
    text = page.read_text()
    assert "Launch on Binder" not in text and not any("binder" in h.lower() for h in parser.hrefs), "no Binder button"
    assert "btn-download-notebook-button" in text, "a download button offers the notebook"


def test_colab_url_needs_a_github_repository():
    assert colab_url("https://github.com/a/b.git", "main", "notebooks/x.ipynb") == (
        "https://colab.research.google.com/github/a/b/blob/main/notebooks/x.ipynb"
    )
    with pytest.raises(ValueError, match="GitHub repository URL"):
        colab_url("https://gitlab.com/a/b", "main", "notebooks/x.ipynb")


@pytest.mark.book
@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_every_citation_resolves_to_the_chapter_reference_list(built_site: Path, md: Path):
    """The build suppresses MyST's footnote warnings (they misfire on {footcite}), so check the result here."""
    keys = set(re.findall(r"\{footcite(?::\w+)?\}`([^`]+)`", md.read_text()))
    keys = {k.strip() for group in keys for k in group.split(",")}
    page = (built_site / TEXT_DIR / f"{md.stem}.html").read_text()
    entries = set(re.findall(r'id="footcite-([^"]+)"', page))
    assert entries == keys, f"reference list {sorted(entries)} != cited keys {sorted(keys)}"
    targets = set(re.findall(r'href="#footcite-([^"]+)"', page))
    assert targets == keys, "every in-text citation links to its entry"


@pytest.mark.book
def test_bibliography_page_lists_every_entry(built_site: Path):
    bib = (ROOT / "references.bib").read_text()
    n_entries = len(re.findall(r"^@\w+\{", bib, re.M))
    page = (built_site / TEXT_DIR / "bibliography.html").read_text()
    assert page.count('role="doc-biblioentry"') == n_entries
