"""Poses and rotations against closed-form answers."""
import math

import numpy as np
import pytest

from vlnsim import geometry as g
from vlnsim.agent import Action, AgentConfig
from vlnsim.errors import ConfigError, InvalidActionError, InvalidPoseError


def test_yaw_quaternion_turns_forward_vector_left():
    # Forward is -Z; a +90 degree yaw (turn left) must point the agent along -X.
    q = g.quat_from_yaw(math.pi / 2)
    f = g.quat_to_matrix(q) @ np.array([0.0, 0.0, -1.0])
    np.testing.assert_allclose(f, [-1.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(g.forward_vector(math.pi / 2), f, atol=1e-12)


@pytest.mark.parametrize("theta", [-3.0, -1.2, 0.0, 0.4, 2.9])
def test_yaw_round_trip(theta):
    assert g.yaw_from_quat(g.quat_from_yaw(theta)) == pytest.approx(theta, abs=1e-12)


def test_matrix_quaternion_round_trip_random_rotations():
    rng = np.random.default_rng(0)
    for _ in range(50):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        R = g.quat_to_matrix(q)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(R) == pytest.approx(1.0)
        q2 = g.quat_from_matrix(R)
        # q and -q are the same rotation
        assert min(np.abs(q2 - q).max(), np.abs(q2 + q).max()) < 1e-9


def test_quat_multiply_composes_rotations():
    a, b = g.quat_from_yaw(0.3), g.quat_from_yaw(0.5)
    np.testing.assert_allclose(g.quat_multiply(a, b), g.quat_from_yaw(0.8), atol=1e-12)
    rng = np.random.default_rng(1)
    p, q = rng.normal(size=4), rng.normal(size=4)
    p, q = p / np.linalg.norm(p), q / np.linalg.norm(q)
    np.testing.assert_allclose(
        g.quat_to_matrix(g.quat_multiply(p, q)), g.quat_to_matrix(p) @ g.quat_to_matrix(q), atol=1e-12
    )


def test_euler_pitch_down_looks_at_floor():
    R = g.euler_to_matrix((-math.pi / 2, 0.0, 0.0))
    np.testing.assert_allclose(R @ np.array([0.0, 0.0, -1.0]), [0.0, -1.0, 0.0], atol=1e-12)


def test_wrap_angle():
    assert g.wrap_angle(3 * math.pi / 2) == pytest.approx(-math.pi / 2)
    assert g.wrap_angle(-math.pi) == pytest.approx(math.pi)
    assert g.wrap_angle(0.1) == pytest.approx(0.1)


def test_bad_poses_raise():
    with pytest.raises(InvalidPoseError, match="finite"):
        g.as_position([0.0, float("nan"), 0.0])
    with pytest.raises(InvalidPoseError, match="3 components"):
        g.as_position([0.0, 1.0])
    with pytest.raises(InvalidPoseError, match="unit quaternion"):
        g.as_quaternion([0.0, 0.0, 0.0, 2.0])
    np.testing.assert_allclose(g.as_quaternion([0, 0, 0, 1.0004]), [0, 0, 0, 1])


def test_action_parse():
    assert Action.parse(1) is Action.MOVE_FORWARD
    assert Action.parse(np.int64(3)) is Action.TURN_RIGHT
    assert Action.parse("stop") is Action.STOP
    for bad in (4, -1, 1.5, "jump", None):
        with pytest.raises(InvalidActionError):
            Action.parse(bad)


def test_agent_config_validation():
    with pytest.raises(ConfigError, match="radius"):
        AgentConfig(radius=-0.1)
    with pytest.raises(ConfigError, match="max_slope"):
        AgentConfig(max_slope=95)
