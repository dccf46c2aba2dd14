"""Shared ray-cast structure over a scene (Embree through ``embreex``).

Both the renderer (one ray per pixel) and the navigation grid (downward floor rays,
clearance and collision rays) use this one class, so a scene's BVH is built once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scene.model import Scene


@dataclass
class RayHits:
    """Result of a batch of rays.

    ``t`` is the hit distance in units of the ray direction's length (``inf`` where
    nothing was hit); ``prim`` the triangle index (-1 for a miss); ``u, v`` the
    barycentric coordinates of the hit in its triangle (weights of vertices 1 and 2).
    """

    t: np.ndarray
    prim: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @property
    def hit(self) -> np.ndarray:
        return self.prim >= 0


class RayCaster:
    """Closest-hit ray queries against all triangles of a scene."""

    def __init__(self, scene: Scene):
        from embreex import rtcore_scene
        from embreex.mesh_construction import TriangleMesh

        self.scene = scene
        self._embree = rtcore_scene.EmbreeScene()
        # embreex keeps references to the arrays it was given; keep contiguous copies.
        self._verts = np.ascontiguousarray(scene.vertices, dtype=np.float32)
        self._faces = np.ascontiguousarray(scene.faces, dtype=np.int32)
        TriangleMesh(self._embree, self._verts, self._faces)

    @property
    def embree_scene(self):
        """The underlying ``embreex`` scene, for hot paths that want its raw float32 output."""
        return self._embree

    def intersect(self, origins: np.ndarray, directions: np.ndarray, max_t: float | None = None) -> RayHits:
        """Closest hits of rays ``origins + t * directions`` (``t`` in (0, max_t])."""
        o = np.ascontiguousarray(origins, dtype=np.float32).reshape(-1, 3)
        d = np.ascontiguousarray(directions, dtype=np.float32).reshape(-1, 3)
        if max_t is None:
            out = self._embree.run(o, d, output=1)
        else:
            dists = np.full(len(o), max_t, dtype=np.float32)
            out = self._embree.run(o, d, dists=dists, output=1)
        prim = out["primID"].astype(np.int64)  # embreex reports a miss as -1
        t = out["tfar"].astype(np.float64)
        miss = prim < 0
        t[miss] = np.inf
        return RayHits(t=t, prim=prim, u=out["u"], v=out["v"])

    def first_hit_distance(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Distances only (``inf`` for misses); cheaper when shading is not needed."""
        o = np.ascontiguousarray(origins, dtype=np.float32).reshape(-1, 3)
        d = np.ascontiguousarray(directions, dtype=np.float32).reshape(-1, 3)
        out = self._embree.run(o, d, output=1)
        t = out["tfar"].astype(np.float64)
        t[out["primID"] < 0] = np.inf
        return t

    def occluded(self, origins: np.ndarray, directions: np.ndarray, max_t: np.ndarray | float) -> np.ndarray:
        """True where a ray hits anything with ``t <= max_t``."""
        o = np.ascontiguousarray(origins, dtype=np.float32).reshape(-1, 3)
        d = np.ascontiguousarray(directions, dtype=np.float32).reshape(-1, 3)
        dists = np.broadcast_to(np.asarray(max_t, dtype=np.float32), (len(o),)).copy()
        res = self._embree.run(o, d, dists=dists, query="OCCLUDED")
        return np.asarray(res) >= 0
