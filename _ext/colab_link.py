"""Sphinx extension: "Open in Colab" links that open the paired ``.ipynb``.

sphinx-book-theme builds its Colab launch button from the page's source file,
which for this course is ``book/<chapter>.md``: Colab cannot open MyST Markdown.
The chapters are paired by Jupytext with ``notebooks/<chapter>.ipynb`` (declared
once, in ``jupytext.toml``), so this extension

1. re-points the theme's Colab launch button at the paired notebook,
2. points the theme's download menu's ``.ipynb`` at that notebook (MyST-NB's copy of the
   ``.md`` keeps MyST citations and directives, raw text in Jupyter),
3. puts an "Open in Colab" badge under each chapter's title, with a download link, and
4. ships the notebooks with the site: ``notebooks/<chapter>.ipynb`` and ``notebooks.zip``.

Both open the notebook at the course's pinned release (``course: version:`` in ``_config.yml``),
the same version the notebook's set-up cell installs, in the repository of ``repository: url:``
(which Jupyter Book passes to the theme as ``repository_url``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
COLAB = "https://colab.research.google.com"
LOGO = "_static/images/logo_colab.png"  # shipped by sphinx-book-theme: the badge works offline too


sys.path.insert(0, str(Path(__file__).parent))
from colab_render import NB_DIR, TEXT_DIR  # noqa: E402


def pairing(root: Path | None = None) -> tuple[str, str]:
    """``(text_dir, notebook_dir)``: where chapter sources live and where their notebooks are rendered."""
    return TEXT_DIR, NB_DIR


def course_version(root: Path) -> str:
    """The pinned release (``course: version:`` in ``_config.yml``): the git tag Colab learners get."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())
    version = (config.get("course") or {}).get("version")
    if not isinstance(version, str) or not re.fullmatch(r"v\d+\.\d+\.\d+\S*", version):
        raise ValueError(f"_config.yml needs `course: version: vX.Y.Z` (a git tag), got {version!r}")
    return version


def colab_url(repo_url: str, ref: str, notebook_path: str) -> str:
    """Colab's URL for a notebook file in a GitHub repository, at a branch or tag ``ref``."""
    match = re.match(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?$", repo_url)
    if not match:
        raise ValueError(f"Colab links need a GitHub repository URL, got {repo_url!r}")
    org, repo = match.groups()
    return f"{COLAB}/github/{org}/{repo}/blob/{ref}/{notebook_path}"


def _notebook_for(app: Sphinx, pagename: str) -> str | None:
    text_dir, nb_dir = pairing(Path(app.srcdir))
    if not pagename.startswith(text_dir + "/"):
        return None
    source = Path(app.srcdir) / f"{pagename}.md"
    if not source.is_file() or "jupytext:" not in source.read_text()[:2000]:
        return None  # a plain page (e.g. the introduction), not a chapter notebook
    return f"{nb_dir}/{pagename[len(text_dir) + 1:]}.ipynb"


def _on_page(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    notebook = _notebook_for(app, pagename)
    if notebook is None:
        return
    if not (Path(app.srcdir) / notebook).is_file():
        LOGGER.warning(f"{pagename}: rendered notebook {notebook} is missing (run `make sync`)")
        return
    options = app.config.html_theme_options
    if not options.get("repository_url"):
        raise ValueError("Colab links need `repository: url:` in _config.yml")
    url = colab_url(options["repository_url"], course_version(Path(app.srcdir)), notebook)
    # 1. The theme's launch button (added by sphinx-book-theme at priority 501).
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if isinstance(group, dict) else []:
            if button.get("text") == "Colab":
                button["url"] = url
    # 2. The theme's download menu offers this notebook, the one Colab opens (the site ships a copy,
    # see _copy_notebooks), rather than MyST-NB's copy of the .md, whose MyST citations and
    # directives Jupyter would show as raw text (colab_render renders them).
    download = context["pathto"](notebook, 1)
    for group in context.get("header_buttons", []):
        buttons = group.get("buttons", []) if isinstance(group, dict) else []
        if not any(b.get("text") == ".md" for b in buttons):
            continue  # not the download menu
        ipynb = [b for b in buttons if b.get("text") == ".ipynb"]
        if ipynb:
            ipynb[0]["url"] = download
        else:
            buttons.insert(0, {"type": "link", "url": download, "text": ".ipynb", "icon": "fas fa-code",
                               "tooltip": "Download notebook file", "label": "download-notebook-button"})
    # 3. A badge under the title, visible without opening the launch menu.
    logo = context["pathto"](LOGO, 1)
    badge = (
        f'<p class="colab-badge"><a class="sd-btn sd-btn-outline-primary" href="{url}" target="_blank" '
        f'rel="noopener"><img src="{logo}" alt="Colab logo" style="height:1.2em;vertical-align:middle;margin-right:.4em">'
        f"Open in Colab</a> <small>(runs <code>{notebook}</code>; choose a GPU runtime for the full recipe; "
        f'or <a href="{download}" download>download the notebook</a> to run it locally)</small></p>'
    )
    body = context.get("body", "")
    new_body, n = re.subn(r"(</h1>)", r"\1" + badge, body, count=1)
    context["body"] = new_body if n else badge + body


def _copy_notebooks(app: Sphinx, exc: Exception | None) -> None:
    """Ship every chapter's notebook with the site (``notebooks/*.ipynb``), and all of them as
    ``notebooks.zip``, so a reader can download what the pages link to, offline too."""
    if exc is not None or app.builder.format != "html":
        return
    import shutil
    import zipfile

    _, nb_dir = pairing(Path(app.srcdir))
    notebooks = sorted((Path(app.srcdir) / nb_dir).glob("*.ipynb"))
    target = Path(app.outdir) / nb_dir
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(Path(app.outdir) / f"{nb_dir}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in notebooks:
            shutil.copy2(path, target / path.name)
            archive.write(path, f"{nb_dir}/{path.name}")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _on_page, priority=502)
    app.connect("build-finished", _copy_notebooks)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
