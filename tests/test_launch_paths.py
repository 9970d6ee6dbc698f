"""The launch buttons' targets (book/_ext/launch_paths.py): every chapter opens, on Binder
or Colab, a notebook of the repository with the chapter's own representation."""
import ast
import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from project_copy import PROJECT
from specadv.runner import NOTEBOOKS

sys.path.insert(0, str(PROJECT / "book" / "_ext"))
import launch_paths  # noqa: E402

PAGES = {f"book/generated/{Path(s.output_name).stem}": s.params.get("representation")
         for s in NOTEBOOKS}


def test_the_authors_stft_form_opens_its_own_copy_of_the_notebook():
    # the old rule (drop the last "_word") looked for notebooks/04_attacks_stft.ipynb
    assert launch_paths.committed_notebook(PROJECT, "book/generated/04_attacks_stft_paper") \
        == "notebooks/by_representation/04_attacks_stft_paper.ipynb"
    assert launch_paths.committed_notebook(PROJECT, "book/generated/04_attacks_stft") \
        == "notebooks/by_representation/04_attacks_stft.ipynb"
    assert launch_paths.committed_notebook(PROJECT, "book/generated/04_attacks_mel") \
        == "notebooks/04_attacks.ipynb"  # the notebook's own default
    assert launch_paths.committed_notebook(PROJECT, "book/generated/01_data") \
        == "notebooks/01_data.ipynb"
    assert launch_paths.committed_notebook(PROJECT, "book/method") is None


def test_every_chapter_launches_a_notebook_with_its_own_representation():
    assert set(PAGES) == set(launch_paths.generated_pages(PROJECT))  # the toc's chapters
    for page, rep in PAGES.items():
        target = launch_paths.committed_notebook(PROJECT, page)
        assert target is not None and (PROJECT / target).is_file(), (page, target)
        assert launch_paths.parameter_default(json.loads((PROJECT / target).read_text())) \
            == rep, (page, target)
    assert {r for r in PAGES.values() if r} == {"mel", "stft", "stft_paper"}


def test_the_committed_copies_are_the_notebooks_with_the_representation_set():
    stale = launch_paths.stale_copies(PROJECT)
    assert stale == [], (f"{stale}: a notebook changed and its per-representation copies "
                         "did not; run `.venv/bin/python book/_ext/launch_paths.py`")
    copy = nbformat.read(PROJECT / "notebooks/by_representation/05_reconstruction_stft.ipynb",
                         as_version=4)
    source = nbformat.read(PROJECT / "notebooks/05_reconstruction.ipynb", as_version=4)
    assert copy.metadata.specadv.copy_of == "notebooks/05_reconstruction.ipynb"
    differ = [i for i, (a, b) in enumerate(zip(copy.cells, source.cells)) if a != b]
    assert len(copy.cells) == len(source.cells) and len(differ) == 2  # title, parameters
    assert copy.cells[differ[0]].source.startswith("# From spectrograms back to audio (STFT)")
    params = copy.cells[differ[1]]
    assert "parameters" in params.metadata.tags
    assert "representation" in ast.parse(params.source).body[-1].targets[0].id


def _tiny_project(root: Path) -> Path:
    (root / "notebooks").mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n"
                                   "  - file: book/generated/04_attacks_mel\n"
                                   "  - file: book/generated/04_attacks_stft\n")
    shutil.copy(PROJECT / "notebooks" / "04_attacks.ipynb", root / "notebooks")
    return root


def test_a_copy_left_behind_by_its_notebook_is_found_and_rewritten(tmp_path):
    root = _tiny_project(tmp_path)
    assert launch_paths.committed_notebook(root, "book/generated/04_attacks_stft") is None
    assert launch_paths.write_copies(root) == [
        "notebooks/by_representation/04_attacks_stft.ipynb"]
    assert launch_paths.committed_notebook(root, "book/generated/04_attacks_stft") == \
        "notebooks/by_representation/04_attacks_stft.ipynb"
    assert launch_paths.stale_copies(root) == []
    nb = nbformat.read(root / "notebooks" / "04_attacks.ipynb", as_version=4)
    nb.cells[-1].source += "\n# an edit"
    nbformat.write(nb, root / "notebooks" / "04_attacks.ipynb")
    (root / "notebooks" / "by_representation" / "04_attacks_old.ipynb").write_text("{}")
    assert launch_paths.stale_copies(root) == [
        "notebooks/by_representation/04_attacks_old.ipynb",
        "notebooks/by_representation/04_attacks_stft.ipynb"]
    launch_paths.write_copies(root)
    assert launch_paths.stale_copies(root) == []
    assert sorted(p.name for p in (root / "notebooks" / "by_representation").iterdir()) == \
        ["04_attacks_stft.ipynb"]


@pytest.mark.parametrize("source, expected", [
    ('profile = None\nrepresentation = "stft"  # a comment', "stft"),
    ("profile = None", None)])
def test_the_parameters_cell_is_read_not_run(source, expected):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("representation = 'other'"),
        nbformat.v4.new_code_cell(source + "\nraise SystemExit", metadata={"tags": ["parameters"]})])
    assert launch_paths.parameter_default(nb) == expected
