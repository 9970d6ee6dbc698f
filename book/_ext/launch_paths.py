"""Point the launch buttons (Binder, Colab) of a chapter at its committed notebook.

The chapters are executed copies in ``book/generated/`` (git-ignored), one per
representation for some notebooks (``04_attacks_mel`` from ``notebooks/04_attacks.ipynb``);
sphinx-book-theme links a page's own path, which is not in the repository. This rewrites
those links to ``notebooks/<notebook>.ipynb``.
"""
from __future__ import annotations

import re
from pathlib import Path

GENERATED = "book/generated/"


def committed_notebook(srcdir: Path, pagename: str) -> str | None:
    """``notebooks/<name>.ipynb`` for a generated page, or None for any other page."""
    if not pagename.startswith(GENERATED):
        return None
    stem = pagename[len(GENERATED):]
    for candidate in (stem, re.sub(r"_[a-z]+$", "", stem)):
        if (srcdir / "notebooks" / f"{candidate}.ipynb").is_file():
            return f"notebooks/{candidate}.ipynb"
    return None


def _rewrite(buttons, old: str, new: str) -> None:
    for button in buttons or []:
        if isinstance(button, dict):
            url = button.get("url")
            if isinstance(url, str) and url.startswith("http"):  # not the download links
                button["url"] = url.replace(old, new)
            _rewrite(button.get("buttons"), old, new)


def rewrite_launch_links(app, pagename, templatename, context, doctree):
    target = committed_notebook(Path(app.srcdir), pagename)
    if target:
        # "./book/generated/x.ipynb" or "book/generated/x.ipynb", as the theme built it
        _rewrite(context.get("header_buttons"), f"./{pagename}.ipynb", target)
        _rewrite(context.get("header_buttons"), f"{pagename}.ipynb", target)


def setup(app):
    # after sphinx-book-theme's add_launch_buttons (priority 501)
    app.connect("html-page-context", rewrite_launch_links, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
