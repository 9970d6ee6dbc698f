"""The embedded procedural corpus (specadv.synth): layout, determinism, levels, learnability,
parallel rendering from any caller, and the package's imports."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import specadv
from specadv import synth
from specadv.constants import GENRES, MIN_ENERGY, SAMPLE_RATE, WINDOW_SAMPLES
from specadv.data import make_embedded_corpus


def _window_energies(y: np.ndarray, hop: int = 2205) -> np.ndarray:
    """Mean energy of every 5-s window, one starting every ``hop`` samples."""
    c = np.concatenate([[0.0], np.cumsum(y.astype(np.float64) ** 2)])
    starts = np.arange(0, len(y) - WINDOW_SAMPLES + 1, hop)
    return (c[starts + WINDOW_SAMPLES] - c[starts]) / WINDOW_SAMPLES


def test_corpus_has_gtzan_layout_and_format(tmp_path):
    out = make_embedded_corpus(tmp_path / "corpus", clips_per_genre=2, seconds=6.0, seed=0)
    assert out == tmp_path / "corpus"
    assert sorted(p.name for p in out.iterdir()) == sorted(GENRES)
    for genre in GENRES:
        files = sorted(p.name for p in (out / genre).iterdir())
        assert files == [f"{genre}.00000.wav", f"{genre}.00001.wav"]  # no temporary files left
        info = sf.info(str(out / genre / files[0]))
        assert (info.samplerate, info.channels) == (SAMPLE_RATE, 1)
        assert (info.format, info.subtype) == ("WAV", "PCM_16")
        assert info.frames == 6 * SAMPLE_RATE


def test_file_holds_the_rendered_clip_quantised_to_16_bits(tmp_path):
    make_embedded_corpus(tmp_path, clips_per_genre=1, seconds=2.0, seed=3)
    pcm, sr = sf.read(str(tmp_path / "jazz" / "jazz.00000.wav"), dtype="int16")
    expected = np.round(synth.render_clip("jazz", 0, seconds=2.0, seed=3) * 32767).astype(np.int16)
    assert sr == SAMPLE_RATE
    np.testing.assert_array_equal(pcm, expected)


def test_same_seed_writes_identical_bytes(tmp_path):
    a = make_embedded_corpus(tmp_path / "a", clips_per_genre=1, seconds=3.0, seed=5)
    b = make_embedded_corpus(tmp_path / "b", clips_per_genre=1, seconds=3.0, seed=5)
    for genre in GENRES:
        name = f"{genre}/{genre}.00000.wav"
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_other_seed_or_index_gives_other_audio():
    y = synth.render_clip("rock", 0, seconds=3.0, seed=0)
    assert not np.array_equal(y, synth.render_clip("rock", 0, seconds=3.0, seed=1))
    assert not np.array_equal(y, synth.render_clip("rock", 1, seconds=3.0, seed=0))
    # and the genres are not one song under ten names
    assert not np.array_equal(y, synth.render_clip("metal", 0, seconds=3.0, seed=0))


def test_clip_does_not_depend_on_how_many_clips_are_written(tmp_path):
    small = make_embedded_corpus(tmp_path / "two", clips_per_genre=2, seconds=2.0, seed=1)
    large = make_embedded_corpus(tmp_path / "four", clips_per_genre=4, seconds=2.0, seed=1)
    for genre in GENRES:
        for k in range(2):
            name = f"{genre}/{synth.clip_name(genre, k)}"
            assert (small / name).read_bytes() == (large / name).read_bytes(), name
    assert len(list((large / "pop").iterdir())) == 4


@pytest.mark.parametrize("genre", GENRES)
def test_clips_are_normalised_and_never_silent(genre):
    for index in range(2):
        y = synth.render_clip(genre, index, seconds=12.0, seed=11)
        assert y.dtype == np.float32 and y.shape == (12 * SAMPLE_RATE,)
        assert np.isfinite(y).all()
        peak_db = 20 * np.log10(np.max(np.abs(y)))
        assert -3.05 <= peak_db <= -0.95, peak_db
        assert _window_energies(y).min() > MIN_ENERGY
        assert abs(float(np.mean(y))) < 1e-3  # no DC offset


def test_tempo_and_meter_follow_the_genres():
    ranges = {"blues": (70, 100), "classical": (60, 110), "country": (100, 122),
              "disco": (114, 126), "hiphop": (84, 96), "jazz": (115, 200), "metal": (140, 180),
              "pop": (100, 125), "reggae": (70, 80), "rock": (110, 140)}
    for genre, (lo, hi) in ranges.items():
        infos = [synth.clip_info(genre, i, seconds=10.0) for i in range(12)]
        assert all(lo <= c.bpm <= hi for c in infos), genre
        assert len({c.key for c in infos}) > 1 and len({c.instruments for c in infos}) > 1, genre
    assert all("drums" not in synth.clip_info("classical", i, 10.0).instruments for i in range(12))
    assert all(synth.clip_info("blues", i, 10.0).swing > 0.6 for i in range(12))  # shuffle
    assert all(synth.clip_info("rock", i, 10.0).swing == 0.5 for i in range(12))


@pytest.mark.parametrize("genre", ["disco", "reggae", "metal"])
def test_rendered_beat_is_at_the_arranged_tempo(genre):
    import librosa

    hits = 0
    for index in range(3):
        y = synth.render_clip(genre, index, seconds=12.0, seed=2)
        tempo, _ = librosa.beat.beat_track(y=y, sr=SAMPLE_RATE)
        ratio = float(np.atleast_1d(tempo)[0]) / synth.clip_info(genre, index, 12.0, seed=2).bpm
        # beat trackers may lock to half or double time (or, with swing, 2:3)
        hits += min(abs(np.log2(ratio) - np.log2(r)) for r in (0.5, 2 / 3, 1.0, 1.5, 2.0)) < 0.06
    assert hits >= 2


def test_genres_are_learnable_but_not_trivially():
    """Time-averaged log-Mel statistics and a logistic regression: well above chance (0.1),
    well below perfect."""
    import librosa
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, labels = [], []
    for label, genre in enumerate(GENRES):
        for index in range(8):
            y = synth.render_clip(genre, index, seconds=6.0, seed=0)
            log_mel = np.log(librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_mels=64) + 1e-6)
            features.append(np.concatenate([log_mel.mean(axis=1), log_mel.std(axis=1)]))
            labels.append(label)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(n_splits=4, shuffle=True, random_state=0)
    accuracy = cross_val_score(model, np.array(features), np.array(labels), cv=folds).mean()
    assert 0.3 < accuracy < 0.95, accuracy


def test_bad_arguments_are_refused_with_a_useful_message(tmp_path):
    with pytest.raises(ValueError, match="blues, classical"):
        synth.render_clip("polka", 0, seconds=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        synth.render_clip("pop", 0, seconds=1.0, seed=-1)
    with pytest.raises(ValueError, match="seconds"):
        synth.render_clip("pop", 0, seconds=0.0)
    with pytest.raises(ValueError, match="clips_per_genre"):
        make_embedded_corpus(tmp_path, clips_per_genre=0)


# ---------------------------------------------------------------------------------------
# Parallel rendering: the same bytes as a serial render, from any caller
# ---------------------------------------------------------------------------------------
SMALL = dict(clips_per_genre=4, seconds=2.0, seed=4)  # 40 clips: the size that goes parallel
PROJECT_ROOT = Path(specadv.__file__).resolve().parents[1]


def _wav_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.wav"))}


@pytest.fixture(scope="module")
def serial_corpus(tmp_path_factory) -> dict[str, bytes]:
    """The files of the small corpus rendered in this process, one clip after the other."""
    out = make_embedded_corpus(tmp_path_factory.mktemp("serial") / "corpus", workers=1, **SMALL)
    files = _wav_bytes(out)
    assert len(files) == 10 * SMALL["clips_per_genre"]
    return files


def test_parallel_rendering_writes_the_same_bytes(tmp_path, serial_corpus):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a fallback to a serial render fails
        out = make_embedded_corpus(tmp_path / "parallel", workers=2, **SMALL)
    assert _wav_bytes(out) == serial_corpus
    assert not [p for p in out.rglob("*") if p.is_file() and p.suffix != ".wav"]  # no temp files


def test_render_clips_yields_the_serial_arrays_in_order():
    jobs = [("reggae", 1, 1.5, 7), ("classical", 0, 1.5, 7), ("metal", 2, 1.5, 7)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        parallel = list(synth.render_clips(jobs, workers=2))
    assert len(parallel) == len(jobs)
    for job, y in zip(jobs, parallel):
        expected = synth.render_clip(*job)
        assert y.dtype == np.float32 and y.tobytes() == expected.tobytes(), job
    # an error in a worker comes back as the error a serial render raises
    with pytest.raises(ValueError, match="unknown genre 'polka'"):
        list(synth.render_clips([("jazz", 0, 1.0, 0), ("polka", 0, 1.0, 0)], workers=2))


def test_render_clips_falls_back_to_this_process_when_no_worker_starts(tmp_path, monkeypatch):
    jobs = [("disco", 0, 1.0, 0), ("blues", 3, 1.0, 0)]
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    with pytest.warns(RuntimeWarning, match="rendering the clips in this process"):
        got = list(synth.render_clips(jobs, workers=2))
    assert [y.tobytes() for y in got] == [synth.render_clip(*j).tobytes() for j in jobs]


def _run_python(args: list[str], cwd: Path, stdin: str | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """This interpreter, in ``cwd``, with the project importable; a fallback warning fails."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT)] + [p for p in
                                        env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return subprocess.run([sys.executable, "-W", "error::RuntimeWarning", *args], cwd=cwd,
                          env=env, input=stdin, capture_output=True, text=True, timeout=timeout)


# A user's plain script: no `if __name__ == "__main__":` guard, the parallel path forced.
UNGUARDED_SCRIPT = textwrap.dedent(f"""\
    from specadv.data import make_embedded_corpus

    print("top level ran")
    make_embedded_corpus("corpus", workers=2, **{SMALL!r})
    print("corpus written")
""")


def test_unguarded_script_writes_the_corpus_in_parallel(tmp_path, serial_corpus):
    (tmp_path / "make_corpus.py").write_text(UNGUARDED_SCRIPT)
    run = _run_python(["make_corpus.py"], cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    # the workers never ran the script again (a multiprocessing child would import it)
    assert run.stdout.count("top level ran") == 1, run.stdout
    assert "corpus written" in run.stdout
    assert _wav_bytes(tmp_path / "corpus") == serial_corpus


def test_script_piped_to_python_stdin_writes_the_corpus_in_parallel(tmp_path, serial_corpus):
    run = _run_python(["-"], cwd=tmp_path, stdin=UNGUARDED_SCRIPT)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("top level ran") == 1, run.stdout
    assert _wav_bytes(tmp_path / "corpus") == serial_corpus


def test_parallel_render_with_torch_threads_running(tmp_path):
    """torch imported, its intra-op pool and a Python thread busy: no hang, the same arrays."""
    pytest.importorskip("torch")
    script = textwrap.dedent("""\
        import threading
        import torch
        from specadv import synth

        stop = threading.Event()
        def busy():
            a = torch.randn(256, 256)
            while not stop.is_set():
                a = torch.tanh(a @ a)
        threading.Thread(target=busy, daemon=True).start()
        torch.randn(512, 512) @ torch.randn(512, 512)
        jobs = [("hiphop", i, 1.0, 5) for i in range(3)]
        parallel = [y.tobytes() for y in synth.render_clips(jobs, workers=2)]
        stop.set()
        assert parallel == [synth.render_clip(*j).tobytes() for j in jobs]
        print("same arrays")
    """)
    run = _run_python(["-c", script], cwd=tmp_path, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "same arrays" in run.stdout


# ---------------------------------------------------------------------------------------
# The package's imports: nothing of specadv but its constants (no cycle with specadv.data)
# ---------------------------------------------------------------------------------------
def _specadv_imports(path: Path) -> set[str]:
    """The modules of ``specadv`` that a file of ``specadv/synth`` imports, resolved."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "specadv"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package specadv.synth
                base = ["specadv", "synth"][: 2 - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] == "specadv":
                found.add(module)
                found |= {f"{module}.{a.name}" for a in node.names}  # from specadv import data
    return found


def test_synth_does_not_import_specadv_data():
    files = sorted((PROJECT_ROOT / "specadv" / "synth").glob("*.py"))
    assert len(files) >= 8 and not (PROJECT_ROOT / "specadv" / "synth.py").exists()
    for f in files:
        imported = _specadv_imports(f)
        assert not {m for m in imported if m == "specadv.data" or m.startswith("specadv.data.")}, f
        assert all(m.startswith(("specadv.synth", "specadv.constants")) for m in imported), \
            (f.name, imported)
    # and importing the package alone loads no specadv.data
    run = _run_python(["-c", "import sys, specadv.synth; "
                             "print(sorted(m for m in sys.modules if m.startswith('specadv')))"],
                      cwd=PROJECT_ROOT)
    assert run.returncode == 0, run.stderr
    assert "specadv.data" not in run.stdout and "specadv.synth.mixing" in run.stdout, run.stdout
