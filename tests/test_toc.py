"""``_toc.yml`` against the runner's notebooks (``specadv.runner.NOTEBOOKS``).

The book builds with ``only_build_toc_files: true``: an executed notebook the toc forgets is
left out of the book without a warning, and a toc entry no run writes fails the build only
once the book is built. These tests fail first, naming the entries.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from specadv.roundtrip import REPRESENTATIONS
from specadv.runner import NOTEBOOKS

PROJECT = Path(__file__).resolve().parents[1]
GENERATED = "book/generated/"  # where the runner writes the executed notebooks


def toc_files(node) -> list[str]:
    """Every ``file:`` of a Jupyter Book toc (root, parts, chapters, sections), in order."""
    if isinstance(node, dict):
        own = [node["file"]] if isinstance(node.get("file"), str) else []
        return own + [f for k, v in node.items() if k != "file" for f in toc_files(v)]
    if isinstance(node, list):
        return [f for item in node for f in toc_files(item)]
    return []


def generated_pages() -> list[str]:
    """The toc's pages that are executed notebooks, without ``.ipynb`` as the toc writes them."""
    toc = yaml.safe_load((PROJECT / "_toc.yml").read_text())
    return [f for f in toc_files(toc) if f.startswith(GENERATED)]


def test_toc_files_finds_entries_at_every_depth():
    toc = {"root": "book/intro", "parts": [
        {"caption": "a", "chapters": [{"file": "x"}, {"file": "y", "sections": [{"file": "z"}]}]},
        {"caption": "b", "chapters": [{"url": "https://example.org", "title": "t"}]}]}
    assert toc_files(toc) == ["x", "y", "z"]


def test_the_toc_lists_every_notebook_the_runner_writes_and_nothing_else():
    pages = generated_pages()
    written = [GENERATED + Path(step.output_name).stem for step in NOTEBOOKS]
    missing = [p for p in written if p not in pages]
    unknown = [p for p in pages if p not in written]
    assert not missing, (f"_toc.yml lacks {missing}: the runner writes them and the book "
                         "(only_build_toc_files) would leave them out; add a `- file:` entry each")
    assert not unknown, (f"_toc.yml lists {unknown}, which no step of specadv.runner.NOTEBOOKS "
                         "writes: remove them, or add the notebook to the runner")
    assert len(pages) == len(set(pages)), f"_toc.yml lists a page twice: {pages}"


def test_every_representation_has_a_page_of_each_per_representation_notebook():
    per_rep = sorted({Path(s.notebook).stem for s in NOTEBOOKS if "representation" in s.params})
    assert per_rep, "the runner has no per-representation notebook"
    pages = set(generated_pages())
    missing = [f"{GENERATED}{stem}_{rep}" for stem in per_rep for rep in REPRESENTATIONS
               if f"{GENERATED}{stem}_{rep}" not in pages]
    assert not missing, (f"_toc.yml has no page for {missing}: every representation of "
                         "specadv.roundtrip.REPRESENTATIONS gets one of each per-representation "
                         "notebook (specadv.runner.NOTEBOOKS)")


def test_the_runner_runs_every_notebook_of_the_project():
    on_disk = {p.name for p in (PROJECT / "notebooks").glob("*.ipynb")}
    run = {step.notebook for step in NOTEBOOKS}
    assert on_disk == run, (f"notebooks/ and specadv.runner.NOTEBOOKS differ: not run "
                            f"{sorted(on_disk - run)}, not in notebooks/ {sorted(run - on_disk)}")
