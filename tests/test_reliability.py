"""Reliability: a killed run resumes where it stopped, bad input is named, writes stay inside.

The kill-and-resume tests run the real command, ``specadv run --profile smoke --no-book``,
in two copies of the project (never in this one): an uninterrupted reference run, and a
run killed with SIGKILL once its first model is trained, then started again.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
import soundfile as sf

from specadv import artifacts, cli
from specadv.data import AudioError, CorpusError, load_corpus, make_embedded_corpus, read_audio
from specadv.pipeline import Run

from project_copy import copy_project  # noqa: E402
from specadv.runner import NOTEBOOKS, NotebookStep, RunError, execute_notebooks

PROJECT = Path(__file__).resolve().parents[1]
SR = 22050
# What a run reads from the project; the package itself is the installed one.
OUTPUT_FOLDERS = ("runs/", "book/generated/", "book/_static/audio/", "_build/")
RUN_SMOKE = [str(Path(sys.executable).with_name("specadv")), "run", "--profile", "smoke",
             "--no-book"]
# Pages whose tables are results (the training pages also show wall times).
RESULT_PAGES = ("01_data", "04_attacks_mel", "04_attacks_stft", "05_reconstruction_mel",
                "05_reconstruction_stft", "06_paper_page", "07_transfer", "08_explorer", "09_beyond")


_copy_project = copy_project


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root``: relative path -> (size, mtime_ns)."""
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def _temporaries(root: Path) -> list[str]:
    """Half-written files: atomic writes' ``.*.tmp``, notebooks being executed, write probes."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(".*")
                  if p.name.endswith(".tmp") or p.name.startswith(".running-")
                  or p.name == ".write-test")


def _complete_entries(runs: Path) -> dict[str, dict]:
    """Every cache entry with a manifest: the manifest's text and its files' sizes and mtimes."""
    return {m.parent.relative_to(runs).as_posix(): {"manifest": m.read_text(),
                                                    "files": _tree(m.parent)}
            for m in runs.glob("*/*/*/manifest.json")}


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the notebook kernel of a run)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _smoke_env() -> dict:
    env = {**os.environ, "SPECADV_PROFILE": "smoke"}
    env.pop("SPECADV_RUNS", None)  # the runs/ of the copy, never another folder
    return env


def _run_to_end(root: Path, log: Path) -> subprocess.CompletedProcess:
    with open(log, "w") as out:
        return subprocess.run(RUN_SMOKE, cwd=root, env=_smoke_env(), stdout=out,
                              stderr=subprocess.STDOUT, timeout=600)


def _run_and_kill(root: Path, log: Path, when) -> SimpleNamespace:
    """Start a run, SIGKILL it once ``when()`` holds, wait for its kernel to stop."""
    with open(log, "w") as out:
        proc = subprocess.Popen(RUN_SMOKE, cwd=root, env=_smoke_env(), stdout=out,
                                stderr=subprocess.STDOUT)
    kernels = []
    try:
        deadline = time.monotonic() + 300
        while not when():
            assert proc.poll() is None, f"the run ended before it could be killed: {log}"
            assert time.monotonic() < deadline, "the run never reached the kill point"
            time.sleep(0.05)
        kernels = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t0 = time.monotonic()
        while any(map(_alive, kernels)) and time.monotonic() < t0 + 30:
            time.sleep(0.1)
        return SimpleNamespace(returncode=proc.returncode, kernels=kernels,
                               kernels_stopped_s=time.monotonic() - t0,
                               kernels_left=[k for k in kernels if _alive(k)])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for k in filter(_alive, kernels):  # started by this test; never left behind
            os.kill(k, signal.SIGKILL)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An uninterrupted smoke run and a smoke run killed after its first model, then resumed."""
    logs = tmp_path_factory.mktemp("logs")
    reference = _copy_project(tmp_path_factory.mktemp("reference"))
    resumed = _copy_project(tmp_path_factory.mktemp("resumed"))  # the same notebooks
    reference_before, resumed_before = _tree(reference), _tree(resumed)
    done = _run_to_end(reference, logs / "reference.log")
    assert done.returncode == 0, (logs / "reference.log").read_text()[-3000:]

    first_model = resumed / "runs" / "smoke" / "model-mel"
    killed = _run_and_kill(resumed, logs / "killed.log",
                           lambda: any(first_model.glob("*/manifest.json")))
    at_kill = SimpleNamespace(entries=_complete_entries(resumed / "runs"),
                              temporaries=_temporaries(resumed),
                              pages=sorted(p.name for p in (resumed / "book" / "generated")
                                           .glob("*.ipynb")))
    again = _run_to_end(resumed, logs / "resumed.log")
    return SimpleNamespace(reference=reference, reference_before=reference_before,
                           resumed=resumed, resumed_before=resumed_before, killed=killed,
                           at_kill=at_kill, again=again, log=(logs / "resumed.log"))


def test_a_killed_run_runs_again_to_the_end(runs):
    assert runs.killed.returncode == -signal.SIGKILL
    # killed in the middle of a notebook, before the later chapters existed
    assert ".running-02_train2d_mel.ipynb" in {Path(t).name for t in runs.at_kill.temporaries}
    assert "07_transfer.ipynb" not in runs.at_kill.pages
    assert runs.again.returncode == 0, runs.log.read_text()[-3000:]
    expected = {step.output_name for step in NOTEBOOKS}
    for root in (runs.reference, runs.resumed):
        assert {p.name for p in (root / "book" / "generated").glob("*.ipynb")} == expected


def test_the_kernel_of_a_killed_run_stops_on_its_own(runs):
    # an orphaned kernel would go on writing into the run folder beside the resumed run
    assert runs.killed.kernels, "the killed run had no notebook kernel to check"
    assert runs.killed.kernels_left == [] and runs.killed.kernels_stopped_s < 10


def test_resuming_recomputes_nothing_that_was_complete_at_the_kill(runs):
    at_kill = runs.at_kill.entries
    stages = {Path(e).parts[1] for e in at_kill}
    assert {"corpus", "dataset", "model-mel"} <= stages
    after = _complete_entries(runs.resumed / "runs")
    for entry, before in at_kill.items():
        assert entry in after, f"{entry}: removed by the resumed run"
        assert after[entry]["manifest"] == before["manifest"], f"{entry}: recomputed"
        assert after[entry]["files"] == before["files"], f"{entry}: files rewritten"
    assert len(after) > len(at_kill)


def test_runs_leave_no_temporary_files(runs):
    assert _temporaries(runs.resumed) == []
    assert _temporaries(runs.reference) == []


def _logical_entries(runs: Path) -> dict[str, Path]:
    """Cache entries named by what they hold (stage and settings), not by their keys.

    Keys differ between two copies of the project: the corpus and dataset entries'
    settings hold the copy's paths and file times, and later entries hold the keys
    of the entries they read. Those keys are replaced by the entries' names here.
    """
    folders = {f.name: f for f in runs.glob("*/*") if (f / "manifest.json").is_file()}
    names: dict[str, str] = {}

    def name(key: str) -> str:
        if key not in names:
            stage = folders[key].parent.name
            if stage in ("corpus", "dataset"):  # one of each per run
                names[key] = stage
            else:
                settings = json.loads((folders[key] / "manifest.json").read_text())["settings"]
                names[key] = f"{stage} {json.dumps(swap(settings), sort_keys=True)}"
        return names[key]

    def swap(value):
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return name(value) if isinstance(value, str) and value in folders else value

    named = {name(key): folder for key, folder in folders.items()}
    assert len(named) == len(folders), "two entries of one run hold the same thing"
    return named


def _html_outputs(nb_path: Path) -> list[str]:
    nb = nbformat.read(nb_path, as_version=4)
    return [out["data"]["text/html"] for cell in nb.cells for out in cell.get("outputs", [])
            if "text/html" in out.get("data", {})]


def test_a_resumed_run_gives_the_results_of_an_uninterrupted_run(runs):
    ref = _logical_entries(runs.reference / "runs" / "smoke")
    got = _logical_entries(runs.resumed / "runs" / "smoke")
    assert got.keys() == ref.keys()
    stages = [what.split()[0] for what in ref]
    assert all(f"{stage}-{rep}" in stages for stage in ("model", "attacks", "reconstruction")
               for rep in ("mel", "stft"))
    for what, folder in ref.items():
        names = sorted(p.name for p in folder.glob("*.npy"))
        assert names == sorted(p.name for p in got[what].glob("*.npy")), what
        for name in names:
            a, b = np.load(folder / name), np.load(got[what] / name)
            assert a.dtype == b.dtype and a.shape == b.shape, (what, name)
            if not np.array_equal(a, b, equal_nan=True):
                diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
                pytest.fail(f"{what} {name}: differs by up to {np.nanmax(diff):.3g}")
    wavs = sorted(p.relative_to(ref["corpus"]) for p in ref["corpus"].rglob("*.wav"))
    assert len(wavs) == 30
    for w in wavs:
        assert (ref["corpus"] / w).read_bytes() == (got["corpus"] / w).read_bytes(), w
    for page in RESULT_PAGES:
        name = f"{page}.ipynb"
        ref_html = _html_outputs(runs.reference / "book" / "generated" / name)
        assert ref_html, f"{name}: no table to compare"
        assert _html_outputs(runs.resumed / "book" / "generated" / name) == ref_html, name


@pytest.mark.parametrize("copy", ["reference", "resumed"])
def test_runs_write_only_under_their_output_folders(runs, copy):
    root, before = getattr(runs, copy), getattr(runs, f"{copy}_before")
    after = _tree(root)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert any(p.startswith("runs/smoke/") for p in changed)
    assert any(p.startswith("book/_static/audio/") for p in changed)
    outside = sorted(p for p in changed if not p.startswith(OUTPUT_FOLDERS))
    assert outside == [], f"written outside {OUTPUT_FOLDERS}: {outside}"


# -- bad input ----------------------------------------------------------------------------

def _write(path: Path, y, sr=SR, subtype="PCM_16"):
    sf.write(path, y, sr, subtype=subtype)
    return path.name


def _tone(seconds, sr=SR, channels=1):
    t = np.arange(int(seconds * sr)) / sr
    y = (0.3 * np.sin(2 * np.pi * 330.0 * t)).astype(np.float32)
    return np.stack([y, 0.5 * y], axis=1) if channels == 2 else y


def test_the_data_chapter_lists_every_skipped_file_and_keeps_a_resampled_stereo_clip(
        tmp_path, monkeypatch):
    corpus = make_embedded_corpus(tmp_path / "corpus", clips_per_genre=3, seconds=6.0)
    (corpus / "jazz" / "jazz.00054.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage")
    (corpus / "jazz" / "notes.txt").write_text("liner notes")
    silent = _write(corpus / "blues" / "blues.00090.wav", np.zeros(6 * SR, np.float32))
    y = _tone(6.0)
    y[1000] = np.nan
    nan = _write(corpus / "rock" / "rock.00091.wav", y, subtype="FLOAT")
    y = _tone(6.0)
    y[[10, 20]] = [np.inf, -np.inf]
    inf = _write(corpus / "pop" / "pop.00092.wav", y, subtype="FLOAT")
    stereo = _write(corpus / "disco" / "disco.00093.wav", _tone(6.0, 44100, channels=2), 44100)

    root = _copy_project(tmp_path / "project")
    monkeypatch.delenv("SPECADV_RUNS", raising=False)
    execute_notebooks({"profile": "smoke", "data": str(corpus)}, [NotebookStep("01_data.ipynb")],
                      root=root, log=lambda *_: None)

    nb = nbformat.read(root / "book" / "generated" / "01_data.ipynb", as_version=4)
    text = "\n".join(out.get("text", "") + out.get("data", {}).get("text/html", "")
                     for cell in nb.cells for out in cell.get("outputs", []))
    skipped = {"jazz.00054.wav": "unreadable audio", "notes.txt": "not an audio file",
               nan: "1 NaN, 0 infinite", inf: "0 NaN, 2 infinite",
               Path(silent).name: "every 5-s window silent"}
    for name, reason in skipped.items():
        assert f"<td>{name}</td>" in text, f"{name} not listed in the data chapter"
        row = text.split(f"<td>{name}</td>", 1)[1].split("</tr>", 1)[0]
        assert reason in row, f"{name}: {row}"
    assert stereo not in text
    assert "32 clips" in text  # the embedded 30, the silent clip and the stereo one

    manifest, = (root / "runs" / "smoke" / "dataset").glob("*/manifest.json")
    clips = [c["clip_id"] for c in json.loads(manifest.read_text())["clips"]]
    assert {"rock.00091", "pop.00092", "jazz.00054"}.isdisjoint(clips)
    offsets = np.load(manifest.parent / "clip_offset.npy")
    i = clips.index("disco.00093")
    kept = np.load(manifest.parent / "audio.npy")[offsets[i]: offsets[i + 1]]
    assert abs(len(kept) - 6 * SR) <= 1  # resampled from 44100 Hz
    assert np.max(np.abs(kept)) == pytest.approx(0.75 * 0.3, abs=0.005)  # the channels' mean


@pytest.mark.parametrize("bad, reason", [(np.nan, "1 NaN, 0 infinite"),
                                         (np.inf, "0 NaN, 1 infinite"),
                                         (-np.inf, "0 NaN, 1 infinite")])
def test_read_audio_rejects_non_finite_samples_naming_the_file(tmp_path, bad, reason):
    y = _tone(1.0)
    y[5] = bad
    _write(tmp_path / "x.wav", y, subtype="FLOAT")
    with pytest.raises(AudioError) as err:
        read_audio(tmp_path / "x.wav")
    assert str(tmp_path / "x.wav") in str(err.value) and reason in err.value.reason
    assert "re-export" in err.value.reason


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Run the CLI from a folder that is no project, so a mistake cannot touch this one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPECADV_RUNS", raising=False)
    return tmp_path


def _cli(argv, capsys) -> tuple[int, str]:
    code = cli.main(argv)
    return code, capsys.readouterr().err


def _no_folder(root: Path) -> Path:
    return root / "gtzan"


def _a_file(root: Path) -> Path:
    (root / "gtzan.zip").write_bytes(b"PK")
    return root / "gtzan.zip"


def _no_genre_folders(root: Path) -> Path:
    (root / "music" / "albums").mkdir(parents=True)
    (root / "music" / "albums" / "track.wav").write_bytes(b"")
    return root / "music"


def _an_unknown_genre(root: Path) -> Path:
    for genre in ("blues", "polka"):
        (root / "genres" / genre).mkdir(parents=True)
    return root / "genres"


@pytest.mark.parametrize("make, expected", [
    (_no_folder, ["does not exist", "genres_original", "specadv corpus"]),
    (_a_file, ["not a folder", "holds the genre folders"]),
    (_no_genre_folders, ["no genre folders found", "blues, classical", "Data/genres_original"]),
    (_an_unknown_genre, ["unknown genre folder(s) ['polka']", "rename or move"]),
])
def test_cli_data_folder_that_is_no_corpus(elsewhere, capsys, make, expected):
    data = make(elsewhere)
    code, err = _cli(["run", "--profile", "smoke", "--data", str(data)], capsys)
    assert code == 2
    assert err.startswith("specadv: error: --data: ") and str(data) in err
    for text in expected:
        assert text in err
    assert not (elsewhere / "book").exists() and not (elsewhere / "runs").exists()


def test_a_corpus_without_one_usable_clip_says_why(tmp_path):
    (tmp_path / "blues").mkdir()
    (tmp_path / "blues" / "blues.00000.wav").write_bytes(b"RIFFgarbage")
    (tmp_path / "blues" / "cover.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(CorpusError) as err:
        load_corpus(tmp_path)
    msg = str(err.value)
    assert str(tmp_path) in msg and "2 file(s) skipped" in msg
    assert "blues.00000.wav: unreadable audio" in msg and "cover.jpg: not an audio file" in msg
    assert "give clips of at least one 5-s window" in msg


@pytest.mark.parametrize("yaml, expected", [
    ("name: mine\ntrain2d:\n  epoch: 3\n", ["train2d.epoch", "Valid keys of train2d",
                                           "batch_size", "epochs"]),
    ("name: mine\nattak:\n  fgsm: {eps: 0.1}\n", ["'attak'", "attacks", "reconstruction"]),
    ("name: mine\ntrain2d:\n  epochs: two\n", ["train2d.epochs", "must be of type int", "'two'"]),
    ("name: mine\nattacks:\n  names: fgsm\n", ["attacks.names", "must be of type list"]),
])
def test_cli_profile_with_a_bad_key_or_value(elsewhere, capsys, yaml, expected):
    profile = elsewhere / "mine.yaml"
    profile.write_text(yaml)
    code, err = _cli(["run", "--profile", str(profile)], capsys)
    assert code == 1
    assert str(profile) in err
    for text in expected:
        assert text in err
    assert not (elsewhere / "book").exists() and not (elsewhere / "runs").exists()


def test_cli_run_folder_that_cannot_be_written(elsewhere, capsys, monkeypatch):
    blocker = elsewhere / "afile"
    blocker.write_text("a file where a folder should be")  # cannot be a folder, even for root
    monkeypatch.setenv("SPECADV_RUNS", str(blocker / "runs"))
    code, err = _cli(["run", "--profile", "smoke", "--no-book"], capsys)
    assert code == 1
    assert str(blocker / "runs" / "smoke") in err and "cannot be written" in err
    assert "SPECADV_RUNS" in err
    assert not (elsewhere / "book").exists()  # refused before any notebook started


def test_run_folder_that_cannot_be_written_through_the_api(tmp_path, monkeypatch):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    monkeypatch.setenv("SPECADV_RUNS", str(blocker / "runs"))
    with pytest.raises(artifacts.ArtifactError, match="cannot be written.*SPECADV_RUNS") as err:
        Run("smoke", progress=False)
    assert str(blocker / "runs" / "smoke") in str(err.value)


def test_cli_corpus_folder_that_cannot_be_written(elsewhere, capsys):
    blocker = elsewhere / "afile"
    blocker.write_text("")
    code, err = _cli(["corpus", str(blocker / "corpus"), "--clips-per-genre", "1",
                      "--seconds", "1"], capsys)
    assert code == 1
    assert str(blocker) in err and "cannot write the corpus here" in err


def _tiny_notebook(root: Path, name: str, source: str) -> NotebookStep:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(source)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}})
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, root / "notebooks" / name)
    return NotebookStep(name)


def test_a_failed_notebook_is_reported_even_when_its_copy_cannot_be_kept(tmp_path,
                                                                        monkeypatch):
    step = _tiny_notebook(tmp_path, "bad.ipynb", "raise ValueError('broken corpus')")
    (tmp_path / "runs").write_text("a file where the runs folder should be")
    monkeypatch.setenv("SPECADV_RUNS", str(tmp_path / "runs"))
    with pytest.raises(RunError) as err:
        execute_notebooks({}, [step], root=tmp_path, log=lambda *_: None)
    msg = str(err.value)
    assert "bad.ipynb" in msg and "ValueError: broken corpus" in msg
    assert f"could not be kept in {tmp_path / 'runs' / 'failed-notebooks'}" in msg
    assert _temporaries(tmp_path) == []


def test_the_notebooks_read_a_relative_runs_folder_from_where_the_run_started(
        tmp_path, monkeypatch):
    step = _tiny_notebook(tmp_path, "where.ipynb", "import os; print(os.environ['SPECADV_RUNS'])")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPECADV_RUNS", "elsewhere/runs")
    execute_notebooks({}, [step], root=tmp_path, log=lambda *_: None)
    nb = nbformat.read(tmp_path / "book" / "generated" / "where.ipynb", as_version=4)
    # not book/generated/elsewhere/runs, where the kernel runs
    cell, = [c for c in nb.cells if "SPECADV_RUNS" in c.source]  # after papermill's injected one
    assert cell.outputs[0]["text"].strip() == str(tmp_path / "elsewhere" / "runs")
    assert os.environ["SPECADV_RUNS"] == "elsewhere/runs"  # restored after the run


# -- safety ---------------------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["..", "../escape", "a/../../escape", "/tmp/escape", ".",
                                   ".hidden", "", "a\\..\\b", "a\x00b", "model/mel"])
def test_store_refuses_a_stage_name_that_could_leave_the_run_folder(tmp_path, stage):
    store = artifacts.Store(tmp_path / "runs" / "smoke")
    with pytest.raises(artifacts.ArtifactError, match="invalid stage name"):
        store.entry(stage, {"x": 1})
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["runs", "smoke"]


def test_store_accepts_the_pipelines_stage_names(tmp_path):
    store = artifacts.Store(tmp_path)
    for stage in ("corpus", "dataset", "model-mel", "attacks-stft", "reconstruction-mel"):
        entry = store.entry(stage, {"x": 1})
        assert entry.folder.parent == tmp_path.resolve() / stage
