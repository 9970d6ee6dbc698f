import nbformat
import pytest

from specadv.runner import NotebookStep, RunError, execute_notebooks


def _notebook(path, source):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell(source)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_failing_notebook_stops_the_run_naming_notebook_cell_and_error(tmp_path):
    _notebook(tmp_path / "notebooks" / "good.ipynb", "print(profile)")
    _notebook(tmp_path / "notebooks" / "bad.ipynb", "raise ValueError('broken corpus')")
    _notebook(tmp_path / "notebooks" / "after.ipynb", "print('never')")
    steps = [NotebookStep("good.ipynb"), NotebookStep("bad.ipynb"), NotebookStep("after.ipynb")]
    with pytest.raises(RunError) as err:
        execute_notebooks({"profile": "smoke"}, steps, root=tmp_path, log=lambda *_: None)
    msg = str(err.value)
    assert "bad.ipynb" in msg and "ValueError" in msg and "broken corpus" in msg and "cell" in msg
    kept = tmp_path / "runs" / "failed-notebooks" / "bad.ipynb"
    assert kept.is_file() and str(kept) in msg
    generated = tmp_path / "book" / "generated"
    assert (generated / "good.ipynb").is_file()
    assert not (generated / "bad.ipynb").exists() and not (generated / "after.ipynb").exists()
    assert not list(generated.glob(".running-*"))  # no half-written notebook left for the book
    out = nbformat.read(generated / "good.ipynb", as_version=4)
    assert "smoke" in "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))


def test_per_representation_steps_get_their_own_output():
    assert NotebookStep("04_attacks.ipynb", {"representation": "mel"}).output_name == \
        "04_attacks_mel.ipynb"
    assert NotebookStep("01_data.ipynb").output_name == "01_data.ipynb"


def test_per_representation_page_titles_name_the_representation(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Attacking the 2D CNNs\n\ntext"),
        nbformat.v4.new_code_cell("representation = 'mel'", metadata={"tags": ["parameters"]})],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}})
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "04_attacks.ipynb")
    step = NotebookStep("04_attacks.ipynb", {"representation": "stft"})
    execute_notebooks({}, [step], root=tmp_path, log=lambda *_: None)
    out = nbformat.read(tmp_path / "book" / "generated" / "04_attacks_stft.ipynb", as_version=4)
    assert out.cells[0].source.startswith("# Attacking the 2D CNNs (STFT)\n")
