"""Sphinx extension: each page loads each of its scripts once.

Jupyter Book 1.x loads sphinx-thebe, which adds its configuration script
(``const THEBE_JS_URL = ...``) every time Sphinx is about to read documents. A
Jupyter Book build reads twice, so every page declared the constant twice and
the browser stopped at ``SyntaxError: Identifier 'THEBE_JS_URL' has already been
declared``, skipping the rest of that script. This extension drops the repeats
from each page's script list, keeping the first of each (same file, or same
inline body, and same attributes). The inline ``togglebuttonSelector`` script was
repeated the same way.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _key(script: Any) -> tuple:
    """The file and attributes (an inline script's body among them); an inline script's file is
    ``None`` when one extension adds it and ``""`` when another does, so both count as none."""
    attributes = tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items()))
    filename = getattr(script, "filename", script)  # older Sphinx: a plain str
    return (filename or "", attributes)


def _on_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _on_page, priority=900)  # after every extension has added its own
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
