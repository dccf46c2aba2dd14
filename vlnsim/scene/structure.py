"""House structure: floor and ceiling slabs, walls, door openings with casings, skirting.

Geometry conventions:

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
- Object ids: floors, ceilings, wall runs, door frames and doorways (interleaved per
  door), then skirting; ids equal list positions.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from .floorplan import Door, FloorPlan, PlanRoom
from .looks import MaterialTable, RoomLook
from .model import SceneObject
from .plan_model import FRAME_W
from .primitives import MeshBuilder, box, box_face_index

FRAME_E = 0.015  # how far the casing stands proud of the wall faces
SLAB = 0.1  # floor/ceiling slab thickness


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


def build_structure(plan: FloorPlan, looks: Dict[int, RoomLook], mats: MaterialTable, mb: MeshBuilder,
                    objects: List[SceneObject]) -> None:
    """Add the floors, ceilings, walls, doors and skirting of ``plan`` to ``mb`` and ``objects``."""
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
