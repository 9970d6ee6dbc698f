import pytest

from specadv.profiles import DEFAULTS, ProfileError, builtin_profiles, load_profile


def test_builtin_profiles_load_and_paper_keeps_the_papers_settings():
    assert {"smoke", "demo", "paper"} <= set(builtin_profiles())
    paper = load_profile("paper")
    assert paper["model2d"] == {"width": 32, "width_stft": None, "dense_mel": 1024,
                                "dense_stft": 512, "dropout_dense": 0.8, "bn_momentum": 0.01,
                                "head": "flatten", "head_chunks": 1, "input_norm": "none",
                                "input_norm_stft": None, "input_pool": [1, 1],
                                "input_pool_stft": None, "input_pool_kind": "avg",
                                "unshift_stft_paper": False, "band_stats": False}
    t = paper["train2d"]
    assert (t["optimizer"], t["lr"], t["batch_size"], t["epochs"]) == ("adadelta", 1.0, 100, 150)
    assert t["schedule"] == paper["train1d"]["schedule"] == "constant"
    assert t["validation"] == "segment" and t["early_stopping_patience"] is None
    a = paper["attacks"]
    assert (a["fgsm"]["eps"], a["bim"]["eps"], a["bim"]["step"], a["bim"]["iters"]) == \
        (0.3, 0.3, 0.1, 10)
    assert a["labels"] == "predicted" and a["clip"] is False
    assert paper["folds"] == {"kind": "stratified", "n_splits": 3, "seed": 7}
    for name in ("smoke", "demo"):
        assert load_profile(name)["train2d"]["validation"] == "clip"


def test_unknown_key_lists_the_valid_keys(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("name: x\ntrain2d:\n  epoch: 3\n")
    with pytest.raises(ProfileError) as err:
        load_profile(f)
    msg = str(err.value)
    assert "train2d.epoch" in msg and "epochs" in msg and str(f) in msg


def test_wrong_type_is_refused(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("attacks:\n  bim: {iters: ten}\n")
    with pytest.raises(ProfileError, match="attacks.bim.iters.*int"):
        load_profile(f)
    f.write_text("attacks:\n  clip: 1\n")
    with pytest.raises(ProfileError, match="attacks.clip"):
        load_profile(f)


def test_values_are_never_evaluated_as_code(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(f)


def test_unknown_profile_name_lists_builtins():
    with pytest.raises(ProfileError, match="demo"):
        load_profile("dmeo")


def test_overrides_and_digest():
    p = load_profile("smoke", device="cpu")
    assert p["device"] == "cpu"
    q = load_profile("smoke", attacks={"fgsm": {"eps": 0.5}})
    assert q["attacks"]["fgsm"]["eps"] == 0.5
    assert q["attacks"]["bim"]["eps"] == DEFAULTS["attacks"]["bim"]["eps"]
    assert p.section_digest("attacks") != q.section_digest("attacks")
    assert p.section_digest("folds") == q.section_digest("folds")


def test_a_relative_corpus_path_is_read_beside_the_profile_file(tmp_path, monkeypatch):
    (tmp_path / "profiles").mkdir()
    f = tmp_path / "profiles" / "mine.yaml"
    f.write_text("name: mine\ncorpus:\n  kind: folder\n  path: ../gtzan\n")
    monkeypatch.chdir("/")
    assert load_profile(str(f))["corpus"]["path"] == str(tmp_path / "gtzan")
    f.write_text("name: mine\ncorpus:\n  kind: folder\n  path: /data/gtzan\n")
    assert load_profile(str(f))["corpus"]["path"] == "/data/gtzan"


@pytest.mark.parametrize("section, text, words", [
    ("model2d", "head: mean", ["model2d.head", "'flatten'", "'meanstd'"]),
    ("model2d", "input_norm: batch", ["model2d.input_norm", "'none'", "'band'"]),
    ("model2d", "input_norm_stft: batch", ["model2d.input_norm_stft", "'band'", "or null"]),
    ("model2d", "input_pool: [2]", ["model2d.input_pool", "two positive integers"]),
    ("model2d", "input_pool: [0, 2]", ["model2d.input_pool", "two positive integers"]),
    ("model2d", "input_pool_stft: [4, 1.5]", ["model2d.input_pool_stft", "or null"]),
    ("model2d", "input_pool_kind: min", ["model2d.input_pool_kind", "'avg'", "'max'", "'power'"]),
    ("train2d", "schedule: cosine", ["train2d.schedule", "'constant'", "'onecycle'"]),
    ("train1d", "schedule: step", ["train1d.schedule", "'onecycle'"]),
    ("model1d", "pooling: max", ["model1d.pooling", "'meanstd'"]),
    ("model1d", "first_stride: 0", ["model1d.first_stride", "positive integer"]),
])
def test_recipe_keys_beyond_the_paper_are_validated(tmp_path, section, text, words):
    f = tmp_path / "p.yaml"
    f.write_text(f"name: x\n{section}:\n  {text}\n")
    with pytest.raises(ProfileError) as err:
        load_profile(f)
    assert all(w in str(err.value) for w in words) and str(f) in str(err.value)


def test_recipe_keys_reach_the_models_and_the_training():
    from specadv.stages.train import model_config, train_config

    p = load_profile("paper")
    assert model_config(p, "mel")["head"] == "flatten"
    assert model_config(p, "stft")["input_pool"] == [1, 1]
    assert train_config(p, "mel").schedule == "constant"
    assert model_config(p, "wave")["first_stride"] == 2
    p = load_profile("paper", model2d={"input_pool": [1, 2], "input_pool_stft": [4, 2],
                                       "head": "meanstd", "input_norm": "band"},
                     train1d={"schedule": "onecycle"})
    assert model_config(p, "mel")["input_pool"] == [1, 2]
    assert model_config(p, "stft")["input_pool"] == [4, 2]
    assert model_config(p, "stft_paper")["input_pool"] == [4, 2]
    assert model_config(p, "mel")["head"] == "meanstd"
    assert model_config(p, "mel")["input_norm"] == "band"
    assert model_config(p, "stft")["input_norm"] == "band"  # input_norm_stft null: as Mel
    assert not any(model_config(p, r)["unshift"] for r in ("mel", "stft", "stft_paper"))
    p2 = load_profile("paper", model2d={"input_norm": "band", "input_norm_stft": "none",
                                        "unshift_stft_paper": True, "input_pool_kind": "power"})
    assert [model_config(p2, r)["input_norm"] for r in ("mel", "stft", "stft_paper")] == \
        ["band", "none", "none"]
    # the unshift stem is the authors' form's only: the other inputs are not shifted
    assert [model_config(p2, r)["unshift"] for r in ("mel", "stft", "stft_paper")] == \
        [False, False, True]
    assert model_config(p2, "stft")["input_pool_kind"] == "power"
    assert model_config(p2, "mel")["head_chunks"] == 1
    p3 = load_profile("demo", model2d={"head_chunks": 8})
    assert [model_config(p3, r)["head_chunks"] for r in ("mel", "stft", "stft_paper")] == [8] * 3
    with pytest.raises(ProfileError, match="head_chunks must be a positive integer"):
        load_profile("demo", model2d={"head_chunks": 0})
    for bad in (2.5, True, "4"):
        with pytest.raises(ProfileError, match="head_chunks"):
            load_profile("demo", model2d={"head_chunks": bad})
    assert train_config(p, "wave").schedule == "onecycle"
    assert train_config(p, "mel").schedule == "constant"


@pytest.mark.parametrize("text, expected", [
    # issue 31's cases: each names the key, the file and what is allowed
    ("attacks:\n  seed: null\n", r"'attacks\.seed' may not be null.*int"),
    ("attacks:\n  fgsm: {eps: -0.3}\n", r"attacks\.fgsm\.eps must be a finite number >= 0.*-0\.3"),
    ("attacks:\n  bim: {iters: 0}\n", r"attacks\.bim\.iters must be a positive integer; got 0"),
    ("attacks:\n  bim: {step: .inf}\n", r"attacks\.bim\.step must be a finite number"),
    ("attacks:\n  sweep_eps: [0.3, -1.0]\n", r"attacks\.sweep_eps must be finite budgets >= 0"),
    ("attacks:\n  batch_size: 0\n", r"attacks\.batch_size must be a positive integer"),
    ("attacks:\n  fgsm_eps: 0.1\n", r"unknown key 'attacks\.fgsm_eps' \(each attack has a section "
                                    r"of its own now: write `attacks: \{fgsm: \{eps: \.\.\.\}\}`\)"),
    ("attacks:\n  bim: {epsilon: 0.3}\n", r"unknown key 'attacks\.bim\.epsilon'\. Valid keys of "
                                          r"attacks\.bim: eps, iters, step"),
    ("attacks:\n  names: [fgsm, bim, deepfool]\n", r"attacks\.names lists unknown attack\(s\) "
                                                   r"\['deepfool'\]"),
    ("train2d:\n  lr: null\n", r"'train2d\.lr' may not be null"),
    ("train2d:\n  lr: -1.0\n", r"train2d\.epochs and batch_size must be positive integers and lr "
                               r"a positive number"),
    ("model2d:\n  width_stft: '8'\n", r"'model2d\.width_stft' must be of type int or null"),
    ("reconstruction:\n  n_iter: -2\n", r"reconstruction\.n_iter and nnls_iter must be integers"),
    ("reconstruction:\n  seed: null\n", r"'reconstruction\.seed' may not be null"),
])
def test_a_bad_setting_is_refused_before_any_work_naming_key_file_and_value(tmp_path, text,
                                                                             expected):
    from specadv.pipeline import Run

    f = tmp_path / "bad.yaml"
    f.write_text("name: bad\n" + text)
    runs = tmp_path / "runs"
    with pytest.raises(ProfileError, match=expected) as err:
        Run(str(f), runs_dir=runs, progress=False)
    assert str(f) in str(err.value)
    assert not runs.exists()  # nothing read, nothing written: the corpus was never touched


def test_null_stays_allowed_where_a_key_means_none(tmp_path):
    f = tmp_path / "ok.yaml"
    f.write_text("model2d: {width_stft: null, input_pool_stft: null}\n"
                 "train2d: {epochs_stft: 12, lr_stft: 1, early_stopping_patience: null}\n")
    p = load_profile(str(f))
    assert p["model2d"]["width_stft"] is None and p["train2d"]["epochs_stft"] == 12
    assert p["train2d"]["lr_stft"] == 1.0 and isinstance(p["train2d"]["lr_stft"], float)


def test_a_profiles_corpus_folder_that_does_not_exist_is_refused_before_any_work(tmp_path):
    from specadv.data import CorpusError
    from specadv.runner import check_inputs

    f = tmp_path / "mine.yaml"
    f.write_text("name: mine\ncorpus: {kind: folder, path: no-such-gtzan}\n")
    with pytest.raises(CorpusError, match="no-such-gtzan: the corpus folder does not exist"):
        check_inputs(load_profile(str(f)), root=tmp_path)
    assert not (tmp_path / "runs").exists()
