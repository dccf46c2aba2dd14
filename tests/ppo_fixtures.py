"""Shared helpers of the PPO tests (test_ppo, test_ppo_distributed, test_ppo_vln): the trivial
one-metre PointNav dataset and small experiment configs. Not a test module: tests import it
instead of importing each other."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from agents.config import DepthConfig, EvalConfig, ExperimentConfig
from agents.policies.pointnav import PointNavPolicyConfig
from agents.trainers.ppo import PPOTrainerConfig

ONE_METRE = "one_metre"


def make_one_metre_dataset(root: Path) -> Path:
    """A dataset whose every episode starts 1 m from its goal, facing it (splits train, val_unseen)."""
    from vlnsim.episodes import EpisodeDataset, Goal, load_split, save, split_path
    from vlnsim.episodes.generate import generate_dataset
    from vlnsim.geometry import quat_from_yaw

    generate_dataset(root, name="src", num_houses=1, episodes_per_house=16, seed=5, progress=False, num_rooms=3,
                     instructions_per_path=1, min_distance=2.0, max_distance=8.0)
    src = load_split(root, "src", "train")
    episodes = []
    for e in src.episodes:
        a, b = np.asarray(e.reference_path[0], float), np.asarray(e.reference_path[1], float)
        d = b - a
        length = math.hypot(d[0], d[2])
        if length < 1.0:
            continue
        u = np.array([d[0], 0.0, d[2]]) / length
        goal = a + u
        rot = quat_from_yaw(math.atan2(-u[0], -u[2]))  # forward = (-sin, 0, -cos)
        episodes.append(dataclasses.replace(e, start_rotation=rot.tolist(), goals=[Goal(goal.tolist(), 0.2)],
                                            reference_path=[a.tolist(), goal.tolist()],
                                            info={**e.info, "geodesic_distance": 1.0}))
    assert len(episodes) >= 4
    for split in ("train", "val_unseen"):
        save(EpisodeDataset(episodes, src.word_list), split_path(root, ONE_METRE, split))
    return root


def small_policy_config(**kw) -> PointNavPolicyConfig:
    return PointNavPolicyConfig(hidden_size=32, goal_dim=16, prev_action_dim=8,
                                depth=DepthConfig(channels=[8, 16], output_dim=32, input_size=16), **kw)


def experiment(root: Path, run_dir: Path, trainer: PPOTrainerConfig, eval_split=None, **env) -> ExperimentConfig:
    env_cfg = dict(task="pointnav", data_root=str(root), dataset=ONE_METRE, rgb=False, depth=True, width=16, height=16,
                   max_episode_steps=20, seed=0)
    env_cfg.update(env)
    return ExperimentConfig(name="test", seed=0, run_dir=str(run_dir), device="cpu", env=env_cfg,
                            policy=small_policy_config(), trainer=trainer,
                            eval=EvalConfig(split=eval_split, episodes=None, every=1))
