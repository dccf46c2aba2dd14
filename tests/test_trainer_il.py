"""Imitation learning end to end on a tiny generated dataset: DAgger, resume, feature cache."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

DATASET = "agents_tiny"


def agents_data_root(tmp_path_factory) -> Path:
    """A tiny procedural dataset shared by the agents tests (built once per session)."""
    root = tmp_path_factory.getbasetemp() / "agents_data"
    if not (root / "done").is_file():
        from vlnsim.episodes.generate import generate_dataset

        generate_dataset(root, name=DATASET, num_houses=4, episodes_per_house=6, seed=1, progress=False,
                         num_rooms=3, instructions_per_path=2, min_distance=3.5, max_distance=8.0)
        (root / "done").write_text("ok")
    return root


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    return agents_data_root(tmp_path_factory)


def tiny_config(data_root, run_dir, *extra):
    """A CMA experiment small enough for a test (32x32 frames, tiny CLIP, 2 envs)."""
    from agents.config import load_experiment_config

    overrides = [
        f"run_dir={run_dir}", "device=cpu", f"env.data_root={data_root}", f"env.dataset={DATASET}",
        "env.split=train", "env.width=32", "env.height=32", "env.max_episode_steps=40", "policy.hidden_size=32", "policy.rgb_dim=16",
        "policy.depth_dim=16", "policy.attention_dim=16", "policy.prev_action_dim=8",
        "policy.vision.tiny_image_size=32", "policy.vision.tiny_patch_size=8", "policy.depth.channels=[8,16]",
        "policy.depth.output_dim=16", "policy.depth.input_size=32", "policy.instruction.embedding_dim=16",
        "policy.instruction.hidden_size=16", "policy.depth.trainable=false", "trainer.iterations=2", "trainer.dagger_p=0.5",
        "trainer.episodes_per_iteration=4", "trainer.epochs_per_iteration=4", "trainer.batch_size=2",
        "trainer.lr=3e-3", "trainer.num_envs=2", "trainer.max_collect_steps=40", "trainer.log_every=1",
        "trainer.cache.enabled=false", "eval.split=null",
    ]
    return load_experiment_config(None, overrides + list(extra))


def _flat(policy):
    return torch.cat([p.detach().flatten().clone() for p in policy.parameters() if p.requires_grad])


def test_dagger_changes_weights_lowers_loss_and_labels_with_the_expert(data_root, tmp_path):
    from agents.trainers.buffer import collate
    from agents.trainers.il import ILTrainer

    trainer = ILTrainer(tiny_config(data_root, tmp_path / "run"), progress=False)
    try:
        before = _flat(trainer.policy)
        # Iteration 0 is pure teacher forcing: every executed action is the expert's.
        s0 = trainer.run_iteration(0)
        recs0 = trainer.buffer.episodes
        assert s0["beta"] == 1.0 and all(np.array_equal(r.actions, r.labels) for r in recs0)
        # Expert trajectories end with STOP (the oracle stops at the goal).
        assert all(r.labels[-1] == 0 for r in recs0 if len(r) < 40)
        fixed = collate(recs0, trainer.device, trainer.inflection_coef)
        loss_after_0 = trainer.learner.loss_on(fixed)["action"]
        s1 = trainer.run_iteration(1)
        assert s1["beta"] == 0.5
        recs1 = trainer.buffer.episodes[len(recs0):]
        # beta = 0.5: the policy's own (sampled) actions are executed at some steps.
        assert any(not np.array_equal(r.actions, r.labels) for r in recs1)
        assert trainer.buffer.num_steps == sum(len(r) for r in recs0 + recs1)  # aggregated
        after = _flat(trainer.policy)
        assert not torch.equal(before, after)
        assert s1["last_losses"]["total"] < s0["first_losses"]["total"]
        assert trainer.learner.loss_on(fixed)["action"] < s0["first_losses"]["action"]
        assert loss_after_0 < s0["first_losses"]["action"]
    finally:
        trainer.close()


def test_resume_gives_the_same_next_losses(data_root, tmp_path):
    from agents.trainers.il import ILTrainer

    straight = ILTrainer(tiny_config(data_root, tmp_path / "a"), progress=False)
    hist_a = straight.train()["history"]
    straight.close()
    first = ILTrainer(tiny_config(data_root, tmp_path / "b"), progress=False)
    first.train(stop_after=1)
    first.close()
    assert (tmp_path / "b" / "checkpoints" / "ckpt_0000" / "model.safetensors").is_file()
    resumed = ILTrainer(tiny_config(data_root, tmp_path / "b"), progress=False)
    hist_b = resumed.train(resume=True)["history"]
    resumed.close()
    assert [h["iteration"] for h in hist_b] == [0, 1]
    assert hist_b[1]["first_losses"] == hist_a[1]["first_losses"]
    assert hist_b[1]["losses"] == hist_a[1]["losses"]
    assert hist_b[1]["last_losses"] == hist_a[1]["last_losses"]


def test_feature_cache_serves_the_same_frames_without_rendering(data_root, tmp_path):
    from agents.trainers.il import ILTrainer

    plain = ILTrainer(tiny_config(data_root, tmp_path / "p"), progress=False)
    cached = ILTrainer(tiny_config(data_root, tmp_path / "c", "trainer.cache.enabled=true"), progress=False)
    try:
        ids = plain.train_ids[:2]
        ref = plain._collector().collect(ids, 1.0, seed=(0, 0, 0))
        col = cached._collector()
        assert not col.envs[0].unwrapped.config.rgb and not col.envs[0].unwrapped.config.depth  # env does not render
        cold = col.collect(ids, 1.0, seed=(0, 0, 0))
        misses = cached.cache.misses
        warm = col.collect(ids, 1.0, seed=(0, 0, 0))
        assert cached.cache.misses == misses and cached.cache.hits > 0  # second pass: all hits
        for a, b, c in zip(ref, cold, warm):
            assert np.array_equal(a.labels, b.labels) and np.array_equal(b.labels, c.labels)
            assert set(a.frames) == set(b.frames) == {"rgb_pooled", "rgb_patches", "depth_features"}
            for k in a.frames:  # rendered by the collector == rendered by the env (float16 storage)
                np.testing.assert_allclose(a.frames[k].astype(np.float32), b.frames[k].astype(np.float32), atol=2e-3, rtol=2e-3)
            for k in b.frames:
                np.testing.assert_array_equal(b.frames[k], c.frames[k])
    finally:
        plain.close()
        cached.close()
