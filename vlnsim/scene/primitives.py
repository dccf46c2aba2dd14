"""Mesh primitives (box, cylinder, frustum, sphere) and a mesh accumulator.

Every primitive returns ``(vertices (V,3) f64, faces (F,3) i64, uvs (V,2) f64)`` with
counter-clockwise winding seen from outside (outward normals). UVs are in metres of
the surface (world-scaled, one texture repeat per ``uv_scale`` metres), so textures
keep their physical size on objects of any size; renderers must wrap UVs outside [0, 1].
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

Mesh = Tuple[np.ndarray, np.ndarray, np.ndarray]

# Box faces as (normal, u axis, v axis) with u x v = normal, so the corner order
# (-u-v, +u-v, +u+v, -u+v) is counter-clockwise seen from outside.
_BOX_FACES = np.array(
    [
        [[1, 0, 0], [0, 0, -1], [0, 1, 0]],  # +x
        [[-1, 0, 0], [0, 0, 1], [0, 1, 0]],  # -x
        [[0, 1, 0], [1, 0, 0], [0, 0, -1]],  # +y
        [[0, -1, 0], [1, 0, 0], [0, 0, 1]],  # -y
        [[0, 0, 1], [1, 0, 0], [0, 1, 0]],  # +z
        [[0, 0, -1], [-1, 0, 0], [0, 1, 0]],  # -z
    ],
    dtype=np.float64,
)
_QUAD_SIGNS = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
# Unit-box corner offsets (in units of the half extents) for the 24 vertices.
_BOX_CORNERS = (
    _BOX_FACES[:, None, 0, :]
    + _QUAD_SIGNS[None, :, 0, None] * _BOX_FACES[:, None, 1, :]
    + _QUAD_SIGNS[None, :, 1, None] * _BOX_FACES[:, None, 2, :]
).reshape(24, 3)
_BOX_TRIS = (np.array([[0, 1, 2], [0, 2, 3]])[None, :, :] + 4 * np.arange(6)[:, None, None]).reshape(12, 3)
BOX_FACE_NAMES = ("+x", "-x", "+y", "-y", "+z", "-z")


def box(mn: Sequence[float], mx: Sequence[float], uv_scale: float = 1.0) -> Mesh:
    """Axis-aligned box from corner ``mn`` to ``mx`` (12 triangles, 24 vertices)."""
    mn = np.asarray(mn, dtype=np.float64)
    mx = np.asarray(mx, dtype=np.float64)
    c, h = (mn + mx) / 2, (mx - mn) / 2
    v = c + _BOX_CORNERS * h
    uax = np.repeat(_BOX_FACES[:, 1, :], 4, axis=0)
    vax = np.repeat(_BOX_FACES[:, 2, :], 4, axis=0)
    uv = np.stack([(v * uax).sum(1), (v * vax).sum(1)], axis=1) / uv_scale
    return v, _BOX_TRIS.copy(), uv


def box_face_index() -> np.ndarray:
    """(12,) index into ``BOX_FACE_NAMES`` of each triangle of :func:`box`."""
    return np.repeat(np.arange(6), 2)


def frustum(
    center: Sequence[float], r_bottom: float, r_top: float, y0: float, y1: float, segments: int = 20, uv_scale: float = 1.0
) -> Mesh:
    """Closed vertical frustum (a cylinder when radii are equal) around ``center`` (x, z)."""
    cx, cz = float(center[0]), float(center[1])
    n = int(segments)
    a = np.linspace(0.0, 2 * np.pi, n + 1)
    ca, sa = np.cos(a), np.sin(a)
    # side: two rings with a duplicated seam column for continuous u
    bottom = np.stack([cx + r_bottom * ca, np.full(n + 1, y0), cz + r_bottom * sa], 1)
    top = np.stack([cx + r_top * ca, np.full(n + 1, y1), cz + r_top * sa], 1)
    r_mid = (r_bottom + r_top) / 2
    u = a * r_mid
    side_v = np.concatenate([bottom, top])
    side_uv = np.concatenate([np.stack([u, np.full(n + 1, y0)], 1), np.stack([u, np.full(n + 1, y1)], 1)])
    i = np.arange(n)
    side_f = np.concatenate([np.stack([i, i + n + 1, i + 1], 1), np.stack([i + 1, i + n + 1, i + n + 2], 1)])
    verts, faces, uvs = [side_v], [side_f], [side_uv]
    off = len(side_v)
    for ring, y, r in ((bottom, y0, r_bottom), (top, y1, r_top)):
        if r <= 0:
            continue
        cap = np.concatenate([[[cx, y, cz]], ring[:n]])
        f = np.stack([np.zeros(n, dtype=np.int64), 1 + i, 1 + (i + 1) % n], 1) + off
        verts.append(cap)
        faces.append(f)
        uvs.append(np.stack([cap[:, 0], -cap[:, 2]], 1))
        off += len(cap)
    v = np.concatenate(verts)
    f = orient_outward(v, np.concatenate(faces), np.array([cx, (y0 + y1) / 2, cz]))
    return v, f, np.concatenate(uvs) / uv_scale


def cylinder(center: Sequence[float], radius: float, y0: float, y1: float, segments: int = 20, uv_scale: float = 1.0) -> Mesh:
    """Closed vertical cylinder with axis through ``center`` (x, z) from ``y0`` to ``y1``."""
    return frustum(center, radius, radius, y0, y1, segments, uv_scale)


def sphere(
    center: Sequence[float], radii: Sequence[float], n_lat: int = 8, n_lon: int = 14, uv_scale: float = 1.0
) -> Mesh:
    """Closed (ellipsoidal) UV sphere with per-axis ``radii``."""
    c = np.asarray(center, dtype=np.float64)
    r = np.broadcast_to(np.asarray(radii, dtype=np.float64), (3,))
    th = np.linspace(0, np.pi, n_lat + 1)
    ph = np.linspace(0, 2 * np.pi, n_lon + 1)
    T, P = np.meshgrid(th, ph, indexing="ij")
    unit = np.stack([np.sin(T) * np.cos(P), np.cos(T), np.sin(T) * np.sin(P)], -1).reshape(-1, 3)
    v = c + unit * r
    uv = np.stack([P.ravel() * r[0], (np.pi - T.ravel()) * r[1]], 1)
    idx = np.arange((n_lat + 1) * (n_lon + 1)).reshape(n_lat + 1, n_lon + 1)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    cc, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    f = np.concatenate([np.stack([a, cc, b], 1), np.stack([b, cc, d], 1)])
    # drop degenerate triangles at the poles
    e1 = v[f[:, 1]] - v[f[:, 0]]
    e2 = v[f[:, 2]] - v[f[:, 0]]
    f = f[np.linalg.norm(np.cross(e1, e2), axis=1) > 1e-12]
    return v, orient_outward(v, f, c), uv / uv_scale


def orient_outward(verts: np.ndarray, faces: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Flip triangles of a convex closed mesh whose normal points towards ``center``."""
    p = verts[faces]
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    inward = (n * (p.mean(axis=1) - center)).sum(axis=1) < 0
    faces = faces.copy()
    faces[inward] = faces[inward][:, [0, 2, 1]]
    return faces


def rotate_y_quarter(verts: np.ndarray, k: int) -> np.ndarray:
    """Rotate points about +Y by ``k`` quarter turns (k=1 maps local +z to +x)."""
    k %= 4
    x, y, z = verts[:, 0], verts[:, 1], verts[:, 2]
    if k == 0:
        return verts.copy()
    if k == 1:
        return np.stack([z, y, -x], 1)
    if k == 2:
        return np.stack([-x, y, -z], 1)
    return np.stack([-z, y, x], 1)


def rotate_x_quarter(verts: np.ndarray, pivot: Sequence[float]) -> np.ndarray:
    """Rotate points a quarter turn about the +X axis through ``pivot`` (+y maps to +z)."""
    p = np.asarray(pivot, dtype=np.float64)
    d = verts - p
    return p + np.stack([d[:, 0], -d[:, 2], d[:, 1]], 1)


class MeshBuilder:
    """Accumulates mesh parts with per-triangle object ids and material indices."""

    def __init__(self) -> None:
        self._v: List[np.ndarray] = []
        self._f: List[np.ndarray] = []
        self._uv: List[np.ndarray] = []
        self._obj: List[np.ndarray] = []
        self._mat: List[np.ndarray] = []
        self._n = 0

    def add(self, mesh: Mesh, object_id: int, material: int | np.ndarray) -> None:
        """Append a mesh; ``material`` is one index or one per triangle."""
        v, f, uv = mesh
        self._v.append(np.asarray(v, dtype=np.float64))
        self._f.append(np.asarray(f, dtype=np.int64) + self._n)
        self._uv.append(np.asarray(uv, dtype=np.float64))
        self._obj.append(np.full(len(f), object_id, dtype=np.int32))
        self._mat.append(np.broadcast_to(np.asarray(material, dtype=np.int32), (len(f),)).copy())
        self._n += len(v)

    @property
    def num_triangles(self) -> int:
        return int(sum(len(f) for f in self._f))

    def arrays(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(vertices f32, faces i32, uvs f32, face_object i32, face_material i32)``."""
        return (
            np.concatenate(self._v).astype(np.float32),
            np.concatenate(self._f).astype(np.int32),
            np.concatenate(self._uv).astype(np.float32),
            np.concatenate(self._obj),
            np.concatenate(self._mat),
        )


def transform(mesh: Mesh, k: int, offset: Sequence[float]) -> Mesh:
    """Quarter-turn ``k`` about +Y then translate; UVs (surface metres) are unchanged."""
    v, f, uv = mesh
    return rotate_y_quarter(v, k) + np.asarray(offset, dtype=np.float64), f, uv


def concat(meshes: Sequence[Mesh]) -> Optional[Mesh]:
    """Concatenate meshes into one (None for an empty list)."""
    if not meshes:
        return None
    vs, fs, us, n = [], [], [], 0
    for v, f, uv in meshes:
        vs.append(v)
        fs.append(f + n)
        us.append(uv)
        n += len(v)
    return np.concatenate(vs), np.concatenate(fs), np.concatenate(us)
