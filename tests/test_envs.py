"""Gymnasium envs (envs/): spaces, episode loop, reward, metrics, vector envs, rollouts.

The tiny procedural dataset of ``tests/conftest.py`` (4 houses: 2 train, 1 val_unseen, 1 test; a few episodes per
split; fixture ``data_root``) is generated once per session.
"""
from __future__ import annotations

import math
import multiprocessing
import shutil
import warnings
from pathlib import Path

import gymnasium
import numpy as np
import pytest

import envs
from envs.baselines import make_baseline
from envs.pointnav_env import pointgoal_polar
from vlnsim import metrics as M
from vlnsim.agent import Action
from vlnsim.episodes import load_gt, load_split, split_path, tokenize
from vlnsim.errors import ConfigError, InvalidActionError, SceneNotFoundError
from vlnsim.geometry import quat_from_yaw, wrap_angle, yaw_from_quat

DATASET = "agents_tiny"  # the session dataset of tests/conftest.py (fixture data_root)
SIZE = 32  # small frames keep the suite fast; resolution is not what is tested here


def cfg(data_root, **kw):
    base = dict(data_root=str(data_root), dataset=DATASET, split="val_unseen", width=SIZE, height=SIZE)
    base.update(kw)
    return envs.load_config(base)


def run_episode(env, policy, seed=None, options=None):
    """Roll one episode; return (observations, rewards, infos, positions after each step)."""
    obs, info = env.reset(seed=seed, options=options)
    observations, rewards, infos = [obs], [], [info]
    done = False
    while not done:
        obs, r, term, trunc, info = env.step(policy(obs))
        observations.append(obs)
        rewards.append(r)
        infos.append(info)
        done = term or trunc
    return observations, rewards, infos


# ------------------------------------------------------------------ API and checker
@pytest.mark.parametrize("env_id", ["vlnsim/VLN-v0", "vlnsim/PointNav-v0"])
def test_check_env_passes_without_warnings(data_root, env_id):
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make(env_id, data_root=str(data_root), dataset=DATASET, split="val_unseen", width=SIZE,
                         height=SIZE, render_mode="rgb_array", expert_action_sensor=True, progress_sensor=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    env.close()


def test_spaces_and_observation_keys(data_root):
    env = envs.make_env(cfg(data_root, semantic=True, expert_action_sensor=True, progress_sensor=True))
    assert env.action_space == gymnasium.spaces.Discrete(4)
    obs, info = env.reset(seed=0)
    assert set(obs) == {"rgb", "depth", "semantic", "semantic_category", "instruction", "instruction_mask",
                        "expert_action", "progress"}
    assert obs["semantic_category"].shape == (SIZE, SIZE) and obs["semantic_category"].dtype == np.uint8
    assert obs["rgb"].shape == (SIZE, SIZE, 3) and obs["rgb"].dtype == np.uint8
    assert obs["depth"].shape == (SIZE, SIZE, 1) and obs["depth"].dtype == np.float32
    assert obs["semantic"].shape == (SIZE, SIZE) and obs["semantic"].dtype == np.int32
    assert obs["instruction"].shape == (200,) and obs["instruction"].dtype == np.int64
    assert obs["instruction_mask"].dtype == np.int8 and obs["progress"].dtype == np.float32
    assert obs["expert_action"].shape == (1,) and obs["expert_action"].dtype == np.int64
    assert env.observation_space.contains(obs)
    base = env.unwrapped
    ep = base.current_episode
    assert info["episode_id"] == ep.episode_id and info["scene_id"] == ep.scene_id
    # instruction = the split vocabulary's ids of the tokenised text, padded with 0
    words = tokenize(ep.instruction.instruction_text)
    expected = [base.vocab.word_list.index(w) if w in base.vocab else 1 for w in words]
    n = len(expected)
    assert obs["instruction"][:n].tolist() == expected and not obs["instruction"][n:].any()
    assert obs["instruction_mask"].tolist() == [1] * n + [0] * (200 - n)
    assert base.vocab.word_list == load_split(data_root, DATASET, "val_unseen").word_list
    # the env's sim sits at the episode start
    assert np.allclose(base.sim.agent_state.position[[0, 2]], np.asarray(ep.start_position)[[0, 2]], atol=1e-6)
    env.close()


def test_make_env_from_yaml_with_overrides(data_root):
    env = envs.make_env("configs/vln_r2r.yaml", data_root=str(data_root), dataset=DATASET, split="val_seen",
                        width=SIZE, height=SIZE)
    assert env.unwrapped.config.split == "val_seen" and env.unwrapped.config.episode_order == "shuffle"
    obs, _ = env.reset()
    assert obs["rgb"].shape == (SIZE, SIZE, 3)
    env.close()
    c = envs.load_config("configs/pointnav.yaml", overrides=["agent.turn_angle=30", f"data_root={data_root}"])
    assert c.task == "pointnav" and c.agent.turn_angle == 30.0 and c.goal_success_distance == 0.2


def test_config_round_trips_through_dict_and_yaml(tmp_path):
    import yaml

    c = envs.load_config({"split": "val_seen", "width": 96, "agent": {"turn_angle": 30.0}, "episode_ids": [3, "7"]})
    assert envs.EnvConfig.from_dict(c.to_dict()) == c
    path = tmp_path / "env.yaml"
    path.write_text(yaml.safe_dump({"env": c.to_dict()}))  # embedded under env:, as experiment configs do
    assert envs.load_config(path) == c
    assert c.episode_ids == ["3", "7"] and c.agent.turn_angle == 30.0


def test_config_validation_names_field_and_value():
    with pytest.raises(ConfigError, match=r"EnvConfig.width=0; expected an integer >= 1"):
        envs.EnvConfig(width=0)
    with pytest.raises(ConfigError, match=r"episode_order='random'.*\['sequential', 'shuffle'\]"):
        envs.EnvConfig(episode_order="random")
    with pytest.raises(ConfigError, match=r"unknown key 'widht'; expected one of \['agent', "):
        envs.load_config({"widht": 64})
    with pytest.raises(ConfigError, match=r"AgentConfig.radius=-0.1"):
        envs.load_config({}, overrides=["agent.radius=-0.1"])
    with pytest.raises(ConfigError, match=r"shard_index=2.*num_shards=2"):
        envs.EnvConfig(shard_index=2, num_shards=2)
    with pytest.raises(ConfigError, match="'configs/no_such.yaml' is neither an existing file nor a built-in config"):
        envs.load_config("configs/no_such.yaml")


# ------------------------------------------------------------------ bad input
def test_bad_actions_raise(data_root):
    env = envs.make_env(cfg(data_root))
    env.unwrapped.reset(seed=0)
    for bad in (4, -1, 1.5, "MOVE_FORWARD", np.array([1, 2])):
        with pytest.raises(InvalidActionError, match="outside the action space Discrete\\(4\\)"):
            env.unwrapped.step(bad)
    env.unwrapped.step(np.int64(0))  # STOP ends the episode
    with pytest.raises(RuntimeError, match="call reset"):
        env.unwrapped.step(1)
    with pytest.raises(ConfigError, match="episode_id='nope'"):
        env.reset(options={"episode_id": "nope"})
    env.close()


def test_missing_split_lists_available(data_root):
    with pytest.raises(envs.SplitNotFoundError, match=r"available splits: \['train', 'val_seen', 'val_unseen', 'test'\]"):
        envs.make_env(cfg(data_root, split="val_unseeen"))


def test_missing_scene_file_is_named(data_root, tmp_path):
    shutil.copytree(Path(data_root) / "datasets", tmp_path / "datasets")
    ds = load_split(data_root, DATASET, "val_unseen")
    scene_id = ds.episodes[0].scene_id
    shutil.copytree(Path(data_root) / "scene_datasets", tmp_path / "scene_datasets")
    (tmp_path / "scene_datasets" / scene_id).unlink()
    with pytest.raises(SceneNotFoundError, match=str(tmp_path / "scene_datasets" / scene_id)):
        envs.make_env(cfg(tmp_path))


# ------------------------------------------------------------------ reward, termination, metrics
def test_reward_is_habitat_formula_and_metrics_match(data_root):
    env = envs.make_env(cfg(data_root, max_episode_steps=60))
    base = env.unwrapped
    rng = np.random.default_rng(3)
    obs, info = env.reset(seed=1)
    pf, goal = base.sim.pathfinder, base.current_episode.goals[0].position
    d_prev = info["distance_to_goal"]
    positions = [list(map(float, base.sim.agent_state.position))]
    actions = list(rng.choice([1, 2, 3], size=30, p=[0.6, 0.2, 0.2])) + [0]
    total = 0.0
    for t, a in enumerate(actions):
        obs, r, term, trunc, info = env.step(int(a))
        total += r
        pos = list(map(float, base.sim.agent_state.position))
        if pos != positions[-1]:
            positions.append(pos)
        d = info["distance_to_goal"]
        exact = pf.geodesic_distance(pos, goal)
        # the per-step measure is the grid geodesic: close to, and never below, the exact one
        assert exact - 1e-6 <= d <= exact * 1.03 + 0.1, (d, exact)
        success = a == 0 and exact < 3.0
        assert r == pytest.approx(-(d - d_prev) * 1.0 - 0.01 + (2.5 if success else 0.0), abs=1e-9)
        d_prev = d
        if term or trunc:
            break
    assert term and not trunc and t == len(actions) - 1
    assert info["path"] == positions
    ep = base.current_episode
    shortest = pf.geodesic_distance(ep.start_position, goal)
    # nDTW/CLS reference: the split's ground-truth expert locations (VLN-CE)
    gt = load_gt(split_path(data_root, DATASET, "val_unseen", gt=True))[str(ep.episode_id)]["locations"]
    expected = M.episode_metrics(positions, gt, goal, True, pf.geodesic_distance, shortest, 3.0)
    assert set(info["metrics"]) == {"success", "spl", "ne", "oracle_success", "tl", "ndtw", "sdtw", "cls"}
    assert info["metrics"] == pytest.approx(expected)
    # TL is the sum of the recorded Euclidean step lengths
    assert info["metrics"]["tl"] == pytest.approx(sum(math.dist(a, b) for a, b in zip(positions, positions[1:])))
    env.close()


def test_reward_weights_and_success_bonus(data_root):
    """Returns telescope: sum r = w (d_0 - d_T) + slack T + bonus, for any weights."""
    for w, slack, bonus in ((1.0, -0.01, 2.5), (0.5, -0.1, 10.0)):
        env = envs.make_env(cfg(data_root, distance_reward_weight=w, slack_reward=slack, success_reward=bonus))
        expert = make_baseline("expert", env)
        obs, info = env.reset(seed=0)
        d0 = info["distance_to_goal"]
        total, steps, done = 0.0, 0, False
        while not done:
            obs, r, term, trunc, info = env.step(expert.act(obs)[0])
            total, steps, done = total + r, steps + 1, term or trunc
        assert info["metrics"]["success"] == 1.0
        assert total == pytest.approx(w * (d0 - info["distance_to_goal"]) + slack * steps + bonus, abs=1e-9)
        env.close()


def test_truncated_at_step_limit(data_root):
    env = envs.make_env(cfg(data_root, max_episode_steps=5))
    env.reset(seed=0)
    flags = [env.step(2)[2:4] for _ in range(5)]
    assert flags[:4] == [(False, False)] * 4 and flags[4] == (False, True)
    info = env.unwrapped  # the episode is over: metrics were computed without STOP
    assert info._final_metrics["success"] == 0.0
    env.close()


def test_expert_solves_split_and_random_does_not(data_root):
    env = envs.make_env(cfg(data_root, split="val_unseen"))
    n = len(env.unwrapped.episodes)
    expert, rand = make_baseline("expert", env), make_baseline("random", env, seed=0)
    results = {"expert": [], "random": []}
    for name, agent in (("expert", expert), ("random", rand)):
        env.reset(seed=0)
        for i in range(n):
            agent.reset()
            _, _, infos = run_episode(env, lambda o: agent.act(o)[0], seed=0 if i == 0 else None)
            results[name].append(infos[-1]["metrics"])
    ex, rd = M.aggregate(results["expert"]), M.aggregate(results["random"])
    assert ex["episodes"] == n >= 4
    assert ex["sr"] == 1.0 and ex["spl"] > 0.9, ex
    assert ex["ndtw"] > 0.9, ex  # the expert retraces the ground-truth expert path
    assert rd["sr"] <= 0.5, rd
    env.close()


def test_oracle_sensors_match_follower_and_progress(data_root):
    from vlnsim.nav.follower import ShortestPathFollower

    env = envs.make_env(cfg(data_root, expert_action_sensor=True, progress_sensor=True))
    base = env.unwrapped
    obs, info = env.reset(seed=0)
    goal = base.current_episode.goals[0].position
    d0, e0 = info["distance_to_goal"], base.sim.pathfinder.geodesic_distance(base.sim.agent_state.position, goal)
    follower = ShortestPathFollower(base.sim, goal_radius=0.5)  # called once per step, as the env's
    for _ in range(300):
        ref = follower.next_action(goal)
        assert int(obs["expert_action"][0]) == int(ref)
        exact = base.sim.pathfinder.geodesic_distance(base.sim.agent_state.position, goal)
        assert obs["progress"][0] == pytest.approx(min(1.0, max(0.0, 1 - info["distance_to_goal"] / d0)), abs=1e-6)
        assert obs["progress"][0] == pytest.approx(max(0.0, 1 - exact / e0), abs=0.05)
        if ref == Action.STOP:
            break
        obs, _, _, _, info = env.step(int(ref))
    assert ref == Action.STOP and exact <= 0.5
    assert obs["progress"][0] >= 1 - 0.6 / e0  # the expert ends within its 0.5 m radius
    env.close()


def test_sequential_order_cycles_and_pinning(data_root):
    split = load_split(data_root, DATASET, "val_unseen")
    ids = [e.episode_id for e in split.episodes]
    env = envs.make_env(cfg(data_root, episode_order="sequential"))
    seen = [env.reset(seed=0)[1]["episode_id"]] + [env.reset()[1]["episode_id"] for _ in range(len(ids))]
    assert seen == ids + ids[:1]
    _, info = env.reset(options={"episode_id": ids[2]})
    assert info["episode_id"] == ids[2] == env.unwrapped.current_episode.episode_id
    assert env.reset()[1]["episode_id"] == ids[1]  # pinning does not advance the order
    env.close()


def test_shuffle_is_a_seeded_permutation_per_pass(data_root):
    ids = sorted(str(e.episode_id) for e in load_split(data_root, DATASET, "val_unseen").episodes)
    n = len(ids)

    def order(seed):
        env = envs.make_env(cfg(data_root, episode_order="shuffle"))
        out = [env.reset(seed=seed)[1]["episode_id"]] + [env.reset()[1]["episode_id"] for _ in range(2 * n - 1)]
        env.close()
        return [str(i) for i in out]

    a, b = order(7), order(7)
    assert a == b
    assert sorted(a[:n]) == ids and sorted(a[n:]) == ids  # each pass visits every episode once
    assert any(order(s)[:n] != a[:n] for s in (8, 9, 10))


def _policy(seed):
    rng = np.random.default_rng(seed)
    return lambda obs: int(rng.choice(4, p=[0.05, 0.65, 0.15, 0.15]))


def _assert_same(ep_a, ep_b):
    (oa, ra, ia), (ob, rb, ib) = ep_a, ep_b
    assert len(oa) == len(ob) and ra == rb
    for x, y in zip(oa, ob):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    assert ia[-1]["metrics"] == ib[-1]["metrics"] and ia[-1]["path"] == ib[-1]["path"]


def test_same_seed_same_episodes_single_env(data_root):
    runs = []
    for _ in range(2):
        env = envs.make_env(cfg(data_root, episode_order="shuffle", max_episode_steps=25))
        runs.append([run_episode(env, _policy(5), seed=11 if i == 0 else None) for i in range(3)])
        env.close()
    for a, b in zip(*runs):
        _assert_same(a, b)


def test_vector_env_shards_are_disjoint(data_root):
    c = cfg(data_root, split="val_unseen")
    all_ids = {str(e.episode_id) for e in load_split(data_root, DATASET, "val_unseen").episodes}
    vec = envs.make_vec_env(c, num_envs=2, asynchronous=False)
    shards = [set(map(str, s)) for s in vec.get_attr("shard_episode_ids")]
    vec.close()
    assert shards[0] & shards[1] == set() and shards[0] | shards[1] == all_ids
    with pytest.raises(ConfigError, match="num_envs=99"):
        envs.make_vec_env(c, num_envs=99)


def test_async_vector_env_deterministic_and_equals_single_envs(data_root):
    """Worker i with seed s+i replays exactly what a single env on shard i does."""
    c = cfg(data_root, episode_order="shuffle", max_episode_steps=12)
    steps = 30
    actions = np.random.default_rng(0).choice(4, size=(steps, 2), p=[0.1, 0.6, 0.15, 0.15])

    def run_vec():
        vec = envs.make_vec_env(c, num_envs=2, asynchronous=True, autoreset_mode="SameStep")
        obs, _ = vec.reset(seed=21)
        out = [obs]
        rewards, metrics = [], []
        for a in actions:
            obs, r, term, trunc, info = vec.step(a)
            out.append(obs)
            rewards.append(r)
            if "final_info" in info:  # SameStep autoreset: the ended episode's info
                fm = info["final_info"]["metrics"]
                metrics.append({k: np.asarray(v).tolist() for k, v in fm.items()})
        vec.close()
        return out, np.array(rewards), metrics

    o1, r1, m1 = run_vec()
    o2, r2, m2 = run_vec()
    np.testing.assert_array_equal(r1, r2)
    assert m1 == m2 and len(m1) > 0
    for x, y in zip(o1, o2):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    # independent reference: single envs on each shard, same seeds and actions
    for i in range(2):
        env = envs.make_env(c.replace(shard_index=i, num_shards=2))
        obs, _ = env.reset(seed=21 + i)
        np.testing.assert_array_equal(obs["rgb"], o1[0]["rgb"][i])
        for t, a in enumerate(actions[:, i]):
            obs, r, term, trunc, _ = env.step(int(a))
            assert r == r1[t, i]
            if term or trunc:
                obs, _ = env.reset()  # SameStep autoreset returns the next episode's first obs
            np.testing.assert_array_equal(obs["depth"], o1[t + 1]["depth"][i])
        env.close()


def test_worker_exception_names_index_and_close_leaves_no_processes(data_root):
    vec = envs.make_vec_env(cfg(data_root), num_envs=2, asynchronous=True)
    vec.reset(seed=0)
    procs = list(vec.processes)
    assert all(p.is_alive() for p in procs)
    # gymnasium logs the worker's traceback through warnings before re-raising
    with pytest.warns(UserWarning) as logged, \
            pytest.raises(InvalidActionError, match=r"vector env index 1: InvalidActionError: action 7 is outside"):
        vec.step(np.array([1, 7]))
    assert any("Worker-1" in str(w.message) for w in logged)
    vec.close()
    assert not any(p.is_alive() for p in procs)
    assert multiprocessing.active_children() == []


def test_vector_env_default_autoreset_reports_metrics(data_root):
    vec = envs.make_vec_env(cfg(data_root, max_episode_steps=3), num_envs=2, asynchronous=False)
    vec.reset(seed=0)
    for _ in range(2):
        _, _, term, trunc, info = vec.step(np.array([2, 2]))
        assert not (term.any() or trunc.any()) and "metrics" not in info
    _, _, term, trunc, info = vec.step(np.array([2, 0]))
    assert trunc.tolist() == [True, False] and term.tolist() == [False, True]
    assert info["_metrics"].all() and info["metrics"]["success"].shape == (2,)
    assert len(info["path"][0]) == 1  # only turns: the path is the start point
    obs, rew, term, trunc, info = vec.step(np.array([1, 1]))  # NEXT_STEP: this step resets both
    assert rew.tolist() == [0.0, 0.0] and not term.any() and "metrics" not in info
    vec.close()


def test_sync_vector_env_exception_names_index(data_root):
    vec = envs.make_vec_env(cfg(data_root), num_envs=2, asynchronous=False)
    vec.reset(seed=0)
    with pytest.raises(InvalidActionError, match=r"vector env index 0"):
        vec.step(np.array([9, 1]))
    vec.close()


# ------------------------------------------------------------------ scenes, PointNav, rendering
def test_scene_cache_lru(data_root):
    eps = load_split(data_root, DATASET, "train").episodes
    scenes = [e.scene_id for e in eps]
    a = eps[0]
    b = next(e for e in eps if e.scene_id != a.scene_id)  # the train split spans two houses
    for size, expected_misses in ((1, 3), (2, 2)):
        env = envs.make_env(cfg(data_root, split="train", scene_cache_size=size))
        env.reset(options={"episode_id": a.episode_id})
        sim_a = env.unwrapped.sim
        env.reset(options={"episode_id": b.episode_id})
        assert env.unwrapped.sim is not sim_a
        env.reset(options={"episode_id": a.episode_id})
        assert env.unwrapped._scenes.misses == expected_misses
        assert (env.unwrapped.sim is sim_a) == (size == 2)  # cached: switching back is free
        env.close()
    assert len(set(scenes)) == 2


def test_pointnav_goal_sensor_and_expert(data_root):
    env = envs.make_env(cfg(data_root, task="pointnav"))
    assert set(env.observation_space.spaces) == {"rgb", "depth", "pointgoal_with_gps_compass"}
    base = env.unwrapped
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        s = base.sim.agent_state
        g = np.asarray(base.current_episode.goals[0].position)
        dx, dz = g[0] - s.position[0], g[2] - s.position[2]
        # independent reference: world bearing of the goal minus the agent heading
        phi = wrap_angle(math.atan2(-dx, -dz) - yaw_from_quat(s.rotation))
        rho, phi_obs = obs["pointgoal_with_gps_compass"]
        assert rho == pytest.approx(math.hypot(dx, dz), rel=1e-5)
        assert phi_obs == pytest.approx(phi, abs=1e-5)
        obs, *_ = env.step(int(Action.TURN_LEFT))
        # turning left by 15 degrees moves the goal 15 degrees to the right
        assert wrap_angle(obs["pointgoal_with_gps_compass"][1] - phi_obs) == pytest.approx(-math.radians(15), abs=1e-4)
    # habitat convention at closed form: a goal 2 m straight ahead, then 2 m to the left
    q = quat_from_yaw(0.0)
    assert pointgoal_polar([0, 0, 0], q, [0, 0, -2]) == pytest.approx([2.0, 0.0])
    assert pointgoal_polar([0, 0, 0], q, [-2, 0, 0]) == pytest.approx([2.0, math.pi / 2])
    # the expert reaches the 0.2 m PointNav radius on every episode
    expert = make_baseline("expert", env)
    ms = []
    for i in range(len(base.episodes)):
        _, _, infos = run_episode(env, lambda o: expert.act(o)[0], seed=0 if i == 0 else None)
        ms.append(infos[-1]["metrics"])
        assert infos[-1]["metrics"]["ne"] < 0.2
    assert M.aggregate(ms)["sr"] == 1.0
    env.close()


def test_render_composite_and_rollout_video(data_root, tmp_path):
    from agents.commands import render_rollout
    from vlnsim.viz.video import read_video

    env = envs.make_env(cfg(data_root), render_mode="rgb_array")
    env.reset(seed=0)
    f0 = env.render()
    env.step(1)
    f1 = env.render()
    assert f0.dtype == np.uint8 and f0.shape == f1.shape and f0.shape[1] == 3 * 256
    assert not np.array_equal(f0, f1)
    env.close()

    import argparse

    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    render_rollout.register(sub)
    args = p.parse_args(["render-rollout", "--agent", "forward-only", "--split", "val_unseen", "--episodes", "1",
                         "--out", str(tmp_path), "--data-root", str(data_root), "--dataset", DATASET, "--gif",
                         "--width", str(SIZE), "--height", str(SIZE), "--fps", "4"])
    assert args.func(args) == 0
    videos = sorted(tmp_path.glob("*.mp4"))
    assert len(videos) == 1 and videos[0].with_suffix(".gif").is_file()
    frames = read_video(videos[0])
    steps = 37 + 1  # forward-only: 37 forwards then STOP
    hold = 8  # metrics card: 2 s at 4 fps
    assert frames.shape[0] == 1 + steps + hold
    h = -(-f0.shape[0] // 16) * 16
    assert frames.shape[1:] == (h, f0.shape[1], 3)
