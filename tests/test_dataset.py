"""The dataset stage (:mod:`specadv.stages.dataset`): what it stores of the corpus."""
import numpy as np
import soundfile as sf
import torch

from specadv import artifacts
from specadv.data import read_audio
from specadv.stages.dataset import Dataset, build_dataset

SR = 22050
SEGMENTS = {"window_samples": 110250, "overlap": 0.75, "min_energy": 1e-5}
FOLDS = {"kind": "stratified", "n_splits": 2, "seed": 7}


def _tone(seconds, f):
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def test_a_clip_without_a_usable_segment_keeps_no_audio(tmp_path):
    root = tmp_path / "genres"
    for g in ("blues", "rock"):
        (root / g).mkdir(parents=True)
        for i in range(3):
            sf.write(root / g / f"{g}.{i + 1:05d}.wav", _tone(6.0 + i, 110 * (i + 2)), SR,
                     subtype="PCM_16")
    # first in the corpus, so that every other clip's audio comes after where it would be
    sf.write(root / "blues" / "blues.00000.wav", np.zeros(120 * SR, np.float32), SR,
             subtype="PCM_16")
    entry = artifacts.Store(tmp_path / "runs").entry("dataset", {"x": 1})
    entry.reset()
    build_dataset(entry, root, SEGMENTS, FOLDS, torch.device("cpu"), show_progress=False)
    ds = Dataset(entry)

    assert ds.silent_clips == ["blues.00000"] and ds.clips[0].n_segments == 0
    kept = sum(c.n_samples for c in ds.clips if c.n_segments)
    assert ds.clip_audio(0).size == 0
    # the 120-s silent clip would add 10.6 MB: the array holds the other clips only
    header = artifacts.load_npy(entry.path("audio.npy"), mmap=True).offset
    assert entry.path("audio.npy").stat().st_size == header + 4 * kept
    assert len(ds.audio) == kept and ds.clip_offset[-1] == kept
    # every segment is still its clip's audio at its start, and every clip its own audio
    assert len(ds) > 0 and 0 not in ds.seg_clip
    waves = ds.waveforms(np.arange(len(ds)))
    for i, (c, start) in enumerate(zip(ds.seg_clip, ds.seg_start)):
        y = read_audio(ds.clips[c].path)
        expected = np.zeros(SEGMENTS["window_samples"], np.float32)
        part = y[start: start + SEGMENTS["window_samples"]]
        expected[: len(part)] = part
        assert np.array_equal(waves[i], expected), (ds.clips[c].clip_id, start)
    for c in range(1, len(ds.clips)):
        assert np.array_equal(ds.clip_audio(c), read_audio(ds.clips[c].path))
