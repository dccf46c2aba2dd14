"""The shortest-path expert: the next discrete action toward a goal.

``ShortestPathFollower(sim, goal_radius).next_action(goal)``:
- STOP when the geodesic distance to the goal is at most ``goal_radius``;
- otherwise plan the any-angle shortest path and aim at the *farthest point along it
  that the agent sees in a straight line* (over navigable cells): the whole first leg,
  and as much of the next leg as is already in view near a corner. A far aim point
  changes bearing slowly, so one turn holds for many forward steps.
- Heading tolerance fitted to the turn angle ``t`` (15 degrees by default): a *new*
  turn starts only when the heading error exceeds ``0.9 t`` (``t/2`` plus hysteresis:
  walking a few degrees off a far aim point costs little length, while turning back
  and forth is the zig-zag an imitation learner copies); a turn under way continues
  while the error exceeds ``t/2`` (a rotation ends on the heading nearest the aim);
  the turn opposite to the previous one right after a single forward step needs an
  error above ``1.5 t`` (never undo a turn on open floor); and a turn toward a corner
  within one forward step that bends the other way is replaced by the forward step
  past it when that step gains at least half a step of geodesic distance.
- Measured by ``bench/expert.py`` (turns per forward step vs the path's minimum,
  zig-zags per episode, length / geodesic, success).

Guards: a pose (position and heading) that repeats means the agent oscillates or is
stuck against something; the follower then looks one action ahead with the
simulator's own dynamics and takes the action whose result is geodesically closest
to the goal (ties broken toward moving). Unreachable goals give STOP. It is the
imitation-learning expert and the oracle-action sensor; episode step limits belong to
the caller (it is stateless apart from the pose history of the current goal and the
last two actions the agent executed, read off its pose changes so that a DAgger learner
that ignores the advice is judged by what it did; ``reset()`` forgets them).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..agent import Action
from ..errors import ConfigError
from ..geometry import wrap_angle, yaw_from_quat

_WAYPOINT_SKIP = 0.05  # m: path vertices this close to the agent are where it stands
_HYSTERESIS = 0.4  # extra heading error, in turn angles, before a new turn starts
_UNDO = 1.5  # heading error, in turn angles, that justifies undoing a turn after one step
_BISECT = 6  # halvings when searching the visible part of a leg


def _first_waypoint(pos: np.ndarray, pts: np.ndarray) -> int:
    """Index of the path's first vertex not (almost) at the agent (compared in XZ)."""
    k = 1
    while k < len(pts) - 1 and math.hypot(pts[k][0] - pos[0], pts[k][2] - pos[2]) <= _WAYPOINT_SKIP:
        k += 1
    return k


class ShortestPathFollower:
    """Follower of the geodesic shortest path of ``sim`` with near-minimal turning."""

    def __init__(self, sim, goal_radius: float = 0.5):
        if not (isinstance(goal_radius, (int, float)) and math.isfinite(goal_radius) and goal_radius > 0):
            raise ConfigError(f"goal_radius={goal_radius!r}; expected a positive number of metres")
        self.sim = sim
        self.goal_radius = float(goal_radius)
        self._goal_key = None
        self._visits: Dict[Tuple, int] = {}
        self._history: List[Action] = []  # the last actions the agent executed toward the current goal
        self._last_pose: Optional[Tuple[np.ndarray, float]] = None

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

    def aim_point(self, pos: np.ndarray, pts: np.ndarray) -> np.ndarray:
        """Farthest point along the path ``pts`` (from the agent) in straight view of ``pos``."""
        clear = self.sim.pathfinder.segment_clear
        k = _first_waypoint(pos, pts)
        target = pts[k]  # the first leg is in view by construction of the path
        for j in range(k + 1, len(pts)):
            if clear(pos, pts[j]):
                target = pts[j]
                continue
            lo, hi = 0.0, 1.0  # the visible start of the leg pts[j-1] -> pts[j]
            for _ in range(_BISECT):
                mid = (lo + hi) / 2
                if clear(pos, pts[j - 1] + mid * (pts[j] - pts[j - 1])):
                    lo = mid
                else:
                    hi = mid
            if lo > 0:
                target = pts[j - 1] + lo * (pts[j] - pts[j - 1])
            break
        return target

    def _turn(self, err: float) -> Optional[Action]:
        """The turn the heading error ``err`` (radians, left positive) calls for, or None."""
        t = math.radians(self.sim.agent.turn_angle)
        want = Action.TURN_LEFT if err > 0 else Action.TURN_RIGHT
        h = self._history
        if h and h[-1] == want:  # a rotation under way ends on the heading nearest the aim
            return want if abs(err) > t / 2 + 1e-9 else None
        if abs(err) <= t * (0.5 + _HYSTERESIS):
            return None
        opposite = {Action.TURN_LEFT: Action.TURN_RIGHT, Action.TURN_RIGHT: Action.TURN_LEFT}[want]
        if len(h) >= 2 and h[-1] == Action.MOVE_FORWARD and h[-2] == opposite and abs(err) <= _UNDO * t:
            return None  # never undo a turn after one step
        return want

    def reset(self) -> None:
        """Forget the pose history and last actions (a new episode toward the same goal)."""
        self._goal_key = None
        self._visits = {}
        self._history = []
        self._last_pose = None

    def _observe(self, pos: np.ndarray, yaw: float) -> None:
        """Record the action the agent executed since the last query, read off its pose change.

        The rules need what the agent *did* (a DAgger learner may not follow the advice);
        a query from an unchanged pose, or a blocked step, records nothing.
        """
        if self._last_pose is not None:
            last_pos, last_yaw = self._last_pose
            t = math.radians(self.sim.agent.turn_angle)
            dyaw = wrap_angle(yaw - last_yaw)
            act = None
            if math.hypot(pos[0] - last_pos[0], pos[2] - last_pos[2]) > 1e-6:
                act = Action.MOVE_FORWARD
            elif abs(dyaw - t) < 1e-3:
                act = Action.TURN_LEFT
            elif abs(dyaw + t) < 1e-3:
                act = Action.TURN_RIGHT
            if act is not None:
                self._history = self._history[-1:] + [act]  # the last two are all the rules read
        self._last_pose = (pos.copy(), yaw)

    def next_action(self, goal: Sequence[float]) -> Action:
        """The next action toward ``goal`` ([x, y, z]); STOP within ``goal_radius``."""
        sim = self.sim
        goal = np.asarray(goal, dtype=np.float64)
        key = tuple(np.round(goal, 4).tolist())
        if key != self._goal_key:
            self.reset()
            self._goal_key = key
        state = sim.agent_state
        pos = np.asarray(state.position, dtype=np.float64)
        yaw = yaw_from_quat(state.rotation)
        self._observe(pos, yaw)
        path = sim.pathfinder.find_path(pos, goal)
        if not path:
            return Action.STOP
        pts = np.asarray(path, dtype=np.float64)
        dist = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum()) if len(pts) > 1 else 0.0
        if dist <= self.goal_radius:
            return Action.STOP
        pk = self._pose_key(pos, yaw)
        self._visits[pk] = self._visits.get(pk, 0) + 1
        if self._visits[pk] > 1:
            return self._lookahead(goal)
        target = self.aim_point(pos, pts)
        desired = math.atan2(-(target[0] - pos[0]), -(target[2] - pos[2]))
        turn = self._turn(wrap_angle(desired - yaw))
        if turn is not None and self._against_bend(pos, pts, turn):
            # a corner within a step that bends the other way: turning toward it and then
            # back onto the next leg is the zig-zag; step past it when that gains distance
            res = sim.dynamics.step(pos, state.rotation, Action.MOVE_FORWARD)
            gain = sim.pathfinder.geodesic_distance(pos, goal) - sim.pathfinder.geodesic_distance(res.position, goal)
            if gain >= 0.5 * sim.agent.forward_step:
                return Action.MOVE_FORWARD
        return Action.MOVE_FORWARD if turn is None else turn

    def _against_bend(self, pos: np.ndarray, pts: np.ndarray, turn: Action) -> bool:
        """Whether the path's next corner is within a forward step and bends opposite to ``turn``."""
        k = _first_waypoint(pos, pts)
        if k >= len(pts) - 1 or math.hypot(pts[k][0] - pos[0], pts[k][2] - pos[2]) > self.sim.agent.forward_step:
            return False
        a, b = pts[k] - pos, pts[k + 1] - pts[k]
        # yaw grows to the left; with forward = -z a left bend has z_a * x_b - x_a * z_b > 0
        bend = a[2] * b[0] - a[0] * b[2]
        return (bend > 0) != (turn == Action.TURN_LEFT)
