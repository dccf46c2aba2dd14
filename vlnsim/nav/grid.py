"""Navigability grid: where the agent cylinder can stand, built from the scene mesh.

The grid covers the scene's XZ bounds with square cells (default 0.05 m). Per cell:

1. **Floor.** One downward ray per cell centre, re-cast from just below each hit until
   it leaves the scene (all cells in one batched Embree call per layer), gives every
   surface crossing the vertical line. Walking down the line, an up-facing surface
   enters a solid and a down-facing one leaves it. The cell's level is the *lowest*
   up-facing surface reached from outside any solid (so the slab under a wall is not
   floor, and the ground floor wins over a ceiling or roof above it); the cell is
   walkable when that surface is flat enough (``n_y >= cos(max_slope)``) and has at
   least ``agent.height`` of air above it (the next surface up). Surfaces above an
   obstructed level are ignored — one floor per cell — so the floor under a table is
   an obstacle and the table top is not navigable; a solid box low enough to leave
   headroom (a bed) has its top as the lowest level and becomes a small separate
   island, never joined to the floor (step 3). Like Recast this trusts the triangle
   winding (outward normals); when it finds under half the walkable cells the
   unoriented rule finds (inverted winding), the lowest flat surface with headroom,
   whatever its facing, is used instead.
2. **Clearance of the body column.** The headroom rule already keeps every surface
   out of ``(floor, floor + height)`` on the cell's own vertical line. Geometry thinner
   than a cell can slip between cell centres, so two extra checks mark cells blocked:
   horizontal rays both ways between neighbouring floor cell centres (blocking the
   cell that holds each first hit) at several heights in
   ``(floor + max_climb, floor + height)`` (thin walls, panels), and mesh vertices in
   that height band lying in cells with no blocked neighbour (thin poles, legs the
   rays missed entirely; corners of seen obstacles are left to the rays).
3. **Steps.** Neighbouring floors (4- and 8-neighbours) more than ``max_climb`` apart
   are cliffs: the higher cell is blocked (it is the obstacle seen from below, and it
   keeps agents on the upper level back from the drop), so islands never join across.
4. **Erosion.** ``scipy.ndimage.distance_transform_edt`` of the blocked mask gives each
   cell's distance to the nearest blocked cell centre. A cell is navigable when that
   distance is at least ``radius + cell_size / 2``: the blocked centre lies up to one
   cell inside the obstacle, so this threshold places the navigable boundary, on
   average, exactly at the obstacle inflated by the radius (the agent's centre line
   always keeps more than ``radius - cell_size / 2`` from any surface).
5. **Islands.** 4-connected components of the navigable cells
   (``scipy.ndimage.label``), renumbered 0, 1, ... by decreasing area.

Built grids are cached in a module-level LRU (``GRID_CACHE_SIZE`` entries) keyed by
``(geometry hash of vertices and faces, agent.key(), cell_size)``; two simulators on
the same geometry, or a simulator that switches back to an earlier scene, reuse the
grid (and its cached distance fields) instead of rebuilding. Grids are read-only.

Memory: the grid keeps 13 bytes per cell (float32 height and clearance, int16 island
ids, three boolean masks). The build casts its vertical and horizontal rays in batches
of ``CHUNK_CELLS`` so that only the float64 heights and the distance transform scale
with the grid, about ``BUILD_BYTES_PER_CELL`` at the peak (``bench/navgrid.py``
measures it). Before allocating anything, ``build_navgrid`` compares that estimate with
the budget (``max_bytes``, else ``$VLNSIM_NAV_MEMORY_GB`` GiB, else 4 GiB) and raises
``ResourceLimitError`` naming the scene size, the cell size, the memory needed and a
cell size that would fit. ``PathFinder``'s graph and distance fields are built on
demand, checked against the same budget, and the fields are cached within a byte bound.

Several floors: see ``NavGrid.layers`` — the downward multi-hit already records every
walkable layer per column; a multi-storey grid would keep one height/free array per
layer (a 2.5D "span" grid as in Recast) and connect cells of different layers only
through stair cells whose heights are within ``max_climb``.
"""
from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np
from scipy import ndimage

from ..agent import AgentConfig
from ..errors import ConfigError
from ..render.raycast import RayCaster
from ..scene.model import Scene
from .budget import (BUILD_BYTES_PER_CELL, BUILD_FIXED_BYTES, MEMORY_BUDGET_ENV, check_memory,  # noqa: F401
                     estimate_build_bytes, grid_shape, memory_budget)
from .floor import MAX_LAYERS, face_up_cosine, floor_heights, vertical_layers  # noqa: F401

GRID_CACHE_SIZE = 16
_EDGE_RAY_HEIGHTS = 5
CHUNK_CELLS = 1 << 16  # vertical lines / neighbour pairs ray-cast per batch (bounds the build's buffers)


def geometry_hash(scene: Scene) -> str:
    """Stable hash of a scene's vertices and faces (names and materials excluded)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(scene.vertices, dtype=np.float32).tobytes())
    h.update(np.ascontiguousarray(scene.faces, dtype=np.int32).tobytes())
    return h.hexdigest()


@dataclass
class NavGrid:
    """A 2D navigability grid over the XZ plane (row = z index, column = x index).

    Attributes:
        origin: (x0, z0) world coordinates of the grid's lower corner; cell (i, j) has its
            centre at ``(x0 + (j + 0.5) * cell_size, z0 + (i + 0.5) * cell_size)``.
        cell_size: cell edge in metres.
        height: (nz, nx) float32 floor height per cell, NaN where no walkable floor.
        blocked: (nz, nx) bool cells that hold an obstacle (no floor, no headroom,
            thin geometry, cliff edge) before erosion.
        clearance: (nz, nx) float32 distance (m) from the cell centre to the nearest
            blocked cell centre.
        navigable: (nz, nx) bool cells the agent centre may occupy.
        island: (nz, nx) int16 island id (0 = largest), -1 where not navigable (int32
            only when there are more than 32766 islands).
        island_areas: (K,) float64 area in m^2 of each island, decreasing.
        occupied: (nz, nx) bool cells whose vertical line crosses any geometry.
        agent: the agent settings the grid was built for.
        bounds: scene bounds (min, max) as two 3-vectors.
        build_seconds: time spent building (for benchmarks).
        key: the cache key.
        layers: surfaces recorded on the most crowded vertical line.
        scene_name: name of the scene it was built from (for messages).

    Memory: 13 bytes per cell (height 4, clearance 4, island 2, three masks 1 each);
    the build peaks near ``BUILD_BYTES_PER_CELL`` (ray casting runs in batches of
    ``CHUNK_CELLS`` lines). Path-finding data (graph, distance fields, k-d tree) lives
    in ``cache``, built on demand by ``PathFinder`` and bounded in bytes.
    """

    origin: Tuple[float, float]
    cell_size: float
    height: np.ndarray
    blocked: np.ndarray
    clearance: np.ndarray
    navigable: np.ndarray
    island: np.ndarray
    island_areas: np.ndarray
    occupied: np.ndarray
    agent: AgentConfig
    bounds: Tuple[np.ndarray, np.ndarray]
    build_seconds: float = 0.0
    key: tuple = ()
    layers: int = 0
    scene_name: str = ""
    cache: dict = field(default_factory=dict, repr=False)  # per-grid caches (distance fields)

    @property
    def shape(self) -> Tuple[int, int]:
        return self.height.shape  # type: ignore[return-value]

    @property
    def num_islands(self) -> int:
        return int(len(self.island_areas))

    @property
    def navigable_area(self) -> float:
        """Total navigable area in m^2."""
        return float(self.navigable.sum()) * self.cell_size**2

    def cell_of(self, xz: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Row and column indices of the cells containing world points (..., 2) as (x, z)."""
        xz = np.asarray(xz, dtype=np.float64)
        col = np.floor((xz[..., 0] - self.origin[0]) / self.cell_size).astype(np.int64)
        row = np.floor((xz[..., 1] - self.origin[1]) / self.cell_size).astype(np.int64)
        return row, col

    def in_grid(self, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        """Whether cell indices lie inside the grid."""
        nz, nx = self.shape
        return (row >= 0) & (row < nz) & (col >= 0) & (col < nx)

    def cell_center(self, row, col) -> np.ndarray:
        """World (x, y, z) of cell centres at floor height (NaN y where there is no floor)."""
        row = np.asarray(row)
        col = np.asarray(col)
        x = self.origin[0] + (col + 0.5) * self.cell_size
        z = self.origin[1] + (row + 0.5) * self.cell_size
        y = self.height[row, col].astype(np.float64)
        return np.stack([x, y, z], axis=-1)

    def navigable_at(self, xz: np.ndarray) -> np.ndarray:
        """Whether the cells containing points (..., 2) are navigable (False outside)."""
        row, col = self.cell_of(xz)
        ok = self.in_grid(row, col)
        out = np.zeros(ok.shape, dtype=bool)
        out[ok] = self.navigable[row[ok], col[ok]]
        return out

    def height_at(self, xz: np.ndarray) -> np.ndarray:
        """Floor height of the cells containing points (..., 2); NaN outside/no floor."""
        row, col = self.cell_of(xz)
        ok = self.in_grid(row, col)
        out = np.full(ok.shape, np.nan)
        out[ok] = self.height[row[ok], col[ok]]
        return out


def build_navgrid(scene: Scene, agent: AgentConfig = AgentConfig(), cell_size: float = 0.05,
                  raycaster: Optional[RayCaster] = None, max_bytes: Optional[float] = None) -> NavGrid:
    """Build a navigability grid for ``scene`` (no caching; see ``get_navgrid``).

    Refuses up front (``ResourceLimitError`` naming the scene size, the cell size and
    the memory needed) when the build would need more than ``memory_budget(max_bytes)``.
    """
    if not (isinstance(cell_size, (int, float)) and math.isfinite(cell_size) and 0.005 <= cell_size <= 1.0):
        raise ConfigError(f"cell_size={cell_size!r}; expected metres in [0.005, 1.0]")
    t0 = time.perf_counter()
    lo, hi = scene.bounds
    cs = float(cell_size)
    nz, nx = grid_shape((lo, hi), cs)
    check_memory("navigation grid", scene.name, (float(hi[0] - lo[0]), float(hi[2] - lo[2])), cs,
                 f"{nx} x {nz} = {nx * nz / 1e6:.1f} M cells", estimate_build_bytes(nx * nz),
                 memory_budget(max_bytes), BUILD_BYTES_PER_CELL, BUILD_FIXED_BYTES)
    rc = raycaster if raycaster is not None else RayCaster(scene)
    x0, z0 = float(lo[0]), float(lo[2])

    # 1. floor: lowest up-facing surface with full headroom (any flat one if winding is unusable),
    # ray-cast in batches of CHUNK_CELLS vertical lines so the per-layer buffers stay bounded
    up_cos = face_up_cosine(scene)
    ncell = nz * nx
    height = np.full(ncell, np.nan)
    loose = np.full(ncell, np.nan)
    occupied = np.zeros(ncell, dtype=bool)
    num_layers = 0
    for start in range(0, ncell, CHUNK_CELLS):
        idx = np.arange(start, min(start + CHUNK_CELLS, ncell))
        xc = x0 + (idx % nx + 0.5) * cs
        zc = z0 + (idx // nx + 0.5) * cs
        ys, ny = vertical_layers(rc, xc, zc, float(hi[1]) + 0.5, up_cos)
        num_layers = max(num_layers, ys.shape[0])
        height[idx] = floor_heights(ys, ny, agent, oriented=True)
        loose[idx] = floor_heights(ys, ny, agent, oriented=False)
        if ys.shape[0]:
            occupied[idx] = np.isfinite(ys).any(axis=0)
    # inverted or inconsistent winding leaves little up-facing floor: fall back
    if np.isfinite(height).sum() < 0.5 * np.isfinite(loose).sum():
        height = loose
    del loose
    height = height.reshape(nz, nx)
    occupied = occupied.reshape(nz, nx)
    blocked = ~np.isfinite(height)

    # 2a. thin geometry between neighbouring free centres: horizontal rays at several heights
    band = np.linspace(agent.max_climb, agent.height, _EDGE_RAY_HEIGHTS + 2)[1:-1]
    rows_per = max(1, CHUNK_CELLS // (nx * len(band)))
    for dr, dc in ((0, 1), (1, 0)):
        step = np.array([dc * cs, 0.0, dr * cs])
        for rs in range(0, nz - dr, rows_per):
            re_ = min(rs + rows_per, nz - dr)
            with np.errstate(invalid="ignore"):
                a = np.abs(height[rs:re_, : nx - dc] - height[rs + dr:re_ + dr, dc:]) <= agent.max_climb
            r0, c0 = np.nonzero(a)
            if len(r0) == 0:
                continue
            r0 = r0 + rs
            base = height[r0, c0]
            ox = x0 + (c0 + 0.5) * cs
            oz = z0 + (r0 + 0.5) * cs
            o = np.stack([np.repeat(ox, len(band)), (base[:, None] + band[None, :]).ravel(), np.repeat(oz, len(band))],
                         axis=1)
            d = np.broadcast_to(step / cs, o.shape)
            # cast both ways and block the cell that holds each first hit, so a thin panel
            # blocks the cell it stands in, not its free neighbour
            t_fwd = rc.intersect(o, d, cs).t.reshape(-1, len(band))
            t_bwd = rc.intersect(o + step, -d, cs).t.reshape(-1, len(band))
            near_a = (t_fwd < cs / 2).any(axis=1) | ((t_bwd >= cs / 2) & np.isfinite(t_bwd)).any(axis=1)
            near_b = (t_bwd < cs / 2).any(axis=1) | ((t_fwd >= cs / 2) & np.isfinite(t_fwd)).any(axis=1)
            blocked[r0[near_a], c0[near_a]] = True
            blocked[r0[near_b] + dr, c0[near_b] + dc] = True

    # 2b. mesh vertices inside the body band of the cell they fall in (poles, legs)
    v = scene.vertices.astype(np.float64)
    fz, fx = (v[:, 2] - z0) / cs, (v[:, 0] - x0) / cs
    vr = np.floor(fz).astype(np.int64).clip(0, nz - 1)
    vc = np.floor(fx).astype(np.int64).clip(0, nx - 1)
    # a vertex on a cell border (grid-aligned boxes) belongs to either cell; the column
    # rays already see such geometry, so only vertices strictly inside a cell count
    edge_tol = 1e-3 / cs
    interior = (np.abs(fz - np.round(fz)) > edge_tol) & (np.abs(fx - np.round(fx)) > edge_tol)
    hv = height[vr, vc]
    inband = interior & np.isfinite(hv) & (v[:, 1] > hv + agent.max_climb) & (v[:, 1] < hv + agent.height)
    # only geometry the rays missed altogether: a corner vertex of a wall or box already
    # seen by its columns would otherwise block a cell outside it and over-erode
    near = ndimage.binary_dilation(blocked, structure=np.ones((3, 3), dtype=bool))
    inband &= ~near[vr, vc]
    blocked[vr[inband], vc[inband]] = True

    # 3. cliffs: neighbouring floors further apart than max_climb
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        r_a = slice(0, nz - dr)
        r_b = slice(dr, nz)
        c_a = slice(max(0, -dc), nx - max(0, dc))
        c_b = slice(max(0, dc), nx - max(0, -dc) if dc < 0 else nx)
        ha, hb = height[r_a, c_a], height[r_b, c_b]
        # only the higher cell is blocked: it is the obstacle seen from the lower floor,
        # and blocking it also keeps agents on the higher level away from the drop
        with np.errstate(invalid="ignore"):
            blocked[r_a, c_a] |= ha - hb > agent.max_climb
            blocked[r_b, c_b] |= hb - ha > agent.max_climb

    # 4. erosion (pad so the grid border counts as blocked)
    edt = ndimage.distance_transform_edt(np.pad(~blocked, 1, constant_values=False))
    edt *= cs
    clearance = edt[1:-1, 1:-1].astype(np.float32)
    del edt
    navigable = clearance >= agent.radius + cs / 2 - 1e-6

    # 5. islands, 4-connected, renumbered by decreasing area
    labels, n = ndimage.label(navigable, structure=ndimage.generate_binary_structure(2, 1))
    counts = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    order = np.argsort(-counts, kind="stable")
    id_type = np.int16 if n < np.iinfo(np.int16).max else np.int32  # 2 bytes per cell unless islands abound
    remap = np.full(n + 1, -1, dtype=id_type)
    remap[order + 1] = np.arange(n, dtype=id_type)
    island = remap[labels]
    del labels
    areas = counts[order].astype(np.float64) * cs * cs

    height = height.astype(np.float32)
    for arr in (height, blocked, clearance, navigable, island, occupied):
        arr.setflags(write=False)
    return NavGrid(
        origin=(x0, z0), cell_size=cs, height=height, blocked=blocked, clearance=clearance,
        navigable=navigable, island=island, island_areas=areas, occupied=occupied, agent=agent, bounds=(lo, hi),
        build_seconds=time.perf_counter() - t0, layers=num_layers, scene_name=scene.name,
    )


_CACHE: "OrderedDict[tuple, NavGrid]" = OrderedDict()
_CACHE_LOCK = threading.Lock()


def get_navgrid(scene: Scene, agent: AgentConfig = AgentConfig(), cell_size: float = 0.05,
                raycaster: Optional[RayCaster] = None, max_bytes: Optional[float] = None) -> NavGrid:
    """The navigability grid of ``scene``, from the LRU cache when the same geometry was built before."""
    key = (geometry_hash(scene), agent.key(), round(float(cell_size), 9))
    with _CACHE_LOCK:
        grid = _CACHE.get(key)
        if grid is not None:
            _CACHE.move_to_end(key)
            return grid
    grid = build_navgrid(scene, agent, cell_size, raycaster, max_bytes)
    grid.key = key
    with _CACHE_LOCK:
        _CACHE[key] = grid
        _CACHE.move_to_end(key)
        while len(_CACHE) > GRID_CACHE_SIZE:
            _CACHE.popitem(last=False)
    return grid


def clear_navgrid_cache() -> None:
    """Drop every cached grid (tests and memory-bound tools)."""
    with _CACHE_LOCK:
        _CACHE.clear()
