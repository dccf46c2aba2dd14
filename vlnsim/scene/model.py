"""The scene model: plain arrays plus semantic metadata.

A ``Scene`` is what every other part of vlnsim consumes: the renderer ray-casts its
triangles, the navigation grid is built from them, and the semantic description
(objects, rooms) feeds instructions and the top-down map.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..errors import SceneFileError


@dataclass
class Material:
    """A surface material.

    Attributes:
        name: material name (from the file, or the procedural generator).
        base_color: linear RGB multiplier in [0, 1]; the surface colour when there is
            no texture and no vertex colour.
        texture: optional (H, W, 3) uint8 base-colour image, sampled with the
            per-vertex UVs (u to the right, v up, as glTF after its flip is undone:
            UV (0, 0) is the bottom-left texel row ``H-1``).
    """

    name: str
    base_color: Tuple[float, float, float] = (0.8, 0.8, 0.8)
    texture: Optional[np.ndarray] = None


@dataclass
class SceneObject:
    """One semantic object (a node/mesh of a file, or a placed piece of furniture).

    ``room`` is a ``Room.id`` or ``None`` (walls, floors, objects of loaded files).
    """

    id: int
    category: str
    color: str = ""
    room: Optional[int] = None
    bbox_min: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    bbox_max: Tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def center(self) -> np.ndarray:
        return (np.asarray(self.bbox_min, dtype=np.float64) + np.asarray(self.bbox_max, dtype=np.float64)) / 2


@dataclass
class Room:
    """A room: its type and floor footprint polygon ``[(x, z), ...]`` (counter-clockwise)."""

    id: int
    type: str
    polygon: List[Tuple[float, float]] = field(default_factory=list)

    def contains(self, x: float, z: float) -> bool:
        """Whether the point (x, z) lies inside the footprint (even-odd rule)."""
        poly = self.polygon
        inside = False
        n = len(poly)
        for i in range(n):
            x1, z1 = poly[i]
            x2, z2 = poly[(i + 1) % n]
            if (z1 > z) != (z2 > z):
                xc = x1 + (z - z1) * (x2 - x1) / (z2 - z1)
                if x < xc:
                    inside = not inside
        return inside

    @property
    def area(self) -> float:
        p = np.asarray(self.polygon, dtype=np.float64)
        if len(p) < 3:
            return 0.0
        x, z = p[:, 0], p[:, 1]
        return float(0.5 * abs(np.dot(x, np.roll(z, -1)) - np.dot(z, np.roll(x, -1))))


@dataclass
class Scene:
    """Triangle geometry with per-triangle object ids and materials, plus semantics.

    Attributes:
        vertices: (V, 3) float32 positions, +Y up, metres.
        faces: (F, 3) int32 vertex indices.
        face_object: (F,) int32 object id of each triangle (``SceneObject.id``).
        face_material: (F,) int32 index into ``materials``.
        uvs: (V, 2) float32 texture coordinates (zeros where untextured).
        vertex_colors: optional (V, 3) uint8 colours (PLY/OBJ colour data); used for
            triangles whose material has no texture.
        materials: material table.
        objects: semantic objects, one per id in ``face_object``.
        rooms: room footprints (empty for loaded files without semantics).
        name: a short identifier (file stem or ``house_<seed>``).
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_object: np.ndarray
    face_material: np.ndarray
    uvs: np.ndarray
    materials: List[Material]
    objects: List[SceneObject] = field(default_factory=list)
    rooms: List[Room] = field(default_factory=list)
    vertex_colors: Optional[np.ndarray] = None
    name: str = "scene"

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float32)
        self.faces = np.ascontiguousarray(self.faces, dtype=np.int32)
        self.face_object = np.ascontiguousarray(self.face_object, dtype=np.int32)
        self.face_material = np.ascontiguousarray(self.face_material, dtype=np.int32)
        self.uvs = np.ascontiguousarray(self.uvs, dtype=np.float32)
        if self.vertex_colors is not None:
            self.vertex_colors = np.ascontiguousarray(self.vertex_colors, dtype=np.uint8)
        self.validate()

    def validate(self, source: str = "") -> None:
        """Check array shapes, index ranges and finiteness; raise ``SceneFileError``."""
        where = f" in {source}" if source else f" in scene {self.name!r}"
        v, f = self.vertices, self.faces
        if v.ndim != 2 or v.shape[1] != 3:
            raise SceneFileError(f"vertices must have shape (V, 3){where}, got {v.shape}")
        if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
            raise SceneFileError(f"scene has no triangles{where}: faces shape {f.shape}; expected (F>0, 3)")
        if not np.all(np.isfinite(v)):
            bad = int(np.argwhere(~np.isfinite(v).all(axis=1))[0, 0])
            raise SceneFileError(f"vertex {bad} is not finite{where}: {v[bad].tolist()}; expected finite coordinates")
        if f.min() < 0 or f.max() >= len(v):
            raise SceneFileError(f"face indices out of range [0, {len(v)}){where}")
        if self.face_object.shape != (len(f),) or self.face_material.shape != (len(f),):
            raise SceneFileError(f"face_object/face_material must have shape ({len(f)},){where}")
        if self.uvs.shape != (len(v), 2):
            raise SceneFileError(f"uvs must have shape ({len(v)}, 2){where}, got {self.uvs.shape}")
        if len(self.materials) == 0 or self.face_material.min() < 0 or self.face_material.max() >= len(self.materials):
            raise SceneFileError(f"face_material indices out of range of {len(self.materials)} materials{where}")
        if self.vertex_colors is not None and self.vertex_colors.shape != (len(v), 3):
            raise SceneFileError(f"vertex_colors must have shape ({len(v)}, 3){where}")

    # ------------------------------------------------------------------ queries
    @property
    def bounds(self) -> Tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounding box (min, max) of all vertices."""
        return self.vertices.min(axis=0).astype(np.float64), self.vertices.max(axis=0).astype(np.float64)

    @property
    def num_triangles(self) -> int:
        return int(len(self.faces))

    def object_by_id(self, object_id: int) -> Optional[SceneObject]:
        for o in self.objects:
            if o.id == object_id:
                return o
        return None

    def room_at(self, x: float, z: float) -> Optional[Room]:
        """The room whose footprint contains (x, z), or None."""
        for r in self.rooms:
            if r.contains(x, z):
                return r
        return None

    def nbytes(self) -> int:
        """Memory held by the scene's arrays and textures, in bytes."""
        n = sum(a.nbytes for a in (self.vertices, self.faces, self.face_object, self.face_material, self.uvs))
        if self.vertex_colors is not None:
            n += self.vertex_colors.nbytes
        n += sum(m.texture.nbytes for m in self.materials if m.texture is not None)
        return int(n)

    def save(self, path: str) -> None:
        """Write the scene as GLB plus a ``.semantic.json`` sidecar (atomically)."""
        from .io import save_scene

        save_scene(self, path)


def merge_meshes(
    parts: Sequence[Tuple[np.ndarray, np.ndarray, np.ndarray, int, int]],
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate mesh parts ``(vertices, faces, uvs, object_id, material_index)``.

    Returns ``(vertices, faces, uvs, face_object, face_material)`` ready for ``Scene``.
    """
    vs, fs, us, fo, fm = [], [], [], [], []
    offset = 0
    for verts, faces, uvs, oid, mid in parts:
        vs.append(np.asarray(verts, dtype=np.float32))
        fs.append(np.asarray(faces, dtype=np.int64) + offset)
        us.append(np.asarray(uvs, dtype=np.float32))
        fo.append(np.full(len(faces), oid, dtype=np.int32))
        fm.append(np.full(len(faces), mid, dtype=np.int32))
        offset += len(verts)
    return (
        np.concatenate(vs),
        np.concatenate(fs).astype(np.int32),
        np.concatenate(us),
        np.concatenate(fo),
        np.concatenate(fm),
    )
