"""`vlnsim eval`: baselines and checkpoints through one code path; metrics files."""
from __future__ import annotations

import json

import numpy as np
import pytest

DATASET = "agents_tiny"  # the session dataset of tests/conftest.py
DESIGN_KEYS = {"ne", "sr", "osr", "spl", "tl", "ndtw", "sdtw", "cls", "episodes"}
RUN_KEYS = {"agent", "checkpoint", "dataset", "split", "data_root", "ablate", "seed"}


def _eval(argv):
    from vlnsim.cli import main

    assert main(["eval"] + argv) == 0


def test_eval_expert_writes_every_design_metric(data_root, tmp_path):
    out = tmp_path / "expert"
    _eval(["--agent", "expert", "--split", "val_unseen", "--out", str(out), "--data-root", str(data_root),
           "--dataset", DATASET, "--episodes", "3", "--width", "16", "--height", "16", "--no-progress"])
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) == DESIGN_KEYS | RUN_KEYS and m["episodes"] == 3
    assert (m["agent"], m["checkpoint"], m["dataset"], m["split"], m["data_root"]) == \
        ("expert", None, DATASET, "val_unseen", str(data_root))
    assert m["sr"] == 1.0 and m["osr"] == 1.0 and m["ne"] < 3.0  # the oracle reaches every goal
    lines = [json.loads(l) for l in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(lines) == 3
    for rec in lines:
        assert {"episode_id", "scene_id", "path", "actions", "metrics"} <= set(rec)
        assert rec["actions"][-1] == 0  # STOP
        steps = np.linalg.norm(np.diff(np.asarray(rec["path"]), axis=0), axis=1).sum()
        assert rec["metrics"]["tl"] == pytest.approx(steps, abs=1e-6)
    assert m["tl"] == pytest.approx(np.mean([r["metrics"]["tl"] for r in lines]))


def test_eval_random_and_forward_only_run_the_same_episodes(data_root, tmp_path):
    ids = {}
    for agent in ("random", "forward-only"):
        out = tmp_path / agent
        _eval(["--agent", agent, "--split", "val_unseen", "--out", str(out), "--data-root", str(data_root),
               "--dataset", DATASET, "--episodes", "2", "--width", "16", "--height", "16", "--no-progress"])
        ids[agent] = [json.loads(l)["episode_id"] for l in (out / "episodes.jsonl").read_text().splitlines()]
    assert ids["random"] == ids["forward-only"] and len(ids["random"]) == 2
    fo = [json.loads(l) for l in (tmp_path / "forward-only" / "episodes.jsonl").read_text().splitlines()]
    assert all(set(r["actions"][:-1]) <= {1} for r in fo)


def test_checkpoint_eval_ablations_and_rollout_agent(data_root, tmp_path, tiny_config):
    import envs
    from agents.evaluation import make_agent
    from agents.trainers.il import ILTrainer

    run = tmp_path / "run"
    trainer = ILTrainer(tiny_config(run, "trainer.iterations=1", "trainer.epochs_per_iteration=1"), progress=False)
    trainer.train()
    trainer.close()
    results = {}
    for ablate in ("none", "instruction", "vision"):
        out = tmp_path / f"ckpt_{ablate}"
        _eval(["--ckpt", str(run), "--split", "val_unseen", "--out", str(out), "--data-root", str(data_root),
               "--dataset", DATASET, "--episodes", "2", "--device", "cpu", "--ablate", ablate, "--no-progress"])
        results[ablate] = json.loads((out / "metrics.json").read_text())
        assert set(results[ablate]) == DESIGN_KEYS | RUN_KEYS
        assert results[ablate]["agent"] == "checkpoint" and results[ablate]["episodes"] == 2
        assert results[ablate]["checkpoint"] == str(run / "checkpoints" / "ckpt_0000")
        assert results[ablate]["ablate"] == (None if ablate == "none" else ablate)
    env = envs.make_env(dict(data_root=str(data_root), dataset=DATASET, split="val_unseen", width=32, height=32))
    agent = make_agent(ckpt=str(run / "checkpoints" / "ckpt_0000"), env=env, device="cpu")
    obs, _ = env.reset(seed=0)
    agent.reset()
    action, weights = agent.act(obs)
    assert action in (0, 1, 2, 3)
    assert len(weights) == int(obs["instruction_mask"].sum()) and sum(weights) == pytest.approx(1.0, abs=1e-5)
    env.close()
