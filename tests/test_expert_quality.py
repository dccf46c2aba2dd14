"""The expert's action sequences are close to minimal: no zig-zags, few turns, short paths.

Independent references: on an empty room the shortest path is the straight segment, so
the turns a walker with 15-degree turns needs are the closed-form
``round(|initial bearing error| / 15 degrees)`` (one correction allowed for the
quantised heading's drift); zig-zags (TURN, FORWARD, opposite TURN) are counted from the
action list alone; success is the Euclidean distance of the stop position to the goal.
"""
from __future__ import annotations

import math

import numpy as np

from vlnsim.agent import Action
from vlnsim.episodes.expert import run_expert
from vlnsim.geometry import quat_from_yaw, wrap_angle
from vlnsim.nav.boxworld import walled_room
from vlnsim.nav.follower import ShortestPathFollower
from vlnsim.simulator import Simulator

TURN = (int(Action.TURN_LEFT), int(Action.TURN_RIGHT))


def zigzags(actions):
    a = [int(x) for x in actions]
    return sum(1 for i in range(len(a) - 2)
               if a[i] in TURN and a[i + 1] == 1 and a[i + 2] in TURN and a[i] != a[i + 2])


def _rollout(sim, follower, start, yaw, goal, max_steps=400):
    sim.reset(start, quat_from_yaw(yaw))
    actions = []
    for _ in range(max_steps):
        a = follower.next_action(goal)
        actions.append(int(a))
        if a == Action.STOP:
            break
        sim.step(a)
    return actions


def test_open_floor_straight_path_has_minimal_turns_and_no_zigzags():
    sim = Simulator(walled_room(0, 0, 12, 10).to_scene(), sensors=[])
    rng = np.random.default_rng(3)
    n = 0
    while n < 40:
        a = np.array([rng.uniform(0.5, 11.5), 0.0, rng.uniform(0.5, 9.5)])
        b = np.array([rng.uniform(0.5, 11.5), 0.0, rng.uniform(0.5, 9.5)])
        d = math.hypot(*(b - a)[[0, 2]])
        if d < 3.0:
            continue
        n += 1
        yaw = float(rng.uniform(-math.pi, math.pi))
        bearing = math.atan2(-(b[0] - a[0]), -(b[2] - a[2]))
        need = round(abs(math.degrees(wrap_angle(bearing - yaw))) / 15.0)
        acts = _rollout(sim, ShortestPathFollower(sim, 0.5), a, yaw, b)
        turns = sum(1 for x in acts if x in TURN)
        assert acts[-1] == Action.STOP
        assert np.linalg.norm((sim.agent_state.position - b)[[0, 2]]) <= 0.5 + 1e-6
        assert zigzags(acts) == 0, acts
        assert need <= turns <= need + 1, (need, acts)
        # the forward steps cover the straight distance, not more than one step extra
        assert sum(1 for x in acts if x == 1) <= math.ceil((d - 0.5) / 0.25) + 1


def test_aligned_start_walks_straight_without_turning():
    sim = Simulator(walled_room(0, 0, 12, 4).to_scene(), sensors=[])
    # goal straight ahead (-Z) and 45 degrees to the left: exactly 0 and 3 turns
    acts = _rollout(sim, ShortestPathFollower(sim, 0.5), np.array([6.0, 0, 3.5]), 0.0, np.array([6.0, 0, 0.5]))
    assert set(acts[:-1]) == {1} and acts[-1] == 0
    acts = _rollout(sim, ShortestPathFollower(sim, 0.5), np.array([6.0, 0, 3.5]), 0.0, np.array([3.0, 0, 0.5]))
    assert acts[:3] == [2, 2, 2] and set(acts[3:-1]) == {1}


def test_gt_expert_in_houses_succeeds_without_zigzags():
    from vlnsim.scene.house import generate_house

    zz, ratios, ok = [], [], []
    for seed in (1, 2):
        sim = Simulator(generate_house(seed), sensors=[])
        pf = sim.pathfinder
        rng = np.random.default_rng(seed)
        k = 0
        while k < 8:
            a, b = pf.random_navigable_point(rng), pf.random_navigable_point(rng)
            geo = pf.geodesic_distance(a, b)
            if not (4.0 <= geo < math.inf):
                continue
            k += 1
            path = pf.find_path(a, b)
            locs, acts, reached = run_expert(sim, path, a, quat_from_yaw(rng.uniform(-3, 3)).tolist(), b, 0.5, 500)
            ok.append(reached and np.linalg.norm(np.subtract(locs[-1], b)[[0, 2]]) <= 0.5 + 0.05)
            zz.append(zigzags(acts))
            ratios.append(np.linalg.norm(np.diff(np.asarray(locs), axis=0), axis=1).sum() / geo)
    assert all(ok)
    assert np.mean(zz) < 0.5, zz
    assert max(ratios) <= 1.1


def test_advice_reaches_the_goal_after_a_learner_ignored_it():
    sim = Simulator(walled_room(0, 0, 8, 6).to_scene(), sensors=[])
    goal = np.array([7.0, 0.0, 1.0])
    f = ShortestPathFollower(sim, 0.5)
    sim.reset([1.0, 0.0, 5.0], quat_from_yaw(0.3))
    rng = np.random.default_rng(0)
    for step in range(300):
        advice = f.next_action(goal)
        if advice == Action.STOP:
            break
        # a DAgger learner: the first 20 steps ignore the advice half of the time
        act = int(rng.integers(1, 4)) if step < 20 and rng.random() < 0.5 else advice
        sim.step(act)
    assert advice == Action.STOP
    assert np.linalg.norm((sim.agent_state.position - goal)[[0, 2]]) <= 0.5 + 1e-6
