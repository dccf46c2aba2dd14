"""PPO (agents/trainers/ppo.py, rollout_storage.py, ddppo.py): GAE, the PPO update,
recurrent minibatches, DD-PPO's preemption counter, learning a trivial navigation task,
exact resume.

The trivial task: one procedural house whose episodes start 1 m in front of their goal,
facing it (the first straight metre of a generated reference path), so four forward
steps and STOP succeed.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.config import DepthConfig, EvalConfig, ExperimentConfig
from agents.policies.pointnav import PointNavPolicy, PointNavPolicyConfig
from agents.trainers.ddppo import DDPPOTrainerConfig, RolloutTracker
from agents.trainers.ppo import PPOTrainer, PPOTrainerConfig, ppo_loss
from agents.trainers.rollout_storage import RolloutStorage, compute_gae
from vlnsim.errors import ConfigError

from ppo_fixtures import ONE_METRE, experiment, make_one_metre_dataset, small_policy_config  # noqa: E402


@pytest.fixture(scope="module")
def one_metre_root(tmp_path_factory) -> Path:
    return make_one_metre_dataset(tmp_path_factory.mktemp("ppo_data"))


# ------------------------------------------------------------------ GAE
def test_gae_matches_hand_computed_case():
    gamma, lam = 0.9, 0.8
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [0.2], [0.1], [0.3]])
    # masks[t] = 0: step t starts a new episode -> step 1 ended an episode (masks[2] = 0)
    masks = torch.tensor([[1.0], [1.0], [0.0], [1.0]])
    returns = compute_gae(rewards, values, masks, gamma, lam)
    # by hand: delta_2 = 2 + 0.9*0.3 - 0.1 = 2.17; A_2 = 2.17
    #          delta_1 = 0 + 0 - 0.2 = -0.2 (episode ended: no bootstrap); A_1 = -0.2 (no carry)
    #          delta_0 = 1 + 0.9*0.2 - 0.5 = 0.68; A_0 = 0.68 + 0.9*0.8*(-0.2) = 0.536
    expected_adv = torch.tensor([[0.536], [-0.2], [2.17]])
    assert torch.allclose(returns[:3] - values[:3], expected_adv, atol=1e-6)
    assert torch.allclose(returns[3], values[3])


def test_gae_lambda_one_is_discounted_return_and_lambda_zero_is_td():
    g = torch.Generator().manual_seed(0)
    T = 6
    rewards, values = torch.rand(T, 2, generator=g), torch.rand(T + 1, 2, generator=g)
    masks = torch.ones(T + 1, 2)
    mc = compute_gae(rewards, values, masks, 0.95, 1.0)
    discounted = sum(0.95 ** k * rewards[k] for k in range(T)) + 0.95 ** T * values[T]
    assert torch.allclose(mc[0], discounted, atol=1e-5)
    td = compute_gae(rewards, values, masks, 0.95, 0.0)
    assert torch.allclose(td[:T], rewards + 0.95 * values[1:], atol=1e-6)


# ------------------------------------------------------------------ storage and update
def _filled_storage(policy: PointNavPolicy, T: int = 12, N: int = 4, seed: int = 0) -> RolloutStorage:
    g = torch.Generator().manual_seed(seed)
    spaces = {"depth": ((16, 16, 1), torch.float32), "pointgoal_with_gps_compass": ((2,), torch.float32)}
    s = RolloutStorage(T, N, spaces, (policy.num_recurrent_layers, policy.hidden_size), torch.device("cpu"))

    def obs():
        return {"depth": torch.rand(N, 16, 16, 1, generator=g) * 5, "pointgoal_with_gps_compass": torch.rand(N, 2, generator=g)}

    s.set_first(obs(), policy.initial_hidden(N), torch.zeros(N, dtype=torch.long), torch.zeros(N))
    with torch.no_grad():
        for t in range(T):
            a, h, ex = policy.act({k: v[t] for k, v in s.obs.items()}, s.hidden[t], s.prev_actions[t], s.masks[t],
                                  deterministic=False, generator=g)
            done = torch.rand(N, generator=g) < 0.15
            s.insert(obs(), h, a, ex["log_prob"], ex["value"], torch.randn(N, generator=g), (~done).float())
    s.compute_returns(torch.zeros(N), 0.99, 0.95)
    return s


def test_recurrent_minibatches_hold_whole_env_sequences_and_their_initial_state():
    torch.manual_seed(0)
    policy = PointNavPolicy(small_policy_config())
    s = _filled_storage(policy)
    adv = s.advantages()
    seen = []
    for mb in s.recurrent_minibatches(adv, 2, torch.Generator().manual_seed(1)):
        assert mb["masks"].shape == (12, 2) and mb["hidden"].shape == (2, 1, 32)
        # re-running the sequence from the stored initial state reproduces the rollout's log-probs
        out = policy.evaluate_rollout(mb["obs"], mb["hidden"], mb["prev_actions"], mb["masks"], mb["actions"])
        assert torch.allclose(out.log_probs, mb["old_log_probs"], atol=1e-5)
        assert torch.allclose(out.values, mb["values"], atol=1e-5)
        seen.append(mb["advantages"])
    assert sorted(torch.cat(seen, 1).flatten().tolist()) == pytest.approx(sorted(adv.flatten().tolist()))


def test_ppo_update_lowers_its_own_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    policy = PointNavPolicy(small_policy_config())
    s = _filled_storage(policy, seed=3)
    cfg = PPOTrainerConfig(num_envs=4, num_minibatches=1, lr=3e-3)
    adv = s.advantages()
    adv = (adv - adv.mean()) / (adv.std() + 1e-5)
    batch = next(s.recurrent_minibatches(adv, 1, torch.Generator().manual_seed(0)))

    def loss():
        out = policy.evaluate_rollout(batch["obs"], batch["hidden"], batch["prev_actions"], batch["masks"], batch["actions"])
        return ppo_loss(out, batch, cfg)

    before = {k: float(v.detach()) for k, v in loss().items()}
    opt = torch.optim.Adam(policy.parameters(), lr=cfg.lr)
    for _ in range(8):
        opt.zero_grad()
        loss()["total"].backward()
        opt.step()
    after = {k: float(v.detach()) for k, v in loss().items()}
    assert after["total"] < before["total"] - 1e-3
    assert after["value"] < before["value"]
    assert after["policy"] < before["policy"]  # the surrogate improved (ratios moved with the advantages)


def test_rollout_tracker_preempts_once_sync_frac_of_ranks_finished():
    import torch.distributed as dist

    store = dist.HashStore()
    trackers = [RolloutTracker(store, world_size=5, sync_frac=0.6, min_steps=8) for _ in range(5)]
    for tr in trackers:
        tr.start(update=7)
    assert not trackers[4].should_stop(100)
    trackers[0].finish()
    trackers[1].finish()
    assert trackers[4].num_done() == 2 and not trackers[4].should_stop(100)  # 2 < 0.6 * 5
    trackers[2].finish()
    assert trackers[4].should_stop(8)
    assert not trackers[4].should_stop(7)  # too short a rollout yet
    trackers[4].start(update=8)  # the next update's counter starts at 0
    assert trackers[4].num_done() == 0 and not trackers[4].should_stop(100)


def test_config_validation_names_field():
    with pytest.raises(ConfigError, match="trainer.num_minibatches"):
        PPOTrainerConfig(num_envs=2, num_minibatches=4).validate()
    with pytest.raises(ConfigError, match="trainer.clip"):
        PPOTrainerConfig(clip=1.5).validate()
    with pytest.raises(ConfigError, match="trainer.sync_frac"):
        DDPPOTrainerConfig(sync_frac=0.0).validate()


# ------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def trained_run(one_metre_root, tmp_path_factory):
    """PPO on the one-metre task: (run dir, SR before training, train() result)."""
    run = tmp_path_factory.mktemp("ppo_run") / "run"
    t = PPOTrainerConfig(total_steps=4096, num_envs=4, num_steps=32, asynchronous=False, num_minibatches=2, ppo_epochs=4,
                         lr=5e-3, checkpoint_every=100, log_every=100)
    trainer = PPOTrainer(experiment(one_metre_root, run, t, eval_split="val_unseen"), progress=False)
    try:
        before = trainer.evaluate()
        result = trainer.train()
    finally:
        trainer.close()
    return run, before, result


def test_ppo_learns_to_walk_one_metre_and_stop(trained_run):
    """Four forward steps then STOP: a fresh policy rarely succeeds; PPO gets SR >= 0.8 in 4,096 steps."""
    run, before, result = trained_run
    after = result["history"][-1]["eval"]
    assert before["sr"] < 0.5
    assert after["sr"] >= 0.8, result["history"][-1]
    assert result["env_steps"] == 4096 and result["global_step"] == 4096 // (4 * 32) * 4 * 2
    assert (run / "checkpoints" / "latest.json").is_file()


def test_cli_eval_and_render_rollout_run_a_pointnav_checkpoint(trained_run, one_metre_root, tmp_path):
    """`vlnsim eval --ckpt RUN_DIR` and `vlnsim render-rollout --ckpt RUN_DIR` take the task from the checkpoint."""
    import json

    from vlnsim.cli import main

    run, _, result = trained_run
    out = tmp_path / "eval"
    assert main(["eval", "--ckpt", str(run), "--split", "val_unseen", "--data-root", str(one_metre_root), "--out", str(out),
                 "--no-progress", "--device", "cpu"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sr"] == pytest.approx(result["history"][-1]["eval"]["sr"])  # same deterministic policy, same episodes
    videos = tmp_path / "videos"
    assert main(["render-rollout", "--ckpt", str(run), "--episodes", "1", "--data-root", str(one_metre_root),
                 "--out", str(videos), "--width", "32", "--height", "32"]) == 0
    assert len(list(videos.glob("*.mp4"))) == 1


def _params(trainer) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in trainer.ac.parameters()])


def test_resume_reproduces_the_uninterrupted_run(one_metre_root, tmp_path):
    t = PPOTrainerConfig(total_steps=4 * 2 * 16, num_envs=2, num_steps=16, asynchronous=False, num_minibatches=2,
                         checkpoint_every=2, log_every=100, lr=1e-3)
    steps_per_update = t.ppo_epochs * t.num_minibatches
    straight = PPOTrainer(experiment(one_metre_root, tmp_path / "a", t), progress=False)
    try:
        straight.train()
    finally:
        straight.close()
    first = PPOTrainer(experiment(one_metre_root, tmp_path / "b", t), progress=False)
    try:
        first.train(max_steps=2 * steps_per_update)  # stops after update 2 with a checkpoint
        assert first.update == 2
    finally:
        first.close()
    resumed = PPOTrainer(experiment(one_metre_root, tmp_path / "b", t), progress=False)
    try:
        resumed.train(resume=True)
        assert resumed.update == 4 and resumed.env_steps == straight.env_steps
    finally:
        resumed.close()
    assert torch.equal(_params(straight), _params(resumed))
    assert not torch.equal(_params(straight), _params(first))
