import math
import os

import numpy as np
import pytest
import soundfile as sf

from specadv.data import (GENRES, CorpusError, load_corpus, make_folds, read_audio, segment,
                          segment_starts)

SR = 22050


def _tone(seconds, sr=SR, f=220.0, amp=0.3, channels=1):
    t = np.arange(int(seconds * sr)) / sr
    y = (amp * np.sin(2 * np.pi * f * t)).astype(np.float32)
    return np.stack([y] * channels, axis=1) if channels > 1 else y


def _fake_tree(root, genres=GENRES, n=3, ext="wav", seconds=6.0):
    for g in genres:
        (root / g).mkdir(parents=True)
        for i in range(n):
            sf.write(root / g / f"{g}.{i:05d}.{ext}", _tone(seconds, f=100 + 10 * i),
                     SR, subtype="PCM_16", format="AU" if ext == "au" else "WAV")
    return root


def test_genres_in_spec_order():
    assert GENRES == ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal",
                      "pop", "reggae", "rock")


def test_segment_counts_follow_the_authors_rule():
    assert len(segment_starts(661794)) == 21  # the usual GTZAN clip, 30.01 s
    assert len(segment_starts(661500)) == 20  # exactly 30 s: the last window is dropped
    assert len(segment_starts(110250)) == 1
    assert len(segment_starts(5000)) == 1
    starts = segment_starts(661794)
    assert starts[1] == 27562 and starts[-1] == 20 * 27562
    for n in (110250, 200000, 661794, 700000):
        assert segment_starts(n)[-1] + 110250 <= max(n, 110250)
        assert len(segment_starts(n)) == max(1, math.ceil((n - 110250) / 27562.5))


def test_segment_pads_short_clip_and_drops_silence():
    y = np.ones(50000, dtype=np.float32) * 0.1
    segs, idx = segment(y)
    assert segs.shape == (1, 110250) and idx.tolist() == [0]
    assert np.all(segs[0, 50000:] == 0) and np.all(segs[0, :50000] == np.float32(0.1))
    # a clip silent after 10 s: windows (almost) wholly in the silence are dropped
    z = np.zeros(661794, dtype=np.float32)
    z[: 10 * SR] = _tone(10)
    segs, idx = segment(z)
    starts = segment_starts(len(z))
    assert idx.tolist() == list(range(8))  # window 8 starts 4 samples before the silence
    assert starts[8] < 10 * SR < starts[8] + 20
    assert np.array_equal(segs[1], z[starts[1]: starts[1] + 110250])


def test_segment_energy_threshold_is_inclusive():
    y = np.full(110250, np.sqrt(1e-5), dtype=np.float64)
    assert len(segment(y.astype(np.float32) * 0.999)[0]) == 0
    assert len(segment(y.astype(np.float32) * 1.01)[0]) == 1


def test_load_corpus_mirrored_layout_with_corrupt_and_non_audio(tmp_path):
    root = _fake_tree(tmp_path / "Data" / "genres_original")
    (root / "jazz" / "jazz.00054.wav").write_bytes(b"RIFF\x00\x00garbage")
    (root / "jazz" / "notes.txt").write_text("hello")
    sf.write(root / "rock" / "rock.00099.wav", _tone(2.0), SR)  # too short
    corpus = load_corpus(tmp_path)  # two levels above the genre folders
    assert corpus.root == root
    assert len(corpus.clips) == 30
    reasons = {s.path.name: s.reason for s in corpus.skipped}
    assert "unreadable" in reasons["jazz.00054.wav"]
    assert "not an audio file" in reasons["notes.txt"]
    assert "too short" in reasons["rock.00099.wav"]
    c = corpus.clips[0]
    assert (c.genre, c.label, c.clip_id) == ("blues", 0, "blues.00000")
    assert [c.label for c in corpus.clips] == sorted(c.label for c in corpus.clips)


def test_load_corpus_lists_looping_and_dangling_links_among_the_skipped(tmp_path):
    root = _fake_tree(tmp_path / "genres", genres=("blues", "rock"), n=2)
    (root / "blues" / "blues.00050.wav").symlink_to("blues.00050.wav")  # points to itself
    (root / "rock" / "a.wav").symlink_to("b.wav")
    (root / "rock" / "b.wav").symlink_to("a.wav")                      # a loop of two
    (root / "rock" / "rock.00060.wav").symlink_to(tmp_path / "gone.wav")  # dangling
    (root / "rock" / "rock.00001.link.wav").symlink_to("rock.00001.wav")  # a good link
    os.mkfifo(root / "rock" / "rock.00070.wav")  # would block a reader: never opened
    (root / "rock" / "extra").mkdir()  # a folder: not read, not a skipped file
    corpus = load_corpus(root)
    assert sorted(c.clip_id for c in corpus.clips) == [
        "blues.00000", "blues.00001", "rock.00000", "rock.00001", "rock.00001.link"]
    reasons = {s.path.name: s.reason for s in corpus.skipped}
    assert sorted(reasons) == ["a.wav", "b.wav", "blues.00050.wav", "rock.00060.wav",
                               "rock.00070.wav"]
    for name in ("blues.00050.wav", "a.wav", "b.wav"):
        assert reasons[name].startswith("symbolic link loop"), reasons[name]
    assert reasons["rock.00060.wav"].startswith("broken symbolic link")
    assert str(tmp_path / "gone.wav") in reasons["rock.00060.wav"]
    assert "remove it" in reasons["rock.00060.wav"]
    assert reasons["rock.00070.wav"].startswith("not a regular file")


def test_load_corpus_original_au_layout_resamples_and_mixes(tmp_path):
    root = tmp_path / "genres"
    _fake_tree(root, genres=("blues", "rock"), n=3, ext="au")
    sf.write(root / "rock" / "rock.00010.wav", _tone(6.0, sr=44100, channels=2), 44100)
    corpus = load_corpus(root)
    clip = next(c for c in corpus.clips if c.clip_id == "rock.00010")
    assert clip.sample_rate_in == 44100 and clip.channels_in == 2
    assert abs(clip.n_samples - 6 * SR) <= 1
    assert sum(c.path.suffix == ".au" for c in corpus.clips) == 6
    y = read_audio(clip.path)
    assert y.ndim == 1 and abs(len(y) - 6 * SR) <= 1


def test_read_audio_rejects_nan(tmp_path):
    y = _tone(6.0)
    y[100] = np.nan
    sf.write(tmp_path / "x.wav", y, SR, subtype="FLOAT")
    with pytest.raises(ValueError, match="NaN"):
        read_audio(tmp_path / "x.wav")


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no genre folders"),
])
def test_load_corpus_bad_paths(tmp_path, make, message):
    with pytest.raises(CorpusError, match=message):
        load_corpus(make(tmp_path))


def test_load_corpus_unknown_genre_folder(tmp_path):
    _fake_tree(tmp_path, genres=("blues", "rock"))
    (tmp_path / "polka").mkdir()
    with pytest.raises(CorpusError, match="polka"):
        load_corpus(tmp_path)


def test_folds_are_the_authors_stratified_kfold():
    from sklearn.model_selection import StratifiedKFold

    labels = np.repeat(np.arange(10), 9)
    folds = make_folds(labels)
    for k, (_, test) in enumerate(StratifiedKFold(3, shuffle=True, random_state=7)
                                  .split(np.zeros(90), labels)):
        assert np.array_equal(np.flatnonzero(folds == k), np.sort(test))
    assert all(np.bincount(labels[folds == k]).tolist() == [3] * 10 for k in range(3))


def test_folds_refuse_too_few_clips_and_single_genre():
    with pytest.raises(CorpusError, match="too few clips"):
        make_folds(np.array([0, 0, 0, 1, 1]))
    with pytest.raises(CorpusError, match="only one genre"):
        make_folds(np.zeros(9, dtype=int))


# -- segments gathered from clips stored end to end (what the dataset stage reads) --------
def _clips_end_to_end(lengths, seed=0):
    """Clips of ``lengths`` samples of distinct noise (so a sample read from the wrong clip
    shows), concatenated: (clips, audio, clip_offset, seg_clip, seg_start)."""
    from specadv.data import kept_windows

    rng = np.random.default_rng(seed)
    clips = [(0.1 * (k + 1) * rng.standard_normal(n)).astype(np.float32)
             for k, n in enumerate(lengths)]
    audio = np.concatenate(clips)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    seg_clip, seg_start = [], []
    for k, y in enumerate(clips):
        starts, kept = kept_windows(y)
        seg_clip += [k] * len(kept)
        seg_start += starts[kept].tolist()
    return clips, audio, offsets, np.array(seg_clip), np.array(seg_start)


@pytest.mark.parametrize("lengths", [
    (50000, 110250, 661794),   # a short clip first: its padding must not read the next clip
    (661794, 110250, 50000),   # a short clip last: its window runs past the array's end
    (110250, 70000, 661794, 30000),
    (661794,),
])
def test_gather_segments_equals_segment_of_each_clip(lengths):
    from specadv.data import gather_segments

    clips, audio, offsets, seg_clip, seg_start = _clips_end_to_end(lengths)
    expected = np.concatenate([segment(y)[0] for y in clips])
    assert len(expected) == len(seg_clip) == sum(max(1, len(segment_starts(n))) for n in lengths)
    idx = np.arange(len(seg_clip))
    got = gather_segments(audio, offsets, seg_clip, seg_start, idx)
    assert got.dtype == np.float32 and got.shape == (len(idx), 110250)
    assert np.array_equal(got, expected)
    shuffled = np.random.default_rng(1).permutation(idx)[:7]  # any rows, any order
    assert np.array_equal(gather_segments(audio, offsets, seg_clip, seg_start, shuffled),
                          expected[shuffled])
    assert gather_segments(audio, offsets, seg_clip, seg_start, []).shape == (0, 110250)


def test_gather_segments_reads_a_memory_mapped_array_in_place(tmp_path):
    from specadv import artifacts
    from specadv.data import gather_segments

    clips, audio, offsets, seg_clip, seg_start = _clips_end_to_end((661794, 40000))
    artifacts.save_npy(tmp_path / "audio.npy", audio)
    mm = artifacts.load_npy(tmp_path / "audio.npy", mmap=True)
    idx = np.array([len(seg_clip) - 1, 0, 20])  # the short last clip, the first, the 21st
    assert np.array_equal(gather_segments(mm, offsets, seg_clip, seg_start, idx),
                          gather_segments(audio, offsets, seg_clip, seg_start, idx))
    assert np.all(gather_segments(mm, offsets, seg_clip, seg_start, idx[:1])[0, 40000:] == 0)


def test_kept_windows_drops_a_silent_window_and_keeps_a_loud_one():
    from specadv.data import kept_windows

    y = np.zeros(661794, dtype=np.float32)
    y[600000:] = 0.1  # loud only at the end: window 0 is silent, window 20 is loud
    starts, kept = kept_windows(y)
    assert np.array_equal(starts, segment_starts(len(y)))
    assert 0 not in kept and 20 in kept
    # exactly the windows that overlap the loud part (energy 0.01 x overlap / window)
    overlap = np.clip(starts + 110250 - 600000, 0, None)
    assert kept.tolist() == np.flatnonzero(0.01 * overlap / 110250 > 1e-5).tolist()


def test_kept_windows_measures_a_short_clip_over_the_whole_padded_window():
    from specadv.data import kept_windows

    # mean square 5e-5 over the clip, 5e-6 over the zero-padded window: silent
    quiet = np.full(11025, np.sqrt(5e-5), dtype=np.float32)
    assert kept_windows(quiet)[1].tolist() == []
    assert kept_windows(4 * quiet)[1].tolist() == [0]  # 16 x: 8e-5 over the window
