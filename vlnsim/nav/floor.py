"""Floor heights per vertical line: multi-hit downward rays and the one-floor-per-cell rule.

Used by ``grid.build_navgrid`` (step 1 of its docstring): ``vertical_layers`` records
every surface a downward line crosses, ``floor_heights`` picks the cell's floor.
"""
from __future__ import annotations

import math

import numpy as np

from ..agent import AgentConfig
from ..render.raycast import RayCaster
from ..scene.model import Scene

MAX_LAYERS = 32  # surfaces recorded per vertical line; more only in pathological meshes
_RECAST_EPS = 1e-3  # re-cast this far below a hit so the same surface is not hit again


def face_up_cosine(scene: Scene) -> np.ndarray:
    """Signed n_y of each triangle's unit normal (right-hand winding; 0 if degenerate)."""
    v = scene.vertices.astype(np.float64)
    f = scene.faces
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    norm = np.linalg.norm(n, axis=1)
    out = np.zeros(len(f))
    ok = norm > 0
    out[ok] = n[ok, 1] / norm[ok]
    return out


def vertical_layers(rc: RayCaster, x: np.ndarray, z: np.ndarray, top: float, up_cos: np.ndarray):
    """All surface heights (L, N) and their signed n_y along downward lines at (x, z), top first."""
    n = len(x)
    ys_l, ny_l = [], []  # one row per layer actually hit (most lines cross few surfaces)
    origin_y = np.full(n, top)
    active = np.arange(n)
    down = np.array([0.0, -1.0, 0.0])
    for _k in range(MAX_LAYERS):
        if len(active) == 0:
            break
        o = np.stack([x[active], origin_y[active], z[active]], axis=1)
        hits = rc.intersect(o, np.broadcast_to(down, o.shape))
        hit = hits.prim >= 0
        idx = active[hit]
        if len(idx) == 0:
            break
        yk = origin_y[idx] - hits.t[hit]
        ys_k = np.full(n, np.nan)
        ny_k = np.zeros(n)
        ys_k[idx] = yk
        ny_k[idx] = up_cos[hits.prim[hit]]
        ys_l.append(ys_k)
        ny_l.append(ny_k)
        origin_y[idx] = yk - _RECAST_EPS
        active = idx
    if not ys_l:
        return np.zeros((0, n)), np.zeros((0, n))
    return np.stack(ys_l), np.stack(ny_l)


def floor_heights(ys: np.ndarray, ny: np.ndarray, agent: AgentConfig, oriented: bool) -> np.ndarray:
    """Per column, the lowest walkable surface with ``agent.height`` of air above it (NaN if none).

    ``oriented``: trust the triangle winding. A floor must then face up and be reached
    from outside any solid: walking down the line, an up-facing surface enters a solid
    and a down-facing one leaves it, so the bottom of a wall standing on the slab, or a
    slab top hidden inside a wall, is never taken for floor. Without orientation (meshes
    with inconsistent winding) any flat surface with headroom counts.
    """
    num_layers, n = ys.shape
    height = np.full(n, np.nan)
    if num_layers == 0:
        return height
    cos_slope = math.cos(math.radians(agent.max_slope)) - 1e-6
    gap = np.full_like(ys, np.inf)
    gap[1:] = ys[:-1] - ys[1:]
    present = np.isfinite(ys)
    if oriented:
        up = present & (ny > 1e-6)
        downf = present & (ny < -1e-6)
        inside = np.zeros((num_layers, n), dtype=bool)  # state just above layer k
        state = np.zeros(n, dtype=bool)
        for k in range(num_layers):
            inside[k] = state
            state = np.where(up[k], True, np.where(downf[k], False, state))
        # the cell's level is the lowest up-facing surface reached from outside any
        # solid; it is floor only if flat with headroom. Surfaces above an obstructed
        # level (a table top over the floor, the roof over a low ceiling) are ignored:
        # one floor per cell.
        cand = up & ~inside
        has = cand.any(axis=0)
        lowest = num_layers - 1 - np.argmax(cand[::-1], axis=0)
        cols = np.nonzero(has)[0]
        k = lowest[has]
        good = (ny[k, cols] >= cos_slope) & (gap[k, cols] >= agent.height)
        height[cols[good]] = ys[k[good], cols[good]]
        return height
    else:
        ok = present & (np.abs(ny) >= cos_slope) & (gap >= agent.height)
    has = ok.any(axis=0)
    lowest = num_layers - 1 - np.argmax(ok[::-1], axis=0)
    height[has] = ys[lowest[has], np.nonzero(has)[0]]
    return height
