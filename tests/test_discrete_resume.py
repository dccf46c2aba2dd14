"""r2r_dagger checkpoints: exact --resume, best/last checkpoints, TensorBoard on resume,
run-directory refusal and --fresh; ``policy.type`` selects the panoramic policy."""
from __future__ import annotations

import json
import time

import h5py
import pytest
import torch

from agents.config import load_experiment_config
from agents.discrete.checkpoint import load_policy
from agents.discrete.features import extract_features
from agents.discrete.policy import R2RSeq2SeqPolicy
from agents.encoders.clip import build_tiny_clip
from agents.trainers.registry import TRAINERS
from vlnsim.discrete.generate import generate_discrete_dataset
from vlnsim.errors import ConfigError


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("data")
    generate_discrete_dataset(str(root), "disc", num_houses=3, paths_per_house=4, progress=False)
    clip = build_tiny_clip(root / "clip", vocab_size=64, image_size=16, patch_size=8)
    extract_features(str(clip), str(root / "f.h5"), data_root=str(root), progress=False)
    return root


def overrides(root, run):
    # 8 episodes / batch 4 = 2 optimiser steps per iteration, 2 iterations
    return [f"trainer.data_root={root}", "trainer.dataset=disc", f"trainer.features={root / 'f.h5'}",
            "trainer.iterations=2", "trainer.episodes_per_iteration=8", "trainer.batch_size=4",
            "trainer.eval_split=train", "trainer.eval_episodes=6", "policy.hidden=32", "policy.embed_dim=16",
            f"run_dir={run}"]


def run(root, run_dir, resume=False, max_steps=None):
    cfg = load_experiment_config("configs/r2r_seq2seq.yaml", overrides(root, run_dir))
    trainer = TRAINERS.get(cfg.trainer.type)(cfg, "cpu", None, False)
    try:
        out = trainer.train(resume=resume, max_steps=max_steps)
        return out, {k: v.clone() for k, v in trainer.policy.state_dict().items()}
    finally:
        trainer.close()


def tb_losses(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tb"))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars("losses/loss")]


def strip_time(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory):
    d = tmp_path_factory.mktemp("straight") / "run"
    out, weights = run(data, d)
    return d, out, weights


@pytest.mark.parametrize("first", [2, 3])  # 2: stop at the end of iteration 0 (before its eval); 3: mid-iteration 1
def test_resume_equals_uninterrupted_run(data, straight, tmp_path, first):
    d0, out0, w0 = straight
    assert out0["global_step"] == 4 and [h["iteration"] for h in out0["history"]] == [0, 1]
    d = tmp_path / "run"
    out1, _ = run(data, d, max_steps=first)
    assert out1["global_step"] == first and len(out1["history"]) == (0 if first == 2 else 1)  # capped: no eval
    # TensorBoard names event files events.out.tfevents.<unix second>.<host>.<pid>.<counter> and reads
    # them in name order; a resume in the same process and second could sort before the first file
    # (counter 10 < 9). A real resume is a later process: start it in a later second, as in use.
    time.sleep(1.1)
    out2, w2 = run(data, d, resume=True)
    assert out2["global_step"] == 4
    assert w2.keys() == w0.keys() and all(torch.equal(w2[k], w0[k]) for k in w0)
    assert strip_time(out2["history"]) == strip_time(out0["history"])
    assert tb_losses(d) == tb_losses(d0) and [s for s, _ in tb_losses(d)] == [1, 2, 3, 4]
    # the last checkpoint reloads to the same weights; one last and one best checkpoint are kept
    last = load_policy(d)
    assert all(torch.equal(last.state_dict()[k], w0[k]) for k in w0)
    assert len(list((d / "checkpoints").glob("ckpt_*"))) == 1
    best = list((d / "checkpoints" / "best").glob("ckpt_*"))
    assert len(best) == 1
    meta = json.loads((best[0] / "trainer_state.json").read_text())
    assert meta["metrics"]["sr"] == max(h["metrics"]["sr"] for h in out0["history"])
    assert isinstance(load_policy(d / "checkpoints" / "best"), R2RSeq2SeqPolicy)
    assert json.loads((d / "train_history.json").read_text())[-1]["global_step"] == 4


def test_rerun_refused_fresh_cleans_resume_refuses_new_data(data, tmp_path):
    from vlnsim.cli import main as cli_main

    d = tmp_path / "run"
    args = ["train", "--config", "configs/r2r_seq2seq.yaml", "--no-progress", "--max-steps", "1", *overrides(data, d)]
    assert cli_main(args) == 0
    assert (d / "checkpoints" / "ckpt_0001").is_dir() and (d / "tb").is_dir()
    before = sorted(p.name for p in (d / "tb").iterdir())
    assert cli_main(args) == 2  # an existing run without --resume/--fresh
    assert sorted(p.name for p in (d / "tb").iterdir()) == before and (d / "checkpoints" / "ckpt_0001").is_dir()
    assert cli_main([*args[:3], "--resume", *args[3:]]) == 0
    assert [p.name for p in (d / "checkpoints").glob("ckpt_*")] == ["ckpt_0002"]
    # the data of a run cannot change on --resume (here: another features file)
    import shutil

    shutil.copy(data / "f.h5", tmp_path / "g.h5")
    other = [a if not a.startswith("trainer.features=") else f"trainer.features={tmp_path / 'g.h5'}"
             for a in overrides(data, d)]
    trainer = TRAINERS.get("r2r_dagger")(load_experiment_config("configs/r2r_seq2seq.yaml", other), "cpu", None, False)
    try:
        with pytest.raises(ConfigError, match="trainer.features changed"):
            trainer.train(resume=True)
    finally:
        trainer.close()
    (d / "tb" / "stale_marker").write_text("x")
    assert cli_main([*args[:3], "--fresh", *args[3:]]) == 0
    assert not (d / "tb" / "stale_marker").exists()
    assert [p.name for p in (d / "checkpoints").glob("ckpt_*")] == ["ckpt_0001"]


def test_policy_type_selects_the_panoramic_policy(data, tmp_path):
    from agents.policies.registry import POLICIES

    assert POLICIES.meta("r2r_seq2seq")["setting"] == "discrete"
    with h5py.File(data / "f.h5", "r") as f:
        dim = next(iter(f.values())).shape[1]
    cfg = load_experiment_config("configs/r2r_seq2seq.yaml", overrides(data, tmp_path / "r"))
    assert cfg.policy.type == "r2r_seq2seq" and cfg.policy.hidden == 32
    trainer = TRAINERS.get("r2r_dagger")(cfg, "cpu", None, False)
    try:
        p = trainer.policy
        assert isinstance(p, R2RSeq2SeqPolicy) and p.cell.hidden_size == 32 and p.embed.embedding_dim == 16
        assert p.cand_dim == dim + 4 and p.cfg.feature_dim == dim
    finally:
        trainer.close()
    # a continuous-setting policy is refused by the discrete trainer, naming the choices
    from agents.config import policy_config

    cma = load_experiment_config("configs/r2r_seq2seq.yaml", overrides(data, tmp_path / "r2"))
    cma.policy = policy_config({"type": "cma"})
    with pytest.raises(ConfigError, match="r2r_seq2seq"):
        TRAINERS.get("r2r_dagger")(cma, "cpu", None, False)
    # policy.feature_dim that contradicts the features file
    bad = load_experiment_config("configs/r2r_seq2seq.yaml", [*overrides(data, tmp_path / "r3"), f"policy.feature_dim={dim + 1}"])
    with pytest.raises(ConfigError, match="feature_dim"):
        TRAINERS.get("r2r_dagger")(bad, "cpu", None, False)
