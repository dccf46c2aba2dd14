"""Discrete baselines and the IL trainer: expert perfect, random poor, a short DAgger run learns and round-trips."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.config import load_experiment_config
from agents.discrete.trainer import evaluate, load_policy, make_env
from agents.encoders.clip import build_tiny_clip
from agents.discrete.features import extract_features
from agents.trainers.registry import TRAINERS
from vlnsim.discrete.generate import generate_discrete_dataset


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("data")
    generate_discrete_dataset(str(root), "disc", num_houses=3, paths_per_house=4, progress=False)
    clip = build_tiny_clip(root / "clip", vocab_size=64, image_size=16, patch_size=8)
    extract_features(str(clip), str(root / "f.h5"), data_root=str(root), progress=False)
    return load_experiment_config("configs/r2r_seq2seq.yaml", [
        f"trainer.data_root={root}", "trainer.dataset=disc", f"trainer.features={root / 'f.h5'}",
        "trainer.iterations=2", "trainer.episodes_per_iteration=8", "trainer.batch_size=4",
        "trainer.eval_split=train", f"run_dir={root / 'run'}"])


def test_baselines(cfg):
    env = make_env(cfg.trainer, "val_unseen", features=False)
    expert = evaluate(env, None, "expert")
    assert expert["sr"] == 1.0 and expert["spl"] == pytest.approx(1.0) and expert["ndtw"] == pytest.approx(1.0)
    rnd = evaluate(env, None, "random", seed=0)
    assert rnd["sr"] < 1.0 and rnd["episodes"] == expert["episodes"]


def test_dagger_trainer_runs_and_reloads(cfg):
    trainer = TRAINERS.get("r2r_dagger")(cfg, "cpu", None, False)
    out = trainer.train()
    assert out["global_step"] == 4 and len(out["history"]) == 2
    assert np.isfinite(out["history"][-1]["loss"])
    env = make_env(cfg.trainer, "train")
    a = evaluate(env, trainer.policy)
    b = evaluate(env, load_policy(cfg.run_dir))
    assert a == b
    trainer.close()


def test_cli_train_and_eval(cfg, tmp_path):
    import json

    from vlnsim.cli import main as cli_main

    t = cfg.trainer
    run = tmp_path / "run"
    assert cli_main(["train", "--config", "configs/r2r_seq2seq.yaml", "--no-progress", "--max-steps", "2",
                     f"trainer.data_root={t.data_root}", "trainer.dataset=disc", f"trainer.features={t.features}",
                     "trainer.episodes_per_iteration=8", "trainer.batch_size=4", f"run_dir={run}"]) == 0
    assert (run / "checkpoints" / "latest.json").is_file()
    common = ["--setting", "discrete", "--data-root", t.data_root, "--dataset", "disc", "--no-progress"]
    assert cli_main(["eval", "--agent", "expert", "--out", str(tmp_path / "ex"), *common]) == 0
    m = json.loads((tmp_path / "ex" / "metrics.json").read_text())
    assert m["sr"] == 1.0 and m["spl"] == 1.0
    lines = (tmp_path / "ex" / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == m["episodes"]
    assert cli_main(["eval", "--ckpt", str(run), "--features", t.features, "--out", str(tmp_path / "ck"), *common]) == 0
    assert json.loads((tmp_path / "ck" / "metrics.json").read_text())["episodes"] == m["episodes"]
    # a missing features file is refused before anything runs
    assert cli_main(["train", "--config", "configs/r2r_seq2seq.yaml", f"trainer.data_root={t.data_root}",
                     "trainer.dataset=disc", "trainer.features=/nonexistent.h5", f"run_dir={tmp_path / 'r2'}"]) == 2


def test_render_rollout_discrete(cfg, tmp_path):
    import json
    import math

    from vlnsim.cli import main as cli_main
    from vlnsim.discrete.render import forward_view_index
    from vlnsim.viz.video import read_video

    # level-row views are 12..23 at headings 0, 30, ..., 330 degrees clockwise (hand-computed)
    assert [forward_view_index(h) for h in (0.0, math.pi / 2, -math.pi / 6, math.radians(14), math.radians(16))] == \
        [12, 15, 23, 12, 13]
    t = cfg.trainer
    out = tmp_path / "videos"
    common = ["--setting", "discrete", "--data-root", t.data_root, "--dataset", "disc", "--split", "val_unseen",
              "--episodes", "1", "--width", "32", "--height", "32", "--out", str(out)]
    assert cli_main(["render-rollout", "--agent", "expert", *common]) == 0
    rec = json.loads((out / "rollouts_expert.json").read_text())[0]
    env = make_env(t, "val_unseen", features=False)
    expert = evaluate(env, None, "expert", episodes=1)
    assert rec["metrics"]["success"] == expert["sr"] == 1.0 and rec["stopped"]
    frames = read_video(out / "val_unseen_ep0_expert.mp4")
    assert len(frames) >= rec["steps"] + 2  # first frame, one per step, then the metrics card
    assert cli_main(["render-rollout", "--agent", "forward-only", *common]) == 2  # not a discrete agent
    assert cli_main(["render-rollout", "--ckpt", str(tmp_path), *common]) == 2  # --ckpt needs --features
