"""vlnsim/R2R-v0: gymnasium's checker, the shortest-path expert, candidates, step limit."""
from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the ids)
from vlnsim.discrete.generate import generate_discrete_dataset
from vlnsim.errors import ConfigError, InvalidActionError


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    generate_discrete_dataset(str(root), "disc", num_houses=3, paths_per_house=4, progress=False)
    return str(root)


@pytest.mark.parametrize("observation", ["rgb", "none"])
def test_check_env(root, observation):
    env = gymnasium.make("vlnsim/R2R-v0", data_root=root, dataset="disc", split="train", observation=observation,
                         width=16, height=16).unwrapped
    check_env(env, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("split", ["train", "val_seen", "val_unseen", "test"])
def test_expert_is_perfect(root, split):
    env = gymnasium.make("vlnsim/R2R-v0", data_root=root, dataset="disc", split=split, observation="none").unwrapped
    n = len(env.episodes)
    assert n > 0
    for i in range(n):
        obs, info = env.reset(options={"episode_index": i})
        done = False
        while not done:
            obs, r, term, trunc, info = env.step(info["expert_action"])
            done = term or trunc
        assert term and not trunc
        m = info["metrics"]
        assert m["success"] == 1.0 and m["spl"] == pytest.approx(1.0) and m["ne"] == 0.0
        assert info["trajectory"] == env.current[0].path


def test_candidates_point_at_neighbours(root):
    env = gymnasium.make("vlnsim/R2R-v0", data_root=root, dataset="disc", split="train", observation="none").unwrapped
    obs, info = env.reset(options={"episode_index": 0})
    g = env.graph(env.scan)
    here = g.position(env.viewpoint)
    nbrs = g.neighbors(env.viewpoint)
    k = int(obs["candidate_mask"].sum())
    assert k == min(len(nbrs), env.config.max_candidates)
    for i in range(k):
        rel = math.atan2(obs["candidates"][i, 0], obs["candidates"][i, 1])
        absolute = env.heading + rel
        # R2R heading: clockwise from -Z, so the direction is (sin h, -cos h) in (x, z)
        d = np.array([math.sin(absolute), -math.cos(absolute)])
        target = g.position(env._cands[i]["viewpoint"]) - here
        t = target[[0, 2]] / np.linalg.norm(target[[0, 2]])
        assert np.allclose(d, t, atol=1e-5)
        assert obs["candidate_distance"][i] == pytest.approx(np.linalg.norm(target), rel=1e-5)
        view_heading = (obs["candidate_view"][i] % 12) * math.pi / 6
        assert abs(math.remainder(view_heading - absolute % (2 * math.pi), 2 * math.pi)) <= math.pi / 12 + 1e-6


def test_masked_action_stays_and_step_limit(root):
    env = gymnasium.make("vlnsim/R2R-v0", data_root=root, dataset="disc", split="train", observation="none",
                         max_steps=3).unwrapped
    obs, info = env.reset(options={"episode_index": 0})
    start = env.viewpoint
    masked = int(np.flatnonzero(obs["candidate_mask"] == 0)[0]) + 1
    obs, r, term, trunc, info = env.step(masked)
    assert info.get("invalid_action") and env.viewpoint == start and not term and not trunc
    env.step(1)
    obs, r, term, trunc, info = env.step(1)
    assert trunc and not term and "metrics" in info
    with pytest.raises(InvalidActionError):
        env.step(0)
    with pytest.raises(InvalidActionError):
        env.reset()
        env.step(env.action_space.n)
    with pytest.raises(ConfigError):
        gymnasium.make("vlnsim/R2R-v0", data_root=root, dataset="disc", observation="features")
