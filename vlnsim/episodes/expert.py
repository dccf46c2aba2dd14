"""Expert trajectories for ``_gt`` files: the ShortestPathFollower rolled out cheaply.

``ShortestPathFollower.next_action`` re-plans the any-angle shortest path at every step
(about 20 ms of string pulling on a house grid), which would dominate dataset
generation. Its decision needs only the planned path from the agent to the goal; while
the agent is on the episode's reference path that is, by sub-path optimality, the rest
of the reference path, shortened to the farthest reference waypoint in straight view.
``ReferencePathFinder`` answers ``find_path`` that way and hands every other query (the
agent off the reference, other goals, geodesic distances for the follower's stuck-pose
look-ahead) to the real ``PathFinder``; the follower's own decision rule, STOP test,
look-ahead and the simulator's dynamics are used unchanged.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from ..agent import Action

ON_PATH = 0.2  # m: farther from the reference than this, plan for real
LOOK_AHEAD = 6  # reference waypoints checked for a straight-line shortcut


class ReferencePathFinder:
    """A ``PathFinder`` view whose ``find_path`` to ``goal`` follows ``reference``."""

    def __init__(self, pathfinder, reference: Sequence[Sequence[float]], goal: Sequence[float]):
        self._pf = pathfinder
        self._ref = np.asarray(reference, dtype=np.float64)
        self._goal = np.asarray(goal, dtype=np.float64)
        self._seg = 0  # progress along the reference: segments before it are done
        self.fallbacks = 0

    def __getattr__(self, name):
        return getattr(self._pf, name)

    def find_path(self, a: Sequence[float], b: Sequence[float]) -> List[List[float]]:
        a = np.asarray(a, dtype=np.float64)
        if len(self._ref) < 2 or not np.allclose(np.asarray(b, dtype=np.float64), self._goal, atol=1e-9):
            return self._pf.find_path(a, b)
        p, q = self._ref[self._seg:-1, [0, 2]], self._ref[self._seg + 1:, [0, 2]]
        d = q - p
        t = np.clip(((a[[0, 2]] - p) * d).sum(1) / np.maximum((d * d).sum(1), 1e-12), 0.0, 1.0)
        dist = np.linalg.norm(p + t[:, None] * d - a[[0, 2]], axis=1)
        i = int(np.argmin(dist))
        if dist[i] > ON_PATH:
            self.fallbacks += 1
            return self._pf.find_path(a, b)
        seg = self._seg + i
        last = len(self._ref) - 1
        for k in range(min(seg + LOOK_AHEAD, last), seg, -1):
            if self._pf.segment_clear(a, self._ref[k]):
                self._seg = seg
                return [a.tolist()] + self._ref[k:].tolist()
        self.fallbacks += 1
        return self._pf.find_path(a, b)


class _ExpertSim:
    """The simulator as the follower sees it, with the reference-path view."""

    def __init__(self, sim, pathfinder: ReferencePathFinder):
        self._sim = sim
        self.pathfinder = pathfinder

    def __getattr__(self, name):
        return getattr(self._sim, name)


def run_expert(sim, reference: Sequence[Sequence[float]], start: Sequence[float], rotation: Sequence[float],
               goal: Sequence[float], goal_radius: float, max_steps: int = 500,
               exact: bool = False) -> Tuple[List[List[float]], List[int], bool]:
    """Roll ``ShortestPathFollower(goal_radius)`` from the start pose; return (locations, actions, reached).

    ``exact=True`` lets the follower re-plan with the real ``PathFinder`` at every step
    (what an on-line oracle sensor sees; ~30x slower). The default reference-path view
    gives trajectories of the same length to within a few actions, but individual
    turn timings can differ by a step where the re-planned path hugs a corner
    differently.

    ``locations[0]`` is the start and ``locations[i]`` the position before ``actions[i]``;
    the last action is STOP when ``reached``. ``reached`` also requires the true
    geodesic distance of the stop position to be within ``goal_radius`` (+ 1 cm).
    """
    from ..nav.follower import ShortestPathFollower

    if exact:
        follower = ShortestPathFollower(sim, goal_radius=goal_radius)
    else:
        follower = ShortestPathFollower(_ExpertSim(sim, ReferencePathFinder(sim.pathfinder, reference, goal)),
                                        goal_radius=goal_radius)
    sim.reset(position=start, rotation=rotation)
    locations = [[float(v) for v in sim.agent_state.position]]
    actions: List[int] = []
    for _ in range(max_steps):
        a = Action.parse(follower.next_action(goal))
        actions.append(int(a))
        if a == Action.STOP:
            d = sim.pathfinder.geodesic_distance(sim.agent_state.position, goal)
            return locations, actions, bool(d <= goal_radius + 0.01)
        sim.step(a)
        locations.append([float(v) for v in sim.agent_state.position])
    return locations, actions, False
