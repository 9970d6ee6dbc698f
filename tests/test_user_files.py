"""The suite leaves the reader's outputs alone: the guard that checks it at the end of
every session (conftest.py, tests/user_files.py) sees a change, and the runner, run in a
copy of the project the way the book test runs it, writes only into that copy."""
import nbformat

from project_copy import copy_project
from user_files import GUARDED, PROJECT, changes, snapshot


def test_snapshot_sees_added_changed_and_removed_files(tmp_path):
    (tmp_path / "book" / "generated").mkdir(parents=True)
    (tmp_path / "book" / "generated" / "a.ipynb").write_text("{}")
    (tmp_path / "runs" / "demo" / "x").mkdir(parents=True)
    (tmp_path / "runs" / "demo" / "x" / "w.npy").write_bytes(b"\x00\x01")
    (tmp_path / "elsewhere.txt").write_text("not guarded")
    before = snapshot(tmp_path)
    assert set(before) == {"book/generated/a.ipynb", "runs/demo/x/w.npy"}
    assert changes(before, snapshot(tmp_path)) == []
    (tmp_path / "book" / "generated" / "a.ipynb").write_text("{ }")  # same size, other bytes
    (tmp_path / "runs" / "demo" / "x" / "w.npy").unlink()
    (tmp_path / "_build" / "html").mkdir(parents=True)
    (tmp_path / "_build" / "html" / "index.html").write_text("<html>")
    (tmp_path / "elsewhere.txt").write_text("changed, but not guarded")
    assert changes(before, snapshot(tmp_path)) == [
        "added _build/html/index.html", "removed runs/demo/x/w.npy",
        "changed book/generated/a.ipynb"]


def test_runner_in_a_project_copy_writes_only_into_the_copy(tmp_path):
    from specadv.runner import NotebookStep, execute_notebooks

    before = snapshot(PROJECT)
    root = copy_project(tmp_path / "project")
    # a notebook that does what the chapters do: a player through the runner's sink, a file
    # in its working folder
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('profile = None\naudio_dir = ""', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import numpy as np\nfrom specadv import report\n"
            "sink = report.AudioSink.from_param(audio_dir)\n"
            "html = report.audio_player(np.zeros(2205, np.float32), 'guard_probe', sink)\n"
            "open('probe.txt', 'w').write(html)")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, root / "notebooks" / "guard_probe.ipynb")
    execute_notebooks({"profile": "smoke"}, [NotebookStep("guard_probe.ipynb")], root=root,
                      log=lambda *_: None)
    assert (root / "book" / "generated" / "guard_probe.ipynb").is_file()
    assert (root / "book" / "_static" / "audio" / "guard_probe.wav").is_file()
    assert (root / "book" / "generated" / "probe.txt").is_file()
    assert changes(before, snapshot(PROJECT)) == [], f"the runner wrote into {GUARDED}"
