"""Per-step distance to the goal, cheap enough to evaluate on every env step.

``PathFinder.geodesic_distance`` plans and string-pulls an any-angle path per query
(milliseconds), which would cost more than rendering a 64x64 frame. The reward shaping,
``progress`` and ``info["distance_to_goal"]`` instead read the path finder's own
Dijkstra distance field from the goal cell (``PathFinder.distance_field``: the
16-neighbourhood grid geodesic, within ~3% of the continuous shortest path and never
below it), computed once per goal and shared with the expert follower. Success and the
end-of-episode metrics still use the exact ``geodesic_distance``.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np


class GoalDistance:
    """Grid geodesic distance (m) from any point to one goal, O(1) per query.

    Points outside the navigable cells (never the agent's own position, which the
    simulator keeps navigable) fall back to the exact ``geodesic_distance``.
    """

    def __init__(self, pathfinder, goal: Sequence[float]):
        self.pathfinder = pathfinder
        self.goal = np.asarray(goal, dtype=np.float64)
        self._field: Optional[np.ndarray] = None
        grid = getattr(pathfinder, "grid", None)
        if grid is None or not hasattr(pathfinder, "distance_field"):
            return
        g = pathfinder.snap_point(self.goal)
        r, c = (int(v) for v in grid.cell_of(g[[0, 2]]))
        dist, _ = pathfinder.distance_field((r, c))
        nav = grid.navigable
        # The field is indexed by navigable cell in row-major order (np.nonzero order);
        # the checks below fall back to exact queries should that layout ever change.
        if len(dist) != int(nav.sum()):
            return
        field = np.full(nav.shape, np.inf, dtype=np.float64)
        field[nav] = dist
        if field[r, c] != 0.0:
            return
        self._grid = grid
        self._field = field

    @property
    def uses_field(self) -> bool:
        """Whether queries read the distance field (False: exact per-query fallback)."""
        return self._field is not None

    def __call__(self, position: Sequence[float]) -> float:
        """Distance from ``position`` to the goal (inf if unreachable)."""
        if self._field is not None:
            p = np.asarray(position, dtype=np.float64)
            r, c = self._grid.cell_of(p[[0, 2]])
            r, c = int(r), int(c)
            nz, nx = self._field.shape
            if 0 <= r < nz and 0 <= c < nx and self._grid.navigable[r, c]:
                return float(self._field[r, c])
        d = float(self.pathfinder.geodesic_distance(position, self.goal))
        return d if math.isfinite(d) else math.inf
