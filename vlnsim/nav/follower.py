"""The shortest-path expert: the next discrete action toward a goal.

``ShortestPathFollower(sim, goal_radius).next_action(goal)``:
- STOP when the geodesic distance to the goal is at most ``goal_radius``;
- otherwise plan the any-angle shortest path, aim at its first waypoint (skipping ones
  within a few centimetres), turn toward it while the heading error exceeds half the
  turn angle, else MOVE_FORWARD.

Guards: a pose (position and heading) that repeats means the agent oscillates or is
stuck against something; the follower then looks one action ahead with the
simulator's own dynamics and takes the action whose result is geodesically closest
to the goal (ties broken toward moving). Unreachable goals give STOP. It is the
imitation-learning expert and the oracle-action sensor; episode step limits belong to
the caller (it is stateless apart from the pose history of the current goal).
"""
from __future__ import annotations

import math
from typing import Dict, Sequence, Tuple

import numpy as np

from ..agent import Action
from ..errors import ConfigError
from ..geometry import quat_from_yaw, wrap_angle, yaw_from_quat

_WAYPOINT_SKIP = 0.05


class ShortestPathFollower:
    """Greedy follower of the geodesic shortest path of ``sim``."""

    def __init__(self, sim, goal_radius: float = 0.5):
        if not (isinstance(goal_radius, (int, float)) and math.isfinite(goal_radius) and goal_radius > 0):
            raise ConfigError(f"goal_radius={goal_radius!r}; expected a positive number of metres")
        self.sim = sim
        self.goal_radius = float(goal_radius)
        self._goal_key = None
        self._visits: Dict[Tuple, int] = {}

    def _pose_key(self, pos: np.ndarray, yaw: float) -> Tuple:
        return (round(pos[0], 3), round(pos[2], 3), round(math.degrees(wrap_angle(yaw))) % 360)

    def _lookahead(self, goal: np.ndarray) -> Action:
        """Action whose one-step outcome is geodesically closest to the goal."""
        sim = self.sim
        state = sim.agent_state
        best, best_d = Action.MOVE_FORWARD, math.inf
        for a in (Action.MOVE_FORWARD, Action.TURN_LEFT, Action.TURN_RIGHT):
            res = sim.dynamics.step(state.position, state.rotation, a)
            if a == Action.MOVE_FORWARD:
                if res.collided and np.hypot(*(res.position - state.position)[[0, 2]]) < 1e-3:
                    continue
                d = sim.pathfinder.geodesic_distance(res.position, goal)
            else:
                # score a turn by moving after it
                res2 = sim.dynamics.step(res.position, res.rotation, Action.MOVE_FORWARD)
                d = sim.pathfinder.geodesic_distance(res2.position, goal) + 1e-3
            if self._visits.get(self._pose_key(res.position, yaw_from_quat(res.rotation)), 0) > 0:
                d += 0.05  # prefer poses not seen yet
            if d < best_d:
                best, best_d = a, d
        return best

    def next_action(self, goal: Sequence[float]) -> Action:
        """The next action toward ``goal`` ([x, y, z]); STOP within ``goal_radius``."""
        sim = self.sim
        goal = np.asarray(goal, dtype=np.float64)
        key = tuple(np.round(goal, 4).tolist())
        if key != self._goal_key:
            self._goal_key = key
            self._visits = {}
        state = sim.agent_state
        pos = state.position
        yaw = yaw_from_quat(state.rotation)
        path = sim.pathfinder.find_path(pos, goal)
        if not path:
            return Action.STOP
        pts = np.asarray(path)
        dist = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()) if len(pts) > 1 else 0.0
        if dist <= self.goal_radius:
            return Action.STOP
        pk = self._pose_key(pos, yaw)
        self._visits[pk] = self._visits.get(pk, 0) + 1
        if self._visits[pk] > 1:
            return self._lookahead(goal)
        # first waypoint not (almost) at the agent; positions are compared in XZ
        target = pts[-1]
        for p in pts[1:]:
            if math.hypot(p[0] - pos[0], p[2] - pos[2]) > _WAYPOINT_SKIP:
                target = p
                break
        desired = math.atan2(-(target[0] - pos[0]), -(target[2] - pos[2]))
        err = wrap_angle(desired - yaw)
        half = math.radians(sim.agent.turn_angle) / 2
        if abs(err) > half + 1e-9:
            # never turn past the target direction by more than half a turn either way
            return Action.TURN_LEFT if err > 0 else Action.TURN_RIGHT
        return Action.MOVE_FORWARD
