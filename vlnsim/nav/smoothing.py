"""Any-angle smoothing of grid paths by line of sight on the navigable cells.

A grid path (cell centres) is pulled taut: greedy farthest-visible shortcuts
(exponential then binary search along the path), a pass that drops vertices whose
neighbours see each other, then each interior vertex slides toward the chord of its
neighbours while both legs stay clear, which moves it from a grid-path cell centre
onto the obstacle corner the continuous shortest path wraps. Visibility is tested on
the navigable cells with samples at most a quarter cell apart.
"""
from __future__ import annotations

import math

import numpy as np

from .grid import NavGrid


class PathSmoother:
    """Line-of-sight queries and string pulling on one ``NavGrid``."""

    def __init__(self, grid: NavGrid):
        self.grid = grid
        self._nav_flat = grid.navigable.ravel()
        self._ts: dict = {}

    def segment_clear(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether the XZ segment a->b stays on navigable cells (samples at most a quarter cell apart)."""
        g = self.grid
        cs = g.cell_size
        nz, nx = g.shape
        ax, az = (a[0] - g.origin[0]) / cs, (a[2] - g.origin[1]) / cs
        bx, bz = (b[0] - g.origin[0]) / cs, (b[2] - g.origin[1]) / cs
        if min(ax, bx) < 0 or min(az, bz) < 0 or max(ax, bx) >= nx or max(az, bz) >= nz:
            return False
        n = int(max(abs(bx - ax), abs(bz - az)) * 4) + 2
        t = self._ts.get(n)
        if t is None:
            t = np.arange(n) / (n - 1)
            self._ts[n] = t
        cols = (ax + t * (bx - ax)).astype(np.intp)  # truncation = floor: coordinates are >= 0
        rows = (az + t * (bz - az)).astype(np.intp)
        return bool(self._nav_flat[rows * nx + cols].all())

    def _farthest_visible(self, pts: np.ndarray, i: int) -> int:
        """Index of a far vertex visible from pts[i] (exponential then binary search)."""
        n = len(pts)
        if self.segment_clear(pts[i], pts[n - 1]):
            return n - 1
        good, step = i + 1, 1
        bad = n - 1
        while good + step < n - 1:
            j = good + step
            if self.segment_clear(pts[i], pts[j]):
                good = j
                step *= 2
            else:
                bad = j
                break
        while bad - good > 1:
            mid = (good + bad) // 2
            if self.segment_clear(pts[i], pts[mid]):
                good = mid
            else:
                bad = mid
        return good

    def pull(self, pts: np.ndarray) -> np.ndarray:
        """Any-angle polyline through the grid path ``pts`` (first and last kept)."""
        if len(pts) <= 2:
            return pts
        keep = [0]
        i = 0
        while i < len(pts) - 1:
            i = self._farthest_visible(pts, i)
            keep.append(i)
        out = pts[keep]
        # second pass: drop vertices whose neighbours see each other
        changed = True
        while changed and len(out) > 2:
            changed = False
            k = 1
            res = [out[0]]
            while k < len(out) - 1:
                if self.segment_clear(res[-1], out[k + 1]):
                    changed = True
                else:
                    res.append(out[k])
                k += 1
            res.append(out[-1])
            out = np.array(res)
        return self._tighten(out)

    def _tighten(self, pts: np.ndarray, passes: int = 3, iters: int = 7) -> np.ndarray:
        """Pull each interior vertex toward the chord of its neighbours while both legs stay clear.

        The pulled vertices are grid-path cell centres, which can sit off the obstacle
        corner the true shortest path wraps; sliding each one toward the straight line
        until a leg would leave the navigable cells moves it onto the corner.
        """
        pts = pts.copy()
        for _ in range(passes):
            moved = 0.0
            for k in range(1, len(pts) - 1):
                a, v, b = pts[k - 1], pts[k], pts[k + 1]
                ab = b - a
                L2 = float(ab[0] ** 2 + ab[2] ** 2)
                if L2 <= 0:
                    continue
                s = ((v[0] - a[0]) * ab[0] + (v[2] - a[2]) * ab[2]) / L2
                target = a + min(max(s, 0.0), 1.0) * ab
                lo, hi = 0.0, 1.0
                if self.segment_clear(a, target) and self.segment_clear(target, b):
                    lo, iters_left = 1.0, 0
                else:
                    iters_left = iters
                for _ in range(iters_left):
                    mid = (lo + hi) / 2
                    q = v + mid * (target - v)
                    if self.segment_clear(a, q) and self.segment_clear(q, b):
                        lo = mid
                    else:
                        hi = mid
                if lo > 0:
                    q = v + lo * (target - v)
                    q[1] = self._floor_y(q, v[1])
                    moved = max(moved, float(np.hypot(q[0] - v[0], q[2] - v[2])))
                    pts[k] = q
            if moved < self.grid.cell_size * 0.1:
                break
        return pts

    def _floor_y(self, q: np.ndarray, default: float) -> float:
        y = float(self.grid.height_at(q[[0, 2]]))
        return y if math.isfinite(y) else default

