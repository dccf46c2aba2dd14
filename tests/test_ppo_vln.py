"""RL fine-tuning of a VLN policy (CMA) from an imitation checkpoint: PPO + EnvDrop-style IL
loss, the critic kept outside the policy's weights so that `vlnsim eval` loads the result
like any IL checkpoint."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from agents.config import DepthConfig, EvalConfig, ExperimentConfig, PolicyConfig
from agents.policies import build_policy
from agents.trainers.checkpoint import load_checkpoint, save_checkpoint
from agents.trainers.ppo import PPOTrainer, PPOTrainerConfig

from ppo_fixtures import ONE_METRE, make_one_metre_dataset


def _il_checkpoint(root, run):
    """A CMA (depth-only) policy saved the way the IL trainer saves it."""
    from vlnsim.episodes import load_split

    vocab = len(load_split(root, ONE_METRE, "train").word_list)
    pcfg = PolicyConfig(type="cma", hidden_size=32, rgb_dim=16, depth_dim=16, attention_dim=16, prev_action_dim=8)
    pcfg.instruction.embedding_dim, pcfg.instruction.hidden_size = 16, 16
    pcfg.depth = DepthConfig(channels=[8, 16], output_dim=16, input_size=16)
    torch.manual_seed(0)
    policy = build_policy(pcfg, vocab, None)
    env = dict(task="vln", data_root=str(root), dataset=ONE_METRE, rgb=False, depth=True, width=16, height=16)
    meta = {"config": {"policy": dataclasses.asdict(pcfg)}, "vocab_size": vocab, "clip_config": None, "env": env}
    save_checkpoint(run / "checkpoints", 3, policy, None, meta)
    return policy


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_one_metre_dataset(tmp_path_factory.mktemp("vln_ppo"))


def test_finetune_from_il_checkpoint_mixes_il_and_rl_and_stays_loadable(root, tmp_path):
    il = _il_checkpoint(root, tmp_path / "il")
    t = PPOTrainerConfig(total_steps=2 * 2 * 16, num_envs=2, num_steps=16, asynchronous=False, num_minibatches=2,
                         init_from=str(tmp_path / "il"), il_coef=0.5, lr=1e-3, log_every=1)
    env = dict(task="vln", data_root=str(root), dataset=ONE_METRE, rgb=False, depth=True, width=16, height=16,
               max_episode_steps=12, expert_action_sensor=True, seed=0)
    cfg = ExperimentConfig(name="ft", seed=0, run_dir=str(tmp_path / "ft"), device="cpu", env=env,
                           policy=PolicyConfig(), trainer=t, eval=EvalConfig(split=None))
    trainer = PPOTrainer(cfg, progress=False)
    try:
        start = {k: v.clone() for k, v in trainer.ac.policy.state_dict().items()}
        assert all(torch.equal(start[k], v) for k, v in il.state_dict().items())  # starts from the IL weights
        result = trainer.train()
    finally:
        trainer.close()
    losses = result["history"][-1]["losses"]
    assert losses["il"] > 0 and "value" in losses and "policy" in losses
    weights, state, meta = load_checkpoint(tmp_path / "ft")
    assert set(weights) == set(il.state_dict())  # the policy's own keys: no critic inside
    assert any(k.startswith("extra.critic.") for k in state)  # the critic is trainer state
    assert any(not torch.equal(weights[k], start[k]) for k in weights)
    assert meta["config"]["policy"]["type"] == "cma" and meta["init_from"].endswith("ckpt_0003")

    from vlnsim.cli import main

    out = tmp_path / "eval"
    assert main(["eval", "--ckpt", str(tmp_path / "ft"), "--split", "val_unseen", "--data-root", str(root),
                 "--out", str(out), "--no-progress", "--device", "cpu", "--episodes", "2"]) == 0
    assert json.loads((out / "metrics.json").read_text())["episodes"] == 2


def test_il_coef_without_expert_sensor_is_a_config_error(root, tmp_path):
    from vlnsim.errors import ConfigError

    _il_checkpoint(root, tmp_path / "il")
    t = PPOTrainerConfig(total_steps=64, num_envs=2, num_steps=16, asynchronous=False, num_minibatches=1,
                         init_from=str(tmp_path / "il"), il_coef=0.5)
    env = dict(task="vln", data_root=str(root), dataset=ONE_METRE, rgb=False, depth=True, width=16, height=16)
    cfg = ExperimentConfig(run_dir=str(tmp_path / "ft"), device="cpu", env=env, policy=PolicyConfig(), trainer=t,
                           eval=EvalConfig(split=None))
    trainer = PPOTrainer(cfg, progress=False)
    try:
        with pytest.raises(ConfigError, match="expert_action_sensor"):
            trainer.train()
    finally:
        trainer.close()
