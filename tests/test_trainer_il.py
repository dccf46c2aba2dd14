"""Imitation learning end to end on a tiny generated dataset: DAgger, resume, feature cache."""
from __future__ import annotations

import numpy as np
import pytest
import torch


def _flat(policy):
    return torch.cat([p.detach().flatten().clone() for p in policy.parameters() if p.requires_grad])


def test_dagger_changes_weights_lowers_loss_and_labels_with_the_expert(data_root, tmp_path, tiny_config):
    from agents.trainers.buffer import collate
    from agents.trainers.il import ILTrainer

    trainer = ILTrainer(tiny_config(tmp_path / "run"), progress=False)
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


# 64x64 frames, more episodes, the feature cache on: before the cache keyed exact poses and
# encoded misses in fixed-size batches, this resumed 8e-5 away from the uninterrupted run.
RESUME = ("trainer.cache.enabled=true", "trainer.episodes_per_iteration=12", "trainer.dagger_p=0.3",
          "env.width=64", "env.height=64", "policy.vision.tiny_image_size=64", "policy.vision.tiny_patch_size=16")


def _scalars(tb_dir, tag):
    """(step, value) pairs of ``tag`` as TensorBoard shows them (purged steps dropped)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_resume_is_bitwise_exact_and_tensorboard_does_not_repeat_steps(data_root, tmp_path, tiny_config):
    from torch.utils.tensorboard import SummaryWriter

    from agents.trainers.il import ILTrainer

    straight = ILTrainer(tiny_config(tmp_path / "a", *RESUME), progress=False)
    hist_a = straight.train()["history"]
    weights_a = _flat(straight.policy)
    straight.close()
    first = ILTrainer(tiny_config(tmp_path / "b", *RESUME), progress=False)
    first.train(stop_after=1)
    step0 = first.global_step
    first.close()
    assert (tmp_path / "b" / "checkpoints" / "ckpt_0000" / "model.safetensors").is_file()
    # The interrupted run had logged a few steps past its checkpoint before it died.
    stale = SummaryWriter(str(tmp_path / "b" / "tb"))
    for k in range(1, 4):
        stale.add_scalar("losses/total", 99.0, step0 + k)
    stale.close()
    resumed = ILTrainer(tiny_config(tmp_path / "b", *RESUME), progress=False)
    hist_b = resumed.train(resume=True)["history"]
    weights_b = _flat(resumed.policy)
    resumed.close()
    assert [h["iteration"] for h in hist_b] == [0, 1]
    for key in ("first_losses", "losses", "last_losses"):
        assert hist_b[1][key] == hist_a[1][key]  # bitwise: == on floats
    assert torch.equal(weights_a, weights_b)
    logged_a = _scalars(tmp_path / "a" / "tb", "losses/total")
    logged_b = _scalars(tmp_path / "b" / "tb", "losses/total")
    steps_b = [s for s, _ in logged_b]
    assert len(steps_b) == len(set(steps_b)) and 99.0 not in [v for _, v in logged_b]
    assert logged_b == logged_a  # the same curve as the uninterrupted run, every step once


def test_feature_cache_serves_the_same_frames_without_rendering(data_root, tmp_path, tiny_config):
    from agents.trainers.il import ILTrainer

    plain = ILTrainer(tiny_config(tmp_path / "p"), progress=False)
    cached = ILTrainer(tiny_config(tmp_path / "c", "trainer.cache.enabled=true"), progress=False)
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
