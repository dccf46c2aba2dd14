"""Agent dynamics: discrete actions on the navigability grid, with habitat-style sliding.

MOVE_FORWARD tries to move ``forward_step`` along the heading. Every motion is a straight
segment checked on the navigable (radius-eroded) cells at ``cell_size / 4`` spacing, so
the agent centre never leaves navigable space and the body never passes through
geometry. When the full move is blocked the agent stops at the last free sample
(the contact point) and, with ``allow_sliding``, slides: the remaining motion is
projected on the obstacle tangent (from the gradient of the grid's clearance field),
and on the x and z axes, and the candidate that ends closest to the intended target
wins (habitat's navmesh ``tryStep`` likewise returns the reachable point closest to the
target). The straight chord from the start to the final point is also required to be
clear, so one step is always a clear segment. ``collided`` is true whenever the agent
ends short of the intended target (habitat's definition). ``y`` follows the floor height
of the cell the agent ends in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .agent import Action, AgentConfig
from .geometry import forward_vector, quat_from_yaw, yaw_from_quat
from .nav.grid import NavGrid

_COLLIDE_EPS = 1e-4


@dataclass
class StepResult:
    """Outcome of one action: new position and rotation, and whether it collided."""

    position: np.ndarray
    rotation: np.ndarray
    collided: bool


class AgentDynamics:
    """Applies actions to poses on one navigability grid."""

    def __init__(self, grid: NavGrid, agent: AgentConfig):
        self.grid = grid
        self.agent = agent
        self._step = grid.cell_size / 4
        gz, gx = np.gradient(grid.clearance.astype(np.float64))
        self._grad = (gx, gz)

    # ------------------------------------------------------------------ segment checks
    def _samples(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d = math.hypot(b[0] - a[0], b[2] - a[2])
        n = max(2, int(math.ceil(d / self._step)) + 1)
        t = np.linspace(0.0, 1.0, n)
        return np.stack([a[0] + t * (b[0] - a[0]), a[2] + t * (b[2] - a[2])], axis=1)

    def _free_prefix(self, a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, bool]:
        """Furthest point along a->b reachable on navigable cells without a step over max_climb."""
        xz = self._samples(a, b)
        g = self.grid
        row, col = g.cell_of(xz)
        inside = g.in_grid(row, col)
        ok = np.zeros(len(xz), dtype=bool)
        ok[inside] = g.navigable[row[inside], col[inside]]
        h = np.full(len(xz), np.nan)
        h[inside] = g.height[row[inside], col[inside]]
        with np.errstate(invalid="ignore"):
            steps = np.abs(np.diff(h)) <= self.agent.max_climb
        ok[1:] &= steps
        if ok.all():
            return np.array([b[0], h[-1], b[2]]), True
        first_bad = int(np.argmin(ok))
        if first_bad == 0:
            return a.copy(), False
        k = first_bad - 1
        return np.array([xz[k, 0], h[k], xz[k, 1]]), False

    def segment_clear(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether the whole segment a->b lies on navigable cells with climbable steps."""
        return self._free_prefix(a, b)[1]

    def _normal(self, p: np.ndarray) -> np.ndarray:
        """Unit XZ direction of increasing clearance at p (away from the obstacle)."""
        g = self.grid
        r, c = g.cell_of(np.array([p[0], p[2]]))
        r = int(np.clip(r, 0, g.shape[0] - 1))
        c = int(np.clip(c, 0, g.shape[1] - 1))
        n = np.array([self._grad[0][r, c], 0.0, self._grad[1][r, c]])
        norm = math.hypot(n[0], n[2])
        return n / norm if norm > 1e-9 else np.zeros(3)

    # ------------------------------------------------------------------ actions
    def move(self, position: np.ndarray, direction: np.ndarray, distance: float) -> Tuple[np.ndarray, bool]:
        """Move ``distance`` along XZ ``direction`` with sliding; returns (new position, collided)."""
        p = np.asarray(position, dtype=np.float64)
        target = p + direction * distance
        contact, full = self._free_prefix(p, target)
        if full:
            return contact, False
        best = contact
        if self.agent.allow_sliding:
            remaining = target - contact
            remaining[1] = 0.0
            n = self._normal(contact)
            cands = []
            into = remaining @ n
            if into < 0:
                cands.append(remaining - into * n)
            cands.append(np.array([remaining[0], 0.0, 0.0]))
            cands.append(np.array([0.0, 0.0, remaining[2]]))
            best_d = math.hypot(target[0] - contact[0], target[2] - contact[2])
            for v in cands:
                if math.hypot(v[0], v[2]) < 1e-6:
                    continue
                end, _ = self._free_prefix(contact, contact + v)
                d = math.hypot(target[0] - end[0], target[2] - end[2])
                if d < best_d - 1e-9 and self.segment_clear(p, end):
                    best, best_d = end, d
        return best, True

    def step(self, position: np.ndarray, rotation: np.ndarray, action) -> StepResult:
        """Apply one action to a pose (position on the floor, yaw-only rotation)."""
        action = Action.parse(action)
        pos = np.asarray(position, dtype=np.float64).copy()
        rot = np.asarray(rotation, dtype=np.float64).copy()
        if action == Action.MOVE_FORWARD:
            yaw = yaw_from_quat(rot)
            new, collided = self.move(pos, forward_vector(yaw), self.agent.forward_step)
            moved = math.hypot(new[0] - pos[0], new[2] - pos[2])
            collided = collided or moved < self.agent.forward_step - _COLLIDE_EPS
            return StepResult(new, rot, bool(collided))
        if action in (Action.TURN_LEFT, Action.TURN_RIGHT):
            sign = 1.0 if action == Action.TURN_LEFT else -1.0
            yaw = yaw_from_quat(rot) + sign * math.radians(self.agent.turn_angle)
            return StepResult(pos, quat_from_yaw(yaw), False)
        return StepResult(pos, rot, False)
