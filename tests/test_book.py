"""The book as a whole: rendered notebooks, TOC, set-up cells and the pinned release, the build, Colab links.

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
import colab_render  # noqa: E402
from colab_link import colab_url, course_version, pairing  # noqa: E402

TEXT_DIR, NB_DIR = pairing(ROOT)
VERSION = course_version(ROOT)
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


CHAPTERS = colab_render.chapters(ROOT)


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


def test_chapters_are_rendered_not_paired():
    """The notebooks are generated from the .md; a Jupytext pairing would let an edit in Jupyter
    write Colab's rendering (citations as text, form titles) back into the source."""
    assert not (ROOT / "jupytext.toml").exists(), "jupytext.toml pairs book/ and notebooks/: remove it"
    paired = [p.name for p in CHAPTERS if "formats:" in p.read_text().split("\n---", 1)[0]]
    assert not paired, f"chapters whose Jupytext header pairs them with a notebook: {paired}"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_notebook_is_exactly_what_the_renderer_makes(md: Path):
    nb_path = ROOT / NB_DIR / f"{md.stem}.ipynb"
    assert nb_path.is_file(), f"{md.name} has no rendered {nb_path.relative_to(ROOT)} (run `make sync`)"
    expected = colab_render.dumps(colab_render.render(md, root=ROOT))
    assert nb_path.read_text() == expected, f"{nb_path.name} is not what {md.name} renders to: run `make sync`"


@pytest.mark.parametrize("nb_path", sorted((ROOT / NB_DIR).glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebook_reads_cleanly_in_colab(nb_path: Path):
    """No MyST-only markup in what Colab renders, and every solution collapsed as a Colab form."""
    nb = json.loads(nb_path.read_text())
    for i, cell in enumerate(nb["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            found = colab_render.MYST_ONLY.search(source) or re.search(r"\{foot(cite|bibliography)", source)
            assert not found, f"{nb_path.name} cell {i}: MyST-only syntax {found.group(0)!r} shows as raw text in Colab"
        elif "hide-cell" in cell["metadata"].get("tags", []):
            assert cell["metadata"].get("cellView") == "form", f"{nb_path.name} cell {i}: solution not collapsed"
            assert source.startswith("# @title Solution\n"), f"{nb_path.name} cell {i}: a form needs its title line"
    assert nb["metadata"].get("accelerator") == "GPU", "Colab should open the chapter on a GPU runtime"


def _render_text(tmp_path: Path, body: str, bib: str = "") -> str:
    """Render a one-chapter book made of ``body`` (MyST) and return its markdown."""
    (tmp_path / TEXT_DIR).mkdir()
    (tmp_path / "references.bib").write_text(bib or "@article{smith2020,\n author = {Smith, Ann and Jones, Bo},\n"
                                            " title = {A {T}itle},\n journal = {J},\n year = {2020}\n}\n"
                                            "@misc{lee2019,\n author = {Lee, C. and Park, D. and Kim, E.},\n"
                                            " title = {Three},\n year = {2019},\n eprint = {1901.00001}\n}\n")
    md = tmp_path / TEXT_DIR / "x.md"
    md.write_text("---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
                  "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n" + body)
    nb = colab_render.render(md, root=tmp_path)
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_renderer_turns_citations_admonitions_and_bibliography_into_text(tmp_path: Path):
    text = _render_text(tmp_path, "# T\n\nAs {footcite:t}`smith2020` show {footcite}`smith2020,lee2019`.\n\n"
                                  "```{admonition} Careful\n:class: warning\nLine one.\n\nLine two.\n```\n\n"
                                  "## References\n\n```{footbibliography}\n```\n")
    assert "As Smith and Jones (2020) show (Smith and Jones, 2020; Lee et al., 2019)." in text
    assert "> **Careful**\n>\n> Line one.\n>\n> Line two." in text
    assert "- Smith, A. and Jones, B. (2020). A Title. *J*." in text
    assert "- Lee, C., Park, D. and Kim, E. (2019). Three. <https://arxiv.org/abs/1901.00001>" in text
    assert text.index("Smith, A.") < text.index("Lee, C."), "references in order of first citation"


@pytest.mark.parametrize("body, message", [
    ("```{figure} a.png\n:alt: x\n```\n", r"directive \{figure\} has no Colab rendering"),
    ("See {ref}`sec`.\n", "MyST-only syntax"),
    ("(sec)=\n## S\n", "MyST-only syntax"),
    ("Cite {footcite}`nobody`.\n", "'nobody' is not in references.bib"),
])
def test_renderer_refuses_myst_it_cannot_render(tmp_path: Path, body: str, message: str):
    with pytest.raises((ValueError, KeyError), match=message):
        _render_text(tmp_path, body)


def test_renderer_collapses_solutions_into_colab_forms(tmp_path: Path):
    _render_text(tmp_path, "```{code-cell} ipython3\n:tags: [hide-cell]\n\nx = 1\n```\n")
    nb = colab_render.render(tmp_path / TEXT_DIR / "x.md", root=tmp_path)
    (cell,) = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "".join(cell["source"]) == "# @title Solution\nx = 1" and cell["metadata"]["cellView"] == "form"


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
    assert re.fullmatch(r"v\d+\.\d+\.\d+", VERSION), "Colab installs a release tag, never a branch"
    project = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    assert VERSION == f"v{project}", f"_config.yml's course.version {VERSION} and pyproject's {project} differ"
    import course_utils

    assert course_utils.__version__ == project, "the installed package reports pyproject's version"
    assert re.fullmatch(r"https://github\.com/[^/]+/[^/]+", repo["url"])
    assert not CONFIG["launch_buttons"]["binderhub_url"], "the course has no Binder button"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_setup_cell_installs_the_pinned_release_of_course_utils(md: Path):
    """On Colab the set-up cell installs course_utils at the pinned tag: a push to main changes nothing there."""
    nb = jupytext.read(md)
    first_code = next(c for c in nb.cells if c.cell_type == "code").source
    repo = CONFIG["repository"]
    assert '"google.colab" in sys.modules' in first_code, "the set-up cell must install only on Colab"
    installs = re.findall(r'f?"course-utils(\[[^\]]*\])? @ git\+([^@"]+)@([^"]+)"', first_code)
    assert installs, "the set-up cell must install course-utils from the repository"
    for _, url, ref in installs:
        assert url == repo["url"], f"the set-up cell installs from {url}, _config.yml says {repo['url']}"
        assert ref == VERSION, f"the set-up cell installs @{ref}, not the pinned release @{VERSION} (_config.yml)"
    assert not re.search(r"\btorch(vision)?\b", first_code.split("pip")[1]), "the set-up cell must not install torch"
    pip_args = first_code.split("pip")[1]
    assert not re.search(r'"bitsandbytes', pip_args), "bitsandbytes comes with the [qlora] extra, and only with CUDA"
    if "qlora" in first_code:
        assert re.search(r'"vlm,qlora" if torch\.cuda\.is_available\(\) else "vlm"', first_code)


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
    # one set-up call (timer, device, seeding, the runtime line and the GPU time), nothing repeated by hand
    assert f'chapter = runtime.start_chapter("{md.stem}")' in code, "a chapter's set-up is runtime.start_chapter"
    for by_hand in ("chapter_timer", "seed_everything(", "runtime_info(", "gpu_timing("):
        assert by_hand not in code, f"{md.name} repeats set-up code ({by_hand}) that start_chapter does"
    last_code = [c.source for c in nb.cells if c.cell_type == "code"][-1]
    assert last_code.strip() == "print(chapter.summary())", "a chapter ends by printing its run time"
    # sizes come from recipes; by_profile stays only in the asserted thresholds
    sizes = [line for line in code.splitlines() if "by_profile(" in line and "assert" not in line
             and not line.lstrip().startswith("target =")]
    assert not sizes, f"{md.name} sets sizes with by_profile instead of a recipe: {sizes}"
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
    expected = colab_url(repo["url"], VERSION, f"{NB_DIR}/{md.stem}.ipynb")
    assert set(colab) == {expected}, f"Colab links {set(colab)} should all be {expected}"
    target = expected.split(f"/blob/{VERSION}/", 1)[1]
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


SOURCE_ARTICLES = ("bhatt-", "jercoli-cifar", "mlai-course", "sargupta2017dl05", "wft-classification")
# "the seed" is the project's word for the source articles, and a random seed to a learner
SEED_JARGON = re.compile(r"\b(the seed\b(?! (?:of|is|for|=))|seed's|seed articles?|seed code|seed CNN)", re.I)


@pytest.mark.parametrize("md", [p for p in CHAPTERS if p.stem[:2] in {f"0{i}" for i in range(1, 10)}],
                         ids=lambda p: p.stem)
def test_chapters_credit_their_source_articles_and_say_article_not_seed(md: Path):
    text = md.read_text()
    keys = {k.strip() for group in re.findall(r"\{footcite(?::\w+)?\}`([^`]+)`", text) for k in group.split(",")}
    assert any(k.startswith(SOURCE_ARTICLES) for k in keys), f"{md.name} credits none of the source articles"
    prose = re.sub(r"```\{code-cell\}.*?```", "", text, flags=re.S)
    jargon = [m.group(0) for m in SEED_JARGON.finditer(prose)]
    assert not jargon, f"{md.name} calls a source article 'the seed': {jargon[:5]}; name the article"


def test_every_source_article_is_in_the_bibliography_with_its_title():
    bib = (ROOT / "references.bib").read_text()
    entries = dict(re.findall(r"^@\w+\{([^,]+),(.*?)^\}", bib, re.M | re.S))
    for prefix in SOURCE_ARTICLES:
        matching = [k for k in entries if k.startswith(prefix)]
        assert matching, f"no bibliography entry for the source article {prefix!r}"
        for k in matching:
            assert re.search(r"title\s*=", entries[k]), f"{k} has no title"


@pytest.mark.book
def test_bibliography_page_lists_every_entry(built_site: Path):
    bib = (ROOT / "references.bib").read_text()
    n_entries = len(re.findall(r"^@\w+\{", bib, re.M))
    page = (built_site / TEXT_DIR / "bibliography.html").read_text()
    assert page.count('role="doc-biblioentry"') == n_entries


# ------------------------------------------------------------------ licences, citation, changelog


def test_licences_citation_and_changelog_match_the_release():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "Creative Commons Attribution 4.0 International" in (ROOT / "LICENSE-CC-BY-4.0.txt").read_text()
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["authors"] and citation["title"]
    assert f"v{citation['version']}" == VERSION, "CITATION.cff cites the pinned release"
    assert set(citation["license"]) == {"MIT", "CC-BY-4.0"}
    assert citation["repository-code"] == CONFIG["repository"]["url"]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(VERSION[1:])} \(tag `{re.escape(VERSION)}`", changelog, re.M), \
        f"CHANGELOG.md has no section for the pinned release {VERSION}"
    intro = (ROOT / TEXT_DIR / "intro.md").read_text()
    assert f"version {VERSION[1:]}" in intro, "the intro's citation names the pinned release"


@pytest.mark.book
def test_every_page_states_the_licences_and_the_badge_has_alt_text(built_site: Path):
    pages = sorted(built_site.glob(f"{TEXT_DIR}/*.html"))
    assert pages
    for page in pages:
        text = page.read_text()
        assert "CC BY 4.0" in text and "MIT licence" in text, f"{page.name}: no licence in the footer"
    for md in CHAPTERS:
        text = (built_site / TEXT_DIR / f"{md.stem}.html").read_text()
        badge = re.search(r'<p class="colab-badge">.*?</p>', text, re.S)[0]
        assert re.search(r'<img [^>]*alt="[^"]+"', badge), f"{md.stem}: the Colab badge's image has no alt text"
    licences = (built_site / TEXT_DIR / "licences.html").read_text()
    photos = {name for md in CHAPTERS for name in re.findall(r"skdata\.(\w+)\(", md.read_text())}
    assert photos, "the chapters use scikit-image's photos"
    for source in {"MNIST", "CIFAR-10"} | {f"<code class=\"docutils literal notranslate\"><span class=\"pre\">{p}</span>" for p in photos}:
        assert source in licences, f"the licences page does not list {source}"


def test_nbval_waits_long_enough_for_a_finished_cells_outputs():
    """notebooks/conftest.py replaces nbval's fixed 5-second wait for outputs, in both lanes."""
    import importlib.util

    from nbval.plugin import IPyNbCell

    spec = importlib.util.spec_from_file_location("notebooks_conftest", ROOT / "notebooks" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cell = IPyNbCell.__new__(IPyNbCell)
    cell.output_timeout = 5  # what nbval's constructor sets
    module.pytest_collection_modifyitems([cell])
    assert cell.output_timeout == module.OUTPUT_TIMEOUT_S >= 30
    assert "notebooks" in (ROOT / ".ci" / "colab" / "run").read_text()  # the Colab lane copies the folder


@pytest.mark.book
def test_pages_declare_each_script_once(built_site: Path):
    # sphinx-thebe's config script was added twice per page: "Identifier 'THEBE_JS_URL' has already
    # been declared" in the browser (_ext/page_scripts.py drops the repeat)
    for page in ("book/03_receptive_fields.html", "book/09_multimodal_llm.html", "index.html"):
        html = (built_site / page).read_text()
        assert html.count("const THEBE_JS_URL") <= 1, page
        scripts = re.findall(r'<script src="([^"]+)"', html)
        assert len(scripts) == len(set(scripts)), page


@pytest.mark.book
def test_maths_is_served_by_the_site_itself(built_site: Path):
    # MathJax from a CDN left raw \( ... \) on every page of a site built or read offline
    html = (built_site / "book" / "03_receptive_fields.html").read_text()
    assert '<script defer="defer" src="../_static/mathjax/tex-mml-chtml.js"></script>' in html
    assert "cdn.jsdelivr.net/npm/mathjax" not in html
    mathjax = built_site / "_static" / "mathjax"
    assert (mathjax / "tex-mml-chtml.js").stat().st_size > 500_000
    assert (mathjax / "output" / "chtml" / "fonts" / "woff-v2" / "MathJax_Main-Regular.woff").is_file()


@pytest.mark.book
def test_pages_load_the_course_stylesheet(built_site: Path):
    # _static/course.css lets inline code wrap and wide display maths scroll on a phone (390 px)
    html = (built_site / "book" / "09_multimodal_llm.html").read_text()
    assert re.search(r'<link rel="stylesheet" type="text/css" href="../_static/course.css\?v=\w+"', html)
    css = (built_site / "_static" / "course.css").read_text()
    assert "overflow-wrap: anywhere" in css and 'mjx-container[jax="CHTML"][display="true"]' in css


@pytest.mark.book
def test_the_site_ships_each_chapters_notebook_and_a_zip_of_all(built_site: Path):
    import zipfile

    chapters = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(chapters) == 9
    for name in chapters:
        assert (built_site / "notebooks" / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()
    with zipfile.ZipFile(built_site / "notebooks.zip") as archive:
        assert sorted(archive.namelist()) == [f"notebooks/{n}" for n in chapters]
    html = (built_site / "book" / "07_detection_yolo.html").read_text()
    assert '<a href="../notebooks/07_detection_yolo.ipynb" download>download the notebook</a>' in html
    menu = re.search(r'<a href="([^"]+)"[^>]*\n?\s*class="btn btn-sm btn-download-notebook-button', html)
    assert menu and menu.group(1) == "../notebooks/07_detection_yolo.ipynb"
    assert "btn-download-notebook-button" not in (built_site / "book" / "intro.html").read_text()


BROWSER = ROOT / "tests" / "browser"
SEARCH_TERMS = {"Sobel": "02_convolutions", "PocketSphinx": "09_multimodal_llm"}  # each in one chapter only


def _browser_missing() -> str | None:
    import os
    import shutil

    if shutil.which("node") is None:
        return "node is not installed"
    if not (BROWSER / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed (npm install --prefix tests/browser)"
    if not Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")).is_file():
        return "Chromium is not installed (apt-get install chromium, or set COURSE_CHROMIUM)"
    return None


@pytest.fixture(scope="session")
def browser_report(built_site: Path) -> dict:
    """Every page of the site, served on 127.0.0.1, opened in headless Chromium at 1280 and 390 px."""
    import functools
    import http.server
    import os
    import threading

    missing = _browser_missing()
    if missing:
        if os.environ.get("COURSE_BROWSER_TESTS") == "1":  # .ci/run sets it: there the browser must run
            pytest.fail(f"browser tests required, but {missing}")
        pytest.skip(missing)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # no line per request in the test's output
            pass

    handler = functools.partial(Quiet, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    pages = ["index.html"] + sorted(str(p.relative_to(built_site)) for p in (built_site / "book").glob("*.html"))
    try:
        out = subprocess.run(["node", str(BROWSER / "pages.js"), base, *pages], capture_output=True, text=True,
                             timeout=600, env={**os.environ, "COURSE_SEARCH_TERMS": ",".join(SEARCH_TERMS)})
    finally:
        server.shutdown()
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    report["base"] = base
    return report


@pytest.mark.book
def test_every_page_in_a_browser_has_no_errors_loads_its_images_and_renders_its_maths(browser_report):
    base = browser_report["base"]
    assert len(browser_report["pages"]) >= 14
    problems = []
    for name, views in browser_report["pages"].items():
        for view, seen in views.items():
            where = f"{name} ({view})"
            problems += [f"{where}: script error {e}" for e in seen["errors"]]
            problems += [f"{where}: failed request {u}" for u in seen["failed"] if u.startswith(base)]
            for img in seen["images"]:
                if not img["loaded"] or not img["alt"]:
                    problems.append(f"{where}: image {img['src']} loaded={img['loaded']} alt={img['alt']!r}")
            if seen["mathSource"] and (not seen["mathRendered"] or seen["rawDelimiters"]):
                problems.append(f"{where}: maths not rendered ({seen['mathRendered']} rendered of "
                                f"{seen['mathSource']}, {seen['rawDelimiters']} raw delimiters)")
            if view == "phone" and seen["scrollWidth"] > seen["clientWidth"]:
                problems.append(f"{where}: {seen['scrollWidth']} px wide on a {seen['clientWidth']} px screen")
    assert not problems, "\n".join(problems)
    chapter3 = browser_report["pages"]["book/03_receptive_fields.html"]["desktop"]
    assert chapter3["mathRendered"] >= 10  # the check above is not vacuous: this page is full of maths


@pytest.mark.book
def test_search_finds_the_one_chapter_with_a_term(browser_report):
    for term, chapter in SEARCH_TERMS.items():
        hits = browser_report["search"][term]
        assert any(chapter in h for h in hits), (term, hits)
        assert not any("01_pixels" in h for h in hits), (term, hits)
