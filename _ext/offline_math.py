"""Sphinx extension: the maths renders without internet, from a MathJax copy served by the site.

Sphinx loads MathJax 3 from a CDN by default, so a reader who builds the site offline
(as the README invites) saw raw ``\\(j\\)`` and ``\\[ ... \\]`` in chapters 3 to 9. The
PyPI package ``sphinx-mathjax-offline`` (pinned in ``requirements.txt``) ships MathJax
3.2's browser bundles and fonts; this extension copies the one Sphinx would have
fetched, ``tex-mml-chtml.js``, with its fonts, into ``_static/mathjax/`` and points
``mathjax_path`` at it. (Its own setup points at ``tex-chtml.js`` instead and copies
every bundle, 24 MB; so we use its files, not its extension.)

Without that package the build keeps the CDN and says so once.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
BUNDLE = "tex-mml-chtml.js"  # Sphinx's default MathJax 3 component: TeX and MathML in, HTML-CSS out
NEEDED = (BUNDLE, "output/chtml/fonts/woff-v2")  # the bundle loads its fonts from here


def mathjax_dir() -> Path | None:
    """The installed MathJax files (``.../sphinx-mathjax-offline/static/mathjax``), or None."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"
    return folder if (folder / BUNDLE).is_file() else None


def _on_config(app: Sphinx, config: Config) -> None:
    if mathjax_dir() is None:
        LOGGER.info("offline_math: sphinx-mathjax-offline is not installed; MathJax comes from its CDN")
        return
    config.mathjax_path = f"mathjax/{BUNDLE}"  # relative: Sphinx serves it from _static/


def _on_finished(app: Sphinx, exc: Exception | None) -> None:
    source = mathjax_dir()
    if exc is not None or source is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in NEEDED:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _on_config)
    app.connect("build-finished", _on_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
