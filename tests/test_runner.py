import re

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


def test_failing_notebook_stops_the_run_naming_notebook_cell_and_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SPECADV_RUNS")  # the project's runs/
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


def test_failed_copies_go_to_the_runs_folder_in_use_and_go_once_the_notebook_runs(
        tmp_path, monkeypatch):
    import specadv.runner as runner

    runs = tmp_path / "elsewhere" / "runs"
    monkeypatch.setenv("SPECADV_RUNS", str(runs))
    _notebook(tmp_path / "notebooks" / "bad.ipynb", "raise ValueError('broken corpus')")
    _notebook(tmp_path / "notebooks" / "other.ipynb", "raise ValueError('another')")
    for name in ("bad.ipynb", "other.ipynb"):
        with pytest.raises(RunError, match=re.escape(str(runs / "failed-notebooks" / name))):
            execute_notebooks({}, [NotebookStep(name)], root=tmp_path, log=lambda *_: None)
    assert runner.failed_copies(tmp_path) == [runs / "failed-notebooks" / "bad.ipynb",
                                              runs / "failed-notebooks" / "other.ipynb"]
    assert not (tmp_path / "runs").exists()  # nothing in the project's runs/

    # the notebook fixed and run again: its failed copy is out of date, and goes
    _notebook(tmp_path / "notebooks" / "bad.ipynb", "print('fixed')")
    execute_notebooks({}, [NotebookStep("bad.ipynb")], root=tmp_path, log=lambda *_: None)
    assert runner.failed_copies(tmp_path) == [runs / "failed-notebooks" / "other.ipynb"]

    # a whole run that succeeds says where an earlier run's failed copies still are
    logged = []
    monkeypatch.setattr(runner, "execute_notebooks", lambda *a, **k: [])
    monkeypatch.chdir(tmp_path)  # the project whose runs/ it would be without SPECADV_RUNS
    runner.run("smoke", book=False, log=logged.append)
    note, = [m for m in logged if "failed in an earlier run" in m]
    assert str(runs / "failed-notebooks") in note and "other.ipynb" in note


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


def _timed_notebook(path, name, seconds):
    """A notebook that records when it ran (start, end) and the threads and malloc settings
    its kernel got in ``<name>.time`` of its folder."""
    _notebook(path, f"import os, time, json, torch\nt0 = time.time()\ntime.sleep({seconds})\n"
                    f"env = {{k: os.environ.get(k) for k in ('OMP_NUM_THREADS', "
                    f"'MALLOC_TRIM_THRESHOLD_', 'MALLOC_MMAP_THRESHOLD_')}}\n"
                    f"open('{name}.time', 'w').write(json.dumps([t0, time.time(), env, "
                    f"torch.get_num_threads()]))")


def test_notebooks_run_side_by_side_each_after_what_it_reads(tmp_path):
    import json

    nbs = tmp_path / "notebooks"
    _timed_notebook(nbs / "a.ipynb", "a", 3)
    _timed_notebook(nbs / "b.ipynb", "b", 0)
    _timed_notebook(nbs / "c.ipynb", "c", 3)
    steps = [NotebookStep("a.ipynb"), NotebookStep("b.ipynb", after=("a",)),
             NotebookStep("c.ipynb")]
    timings = execute_notebooks({}, steps, root=tmp_path, log=lambda *_: None, jobs=2)
    assert sorted(name for name, _ in timings) == ["a.ipynb", "b.ipynb", "c.ipynb"]
    ran = {n: json.loads((tmp_path / "book" / "generated" / f"{n}.time").read_text())
           for n in "abc"}
    assert ran["b"][0] >= ran["a"][1]                                   # b waited for a
    assert ran["c"][0] < ran["a"][1] and ran["a"][0] < ran["c"][1]      # a and c overlapped
    for n in "abc":
        assert (tmp_path / "book" / "generated" / f"{n}.ipynb").is_file()
    # two kernels share the cores: each gets its share of threads, and the heap settings
    import os

    from specadv.runner import MALLOC_ENV

    threads = max(1, (os.cpu_count() or 1) // 2)
    for n in "abc":
        env, torch_threads = ran[n][2], ran[n][3]
        assert env["OMP_NUM_THREADS"] == str(threads) and torch_threads == threads
        for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"):
            assert env[k] == os.environ.get(k, MALLOC_ENV[k])


def test_side_by_side_a_failure_starts_nothing_that_waits_for_it(tmp_path):
    nbs = tmp_path / "notebooks"
    _notebook(nbs / "bad.ipynb", "raise ValueError('broken corpus')")
    _timed_notebook(nbs / "slow.ipynb", "slow", 2)
    _notebook(nbs / "after.ipynb", "print('never')")
    steps = [NotebookStep("bad.ipynb"), NotebookStep("slow.ipynb"),
             NotebookStep("after.ipynb", after=("bad",))]
    with pytest.raises(RunError, match="bad.ipynb: cell .* ValueError: broken corpus"):
        execute_notebooks({}, steps, root=tmp_path, log=lambda *_: None, jobs=2)
    generated = tmp_path / "book" / "generated"
    assert (generated / "slow.ipynb").is_file()  # running beside the failure: it finished
    assert not (generated / "after.ipynb").exists() and not (generated / "bad.ipynb").exists()
    assert not list(generated.glob(".running-*"))


def test_the_books_notebooks_wait_for_the_stages_they_read():
    from specadv.runner import NOTEBOOKS, _waits_for, _with_ahead

    by = {s.output_name: s for s in NOTEBOOKS}
    assert not by["01_data.ipynb"].after
    # a representation's attacks wait for its own 2D CNN, not another's
    assert _waits_for(by["04_attacks_stft.ipynb"], by["02_train2d_stft.ipynb"])
    assert not _waits_for(by["04_attacks_stft.ipynb"], by["02_train2d_mel.ipynb"])
    # reconstructions are classified by every model: they wait for all of them
    for name in ("02_train2d_mel.ipynb", "02_train2d_stft_paper.ipynb", "03_train1d.ipynb",
                 "04_attacks_mel.ipynb"):
        assert _waits_for(by["05_reconstruction_mel.ipynb"], by[name])
    assert not _waits_for(by["05_reconstruction_mel.ipynb"], by["04_attacks_stft.ipynb"])
    for name in ("05_reconstruction_mel.ipynb", "05_reconstruction_stft_paper.ipynb"):
        assert _waits_for(by["07_transfer.ipynb"], by[name])
    # every step waits only for steps before it: the list order is a valid sequential order,
    # with the stages computed ahead too (side by side)
    for order in (NOTEBOOKS, _with_ahead(NOTEBOOKS)):
        names = [s.output_name for s in order]
        for i, step in enumerate(order):
            for other in order[i:]:
                assert not _waits_for(step, other), (step.output_name, other.output_name)
        assert len(set(names)) == len(names)
    ahead = {s.output_name: s for s in _with_ahead(NOTEBOOKS)}
    # the last chapters wait for their stages computed ahead, which wait only for models
    assert _waits_for(by["10_aware.ipynb"], ahead["[ahead-aware]"])
    assert _waits_for(by["09_beyond.ipynb"], ahead["[ahead-inversion]"])
    assert not _waits_for(ahead["[ahead-aware]"], by["04_attacks_mel.ipynb"])
    assert _waits_for(ahead["[ahead-aware]"], by["02_train2d_stft_paper.ipynb"])


def test_jobs_come_from_the_environment_and_bad_values_are_named(monkeypatch):
    from specadv.runner import JOBS_ENV, default_jobs

    monkeypatch.setenv(JOBS_ENV, "3")
    assert default_jobs() == 3
    for bad in ("two", "0"):
        monkeypatch.setenv(JOBS_ENV, bad)
        with pytest.raises(RunError, match=JOBS_ENV):
            default_jobs()


def test_a_failing_stage_computed_ahead_is_named_with_its_error(tmp_path):
    from specadv.runner import AheadStep, _run_ahead

    step = AheadStep("ahead-probe", "raise ValueError('no such stage')")
    with pytest.raises(RunError, match="(?s)ahead-probe .*ValueError: no such stage"):
        _run_ahead(step, {"profile": "smoke"})


def test_a_step_everything_waits_for_runs_alone_on_every_core(tmp_path, monkeypatch):
    import json
    import os

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    nbs = tmp_path / "notebooks"
    for n in "gxy":
        _timed_notebook(nbs / f"{n}.ipynb", n, 1)
    steps = [NotebookStep("g.ipynb"), NotebookStep("x.ipynb", after=("g",)),
             NotebookStep("y.ipynb", after=("x", "g"))]
    execute_notebooks({}, steps, root=tmp_path, log=lambda *_: None, jobs=2)
    ran = {n: json.loads((tmp_path / "book" / "generated" / f"{n}.time").read_text())
           for n in "gxy"}
    assert ran["g"][2]["OMP_NUM_THREADS"] is None  # no share: it had the machine to itself
    threads = str(max(1, (os.cpu_count() or 1) // 2))
    assert ran["x"][2]["OMP_NUM_THREADS"] == ran["y"][2]["OMP_NUM_THREADS"] == threads
    assert ran["x"][0] >= ran["g"][1] and ran["y"][0] >= ran["x"][1]
