"""Point the launch buttons (Binder, Colab) of a chapter at a committed notebook that opens
with the chapter's own parameters.

The chapters are executed copies in ``book/generated/`` (git-ignored), one per
representation for some notebooks (``04_attacks_stft`` from ``notebooks/04_attacks.ipynb``
with ``representation = "stft"``); sphinx-book-theme links a page's own path, which is not
in the repository. Binder and Colab open a path in the repository and nothing else: no
parameter travels with the link, and a kernel cannot read the page it was launched from.
So each representation a notebook does not open with by default has a committed copy of
that notebook in ``notebooks/by_representation/`` that differs from it only in the
``representation`` its parameters cell sets (and the page title naming it). A page is
launched as

- ``notebooks/<page>.ipynb`` when the page is one notebook's (``01_data``);
- ``notebooks/<notebook>.ipynb`` when the page's representation is the notebook's default
  (``04_attacks_mel``);
- ``notebooks/by_representation/<page>.ipynb`` otherwise (``04_attacks_stft_paper``).

The copies are written from the notebooks by running this file (after editing a
notebook: ``.venv/bin/python book/_ext/launch_paths.py``); the tests fail while a copy
differs from what it would write, and the build warns about a page with no notebook to
launch.
"""
from __future__ import annotations

import ast
import copy
import json
import sys
from pathlib import Path

GENERATED = "book/generated/"
COPIES = "notebooks/by_representation"
PARAMETER = "representation"


def _parameters_cell(nb: dict) -> dict | None:
    return next((c for c in nb["cells"] if c["cell_type"] == "code"
                 and "parameters" in c.get("metadata", {}).get("tags", [])), None)


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def parameter_default(nb: dict, name: str = PARAMETER):
    """The value the parameters cell of a notebook (its JSON, as a dict) gives ``name``;
    None where it gives none. Read with ``ast``: the cell is never run."""
    cell = _parameters_cell(nb)
    if cell is None:
        return None
    for node in ast.parse(_source(cell)).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _split(notebooks: Path, stem: str) -> tuple[Path, str] | None:
    """(notebook, representation) of a per-representation page ``<notebook>_<rep>``: the
    notebook with the longest such name whose parameters cell sets a representation."""
    for nb_path in sorted(notebooks.glob("*.ipynb"), key=lambda p: -len(p.stem)):
        if stem.startswith(nb_path.stem + "_") and \
                parameter_default(_read(nb_path)) is not None:
            return nb_path, stem[len(nb_path.stem) + 1:]
    return None


def committed_notebook(srcdir: Path, pagename: str) -> str | None:
    """The notebook in the repository that opens as the page ``pagename`` shows it
    (``notebooks/...ipynb``, relative to ``srcdir``), or None for a page that is not a
    generated chapter or has no such notebook."""
    if not pagename.startswith(GENERATED):
        return None
    stem = pagename[len(GENERATED):]
    notebooks = Path(srcdir) / "notebooks"
    if (notebooks / f"{stem}.ipynb").is_file():
        return f"notebooks/{stem}.ipynb"
    split = _split(notebooks, stem)
    if split is None:
        return None
    nb_path, rep = split
    if parameter_default(_read(nb_path)) == rep:
        return f"notebooks/{nb_path.name}"
    if (Path(srcdir) / COPIES / f"{stem}.ipynb").is_file():
        return f"{COPIES}/{stem}.ipynb"
    return None


def generated_pages(srcdir: Path) -> list[str]:
    """The book's chapters from ``book/generated/`` in ``_toc.yml``, as page names."""
    import yaml

    pages = []

    def walk(node):
        if isinstance(node, dict):
            if str(node.get("file", "")).startswith(GENERATED):
                pages.append(str(node["file"]).removesuffix(".ipynb"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load((Path(srcdir) / "_toc.yml").read_text()))
    return pages


def representation_copies(srcdir: Path) -> dict[str, str]:
    """Every copy the book's pages need, ``{path relative to srcdir: notebook text}``.

    A copy is its notebook with the representation set in its parameters cell, the page
    title naming the representation (as the runner titles the page) and
    ``metadata.specadv.copy_of`` naming the notebook to edit instead."""
    import nbformat

    from specadv.runner import REPRESENTATION_NAMES

    notebooks = Path(srcdir) / "notebooks"
    copies = {}
    for page in generated_pages(srcdir):
        stem = page[len(GENERATED):]
        split = None if (notebooks / f"{stem}.ipynb").is_file() else _split(notebooks, stem)
        if split is None:
            continue
        nb_path, rep = split
        nb = nbformat.read(nb_path, as_version=4)
        if parameter_default(nb) == rep:
            continue
        nb = copy.deepcopy(nb)
        cell = _parameters_cell(nb)
        lines = cell.source.split("\n")
        at = next(i for i, line in enumerate(lines) if _assigns(line, PARAMETER))
        value, sep, comment = lines[at].partition("#")
        lines[at] = f"{PARAMETER} = {json.dumps(rep)}" + (f"  #{comment}" if sep else "")
        cell.source = "\n".join(lines)
        title = next((c for c in nb.cells if c.cell_type == "markdown"), None)
        if title is not None and title.source.startswith("# "):
            head, nl, rest = title.source.partition("\n")
            title.source = f"{head} ({REPRESENTATION_NAMES.get(rep, rep)}){nl}{rest}"
        nb.metadata["specadv"] = {"copy_of": f"notebooks/{nb_path.name}", PARAMETER: rep,
                                  "written_by": "book/_ext/launch_paths.py"}
        copies[f"{COPIES}/{stem}.ipynb"] = nbformat.writes(nb) + "\n"
    return copies


def _assigns(line: str, name: str) -> bool:
    head = line.split("#", 1)[0].replace(" ", "")
    return head.startswith(f"{name}=") and not head.startswith(f"{name}==")


def stale_copies(srcdir: Path) -> list[str]:
    """The copies missing, different from what :func:`representation_copies` writes, or
    no longer needed (relative paths); empty when every copy is as it should be."""
    want = representation_copies(srcdir)
    have = {p.relative_to(srcdir).as_posix()
            for p in (Path(srcdir) / COPIES).glob("*.ipynb")}
    return sorted(
        [p for p, text in want.items()
         if not (Path(srcdir) / p).is_file()
         or (Path(srcdir) / p).read_text(encoding="utf-8") != text]
        + [p for p in have if p not in want])


def write_copies(srcdir: Path) -> list[str]:
    """Write every copy :func:`representation_copies` gives and remove the ones no page
    needs; return the paths changed."""
    changed = stale_copies(srcdir)
    want = representation_copies(srcdir)
    (Path(srcdir) / COPIES).mkdir(parents=True, exist_ok=True)
    for rel in changed:
        path = Path(srcdir) / rel
        if rel in want:
            path.write_text(want[rel], encoding="utf-8")
        else:
            path.unlink()
    return changed


def _rewrite(buttons, old: str, new: str) -> None:
    for button in buttons or []:
        if isinstance(button, dict):
            url = button.get("url")
            if isinstance(url, str) and url.startswith("http"):  # not the download links
                button["url"] = url.replace(old, new)
            _rewrite(button.get("buttons"), old, new)


def rewrite_launch_links(app, pagename, templatename, context, doctree):
    if not pagename.startswith(GENERATED):
        return
    target = committed_notebook(Path(app.srcdir), pagename)
    if target is None:
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            f"{pagename}: no notebook in the repository opens as this page (its launch "
            f"buttons would open another page's); write the per-representation copies with "
            f"`python book/_ext/launch_paths.py`", location=pagename)
        return
    # "./book/generated/x.ipynb" or "book/generated/x.ipynb", as the theme built it
    _rewrite(context.get("header_buttons"), f"./{pagename}.ipynb", target)
    _rewrite(context.get("header_buttons"), f"{pagename}.ipynb", target)


def setup(app):
    # after sphinx-book-theme's add_launch_buttons (priority 501)
    app.connect("html-page-context", rewrite_launch_links, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])
    for rel in write_copies(root) or ["(every copy was up to date)"]:
        print(rel)
