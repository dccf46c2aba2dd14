"""Build an R2R-style navigation graph for any scene with a navigability grid.

Viewpoints (``place_viewpoints``):

1. Only islands of at least ``min_island_area`` m^2 get viewpoints (the tops of beds
   and tables are small separate islands; Matterport graphs cover floors only).
2. Seeds: one viewpoint per room with navigable floor (at its cell of largest
   clearance), one at each doorway (the navigable cell nearest the doorway centre),
   skipping seeds closer than ``min_separation`` to an earlier one.
3. Seeded farthest-point sampling with *geodesic* distances on the grid (8-neighbour
   Dijkstra over navigable cells): the candidate cell (clearance at least
   ``viewpoint_clearance`` where the island has such cells) farthest from every
   viewpoint so far is added until every candidate is within ``spacing`` of one.
   The result covers the floor at about ``spacing`` and keeps neighbours roughly
   ``spacing``..2 ``spacing`` apart (Matterport: ~2.25 m edges).

Edges (``connect``): two viewpoints on the same island are joined when their straight
segment is unobstructed for the agent — every grid cell under it (sampled a quarter
cell apart) has clearance at least ``radius + cell/2 + edge_margin`` and floor heights
along it stay within ``max_climb`` — and it is at most ``max_edge_length`` long. Such a
segment *is* the geodesic between its ends, so an edge is never longer than the
geodesic. Redundant long edges are pruned: (a, c) goes when some b with edges (a, b)
and (b, c) gives ``d(a,b) + d(b,c) <= detour * d(a,c)`` (longest first; connectivity
is preserved). Islands whose viewpoints still fall into several components (a detour
round a long corner) are joined by walking the clearance-respecting grid path between
the nearest components and dropping new viewpoints along it wherever the straight
segment from the last one stops being clear.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from ..agent import AgentConfig
from ..errors import ConfigError
from ..nav.grid import NavGrid, get_navgrid
from ..render.raycast import RayCaster
from ..scene.model import Scene
from .graph import NavGraph

DEFAULT_CAMERA_HEIGHT = 1.25  # vlnsim's sensor mount height (docs/ARCHITECTURE.md); Matterport's tripod is ~1.5 m


@dataclass
class GraphConfig:
    """Navigation-graph settings.

    Attributes:
        spacing: farthest-point sampling stops when every candidate cell is within this
            geodesic distance (m) of a viewpoint.
        viewpoint_clearance: preferred minimum distance (m) from a viewpoint to obstacles.
        min_island_area: islands smaller than this (m^2) get no viewpoints.
        min_separation: seeds (rooms, doorways) closer than this (m) to an earlier one are skipped.
        max_edge_length: longest edge (m).
        edge_margin: clearance (m) required along an edge beyond the agent's radius + half a cell.
        detour: an edge is pruned when a two-edge path through a common neighbour is at
            most this many times as long.
        camera_height: camera height above the floor (m), the connectivity ``height``.
        doorway_viewpoints: seed a viewpoint at every doorway.
        room_viewpoints: seed a viewpoint in every room with navigable floor.
        relax_iterations: Lloyd iterations (geodesic regions) moving the sampled
            viewpoints toward the centres of their regions.
        merge_distance: viewpoints closer than this (m) are merged when the kept one has a
            clear edge to every neighbour of the other (joins can drop one beside another).
    """

    spacing: float = 1.5
    viewpoint_clearance: float = 0.35
    min_island_area: float = 4.0
    min_separation: float = 1.2
    max_edge_length: float = 5.0
    edge_margin: float = 0.05
    detour: float = 1.05
    camera_height: float = DEFAULT_CAMERA_HEIGHT
    doorway_viewpoints: bool = True
    room_viewpoints: bool = True
    relax_iterations: int = 3
    merge_distance: float = 0.6

    def __post_init__(self) -> None:
        for name in ("spacing", "max_edge_length", "camera_height", "detour"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"GraphConfig.{name}={v!r}; expected a positive number")
        if self.detour < 1.0:
            raise ConfigError(f"GraphConfig.detour={self.detour!r}; expected >= 1")


def viewpoint_id(scan: str, index: int) -> str:
    """Deterministic 32-hex viewpoint id (the shape of Matterport's image ids)."""
    return hashlib.blake2b(f"{scan}/{index}".encode(), digest_size=16).hexdigest()


class _CellGraph:
    """8-neighbour Dijkstra graph over a boolean cell mask of a grid."""

    def __init__(self, grid: NavGrid, mask: np.ndarray):
        self.grid = grid
        self.rows, self.cols = np.nonzero(mask)
        node = np.full(mask.shape, -1, dtype=np.int64)
        node[self.rows, self.cols] = np.arange(len(self.rows))
        self.node = node
        nz, nx = mask.shape
        src, dst, w = [], [], []
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            r, c = self.rows + dr, self.cols + dc
            ok = (r >= 0) & (r < nz) & (c >= 0) & (c < nx)
            ok[ok] &= mask[r[ok], c[ok]]
            if dr and dc:  # diagonal moves must not cut a corner
                ok[ok] &= mask[self.rows[ok] + dr, self.cols[ok]] & mask[self.rows[ok], self.cols[ok] + dc]
            a = np.flatnonzero(ok)
            b = node[r[a], c[a]]
            src += [a, b]
            dst += [b, a]
            w += [np.full(len(a) * 2, math.hypot(dr, dc) * grid.cell_size)]
        n = len(self.rows)
        self.matrix = sparse.csr_matrix((np.concatenate(w), (np.concatenate(src), np.concatenate(dst))), shape=(n, n)) \
            if src else sparse.csr_matrix((n, n))

    def dijkstra(self, sources: Sequence[int], limit: float = np.inf, predecessors: bool = False):
        return csgraph.dijkstra(self.matrix, directed=True, indices=list(sources), min_only=True, limit=limit,
                                return_predecessors=predecessors)

    def xyz(self, nodes) -> np.ndarray:
        nodes = np.asarray(nodes, dtype=np.int64)
        return self.grid.cell_center(self.rows[nodes], self.cols[nodes])


def _polygon_mask(poly: Sequence[Tuple[float, float]], x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon for many points."""
    inside = np.zeros(len(x), dtype=bool)
    n = len(poly)
    for i in range(n):
        x1, z1 = poly[i]
        x2, z2 = poly[(i + 1) % n]
        if z1 == z2:
            continue
        cross = (z1 > z) != (z2 > z)
        xc = x1 + (z - z1) * (x2 - x1) / (z2 - z1)
        inside ^= cross & (x < xc)
    return inside


def segment_clear(grid: NavGrid, a: np.ndarray, b: np.ndarray, min_clearance: float) -> bool:
    """Whether every cell under the XZ segment a->b (quarter-cell samples) has clearance
    >= ``min_clearance`` and the floor along it varies by at most ``max_climb`` per sample."""
    cs = grid.cell_size
    n = int(np.linalg.norm((b - a)[[0, 2]]) / cs * 4) + 2
    t = np.linspace(0.0, 1.0, n)[:, None]
    p = a[None, [0, 2]] + t * (b - a)[None, [0, 2]]
    r, c = grid.cell_of(p)
    if not grid.in_grid(r, c).all():
        return False
    if not (grid.clearance[r, c] >= min_clearance - 1e-6).all() or not grid.navigable[r, c].all():
        return False
    h = grid.height[r, c].astype(np.float64)
    return bool(np.isfinite(h).all() and np.all(np.abs(np.diff(h)) <= grid.agent.max_climb))


def place_viewpoints(scene: Scene, grid: NavGrid, cfg: GraphConfig, rng: np.random.Generator) -> Tuple[np.ndarray, _CellGraph]:
    """Cell-graph node indices of the viewpoints (see the module docstring) and the cell graph."""
    keep_islands = np.flatnonzero(grid.island_areas >= cfg.min_island_area)
    mask = grid.navigable & np.isin(grid.island, keep_islands)
    cg = _CellGraph(grid, mask)
    if len(cg.rows) == 0:
        return np.zeros(0, dtype=np.int64), cg
    clear = grid.clearance[cg.rows, cg.cols]
    island = grid.island[cg.rows, cg.cols]
    xyz = cg.xyz(np.arange(len(cg.rows)))
    cand = np.zeros(len(cg.rows), dtype=bool)
    for isl in keep_islands:
        on = island == isl
        good = on & (clear >= cfg.viewpoint_clearance)
        cand |= good if good.any() else on & (clear >= clear[on].max() - 1e-6)

    seeds: List[int] = []

    def add_seed(i: int) -> None:
        if all(np.linalg.norm(xyz[i] - xyz[s]) >= cfg.min_separation for s in seeds):
            seeds.append(int(i))

    if cfg.room_viewpoints:
        for room in scene.rooms:
            if len(room.polygon) < 3:
                continue
            inside = _polygon_mask(room.polygon, xyz[:, 0], xyz[:, 2])
            if inside.sum() * grid.cell_size**2 < 0.5:
                continue
            idx = np.flatnonzero(inside)
            centroid = xyz[idx].mean(axis=0)
            score = clear[idx] - 1e-3 * np.linalg.norm(xyz[idx] - centroid, axis=1)
            add_seed(idx[int(np.argmax(score))])
    if cfg.doorway_viewpoints:
        for obj in scene.objects:
            if obj.category != "doorway":
                continue
            c = obj.center
            d = np.hypot(xyz[:, 0] - c[0], xyz[:, 2] - c[2])
            i = int(np.argmin(d))
            if d[i] <= 0.5:
                add_seed(i)

    dist = cg.dijkstra(seeds) if seeds else np.full(len(cg.rows), np.inf)
    chosen = list(seeds)
    while True:
        dc = np.where(cand, dist, -1.0)
        unreached = np.flatnonzero(np.isinf(dc))
        if len(unreached):  # a new island: any of its candidate cells, drawn from the seeded rng
            pick = int(unreached[rng.integers(len(unreached))])
            limit = np.inf
        else:
            m = dc.max()
            if m <= cfg.spacing:
                break
            top = np.flatnonzero(dc >= m - 1e-9)
            pick = int(top[rng.integers(len(top))])
            limit = float(m)
        chosen.append(pick)
        dist = np.minimum(dist, cg.dijkstra([pick], limit=limit))
    nodes = relax(grid, cg, np.asarray(chosen, dtype=np.int64), len(seeds), cand, cfg.relax_iterations)
    return nodes, cg


def connect(grid: NavGrid, positions: np.ndarray, island: np.ndarray, cfg: GraphConfig) -> np.ndarray:
    """(N, N) symmetric adjacency of clear, pruned edges between viewpoints."""
    n = len(positions)
    min_clear = grid.agent.radius + grid.cell_size / 2 + cfg.edge_margin
    d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    adj = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(i + 1, n):
            if island[i] == island[j] and d[i, j] <= cfg.max_edge_length and \
                    segment_clear(grid, positions[i], positions[j], min_clear):
                adj[i, j] = adj[j, i] = True
    pairs = np.argwhere(np.triu(adj, 1))
    for i, j in sorted(pairs.tolist(), key=lambda p: -d[p[0], p[1]]):
        via = np.flatnonzero(adj[i] & adj[j])
        if len(via) and np.any(d[i, via] + d[via, j] <= cfg.detour * d[i, j]):
            adj[i, j] = adj[j, i] = False
    return adj


def _join_components(grid: NavGrid, nodes: List[int], cg: _CellGraph, adj: np.ndarray, cfg: GraphConfig) -> Tuple[List[int], np.ndarray]:
    """Add viewpoints along clearance-respecting grid paths until each island's viewpoints form one component."""
    min_clear = grid.agent.radius + grid.cell_size / 2 + cfg.edge_margin
    safe_mask = np.zeros(grid.shape, dtype=bool)
    safe_mask[cg.rows, cg.cols] = grid.clearance[cg.rows, cg.cols] >= min_clear - 1e-6
    cells = [(int(cg.rows[v]), int(cg.cols[v])) for v in nodes]
    for r, c in cells:  # viewpoints themselves are always usable
        safe_mask[r, c] = True
    safe = _CellGraph(grid, safe_mask)
    forced = np.zeros_like(adj)
    for _ in range(2 * len(nodes) + 8):
        isl = grid.island[[r for r, _ in cells], [c for _, c in cells]]
        _, comp = csgraph.connected_components(sparse.csr_matrix(adj), directed=False)
        split = [k for k in np.unique(isl) if len(np.unique(comp[isl == k])) > 1]
        if not split:
            break
        members = np.flatnonzero(isl == split[0])
        c0 = comp[members[0]]
        others = [int(i) for i in members if comp[i] != c0]
        # a passage narrower than the edge margin: walk the plain navigable cells instead
        for graph_, clear_ in ((safe, min_clear), (cg, grid.agent.radius + grid.cell_size / 2)):
            snode = np.array([graph_.node[cells[i]] for i in range(len(cells))])
            src = [int(snode[i]) for i in members if comp[i] == c0 and snode[i] >= 0]
            tgt = [i for i in others if snode[i] >= 0]
            if not src or not tgt:
                continue
            dist, pred, _ = csgraph.dijkstra(graph_.matrix, directed=True, indices=src, min_only=True,
                                             return_predecessors=True)
            target = min(tgt, key=lambda i: dist[snode[i]])
            if np.isfinite(dist[snode[target]]):
                break
        else:
            break  # cannot happen within one island; leave the components apart rather than loop
        safe_used, edge_clear = graph_, clear_
        chain = [int(snode[target])]
        while pred[chain[-1]] >= 0:
            chain.append(int(pred[chain[-1]]))
        pts = safe_used.xyz(chain)
        anchors, last = [0], 0
        for j in range(1, len(chain)):
            if not segment_clear(grid, pts[last], pts[j], edge_clear):
                anchors.append(j - 1)
                last = j - 1
        if anchors[-1] != len(chain) - 1:
            anchors.append(len(chain) - 1)
        ids = []
        for a in anchors:
            cell = (int(safe_used.rows[chain[a]]), int(safe_used.cols[chain[a]]))
            if cell not in cells:
                cells.append(cell)
            ids.append(cells.index(cell))
        n = len(cells)
        grown_f = np.zeros((n, n), dtype=bool)
        grown_f[: len(forced), : len(forced)] = forced
        for u, v in zip(ids[:-1], ids[1:]):
            if u != v:
                grown_f[u, v] = grown_f[v, u] = True
        forced = grown_f
        pos = grid.cell_center(np.array([r for r, _ in cells]), np.array([c for _, c in cells]))
        adj = connect(grid, pos, grid.island[[r for r, _ in cells], [c for _, c in cells]], cfg) | forced
    return cells, adj


def relax(grid: NavGrid, cg: _CellGraph, nodes: np.ndarray, fixed: int, cand: np.ndarray, iterations: int) -> np.ndarray:
    """Lloyd iterations with geodesic regions: each non-fixed viewpoint moves to the candidate
    cell of its region nearest the region's centroid, preferring open floor (clearance)."""
    nodes = nodes.copy()
    xyz = cg.xyz(np.arange(len(cg.rows)))
    clear = grid.clearance[cg.rows, cg.cols]
    for _ in range(iterations):
        _, _, src = cg.dijkstra(nodes, predecessors=True)
        for k in range(fixed, len(nodes)):
            region = np.flatnonzero((src == nodes[k]) & cand)
            if len(region) == 0:
                continue
            centroid = xyz[src == nodes[k]].mean(axis=0)
            score = -np.linalg.norm((xyz[region] - centroid)[:, [0, 2]], axis=1) + 0.5 * np.minimum(clear[region], 1.0)
            nodes[k] = region[int(np.argmax(score))]
    return nodes


def merge_close(grid: NavGrid, cells: List[Tuple[int, int]], adj: np.ndarray, cfg: GraphConfig):
    """Merge viewpoints closer than ``merge_distance`` when the kept one sees all the other's neighbours clearly."""
    min_clear = grid.agent.radius + grid.cell_size / 2 + cfg.edge_margin
    cells = list(cells)
    adj = adj.copy()
    alive = np.ones(len(cells), dtype=bool)
    pos = grid.cell_center(np.array([r for r, _ in cells]), np.array([c for _, c in cells]))
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    for u, v in sorted(zip(*np.nonzero(np.triu(d < cfg.merge_distance, 1))), key=lambda p: d[p[0], p[1]]):
        if not (alive[u] and alive[v]):
            continue
        nb = [w for w in np.flatnonzero(adj[v]) if w != u]
        if all(segment_clear(grid, pos[u], pos[w], min_clear) for w in nb):
            for w in nb:
                adj[u, w] = adj[w, u] = True
            adj[v, :] = adj[:, v] = False
            alive[v] = False
    keep = np.flatnonzero(alive)
    return [cells[i] for i in keep], adj[np.ix_(keep, keep)]


def visibility(rc: RayCaster, cams: np.ndarray) -> np.ndarray:
    """(N, N) line of sight between camera positions (one ray each way is symmetric: one suffices)."""
    n = len(cams)
    vis = np.eye(n, dtype=bool)
    i, j = np.triu_indices(n, 1)
    if len(i) == 0:
        return vis
    v = cams[j] - cams[i]
    length = np.linalg.norm(v, axis=1)
    blocked = rc.occluded(cams[i], v / np.maximum(length, 1e-9)[:, None], (length - 1e-3).astype(np.float32))
    vis[i, j] = vis[j, i] = ~blocked
    return vis


def build_nav_graph(scene: Scene, scan: str, config: Optional[GraphConfig] = None, seed: int = 0,
                    agent: AgentConfig = AgentConfig(), grid: Optional[NavGrid] = None,
                    raycaster: Optional[RayCaster] = None) -> NavGraph:
    """The navigation graph of ``scene`` (deterministic for a given ``seed``)."""
    cfg = config or GraphConfig()
    rc = raycaster if raycaster is not None else RayCaster(scene)
    grid = grid if grid is not None else get_navgrid(scene, agent, raycaster=rc)
    rng = np.random.default_rng([seed, 16])
    chosen, cg = place_viewpoints(scene, grid, cfg, rng)
    nodes = [int(v) for v in dict.fromkeys(chosen.tolist())]  # relaxation may merge two
    pos = cg.xyz(nodes)
    isl = grid.island[cg.rows[nodes], cg.cols[nodes]]
    adj = connect(grid, pos, isl, cfg)
    cells, adj = _join_components(grid, nodes, cg, adj, cfg)
    cells, adj = merge_close(grid, cells, adj, cfg)
    pos = grid.cell_center(np.array([r for r, _ in cells], dtype=np.int64), np.array([c for _, c in cells], dtype=np.int64))
    n = len(cells)
    height = np.full(n, cfg.camera_height)
    cams = pos + np.array([0.0, cfg.camera_height, 0.0])
    return NavGraph(scan=scan, ids=[viewpoint_id(scan, i) for i in range(n)], positions=pos, camera_height=height,
                    edges=adj, visible=visibility(rc, cams) if n else np.zeros((0, 0), bool),
                    included=np.ones(n, dtype=bool))
