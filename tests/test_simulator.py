"""Simulator: dynamics and sliding against known geometry, random walks vs independent rays, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

from vlnsim.agent import Action, AgentConfig
from vlnsim.errors import ConfigError, InvalidActionError, InvalidPoseError
from vlnsim.geometry import quat_from_yaw, yaw_from_quat
from vlnsim.nav.boxworld import walled_room
from vlnsim.render.raycast import RayCaster
from vlnsim.render.sensors import SensorSpec
from vlnsim.simulator import Simulator
from vlnsim.viz import topdown

RAY_HEIGHTS = (0.1, 0.5, 1.0, 1.45)


def _room():
    w = walled_room(0, 0, 6, 4)
    w.add((-0.1, 2.5, -0.1), (6.1, 2.6, 4.1), "ceiling")
    w.add((3.0, 0, 1.5), (3.6, 1.5, 2.5), "box")
    return w.to_scene()


def test_forward_and_turns_are_exact_in_open_space():
    sim = Simulator(_room(), sensors=[])
    sim.reset([1.0, 0.0, 3.0], quat_from_yaw(0.0))
    sim.step(Action.MOVE_FORWARD)
    assert np.allclose(sim.agent_state.position, [1.0, 0.0, 2.75], atol=1e-6)
    assert not sim.previous_step_collided
    sim.step("TURN_RIGHT")  # -15 deg: heading rotates clockwise seen from above
    sim.step(1)
    assert sim.heading == pytest.approx(math.radians(-15))
    assert np.allclose(sim.agent_state.position, [1.0 + 0.25 * math.sin(math.radians(15)), 0.0,
                                                 2.75 - 0.25 * math.cos(math.radians(15))], atol=1e-6)
    for _ in range(24):
        sim.step(Action.TURN_LEFT)
    assert sim.heading == pytest.approx(math.radians(-15 + 360) - 2 * math.pi)
    p = sim.agent_state.position
    sim.step(Action.STOP)
    assert np.array_equal(sim.agent_state.position, p)


def test_sliding_along_a_wall_and_stopping_without_sliding():
    scene = _room()
    # walk at 45 degrees into the wall at z = 0 (inner face): heading between -Z and -X
    for sliding in (True, False):
        sim = Simulator(scene, sensors=[], agent=AgentConfig(allow_sliding=sliding))
        sim.reset([5.5, 0.0, 0.6], quat_from_yaw(math.radians(45)))
        xs, collided = [], []
        for _ in range(8):
            sim.step(Action.MOVE_FORWARD)
            xs.append(sim.agent_state.position[0])
            collided.append(sim.previous_step_collided)
            # never closer to the wall than the radius minus half a cell
            assert sim.agent_state.position[2] >= 0.1 - 0.025 - 1e-9
        assert collided[-1]
        if sliding:
            # keeps moving along the wall (-X) by about step * cos(45) per step
            assert xs[-1] - xs[-2] == pytest.approx(-0.25 * math.cos(math.radians(45)), abs=0.03)
        else:
            assert xs[-1] == xs[-2]


def _check_segment(rc, a, b):
    """Independent check: rays between a and b at several heights hit nothing."""
    d = b - a
    if np.linalg.norm(d) < 1e-9:
        return True
    o = np.array([a + [0.0, h, 0.0] for h in RAY_HEIGHTS])
    dirs = np.tile(d, (len(RAY_HEIGHTS), 1))
    return not rc.occluded(o, dirs, 1.0).any()


def _random_walk(scene, steps, seed):
    sim = Simulator(scene, sensors=[], seed=seed)
    rc = RayCaster(scene)
    rng = np.random.default_rng(seed)
    sim.reset()
    prev = sim.agent_state.position
    collisions = 0
    for _ in range(steps):
        a = rng.choice([1, 1, 1, 2, 3])
        sim.step(int(a))
        p = sim.agent_state.position
        collisions += sim.previous_step_collided
        assert sim.pathfinder.is_navigable(p, max_y_delta=1e-3), p
        assert _check_segment(rc, prev, p), (prev, p)
        # body column free up to the agent height (independent upward ray)
        assert not rc.occluded(p[None] + [0.0, 0.05, 0.0], np.array([[0.0, 1.0, 0.0]]), 1.45)[0]
        prev = p
    return collisions


def test_random_walk_in_box_room_never_crosses_geometry():
    assert _random_walk(_room(), 600, 0) > 0  # it did bump into things


def _houses(n):
    from vlnsim.scene import house

    return [house.generate_house(seed) for seed in range(n)]


def test_random_walks_in_houses():
    for i, scene in enumerate(_houses(2)):
        _random_walk(scene, 400, i)


@pytest.mark.slow
def test_random_walks_in_houses_full():
    for i, scene in enumerate(_houses(5)):
        _random_walk(scene, 5000, i)


def test_reset_is_deterministic_and_on_navigable_space():
    scene = _room()
    s1, s2 = Simulator(scene, seed=3), Simulator(scene, seed=3)
    for _ in range(3):
        s1.reset(), s2.reset()
        assert np.array_equal(s1.agent_state.position, s2.agent_state.position)
        assert np.array_equal(s1.agent_state.rotation, s2.agent_state.rotation)
        assert s1.pathfinder.is_navigable(s1.agent_state.position)
    assert s1.navgrid is s2.navgrid  # cached navigability shared


def test_off_navmesh_positions_are_snapped_and_tilts_reduced_to_heading():
    sim = Simulator(_room())
    sim.reset([3.3, 0.7, 2.0], quat_from_yaw(0.3))  # inside the box
    p = sim.agent_state.position
    assert sim.pathfinder.is_navigable(p) and p[1] == pytest.approx(0.0, abs=1e-6)
    tilt = np.array([0.1, math.sin(0.15), 0.0, math.cos(0.15)])
    sim.set_agent_state([1.0, 0.0, 1.0], tilt / np.linalg.norm(tilt))
    assert sim.agent_state.rotation[0] == 0.0 and sim.agent_state.rotation[2] == 0.0
    assert sim.heading == pytest.approx(yaw_from_quat(tilt / np.linalg.norm(tilt)), abs=1e-9)


@pytest.mark.parametrize("pos,rot,match", [
    ([float("nan"), 0, 1], [0, 0, 0, 1], "finite"),
    ([1.0, 0.0, 99.0], [0, 0, 0, 1], "outside"),
    ([1.0, 0.0, 1.0], [0, 0, 0, 2.0], "unit"),
    ([1.0, 0.0, 1.0], [0, 0, 1], "quaternion"),
])
def test_bad_poses(pos, rot, match):
    sim = Simulator(_room())
    with pytest.raises(InvalidPoseError, match=match):
        sim.reset(pos, rot)
    with pytest.raises(InvalidPoseError, match=match):
        sim.set_agent_state(pos, rot)


@pytest.mark.parametrize("bad", [4, -1, 1.5, "JUMP", None, [1, 2]])
def test_bad_actions(bad):
    sim = Simulator(_room())
    sim.reset()
    with pytest.raises(InvalidActionError):
        sim.step(bad)


def test_bad_config():
    with pytest.raises(ConfigError, match="backend"):
        Simulator(_room(), backend="opengl")
    with pytest.raises(ConfigError, match="unique"):
        Simulator(_room(), sensors=[SensorSpec("a", width=8, height=8), SensorSpec("a", kind="depth", width=8, height=8)])


def test_sensors_render_at_the_agent_pose():
    sensors = [SensorSpec("rgb", "rgb", 32, 24), SensorSpec("depth", "depth", 32, 24)]
    sim = Simulator(_room(), sensors=sensors)
    obs = sim.reset([1.0, 0.0, 2.0], quat_from_yaw(math.pi / 2))  # facing -X, wall face at x = 0
    assert obs["rgb"].shape == (24, 32, 3) and obs["rgb"].dtype == np.uint8
    assert obs["depth"].shape == (24, 32, 1) and obs["depth"].dtype == np.float32
    # centre pixels look straight at the wall 1.0 m away
    assert obs["depth"][11:13, 15:17].mean() == pytest.approx(1.0, abs=0.01)
    obs = sim.step(Action.MOVE_FORWARD)
    assert obs["depth"][11:13, 15:17].mean() == pytest.approx(0.75, abs=0.01)
    assert Simulator(_room(), sensors=[]).reset() == {}


def test_topdown_map_and_drawing():
    sim = Simulator(_room())
    img = sim.topdown_map(meters_per_pixel=0.05)
    info = sim.topdown_map_info(0.05)
    assert img.dtype == np.uint8 and img.shape == (*info.shape, 3)
    (r, c), = topdown.world_to_map([[1.0, 0.0, 1.0]], info)
    assert tuple(img[r, c]) == topdown.NAVIGABLE
    (r2, c2), = topdown.world_to_map([[3.3, 0.0, 2.0]], info)  # the box
    assert tuple(img[r2, c2]) == topdown.OBSTACLE
    topdown.draw_path(img, [[0.5, 0, 0.5], [5.5, 0, 0.5]], (255, 0, 0), info)
    (r3, c3), = topdown.world_to_map([[3.0, 0.0, 0.5]], info)
    assert tuple(img[r3, c3]) == (255, 0, 0)
    topdown.draw_agent(img, [1.0, 0.0, 3.0], 0.0, info)
    topdown.draw_goal(img, [5.0, 0.0, 3.0], info)
    (r4, c4), = topdown.world_to_map([[1.0, 0.0, 3.0]], info)
    assert tuple(img[r4, c4]) != topdown.NAVIGABLE


def test_close():
    sim = Simulator(_room())
    sim.close()
    with pytest.raises(RuntimeError):
        sim.step(0)
