"""Poses and rotations.

Conventions (shared with habitat): metres, +Y up, the agent looks along -Z at zero
rotation, quaternions stored as ``[x, y, z, w]``. A *heading* (yaw) ``theta`` is a
rotation about +Y; positive theta turns the agent to its left (counter-clockwise seen
from above), so the forward vector at heading theta is ``(-sin theta, 0, -cos theta)``.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .errors import InvalidPoseError

UNIT_TOLERANCE = 1e-3


def _numeric(p, name: str, what: str) -> np.ndarray:
    """``p`` as a flat float64 array; ``InvalidPoseError`` for strings and other non-numbers."""
    if isinstance(p, (str, bytes)):
        raise InvalidPoseError(f"{name} must be {what}, got the string {p!r}")
    try:
        raw = np.asarray(p)
    except (TypeError, ValueError):
        raw = None
    if raw is None or raw.dtype.kind not in "iuf":
        raise InvalidPoseError(f"{name} must be {what}, got {p!r}")
    return raw.astype(np.float64).reshape(-1)


def as_position(p: Sequence[float], name: str = "position") -> np.ndarray:
    """Return ``p`` as a finite float64 3-vector or raise ``InvalidPoseError``."""
    arr = _numeric(p, name, "3 numbers [x, y, z]")
    if arr.shape != (3,):
        raise InvalidPoseError(f"{name} must have 3 components [x, y, z], got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidPoseError(f"{name} must be finite, got {arr.tolist()}")
    return arr


def as_quaternion(q: Sequence[float], name: str = "rotation") -> np.ndarray:
    """Return ``q`` as a unit float64 quaternion ``[x, y, z, w]`` or raise.

    Quaternions within ``UNIT_TOLERANCE`` of unit length are renormalised; anything
    further off is an error rather than a silent fix.
    """
    arr = _numeric(q, name, "a quaternion of 4 numbers [x, y, z, w]")
    if arr.shape != (4,):
        raise InvalidPoseError(f"{name} must be a quaternion [x, y, z, w], got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidPoseError(f"{name} must be finite, got {arr.tolist()}")
    n = float(np.linalg.norm(arr))
    if abs(n - 1.0) > UNIT_TOLERANCE:
        raise InvalidPoseError(f"{name} must be a unit quaternion, got norm {n:.6f} for {arr.tolist()}")
    return arr / n


def quat_to_matrix(q: Sequence[float]) -> np.ndarray:
    """3x3 rotation matrix of a unit quaternion ``[x, y, z, w]``."""
    x, y, z, w = (float(v) for v in q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def quat_from_matrix(m: np.ndarray) -> np.ndarray:
    """Unit quaternion ``[x, y, z, w]`` of a 3x3 rotation matrix (Shepperd's method)."""
    m = np.asarray(m, dtype=np.float64)
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    if tr > 0:
        s = math.sqrt(tr + 1.0) * 2
        w, x, y, z = 0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        w, x, y, z = (m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s
    elif m[1, 1] > m[2, 2]:
        s = math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        w, x, y, z = (m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s
    else:
        s = math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        w, x, y, z = (m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s
    q = np.array([x, y, z, w])
    return q / np.linalg.norm(q)


def quat_multiply(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    """Hamilton product ``a * b`` of quaternions ``[x, y, z, w]`` (apply b, then a)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )


def quat_from_yaw(theta: float) -> np.ndarray:
    """Quaternion of a rotation by ``theta`` radians about +Y (positive = turn left)."""
    return np.array([0.0, math.sin(theta / 2), 0.0, math.cos(theta / 2)])


def yaw_from_quat(q: Sequence[float]) -> float:
    """Heading (rotation about +Y, radians in (-pi, pi]) of a quaternion.

    Computed from where the rotated forward vector points, so it is well defined for
    any rotation whose forward axis is not vertical.
    """
    f = quat_to_matrix(q) @ np.array([0.0, 0.0, -1.0])
    return math.atan2(-f[0], -f[2])


def forward_vector(theta: float) -> np.ndarray:
    """Unit forward direction (in the XZ plane) of an agent at heading ``theta``."""
    return np.array([-math.sin(theta), 0.0, -math.cos(theta)])


def euler_to_matrix(orientation: Sequence[float]) -> np.ndarray:
    """Rotation of habitat sensor ``orientation`` = Euler angles [x, y, z] in radians.

    habitat composes the sensor orientation as a rotation
    about X (pitch) then Y (yaw) then Z (roll) in the sensor's frame; we use
    ``R = Ry(yaw) @ Rx(pitch) @ Rz(roll)`` so that a pitch tilts the camera up/down
    about its own horizontal axis after it has been turned.
    """
    rx, ry, rz = (float(v) for v in orientation)
    cx, sx, cy, sy, cz, sz = math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry), math.cos(rz), math.sin(rz)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Ry @ Rx @ Rz


def wrap_angle(a: float) -> float:
    """Wrap an angle to (-pi, pi]."""
    a = math.fmod(a + math.pi, 2 * math.pi)
    if a <= 0:
        a += 2 * math.pi
    return a - math.pi
