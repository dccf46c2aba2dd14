"""Geodesic queries on a navigability grid (habitat's PathFinder answers).

Shortest paths are found in two stages:

1. A distance field from the goal cell by Dijkstra over the navigable cells with a
   16-neighbourhood (straight, diagonal and knight moves, each allowed only when the
   cells it crosses are navigable), so the field is within 2.7% of the Euclidean
   free-space distance. Fields are cached per goal cell (LRU of ``FIELD_CACHE_SIZE``
   per grid and at most ``FIELD_CACHE_BYTES``, shared by every PathFinder on that grid);
   one field answers every start. The graph is built on first use, straight into CSR
   arrays, after a check against the navigation memory budget (``grid.memory_budget``).
2. The grid path (parent pointers of the field) is pulled taut by line-of-sight string
   pulling on the navigable cells (``smoothing.PathSmoother``), giving an any-angle polyline whose vertices hug the
   corners of the eroded free space. ``geodesic_distance`` is the LENGTH OF THAT
   POLYLINE (3D), not the field value: it matches the continuous shortest path within
   about a cell per corner (tested against an exact visibility-graph reference).

Conventions:
- Points off the navigable area are snapped to the nearest navigable cell (3D distance)
  before planning; the returned path starts and ends at the snapped points, which equal
  the given points whenever those are navigable (then only ``y`` is put on the floor).
- Unreachable goals (other island, or no navigable cell at all) give ``inf`` and
  ``find_path`` returns an empty list.
- NaN/inf coordinates, or points more than ``BOUNDS_MARGIN`` outside the scene's
  bounding box, raise ``InvalidPoseError``.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from ..errors import InvalidPoseError
from ..geometry import as_position
from .grid import NavGrid, check_memory, memory_budget
from .smoothing import PathSmoother

FIELD_CACHE_SIZE = 32
FIELD_CACHE_BYTES = 256 * 2**20  # distance fields kept per grid, at most (at least one)
# peak per navigable cell (bench/navgrid.py measures ~220): the (n, 8) targets/weights/mask
# and the CSR while building; the CSR, its transpose and a field's arrays during a query
GRAPH_BUILD_BYTES_PER_NODE = 232
PLAN_CACHE_SIZE = 64  # recent (start, goal) answers per PathFinder
BOUNDS_MARGIN = 0.5  # metres a query point may lie outside the scene's bounding box
NAVIGABLE_Y_TOLERANCE = 0.5  # |y - floor| allowed by is_navigable (habitat uses 0.5 too)

# (drow, dcol) of the 16-neighbourhood half set, with the cells each move passes through
_MOVES = (
    ((0, 1), ()),
    ((1, 0), ()),
    ((1, 1), ((0, 1), (1, 0))),
    ((1, -1), ((0, -1), (1, 0))),
    ((1, 2), ((0, 1), (1, 1))),
    ((2, 1), ((1, 0), (1, 1))),
    ((1, -2), ((0, -1), (1, -1))),
    ((2, -1), ((1, 0), (1, -1))),
)


def _shift_ok(mask: np.ndarray, dr: int, dc: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """mask[rows + dr, cols + dc] with False outside the grid."""
    nz, nx = mask.shape
    r, c = rows + dr, cols + dc
    ok = (r >= 0) & (r < nz) & (c >= 0) & (c < nx)
    out = np.zeros(len(rows), dtype=bool)
    out[ok] = mask[r[ok], c[ok]]
    return out


class PathFinder:
    """Navigability, snapping, random points, geodesic distances and paths on a ``NavGrid``."""

    def __init__(self, grid: NavGrid):
        self.grid = grid
        g = grid
        if "nodes" not in g.cache:
            rows, cols = (v.astype(np.int32) for v in np.nonzero(g.navigable))
            node = np.full(g.shape, -1, dtype=np.int32)
            node[rows, cols] = np.arange(len(rows), dtype=np.int32)
            g.cache["nodes"] = (rows, cols, node)
            g.cache["fields"] = OrderedDict()
        self._rows, self._cols, self._node = g.cache["nodes"]
        self._fields: OrderedDict = g.cache["fields"]
        lo, hi = g.bounds
        self._lo = lo - BOUNDS_MARGIN
        self._hi = hi + BOUNDS_MARGIN
        self._smoother = PathSmoother(g)
        self._plans: OrderedDict = OrderedDict()

    # ------------------------------------------------------------------ basic queries
    @property
    def num_islands(self) -> int:
        """Number of connected navigable islands."""
        return self.grid.num_islands

    @property
    def island_areas(self) -> np.ndarray:
        """Area (m^2) of each island, largest first (island 0 is the largest)."""
        return self.grid.island_areas.copy()

    @property
    def navigable_area(self) -> float:
        """Total navigable area (m^2)."""
        return self.grid.navigable_area

    def _check(self, p: Sequence[float], name: str = "point") -> np.ndarray:
        p = as_position(p, name)
        if np.any(p < self._lo) or np.any(p > self._hi):
            raise InvalidPoseError(
                f"{name} {p.tolist()} is outside the scene bounds {self._lo.round(3).tolist()}..{self._hi.round(3).tolist()}"
            )
        return p

    def is_navigable(self, point: Sequence[float], max_y_delta: float = NAVIGABLE_Y_TOLERANCE) -> bool:
        """Whether the agent may stand at ``point``: navigable cell and |y - floor| <= max_y_delta."""
        p = self._check(point)
        r, c = self.grid.cell_of(p[[0, 2]])
        if not self.grid.in_grid(r, c) or not self.grid.navigable[r, c]:
            return False
        return bool(abs(p[1] - float(self.grid.height[r, c])) <= max_y_delta)

    def island_of(self, point: Sequence[float]) -> int:
        """Island id of the navigable point (after snapping)."""
        r, c = self._snap_cell(self._check(point))
        return int(self.grid.island[r, c])

    def floor_height(self, point: Sequence[float]) -> float:
        """Floor height of the cell containing ``point`` (NaN if it has no floor)."""
        p = self._check(point)
        return float(self.grid.height_at(p[[0, 2]]))

    def _kdtree(self) -> cKDTree:
        tree = self.grid.cache.get("kdtree")
        if tree is None:
            pts = self.grid.cell_center(self._rows, self._cols)
            tree = cKDTree(pts)
            self.grid.cache["kdtree"] = tree
        return tree

    def _snap_cell(self, p: np.ndarray, island: Optional[int] = None) -> Tuple[int, int]:
        """Cell of ``p`` if navigable (and on ``island``), else the nearest such cell (3D)."""
        g = self.grid
        if len(self._rows) == 0:
            raise InvalidPoseError("the scene has no navigable area; nothing to snap to")
        r, c = g.cell_of(p[[0, 2]])
        if g.in_grid(r, c) and g.navigable[r, c] and abs(p[1] - g.height[r, c]) <= NAVIGABLE_Y_TOLERANCE:
            if island is None or g.island[r, c] == island:
                return int(r), int(c)
        tree = self._kdtree()
        if island is None:
            _, i = tree.query(p)
            return int(self._rows[i]), int(self._cols[i])
        k = min(len(self._rows), 64)
        while True:
            _, idx = tree.query(p, k=k)
            idx = np.atleast_1d(idx)
            idx = idx[idx < len(self._rows)]
            on = g.island[self._rows[idx], self._cols[idx]] == island
            if on.any():
                i = idx[np.argmax(on)]
                return int(self._rows[i]), int(self._cols[i])
            if k >= len(self._rows):
                raise InvalidPoseError(f"island {island} does not exist; expected 0..{self.num_islands - 1}")
            k = min(len(self._rows), k * 4)

    def snap_point(self, point: Sequence[float], island: Optional[int] = None) -> np.ndarray:
        """Nearest navigable point: ``point`` itself with y on the floor when it is navigable,
        else the nearest navigable cell centre (optionally restricted to ``island``)."""
        p = self._check(point)
        r, c = self._snap_cell(p, island)
        pr, pc = self.grid.cell_of(p[[0, 2]])
        if (int(pr), int(pc)) == (r, c):
            return np.array([p[0], float(self.grid.height[r, c]), p[2]])
        return self.grid.cell_center(r, c)

    def random_navigable_point(self, rng: np.random.Generator, island: Optional[int] = None) -> np.ndarray:
        """Uniformly random navigable point (within a random cell of ``island``, default the largest)."""
        g = self.grid
        if g.num_islands == 0:
            raise InvalidPoseError("the scene has no navigable area; cannot draw a random navigable point")
        isl = 0 if island is None else int(island)
        if not (0 <= isl < g.num_islands):
            raise InvalidPoseError(f"island {island} does not exist; expected 0..{g.num_islands - 1}")
        key = ("island_cells", isl)
        cells = g.cache.get(key)
        if cells is None:
            sel = g.island[self._rows, self._cols] == isl
            cells = (self._rows[sel], self._cols[sel])
            g.cache[key] = cells
        i = int(rng.integers(len(cells[0])))
        r, c = int(cells[0][i]), int(cells[1][i])
        # jitter inside the cell so points are continuous, staying within the cell
        jx, jz = rng.uniform(-0.45, 0.45, size=2) * g.cell_size
        p = g.cell_center(r, c)
        return np.array([p[0] + jx, p[1], p[2] + jz])

    # ------------------------------------------------------------------ distance fields
    def _graph(self) -> sparse.csr_matrix:
        """The 16-neighbourhood graph, each undirected edge stored once, built on first use.

        The 8 half-moves of ``_MOVES`` always lead to a later cell in row-major order, so
        they form the upper triangle; ``csgraph.dijkstra(directed=False)`` walks each
        edge both ways (same distances as the full graph at half the memory: 96 bytes
        per navigable cell). Built straight into CSR arrays (float64 weights, sorted
        int32 indices), refused up front when it would exceed the navigation memory
        budget (``grid.memory_budget``).
        """
        gr = self.grid.cache.get("graph")
        if gr is not None:
            return gr
        g = self.grid
        rows, cols, node = self._rows, self._cols, self._node
        n = len(rows)
        lo, hi = g.bounds
        check_memory("navigation graph", g.scene_name, (float(hi[0] - lo[0]), float(hi[2] - lo[2])),
                     g.cell_size, f"{n / 1e6:.2f} M navigable cells", n * GRAPH_BUILD_BYTES_PER_NODE,
                     memory_budget(), GRAPH_BUILD_BYTES_PER_NODE)
        moves = [(dr, dc, through) for (dr, dc), through in _MOVES]
        target = np.full((n, len(moves)), -1, dtype=np.int32)
        weight = np.zeros((n, len(moves)), dtype=np.float64)
        h = g.height
        for m, (dr, dc, through) in enumerate(moves):
            ok = _shift_ok(g.navigable, dr, dc, rows, cols)
            for tr, tc in through:
                ok &= _shift_ok(g.navigable, tr, tc, rows, cols)
            a = np.nonzero(ok)[0]
            target[a, m] = node[rows[a] + dr, cols[a] + dc]
            dy = h[rows[a] + dr, cols[a] + dc].astype(np.float64) - h[rows[a], cols[a]]
            weight[a, m] = np.sqrt((dr * dr + dc * dc) * g.cell_size**2 + dy * dy)
        valid = target >= 0
        indptr = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(valid.sum(axis=1), out=indptr[1:])
        gr = sparse.csr_matrix((weight[valid], target[valid], indptr), shape=(n, n))
        del target, weight, valid
        gr.sort_indices()  # the canonical layout scipy's COO -> CSR conversion gives
        self.grid.cache["graph"] = gr
        return gr

    def distance_field(self, goal_cell: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
        """(distances (N,), predecessors (N,)) from ``goal_cell`` (row, col) over the navigable
        cells in ``np.nonzero(grid.navigable)`` (row-major) order; 16-neighbourhood grid
        metres, inf off the goal's island. Cached per goal cell (LRU)."""
        r, c = (int(v) for v in goal_cell)
        if not (0 <= r < self.grid.shape[0] and 0 <= c < self.grid.shape[1]) or self._node[r, c] < 0:
            raise InvalidPoseError(f"goal cell {(r, c)} is not a navigable cell of the {self.grid.shape} grid")
        goal = int(self._node[r, c])
        hit = self._fields.get(goal)
        if hit is not None:
            self._fields.move_to_end(goal)
            return hit
        dist, pred = csgraph.dijkstra(self._graph(), directed=False, indices=goal, return_predecessors=True)
        entry = (dist.astype(np.float32), pred.astype(np.int32))
        del dist, pred
        self._fields[goal] = entry
        # bounded by count and by bytes (8 per navigable cell each): a huge floor keeps fewer
        per_field = max(1, 8 * len(self._rows))
        keep = max(1, min(FIELD_CACHE_SIZE, FIELD_CACHE_BYTES // per_field))
        while len(self._fields) > keep:
            self._fields.popitem(last=False)
        return entry

    # ------------------------------------------------------------------ paths
    def segment_clear(self, a: Sequence[float], b: Sequence[float]) -> bool:
        """Whether the straight XZ segment a->b stays on navigable cells."""
        return self._smoother.segment_clear(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))

    def _plan(self, a: np.ndarray, b: np.ndarray) -> Tuple[Optional[np.ndarray], float]:
        """(polyline or None, length) between two checked points (memoised: an agent that
        only turns asks the same question again)."""
        key = (a.tobytes(), b.tobytes())
        hit = self._plans.get(key)
        if hit is not None:
            self._plans.move_to_end(key)
            return hit
        res = self._plan_uncached(a, b)
        self._plans[key] = res
        while len(self._plans) > PLAN_CACHE_SIZE:
            self._plans.popitem(last=False)
        return res

    def _plan_uncached(self, a: np.ndarray, b: np.ndarray) -> Tuple[Optional[np.ndarray], float]:
        ra, ca = self._snap_cell(a)
        rb, cb = self._snap_cell(b)
        g = self.grid
        if g.island[ra, ca] != g.island[rb, cb]:
            return None, math.inf
        pa = self.snap_point(a)
        pb = self.snap_point(b)
        if self.segment_clear(pa, pb):
            pts = np.stack([pa, pb])
        else:
            dist, pred = self.distance_field((rb, cb))
            start = int(self._node[ra, ca])
            goal = int(self._node[rb, cb])
            if not math.isfinite(dist[start]):
                return None, math.inf
            chain = [start]
            cur = start
            while cur != goal:
                cur = int(pred[cur])
                chain.append(cur)
            chain = np.asarray(chain)
            centres = g.cell_center(self._rows[chain], self._cols[chain])
            pts = np.concatenate([pa[None], centres[1:-1], pb[None]]) if len(chain) > 2 else np.stack([pa, pb])
            pts = self._smoother.pull(pts)
        length = float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
        return pts, length

    def find_path(self, a: Sequence[float], b: Sequence[float]) -> List[List[float]]:
        """Shortest any-angle path from ``a`` to ``b`` as a list of [x, y, z] (empty if unreachable)."""
        pa, pb = self._check(a, "start"), self._check(b, "goal")
        pts, _ = self._plan(pa, pb)
        return [] if pts is None else pts.tolist()  # tolist copies: the cached array stays intact

    def geodesic_distance(self, a: Sequence[float], b) -> float:
        """Length (m) of the shortest path from ``a`` to ``b`` or to the nearest of a list of goals; inf if unreachable."""
        pa = self._check(a, "start")
        goals = np.asarray(b, dtype=np.float64)
        if goals.ndim == 1:
            goals = goals[None]
        if goals.ndim != 2 or goals.shape[1] != 3 or len(goals) == 0:
            raise InvalidPoseError(f"goal must be [x, y, z] or a non-empty list of them, got shape {goals.shape}")
        best = math.inf
        for gpt in goals:
            _, d = self._plan(pa, self._check(gpt, "goal"))
            best = min(best, d)
        return best
