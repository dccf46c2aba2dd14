"""Procedural houses: floor plan -> walls, floors, ceilings, doorways, furniture.

``generate_house(seed)`` is the embedded default scene dataset. Geometry conventions:

- The floor is at y = 0; each room has its own floor slab (top face y = 0) and ceiling
  slab (bottom face y = wall height), objects "floor"/"ceiling" with ``room=None``,
  one per room, so every room shows its own floor texture.
- Walls are boxes centred on the plan's wall centre lines (category "wall", one object
  per straight wall run). Runs are trimmed or extended by half a thickness at their
  ends so that no two boxes share a visible coplanar face; each face of a wall is
  painted with the colour of the room it faces.
- Every door is an opening of clear width >= ``min_door_width`` up to ``door_height``,
  with a lintel above, a frame ("door_frame") around it, and a "doorway" object
  without triangles whose bbox spans the opening (so saved scenes keep connectivity).
- Skirting boards (0.08 m high, 0.012 m proud) run along every room's wall faces,
  broken at door casings; they are one "wall" object per room.
- Furniture (see ``catalogue``) is placed by ``RoomFurnisher``: inside the room's wall
  faces, never in a doorway's clearance zone (``door_clearance`` m deep on both sides,
  as wide as the casing plus 0.1 m), without overlaps, keeping every doorway of the
  room reachable from every other for an agent of radius 0.1 m (grid check), and
  covering at most ``max_fill`` of the floor with optional pieces. Windows ("window",
  room set) hang on exterior walls only; "ceiling lamp"s hang at the room centre.
- Object ids: floors, ceilings, wall runs, door frames and doorways (interleaved per
  door), skirting, then furniture room by room; ids equal list positions.
- Textures are world-scaled: UVs are surface metres over ``TEXTURE_REPEAT_M[kind]``, so
  they run outside [0, 1] and the renderer must wrap (it does: repeat).

Overlap rule (what tests check): the 3D bounding boxes of two objects never share
interior volume, except that flat floor coverings ("rug", height <= 0.02 m) may lie
under other objects (but not under each other). Objects standing on others ("on"
placement: tv, microwave, table lamp) touch their support's top face only.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, fields
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from ..errors import ConfigError
from .catalogue import ANCHORS, CATEGORIES, COLORS, FACING, NEAR, REQUIRED, ROOM_FURNITURE, SINGLETONS, SLOT_LOOKS, Category
from .floorplan import Door, FloorPlan, PlanOptions, PlanRoom, _generate_plan, generate_plan, split_options
from .model import Material, Room, Scene, SceneObject
from .primitives import MeshBuilder, box, box_face_index, rotate_y_quarter
from .textures import TEXTURE_REPEAT_M, TextureCache

__all__ = ["generate_house", "generate_plan", "build_house", "HouseOptions", "FloorPlan", "PlanOptions"]

FRAME_W = 0.05  # door frame (casing) width, metres
FRAME_E = 0.015  # how far the casing stands proud of the wall faces
SLAB = 0.1  # floor/ceiling slab thickness


@dataclass
class HouseOptions:
    """Options of ``generate_house`` beyond the floor plan's (``PlanOptions``)."""

    furniture: bool = True
    """Place furniture (False: empty rooms, e.g. for navigation tests)."""
    furniture_density: float = 1.0
    """Multiplier on the chance of each optional item (0 = only required items)."""
    max_fill: float = 0.35
    """Largest fraction of a room's floor that floor-standing furniture may cover."""
    door_clearance: float = 1.0
    """Depth (m) of the furniture-free zone on both sides of every doorway."""
    texture_size: int = 64
    """Edge of the square procedural textures, pixels (16..512)."""

    def validate(self) -> None:
        if not (0.0 <= self.furniture_density <= 3.0):
            raise ConfigError(f"furniture_density={self.furniture_density!r}; expected a number in [0, 3]")
        if not (0.05 <= self.max_fill <= 0.8):
            raise ConfigError(f"max_fill={self.max_fill!r}; expected a fraction in [0.05, 0.8]")
        if not (0.9 <= self.door_clearance <= 2.0):
            raise ConfigError(f"door_clearance={self.door_clearance!r}; expected metres in [0.9, 2.0]")
        if not (isinstance(self.texture_size, (int, np.integer)) and 16 <= self.texture_size <= 512):
            raise ConfigError(f"texture_size={self.texture_size!r}; expected an integer in [16, 512]")


# ------------------------------------------------------------------ room looks
# floor (texture kind, colours) and wall paints per room type
_FLOORS = {
    "bathroom": [("tiles", ["white", "light blue", "cream", "light gray", "teal"]), ("marble", ["white", "light gray"])],
    "kitchen": [("tiles", ["white", "beige", "light gray", "dark gray", "orange"]), ("marble", ["white", "cream"])],
    "laundry room": [("tiles", ["white", "light gray", "beige"])],
    "living room": [("wood", ["light brown", "brown", "dark brown"]), ("parquet", ["light brown", "brown"]), ("carpet", ["beige", "gray"])],
    "dining room": [("wood", ["light brown", "brown", "dark brown"]), ("parquet", ["light brown", "brown"])],
    "bedroom": [("carpet", ["beige", "light gray", "light blue", "cream", "gray"]), ("wood", ["light brown", "brown"])],
    "office": [("wood", ["light brown", "brown", "dark brown"]), ("carpet", ["gray", "dark gray", "navy blue"])],
    "hallway": [("wood", ["light brown", "brown"]), ("tiles", ["light gray", "beige"]), ("parquet", ["light brown"])],
    "closet": [("carpet", ["beige", "light gray"]), ("wood", ["light brown"])],
    "playroom": [("carpet", ["light blue", "green", "pink", "yellow"]), ("wood", ["light brown"])],
}
_PAINTS = {
    "warm white": (0.93, 0.9, 0.84), "ivory": (0.95, 0.93, 0.82), "pale yellow": (0.95, 0.9, 0.65),
    "sage": (0.68, 0.76, 0.62), "sky blue": (0.66, 0.8, 0.9), "light gray": (0.8, 0.8, 0.8),
    "peach": (0.96, 0.8, 0.68), "lavender": (0.78, 0.72, 0.88), "mint": (0.7, 0.9, 0.8),
    "terracotta": (0.8, 0.52, 0.4), "greige": (0.75, 0.72, 0.66), "powder pink": (0.93, 0.76, 0.78),
    "slate": (0.5, 0.56, 0.62), "olive": (0.6, 0.62, 0.42),
}
_WALL_TILES = {"bathroom": 0.6, "kitchen": 0.25, "laundry room": 0.4}


_PAINTED = {"white", "black", "gray", "light gray", "dark gray", "silver", "cream"}


class MaterialTable:
    """Materials of one house, deduplicated by (name, texture kind)."""

    def __init__(self, textures: TextureCache):
        self.textures = textures
        self.materials: List[Material] = []
        self.repeat: List[float] = []  # metres per texture repeat, per material
        self._index: Dict[tuple, int] = {}

    def get(self, name: str, color: Sequence[float], kind: Optional[str] = None, variant: int = 0) -> int:
        """Index of the material ``name`` (plain ``color``, or texture ``kind`` tinted by it)."""
        key = (name, kind, variant)
        idx = self._index.get(key)
        if idx is None:
            if kind is None:
                mat = Material(name, tuple(float(c) for c in color), None)
            else:
                # textured materials carry the colour in the texture; the factor stays neutral
                mat = Material(name, (1.0, 1.0, 1.0), self.textures.get(kind, color, variant))
            idx = len(self.materials)
            self.materials.append(mat)
            self.repeat.append(TEXTURE_REPEAT_M[kind] if kind is not None else 1.0)
            self._index[key] = idx
        return idx

    def slot(self, slot: str, main_color: str, main_kind: Optional[str]) -> int:
        """Material of a catalogue slot: "main" is the object's colour, others are fixed looks."""
        if slot == "main":
            if main_kind == "wood":
                # furniture wood shows grain; painted (white/black/gray) pieces are plain
                main_kind = None if main_color in _PAINTED else "grain"
            return self.get(f"{main_color} {main_kind or 'paint'}", COLORS[main_color], main_kind)
        color, kind = SLOT_LOOKS[slot]
        return self.get(slot, color, kind)


@dataclass
class RoomLook:
    floor: int
    wall: int
    ceiling: int
    floor_name: str
    wall_name: str


def _room_looks(plan: FloorPlan, mats: MaterialTable, rng: np.random.Generator) -> Dict[int, RoomLook]:
    # each room its own paint while the palette lasts
    paints = [list(_PAINTS)[i] for i in rng.permutation(len(_PAINTS))]
    looks = {}
    ceiling = mats.get("ceiling white", (0.96, 0.96, 0.95), "plaster")
    for r in plan.rooms:
        opts = _FLOORS[r.type]
        kind, colors = opts[int(rng.integers(len(opts)))]
        cname = colors[int(rng.integers(len(colors)))]
        floor = mats.get(f"{r.type} floor {cname} {kind}", COLORS[cname], kind)
        if rng.random() < _WALL_TILES.get(r.type, 0.0):
            tname = ["white", "light blue", "cream", "light gray"][int(rng.integers(4))]
            wall = mats.get(f"wall tiles {tname}", COLORS[tname], "tiles", 1)
            wall_name = f"{tname} tiles"
        else:
            wall_name = paints[r.id % len(paints)]
            wall = mats.get(f"wall paint {wall_name}", _PAINTS[wall_name], "plaster")
        looks[r.id] = RoomLook(floor, wall, ceiling, f"{cname} {kind}", wall_name)
    return looks


# ---------------------------------------------------------------- structure
def _union(intervals: List[Tuple[float, float]]) -> List[Tuple[float, float]]:
    out: List[List[float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + 1e-9:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _wall_runs(plan: FloorPlan) -> Dict[str, Dict[float, List[Tuple[float, float]]]]:
    """Merged wall runs: axis -> line coordinate -> [(start, end)] along the axis."""
    lines: Dict[str, Dict[float, List[Tuple[float, float]]]] = {"x": {}, "z": {}}
    for r in plan.rooms:
        for z in (r.z0, r.z1):
            lines["x"].setdefault(z, []).append((r.x0, r.x1))
        for x in (r.x0, r.x1):
            lines["z"].setdefault(x, []).append((r.z0, r.z1))
    return {ax: {c: _union(iv) for c, iv in d.items()} for ax, d in lines.items()}


def _covered(runs: Dict[float, List[Tuple[float, float]]], line: float, at: float, strict: bool) -> bool:
    for c, ivs in runs.items():
        if abs(c - line) < 1e-9:
            for a, b in ivs:
                if (a + 1e-9 < at < b - 1e-9) if strict else (a - 1e-9 <= at <= b + 1e-9):
                    return True
    return False


def _box_along(axis: str, line: float, a: float, b: float, y0: float, y1: float, half: float):
    """Box of a wall piece from ``a`` to ``b`` along ``axis`` on ``line``, ``half`` thick each side."""
    if axis == "x":
        return box((a, y0, line - half), (b, y1, line + half))
    return box((line - half, y0, a), (line + half, y1, b))


_FACE_PLUS = {"x": 4, "z": 0}  # index in BOX_FACE_NAMES of the +normal face of a wall box
_FACE_MINUS = {"x": 5, "z": 1}


def _build_structure(plan: FloorPlan, looks: Dict[int, RoomLook], mats: MaterialTable, mb: MeshBuilder,
                     objects: List[SceneObject]) -> None:
    t, H = plan.wall_thickness, plan.wall_height
    half = t / 2
    fx0, fz0, fx1, fz1 = plan.bounds
    exterior = mats.get("exterior render", (0.85, 0.83, 0.78), None)
    frame_mat = mats.get("door frame", (0.95, 0.95, 0.93), None)

    def nid() -> int:
        return len(objects)

    # floors and ceilings, one slab of each per room, reaching the outer wall faces
    for kind in ("floor", "ceiling"):
        for r in plan.rooms:
            x0 = r.x0 - (half if abs(r.x0 - fx0) < 1e-9 else 0.0)
            x1 = r.x1 + (half if abs(r.x1 - fx1) < 1e-9 else 0.0)
            z0 = r.z0 - (half if abs(r.z0 - fz0) < 1e-9 else 0.0)
            z1 = r.z1 + (half if abs(r.z1 - fz1) < 1e-9 else 0.0)
            y0, y1 = (-SLAB, 0.0) if kind == "floor" else (H, H + SLAB)
            mat = looks[r.id].floor if kind == "floor" else looks[r.id].ceiling
            oid = nid()
            mb.add(box((x0, y0, z0), (x1, y1, z1), uv_scale=mats.repeat[mat]), oid, mat)
            objects.append(SceneObject(oid, kind, "", None, (x0, y0, z0), (x1, y1, z1)))

    runs = _wall_runs(plan)
    fidx = box_face_index()

    def side_mat(axis: str, line: float, at: float, sign: float) -> int:
        px, pz = (at, line + sign * (half + 0.01)) if axis == "x" else (line + sign * (half + 0.01), at)
        room = plan.room_at(px, pz)
        return exterior if room is None else looks[room.id].wall

    def add_piece(axis, line, a, b, y0, y1, oid) -> None:
        mid = (a + b) / 2
        plus, minus = side_mat(axis, line, mid, +1), side_mat(axis, line, mid, -1)
        per_face = np.full(6, plus, dtype=np.int32)
        per_face[_FACE_MINUS[axis]] = minus
        v, f, uv = _box_along(axis, line, a, b, y0, y1, half)
        uv = uv / np.repeat([mats.repeat[m] for m in per_face], 4)[:, None]
        mb.add((v, f, uv), oid, per_face[fidx])

    for axis in ("x", "z"):
        other = runs["z" if axis == "x" else "x"]
        for line, ivs in sorted(runs[axis].items()):
            for a, b in ivs:
                # trim where the run butts into a perpendicular wall that continues past
                # it (T-junction); otherwise extend to fill the corner. Runs along z are
                # always trimmed, since a run along x covers every one of their ends.
                if axis == "x":
                    s = a + half if _covered(other, a, line, strict=True) else a - half
                    e = b - half if _covered(other, b, line, strict=True) else b + half
                else:
                    s = a + half if _covered(other, a, line, strict=False) else a - half
                    e = b - half if _covered(other, b, line, strict=False) else b + half
                # split where the room on either side changes, so each face is painted for one room
                cuts = {s, e}
                for r in plan.rooms:
                    ends, lines_of_r = ((r.x0, r.x1), (r.z0, r.z1)) if axis == "x" else ((r.z0, r.z1), (r.x0, r.x1))
                    if any(abs(c - line) < 1e-9 for c in lines_of_r):
                        cuts.update(v for v in ends if s < v < e)
                gaps = []
                for d in plan.doors:
                    if d.axis == axis and abs(d.line - line) < 1e-9 and a - 1e-9 <= d.start and d.end <= b + 1e-9:
                        gaps.append((d.start - FRAME_W, d.end + FRAME_W))
                        cuts.update((d.start - FRAME_W, d.end + FRAME_W))
                pts = sorted(cuts)
                oid = nid()
                for p0, p1 in zip(pts[:-1], pts[1:]):
                    if p1 - p0 < 1e-6:
                        continue
                    in_gap = any(g0 - 1e-9 <= p0 and p1 <= g1 + 1e-9 for g0, g1 in gaps)
                    if in_gap:
                        add_piece(axis, line, p0, p1, plan.door_height + FRAME_W, H, oid)  # lintel
                    else:
                        add_piece(axis, line, p0, p1, 0.0, H, oid)
                if axis == "x":
                    bmin, bmax = (s, 0.0, line - half), (e, H, line + half)
                else:
                    bmin, bmax = (line - half, 0.0, s), (line + half, H, e)
                objects.append(SceneObject(oid, "wall", "", None, bmin, bmax))

    for d in plan.doors:
        _add_door(d, plan, frame_mat, mb, objects)
    base_mat = frame_mat if _white_skirting(plan) else mats.get("skirting wood", (0.45, 0.3, 0.18), "grain")
    for r in plan.rooms:
        _add_skirting(plan, r, base_mat, mats.repeat[base_mat], mb, objects)


def _white_skirting(plan: FloorPlan) -> bool:
    """Whether the house's skirting boards are painted white (else wood), fixed per seed."""
    return bool(np.random.default_rng([plan.seed, 2]).random() < 0.6)


SKIRT_T, SKIRT_H = 0.012, 0.08


def _add_skirting(plan: FloorPlan, r: PlanRoom, mat: int, rep: float, mb: MeshBuilder, objects: List[SceneObject]) -> None:
    """Skirting boards along a room's wall faces, broken at its door casings (a "wall" object)."""
    ix0, iz0, ix1, iz1 = r.interior(plan.wall_thickness)
    oid = len(objects)
    # runs along x span the full side; runs along z stop short of them (no overlapping corners)
    sides = [("x", iz0, iz0 + SKIRT_T, ix0, ix1), ("x", iz1 - SKIRT_T, iz1, ix0, ix1),
             ("z", ix0, ix0 + SKIRT_T, iz0 + SKIRT_T, iz1 - SKIRT_T), ("z", ix1 - SKIRT_T, ix1, iz0 + SKIRT_T, iz1 - SKIRT_T)]
    lines = [r.z0, r.z1, r.x0, r.x1]
    n = 0
    for (axis, c0, c1, a, b), line in zip(sides, lines):
        gaps = sorted((d.start - FRAME_W - 0.01, d.end + FRAME_W + 0.01) for d in plan.doors_of(r.id)
                      if d.axis == axis and abs(d.line - line) < 1e-9)
        pos = a
        for g0, g1 in gaps + [(b, b)]:
            if g0 - pos > 0.02:
                mn = (pos, 0.0, c0) if axis == "x" else (c0, 0.0, pos)
                mx = (g0, SKIRT_H, c1) if axis == "x" else (c1, SKIRT_H, g0)
                mb.add(box(mn, mx, uv_scale=rep), oid, mat)
                n += 1
            pos = max(pos, g1)
    if n:
        objects.append(SceneObject(oid, "wall", "", None, (ix0, 0.0, iz0), (ix1, SKIRT_H, iz1)))


def _add_door(d: Door, plan: FloorPlan, frame_mat: int, mb: MeshBuilder, objects: List[SceneObject]) -> None:
    """Door casing (two jambs and a head) and the triangle-free "doorway" object."""
    half = plan.wall_thickness / 2 + FRAME_E
    dh = plan.door_height
    oid = len(objects)
    lo, hi = d.start - FRAME_W - 0.01, d.end + FRAME_W + 0.01
    pieces = [(lo, d.start, 0.0, dh), (d.end, hi, 0.0, dh), (lo, hi, dh, dh + FRAME_W)]
    for a, b, y0, y1 in pieces:
        mb.add(_box_along(d.axis, d.line, a, b, y0, y1, half), oid, frame_mat)
    if d.axis == "x":
        fmin, fmax = (lo, 0.0, d.line - half), (hi, dh + FRAME_W, d.line + half)
        omin, omax = (d.start, 0.0, d.line - half), (d.end, dh, d.line + half)
    else:
        fmin, fmax = (d.line - half, 0.0, lo), (d.line + half, dh + FRAME_W, hi)
        omin, omax = (d.line - half, 0.0, d.start), (d.line + half, dh, d.end)
    objects.append(SceneObject(oid, "door_frame", "", None, fmin, fmax))
    objects.append(SceneObject(oid + 1, "doorway", "", None, omin, omax))


# ---------------------------------------------------------------- furniture
AGENT_CLEAR = 0.15  # agent radius (0.1 m) plus a margin, for the walkability check
CELL = 0.1  # walkability grid cell, metres


@dataclass
class Placed:
    """A placed object: category, world bbox ``(x0, y0, z0, x1, y1, z1)``, pose and local bbox."""

    category: str
    box: Tuple[float, float, float, float, float, float]
    k: int
    t: Tuple[float, float, float]
    local: Tuple[float, float, float, float]
    flat: bool


def _overlap2d(a: Sequence[float], b: Sequence[float]) -> bool:
    """Interiors of footprints ``(x0, z0, x1, z1)`` intersect."""
    return a[0] < b[2] - 1e-6 and b[0] < a[2] - 1e-6 and a[1] < b[3] - 1e-6 and b[1] < a[3] - 1e-6


def _overlap3d(a: Sequence[float], b: Sequence[float]) -> bool:
    """Interiors of boxes ``(x0, y0, z0, x1, y1, z1)`` intersect."""
    return all(a[i] < b[i + 3] - 1e-6 and b[i] < a[i + 3] - 1e-6 for i in range(3))


def _rot_box(lb: Sequence[float], k: int) -> Tuple[float, float, float, float]:
    """Footprint ``(x0, z0, x1, z1)`` after a quarter-turn ``k`` about +Y (see ``rotate_y_quarter``)."""
    x0, z0, x1, z1 = lb
    k %= 4
    if k == 0:
        return (x0, z0, x1, z1)
    if k == 1:  # (x, z) -> (z, -x)
        return (z0, -x1, z1, -x0)
    if k == 2:  # (x, z) -> (-x, -z)
        return (-x1, -z1, -x0, -z0)
    return (-z1, x0, -z0, x1)  # (x, z) -> (-z, x)


def door_zones(plan: FloorPlan, room: PlanRoom, depth: float) -> List[Tuple[float, float, float, float]]:
    """Furniture-free rectangles ``(x0, z0, x1, z1)`` in front of each door of ``room``."""
    half = plan.wall_thickness / 2
    pad = FRAME_W + 0.1
    out = []
    for d in plan.doors_of(room.id):
        if d.axis == "x":
            z0, z1 = (d.line + half, d.line + half + depth) if abs(room.z0 - d.line) < 1e-9 else (d.line - half - depth, d.line - half)
            out.append((d.start - pad, z0, d.end + pad, z1))
        else:
            x0, x1 = (d.line + half, d.line + half + depth) if abs(room.x0 - d.line) < 1e-9 else (d.line - half - depth, d.line - half)
            out.append((x0, d.start - pad, x1, d.end + pad))
    return out


# side of the room a wall-placed object backs onto -> quarter turns that face it inwards
_SIDE_K = {"-z": 0, "+x": 3, "+z": 2, "-x": 1}


class RoomFurnisher:
    """Places a room's furniture programme (``catalogue.ROOM_FURNITURE``) by the rules above."""

    def __init__(self, plan: FloorPlan, room: PlanRoom, opts: HouseOptions, rng: np.random.Generator,
                 mats: MaterialTable, mb: MeshBuilder, objects: List[SceneObject]):
        self.plan, self.room, self.opts, self.rng = plan, room, opts, rng
        self.mats, self.mb, self.objects = mats, mb, objects
        ix0, iz0, ix1, iz1 = room.interior(plan.wall_thickness)
        self.inner = (ix0 + 0.01, iz0 + 0.01, ix1 - 0.01, iz1 - 0.01)
        self.area = (ix1 - ix0) * (iz1 - iz0)
        self.zones = self.full_zones = door_zones(plan, room, opts.door_clearance)
        # which sides ("-z", "+x", "+z", "-x") are exterior walls along their whole length (windows go there)
        out = plan.wall_thickness / 2 + 0.05
        xs, zs = np.linspace(room.x0, room.x1, 9)[1:-1], np.linspace(room.z0, room.z1, 9)[1:-1]
        probes = [[(x, room.z0 - out) for x in xs], [(room.x1 + out, z) for z in zs],
                  [(x, room.z1 + out) for x in xs], [(room.x0 - out, z) for z in zs]]
        self.exterior = np.array([all(plan.room_at(x, z) is None for x, z in side) for side in probes], dtype=float)
        self.placed: List[Placed] = []
        self.used = 0.0
        # walkability grid over the free floor: cells closer than AGENT_CLEAR to a wall are blocked
        nx, nz = max(1, int(np.ceil((ix1 - ix0) / CELL))), max(1, int(np.ceil((iz1 - iz0) / CELL)))
        self.gx = ix0 + (np.arange(nx) + 0.5) * (ix1 - ix0) / nx
        self.gz = iz0 + (np.arange(nz) + 0.5) * (iz1 - iz0) / nz
        bx = (self.gx < ix0 + AGENT_CLEAR) | (self.gx > ix1 - AGENT_CLEAR)
        bz = (self.gz < iz0 + AGENT_CLEAR) | (self.gz > iz1 - AGENT_CLEAR)
        self.blocked = bz[:, None] | bx[None, :]
        self.door_cells = []
        for zone in self.zones:
            # the middle of each doorway's clearance zone: points the agent must be able to reach
            cx, cz = (zone[0] + zone[2]) / 2, (zone[1] + zone[3]) / 2
            self.door_cells.append((int(np.argmin(np.abs(self.gz - cz))), int(np.argmin(np.abs(self.gx - cx)))))

    # ----------------------------------------------------------- checks
    def _footprint_mask(self, b: Sequence[float]) -> np.ndarray:
        mx = (self.gx > b[0] - AGENT_CLEAR) & (self.gx < b[3] + AGENT_CLEAR)
        mz = (self.gz > b[2] - AGENT_CLEAR) & (self.gz < b[5] + AGENT_CLEAR)
        return mz[:, None] & mx[None, :]

    def _walkable(self, blocked: np.ndarray) -> bool:
        free = ~blocked
        labels, _ = ndimage.label(free)
        ids = {int(labels[c]) for c in self.door_cells}
        if 0 in ids or len(ids) != 1:
            return False
        comp = int((labels == ids.pop()).sum())
        return comp >= 0.7 * int(free.sum())

    def fits(self, b: Sequence[float], flat: bool, required: bool) -> bool:
        """Whether a world box may be added (inside, clear of doors and others, walkable)."""
        x0, y0, z0, x1, y1, z1 = b
        ix0, iz0, ix1, iz1 = self.inner
        if x0 < ix0 - 1e-6 or z0 < iz0 - 1e-6 or x1 > ix1 + 1e-6 or z1 > iz1 + 1e-6 or y1 > self.plan.wall_height + 1e-6:
            return False
        fp = (x0, z0, x1, z1)
        if any(_overlap2d(fp, zone) for zone in self.zones):
            return False
        for p in self.placed:
            if flat or p.flat:
                if flat and p.flat and _overlap2d(fp, (p.box[0], p.box[2], p.box[3], p.box[5])):
                    return False
            elif _overlap3d(b, p.box):
                return False
        if not flat and y0 < 0.05:
            area = (x1 - x0) * (z1 - z0)
            if not required and self.used + area > self.opts.max_fill * self.area:
                return False
            if not self._walkable(self.blocked | self._footprint_mask(b)):
                return False
        return True

    # ------------------------------------------------------------ poses
    def _wall_pose(self, rb, side: str, corner: bool) -> Tuple[float, float]:
        ix0, iz0, ix1, iz1 = self.inner
        rx0, rz0, rx1, rz1 = rb
        rng = self.rng
        if side in ("-z", "+z"):
            lo, hi = ix0 - rx0, ix1 - rx1
            tx = (lo if rng.random() < 0.5 else hi) if corner else float(rng.uniform(lo, hi)) if hi > lo else lo
            return tx, (iz0 - rz0 if side == "-z" else iz1 - rz1)
        lo, hi = iz0 - rz0, iz1 - rz1
        tz = (lo if rng.random() < 0.5 else hi) if corner else float(rng.uniform(lo, hi)) if hi > lo else lo
        return (ix0 - rx0 if side == "-x" else ix1 - rx1), tz

    def _candidates(self, cat: Category, lb, height: float, attempts: int):
        """Yield candidate poses ``(k, tx, ty, tz)`` for the category's placement kind."""
        ix0, iz0, ix1, iz1 = self.inner
        rng = self.rng
        sides = list(_SIDE_K)
        lens = np.array([ix1 - ix0 if s in ("-z", "+z") else iz1 - iz0 for s in sides])
        for a in range(attempts):
            kind = cat.placement
            if kind in ("wall", "corner", "hung", "window"):
                ok = lens * (self.exterior if kind == "window" else 1.0)
                if ok.sum() <= 0:
                    return
                side = sides[int(rng.choice(4, p=ok / ok.sum()))]
                k = _SIDE_K[side]
                rb = _rot_box(lb, k)
                if rb[2] - rb[0] > ix1 - ix0 or rb[3] - rb[1] > iz1 - iz0:
                    continue
                tx, tz = self._wall_pose(rb, side, kind == "corner")
                ty = float(rng.uniform(*cat.elevation)) if kind in ("hung", "window") else 0.0
                yield k, tx, ty, tz
            elif kind == "ceiling":
                rx0, rz0, rx1, rz1 = _rot_box(lb, 0)
                jx, jz = (0.0, 0.0) if a == 0 else rng.uniform(-0.3, 0.3, 2)
                yield 0, (ix0 + ix1) / 2 - (rx0 + rx1) / 2 + jx, self.plan.wall_height - height, (iz0 + iz1) / 2 - (rz0 + rz1) / 2 + jz
            elif kind in ("center", "floor"):
                k = int(rng.integers(4)) if kind == "center" else int(rng.integers(2))
                rx0, rz0, rx1, rz1 = _rot_box(lb, k)
                # keep free-standing pieces away from walls, but let late attempts use the whole room
                m = (0.6 if kind == "center" else 0.3) if a < attempts // 2 else 0.1
                cx, cz = (ix0 + ix1) / 2 - (rx0 + rx1) / 2, (iz0 + iz1) / 2 - (rz0 + rz1) / 2
                sx = max(0.0, (ix1 - ix0 - (rx1 - rx0)) / 2 - m)
                sz = max(0.0, (iz1 - iz0 - (rz1 - rz0)) / 2 - m)
                f = 0.0 if a == 0 else 1.0
                yield k, cx + f * float(rng.uniform(-sx, sx)), 0.0, cz + f * float(rng.uniform(-sz, sz))
            elif kind == "on":
                sup = [p for p in self.placed if p.category in cat.supports]
                if not sup:
                    return
                p = sup[int(rng.integers(len(sup)))]
                rx0, rz0, rx1, rz1 = _rot_box(lb, p.k)
                lo_x, hi_x = p.box[0] + 0.02 - rx0, p.box[3] - 0.02 - rx1
                lo_z, hi_z = p.box[2] + 0.02 - rz0, p.box[5] - 0.02 - rz1
                if hi_x < lo_x or hi_z < lo_z:
                    continue
                yield p.k, float(rng.uniform(lo_x, hi_x)), p.box[4], float(rng.uniform(lo_z, hi_z))

    def _exhaustive(self, cat: Category, lb, height: float):
        """Every pose on a 10 cm lattice (random order): the last resort for required items."""
        ix0, iz0, ix1, iz1 = self.inner
        poses = []
        if cat.placement in ("wall", "corner"):
            for side, k in _SIDE_K.items():
                rx0, rz0, rx1, rz1 = _rot_box(lb, k)
                if side in ("-z", "+z"):
                    tz = iz0 - rz0 if side == "-z" else iz1 - rz1
                    poses += [(k, tx, 0.0, tz) for tx in np.arange(ix0 - rx0, ix1 - rx1 + 1e-9, 0.1)]
                else:
                    tx = ix0 - rx0 if side == "-x" else ix1 - rx1
                    poses += [(k, tx, 0.0, tz) for tz in np.arange(iz0 - rz0, iz1 - rz1 + 1e-9, 0.1)]
        elif cat.placement == "center":
            for k in range(4):
                rx0, rz0, rx1, rz1 = _rot_box(lb, k)
                for tx in np.arange(ix0 - rx0, ix1 - rx1 + 1e-9, 0.1):
                    poses += [(k, tx, 0.0, tz) for tz in np.arange(iz0 - rz0, iz1 - rz1 + 1e-9, 0.1)]
        for i in self.rng.permutation(len(poses)):
            k, tx, ty, tz = poses[int(i)]
            yield k, float(tx), ty, float(tz)

    def _anchor_slots(self, cat: Category, lb, parent: Placed):
        """Poses of an anchored child around ``parent`` (in world), in random order."""
        px0, pz0, px1, pz1 = parent.local
        slots = []  # (k_rel, tx, tz) in the parent's frame
        if cat.name == "nightstand":
            slots += self._beside(lb, parent, 0.03)
        elif cat.name == "chair":
            gap = 0.06
            for k_rel, side in ((2, "+z"), (0, "-z"), (3, "+x"), (1, "-x")):
                r = _rot_box(lb, k_rel)
                if side in ("+z", "-z"):
                    n = max(1, int((px1 - px0) // 0.6))
                    tz = pz1 + gap - r[1] if side == "+z" else pz0 - gap - r[3]
                    for i in range(n):
                        cx = px0 + (i + 0.5) * (px1 - px0) / n
                        slots.append((k_rel, cx - (r[0] + r[2]) / 2, tz))
                else:
                    tx = px1 + gap - r[0] if side == "+x" else px0 - gap - r[2]
                    slots.append((k_rel, tx, (pz0 + pz1) / 2 - (r[1] + r[3]) / 2))
        elif cat.name == "coffee table":
            r = _rot_box(lb, 0)
            slots.append((0, (px0 + px1) / 2 - (r[0] + r[2]) / 2, pz1 + float(self.rng.uniform(0.35, 0.5)) - r[1]))
        elif cat.name == "office chair":
            r = _rot_box(lb, 2)
            slots.append((2, (px0 + px1) / 2 - (r[0] + r[2]) / 2 - 0.1, pz1 + 0.05 - r[1]))
        order = self.rng.permutation(len(slots)) if cat.name != "chair" else np.arange(len(slots))
        for i in order:
            k_rel, tx, tz = slots[int(i)]
            off = rotate_y_quarter(np.array([[tx, 0.0, tz]]), parent.k)[0]
            yield (parent.k + k_rel) % 4, parent.t[0] + off[0], 0.0, parent.t[2] + off[2]

    @staticmethod
    def _beside(lb, parent: Placed, gap: float) -> List[Tuple[int, float, float]]:
        """Slots ``(k_rel, tx, tz)`` left and right of ``parent``, backs aligned (parent frame)."""
        px0, pz0, px1, pz1 = parent.local
        r = _rot_box(lb, 0)
        return [(0, px1 + gap - r[0], pz0 - r[1]), (0, px0 - gap - r[2], pz0 - r[1])]

    def _preferred(self, cat: Category, lb):
        """Poses next to (``NEAR``) or facing (``FACING``) placed pieces, tried before free ones."""
        if cat.name in NEAR:
            names, gap = NEAR[cat.name]
            for p in [p for p in self.placed if p.category in names]:
                for i in self.rng.permutation(2):
                    k_rel, tx, tz = self._beside(lb, p, gap)[int(i)]
                    off = rotate_y_quarter(np.array([[tx, 0.0, tz]]), p.k)[0]
                    yield p.k, p.t[0] + off[0], 0.0, p.t[2] + off[2]
        if cat.name in FACING:
            ix0, iz0, ix1, iz1 = self.inner
            for p in [p for p in self.placed if p.category == FACING[cat.name]]:
                k = (p.k + 2) % 4  # back to the wall the other piece looks at
                rx0, rz0, rx1, rz1 = _rot_box(lb, k)
                cx, cz = (p.box[0] + p.box[3]) / 2, (p.box[2] + p.box[5]) / 2
                for shift in (0.0, 0.4, -0.4, 0.8, -0.8):
                    if k in (0, 2):  # backs onto the -z (k=0) or +z (k=2) wall
                        tz = iz0 - rz0 if k == 0 else iz1 - rz1
                        yield k, cx + shift - (rx0 + rx1) / 2, 0.0, tz
                    else:
                        tx = ix0 - rx0 if k == 1 else ix1 - rx1
                        yield k, tx, 0.0, cz + shift - (rz0 + rz1) / 2

    # ------------------------------------------------------------ place
    def _draw(self, cat: Category, shrink: float):
        (w0, w1), (d0, d1), (h0, h1) = cat.size
        rng = self.rng
        w = w0 + (w1 - w0) * float(rng.random()) * shrink
        d = d0 + (d1 - d0) * float(rng.random()) * shrink
        h = h0 + (h1 - h0) * float(rng.random())
        parts = cat.build(w, d, h, rng)
        allv = np.concatenate([m[0] for m, _ in parts])
        lb = (float(allv[:, 0].min()), float(allv[:, 2].min()), float(allv[:, 0].max()), float(allv[:, 2].max()))
        return parts, lb, float(allv[:, 1].min()), float(allv[:, 1].max())

    def place(self, cat: Category, required: bool, color: Optional[str] = None, parent: Optional[Placed] = None) -> Optional[Placed]:
        """Try to place one object of ``cat``; returns it or None."""
        tries = (1.0, 0.5, 0.0, -1.0) if required else (1.0,)
        for shrink in tries:
            parts, lb, ly0, ly1 = self._draw(cat, max(shrink, 0.0))
            flat = cat.placement == "floor"
            if parent is not None:
                poses = self._anchor_slots(cat, lb, parent)
            elif shrink < 0:
                # last resort: every lattice pose, with door zones at the contract's 0.9 m minimum
                self.zones = door_zones(self.plan, self.room, min(self.opts.door_clearance, 0.9))
                poses = self._exhaustive(cat, lb, ly1)
            else:
                poses = itertools.chain(self._preferred(cat, lb), self._candidates(cat, lb, ly1, 25 if required else 12))
            for k, tx, ty, tz in poses:
                rb = _rot_box(lb, k)
                b = (rb[0] + tx, ly0 + ty, rb[1] + tz, rb[2] + tx, ly1 + ty, rb[3] + tz)
                if not self.fits(b, flat, required):
                    continue
                p = Placed(cat.name, b, k, (tx, ty, tz), lb, flat)
                self._emit(cat, p, parts, color)
                self.zones = self.full_zones
                return p
        self.zones = self.full_zones
        return None

    def _emit(self, cat: Category, p: Placed, parts, color: Optional[str]) -> None:
        color = color or cat.colors[int(self.rng.integers(len(cat.colors)))]
        oid = len(self.objects)
        for (v, f, uv), slot in parts:
            mat = self.mats.slot(slot, color, cat.surface)
            self.mb.add((rotate_y_quarter(v, p.k) + np.asarray(p.t), f, uv / self.mats.repeat[mat]), oid, mat)
        self.objects.append(SceneObject(oid, cat.name, color, self.room.id, tuple(p.box[:3]), tuple(p.box[3:])))
        self.placed.append(p)
        if not p.flat and p.box[1] < 0.05:
            self.used += (p.box[3] - p.box[0]) * (p.box[5] - p.box[2])
            self.blocked |= self._footprint_mask(p.box)

    def furnish(self) -> None:
        """Place the room type's programme: required items first, then the optional ones in order."""
        rng = self.rng
        required = set(REQUIRED.get(self.room.type, ()))
        programme = ROOM_FURNITURE.get(self.room.type, ())
        for name, _, _ in programme:
            if name in required:
                self.place(CATEGORIES[name], True)
        for name, prob, (lo, hi) in programme:
            cat = CATEGORIES[name]
            if name in required:
                # more of a required piece (a run of counters) are best effort, in programme order
                for _ in range(int(rng.integers(lo, hi + 1)) - 1):
                    if self.place(cat, False) is None:
                        break
                continue
            if name == "shower" and any(p.category == "bathtub" for p in self.placed):
                continue
            if rng.random() >= min(1.0, prob * self.opts.furniture_density):
                continue
            n = int(rng.integers(lo, hi + 1))
            if name in ANCHORS:
                parents = [p for p in self.placed if p.category in ANCHORS[name][0]]
                for parent in parents:
                    color = cat.colors[int(rng.integers(len(cat.colors)))]
                    for _ in range(n):
                        if self.place(cat, False, color, parent) is None:
                            break
                continue
            for _ in range(n):
                if self.place(cat, False) is None:
                    break
        if self.area > 16.0:
            # big rooms: one more, sparser pass over the repeatable items
            for name, prob, _ in programme:
                if name in SINGLETONS or name in ANCHORS or name in required:
                    continue
                if rng.random() < 0.5 * min(1.0, prob * self.opts.furniture_density):
                    self.place(CATEGORIES[name], False)


# -------------------------------------------------------------------- public
def build_house(plan: FloorPlan, options: Optional[HouseOptions] = None) -> Scene:
    """Turn a floor plan into a ``Scene`` (structure, textures and furniture)."""
    opts = options or HouseOptions()
    opts.validate()
    rng = np.random.default_rng([plan.seed, 1])
    textures = TextureCache(plan.seed, opts.texture_size)
    mats = MaterialTable(textures)
    looks = _room_looks(plan, mats, rng)
    mb = MeshBuilder()
    objects: List[SceneObject] = []
    _build_structure(plan, looks, mats, mb, objects)
    if opts.furniture:
        for r in plan.rooms:
            RoomFurnisher(plan, r, opts, rng, mats, mb, objects).furnish()
    v, f, uv, fo, fm = mb.arrays()
    rooms = [Room(r.id, r.type, r.polygon) for r in plan.rooms]
    return Scene(v, f, fo, fm, uv, mats.materials, objects, rooms, None, f"house_{plan.seed:05d}")


def generate_house(seed: int, num_rooms: Optional[int] = None, **options) -> Scene:
    """A deterministic procedural house (default ``num_rooms`` drawn in 4..8 from ``seed``).

    Options: the fields of ``PlanOptions`` (wall_thickness, wall_height, door_height,
    min_door_width, max_door_width, hallway, extra_door_prob) and of ``HouseOptions``
    (furniture, furniture_density, max_fill, door_clearance, texture_size).
    """
    plan_opts, rest = split_options(options, PlanOptions)
    house_opts, rest = split_options(rest, HouseOptions)
    if rest:
        known = [f.name for f in fields(PlanOptions)] + [f.name for f in fields(HouseOptions)]
        raise ConfigError(f"unknown generate_house option(s) {sorted(rest)}; expected any of {known}")
    house_opts.validate()
    plan = _generate_plan(seed, num_rooms, plan_opts)
    return build_house(plan, house_opts)
