"""Scenes made of axis-aligned boxes: a floor slab, walls and obstacles.

Small hand-built worlds whose free space is known exactly (the footprints of the boxes),
used by the navigation tests as an independent reference and handy for toy PointNav
tasks. Every box is a closed, outward-facing 12-triangle mesh and its own object.
``free_space_polygon`` and ``exact_shortest_path`` give the exact continuous answer
(shapely, imported lazily: a dev dependency) that tests and ``bench/sim.py`` compare the
grid path finder against.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

import numpy as np

from ..scene.model import Material, Scene, SceneObject, merge_meshes

_BOX_FACES = np.array(
    [
        [0, 1, 2], [0, 2, 3],  # bottom (y = lo), normal -y
        [4, 6, 5], [4, 7, 6],  # top (y = hi), normal +y
        [0, 5, 1], [0, 4, 5],  # z = lo, normal -z
        [2, 7, 3], [2, 6, 7],  # z = hi, normal +z
        [1, 6, 2], [1, 5, 6],  # x = hi, normal +x
        [3, 4, 0], [3, 7, 4],  # x = lo, normal -x
    ],
    dtype=np.int32,
)


def box_mesh(lo: Sequence[float], hi: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """Vertices (8, 3) and outward-facing triangles (12, 3) of an axis-aligned box."""
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    v = np.array(
        [[x0, y0, z0], [x1, y0, z0], [x1, y0, z1], [x0, y0, z1], [x0, y1, z0], [x1, y1, z0], [x1, y1, z1], [x0, y1, z1]],
        dtype=np.float32,
    )
    return v, _BOX_FACES.copy()


@dataclass
class BoxWorld:
    """A list of boxes ``(lo, hi, category)`` on top of a floor slab.

    Attributes:
        floor: (x0, z0, x1, z1) extent of the floor slab, whose top is at y = 0.
        boxes: obstacles/walls as ((x0, y0, z0), (x1, y1, z1), category).
    """

    floor: Tuple[float, float, float, float]
    boxes: List[Tuple[Tuple[float, float, float], Tuple[float, float, float], str]] = field(default_factory=list)

    def add(self, lo, hi, category: str = "box") -> "BoxWorld":
        """Append a box; returns self for chaining."""
        self.boxes.append((tuple(map(float, lo)), tuple(map(float, hi)), category))
        return self

    def add_wall(self, x0: float, z0: float, x1: float, z1: float, height: float = 2.5, category: str = "wall") -> "BoxWorld":
        """Append a wall box with footprint [x0, x1] x [z0, z1] standing on the floor."""
        return self.add((x0, 0.0, z0), (x1, height, z1), category)

    def footprints(self, min_top: float = 0.0) -> List[Tuple[float, float, float, float]]:
        """(x0, z0, x1, z1) footprints of the boxes whose top is above ``min_top``."""
        return [(lo[0], lo[2], hi[0], hi[2]) for lo, hi, _ in self.boxes if hi[1] > min_top]

    def to_scene(self, name: str = "boxworld") -> Scene:
        """Triangle scene with one object per box (object 0 is the floor)."""
        fx0, fz0, fx1, fz1 = self.floor
        parts = []
        objects = []
        v, f = box_mesh((fx0, -0.1, fz0), (fx1, 0.0, fz1))
        parts.append((v, f, np.zeros((len(v), 2), np.float32), 0, 0))
        objects.append(SceneObject(0, "floor", bbox_min=(fx0, -0.1, fz0), bbox_max=(fx1, 0.0, fz1)))
        for i, (lo, hi, cat) in enumerate(self.boxes, start=1):
            v, f = box_mesh(lo, hi)
            parts.append((v, f, np.zeros((len(v), 2), np.float32), i, 1 if cat == "wall" else 2))
            objects.append(SceneObject(i, cat, bbox_min=lo, bbox_max=hi))
        verts, faces, uvs, fo, fm = merge_meshes(parts)
        mats = [Material("floor", (0.6, 0.5, 0.4)), Material("wall", (0.9, 0.9, 0.85)), Material("box", (0.3, 0.4, 0.7))]
        return Scene(verts, faces, fo, fm, uvs, mats, objects=objects, name=name)


def walled_room(x0: float, z0: float, x1: float, z1: float, thickness: float = 0.1, height: float = 2.5) -> BoxWorld:
    """A rectangular room whose inner free area is [x0, x1] x [z0, z1], walls outside it."""
    t = thickness
    w = BoxWorld(floor=(x0 - t, z0 - t, x1 + t, z1 + t))
    w.add_wall(x0 - t, z0 - t, x1 + t, z0, height)
    w.add_wall(x0 - t, z1, x1 + t, z1 + t, height)
    w.add_wall(x0 - t, z0, x0, z1, height)
    w.add_wall(x1, z0, x1 + t, z1, height)
    return w


# ---------------------------------------------------------------------- exact reference
def free_space_polygon(inner: Tuple[float, float, float, float], footprints, radius: float):
    """Exact continuous free space of the agent centre (shapely): the room interior
    ``inner`` = (x0, z0, x1, z1) shrunk by ``radius`` minus the footprints inflated by it."""
    from shapely.geometry import box
    from shapely.ops import unary_union

    room = box(*inner).buffer(-radius, join_style="mitre")
    if not footprints:
        return room
    obstacles = unary_union([box(*f) for f in footprints]).buffer(radius, quad_segs=8)
    return room.difference(obstacles)


class ExactShortestPaths:
    """Exact shortest paths in a polygonal free space by a visibility graph.

    The graph over the polygon's vertices is built once; each query joins the two end
    points to the vertices they see and runs Dijkstra (the classic exact method for
    polygonal domains; curved parts are polygons with ``quad_segs`` segments per quarter
    circle, under a millimetre off for a 0.1 m radius).
    """

    def __init__(self, free):
        import shapely
        from scipy.sparse import csr_matrix

        verts = []
        polys = list(free.geoms) if hasattr(free, "geoms") else [free]
        for p in polys:
            verts += list(p.exterior.coords)[:-1]
            for ring in p.interiors:
                verts += list(ring.coords)[:-1]
        self.free = free
        self.region = free.buffer(1e-7)
        shapely.prepare(self.region)
        self.pts = np.asarray(verts, dtype=np.float64).reshape(-1, 2)
        n = len(self.pts)
        i, j = np.triu_indices(n, 1)
        ok = self._visible(self.pts[i], self.pts[j])
        w = np.linalg.norm(self.pts[i] - self.pts[j], axis=1)[ok]
        self.graph = csr_matrix((np.r_[w, w], (np.r_[i[ok], j[ok]], np.r_[j[ok], i[ok]])), shape=(n, n))

    def _visible(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        import shapely

        return shapely.covers(self.region, shapely.linestrings(np.stack([a, b], axis=1)))

    def query(self, a: Sequence[float], b: Sequence[float]) -> Tuple[float, np.ndarray]:
        """(length, (K, 2) path) between (x, z) points; ``inf`` and an empty path if not connected."""
        from scipy.sparse import bmat, csr_matrix
        from scipy.sparse import csgraph

        a = np.asarray(a, dtype=np.float64)[:2]
        b = np.asarray(b, dtype=np.float64)[:2]
        if self._visible(a[None], b[None])[0]:
            return float(np.linalg.norm(a - b)), np.stack([a, b])
        n = len(self.pts)
        ends = np.stack([a, b])
        rows, cols, ws = [], [], []
        for k, e in enumerate(ends):
            vis = self._visible(np.repeat(e[None], n, axis=0), self.pts)
            idx = np.nonzero(vis)[0]
            d = np.linalg.norm(self.pts[idx] - e, axis=1)
            rows += [np.full(len(idx), n + k), idx]
            cols += [idx, np.full(len(idx), n + k)]
            ws += [d, d]
        extra = csr_matrix((np.concatenate(ws), (np.concatenate(rows), np.concatenate(cols))), shape=(n + 2, n + 2))
        graph = bmat([[self.graph, None], [None, csr_matrix((2, 2))]]).tocsr() + extra
        dist, pred = csgraph.dijkstra(graph, directed=True, indices=n, return_predecessors=True)
        if not np.isfinite(dist[n + 1]):
            return float("inf"), np.zeros((0, 2))
        chain = [n + 1]
        while chain[-1] != n:
            chain.append(int(pred[chain[-1]]))
        allpts = np.concatenate([self.pts, ends])
        return float(dist[n + 1]), allpts[chain[::-1]]


def exact_shortest_path(free, a: Sequence[float], b: Sequence[float]) -> Tuple[float, np.ndarray]:
    """(length, (K, 2) path) of the exact shortest path between (x, z) points (one-off query)."""
    return ExactShortestPaths(free).query(a, b)
