"""Furniture placement: each room's programme from the catalogue, by placement rules.

``RoomFurnisher`` places a room's programme (``catalogue.ROOM_FURNITURE``): required
items first, then optional ones. Every piece stays inside the room's wall faces, never
in a doorway's clearance zone (``door_clearance`` m deep on both sides, as wide as the
casing plus 0.1 m), without overlaps, keeping every doorway of the room reachable from
every other for an agent of radius 0.1 m (grid check, ``clearance.WalkGrid``), and
covering at most ``max_fill`` of the floor with optional pieces. Windows ("window",
room set) hang on exterior walls only; "ceiling lamp"s hang at the room centre.
Furniture objects get the ids after the structure's, room by room.

Overlap rule (what tests check): the 3D bounding boxes of two objects never share
interior volume, except that flat floor coverings ("rug", height <= 0.02 m) may lie
under other objects (but not under each other). Objects standing on others ("on"
placement: tv, microwave, table lamp) touch their support's top face only.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import numpy as np

from .catalogue import ANCHORS, CATEGORIES, FACING, NEAR, REQUIRED, ROOM_FURNITURE, SINGLETONS, Category
from .clearance import (MIN_DOOR_CLEARANCE, SIDE_K, WalkGrid, door_zones, furniture_rect, overlap2d, overlap3d, rot_box,
                        wall_lattice)
from .floorplan import FloorPlan, PlanRoom
from .looks import MaterialTable
from .model import SceneObject
from .primitives import MeshBuilder, rotate_y_quarter

if TYPE_CHECKING:  # house imports this module; the options are only read here
    from .house import HouseOptions


@dataclass
class Placed:
    """A placed object: category, world bbox ``(x0, y0, z0, x1, y1, z1)``, pose and local bbox."""

    category: str
    box: Tuple[float, float, float, float, float, float]
    k: int
    t: Tuple[float, float, float]
    local: Tuple[float, float, float, float]
    flat: bool


class RoomFurnisher:
    """Places a room's furniture programme (``catalogue.ROOM_FURNITURE``) by the rules above."""

    def __init__(self, plan: FloorPlan, room: PlanRoom, opts: HouseOptions, rng: np.random.Generator,
                 mats: MaterialTable, mb: MeshBuilder, objects: List[SceneObject]):
        self.plan, self.room, self.opts, self.rng = plan, room, opts, rng
        self.mats, self.mb, self.objects = mats, mb, objects
        ix0, iz0, ix1, iz1 = room.interior(plan.wall_thickness)
        self.inner = furniture_rect(plan, room)
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
        # walkability of the free floor; furniture on the floor adds to ``blocked``
        self.grid = WalkGrid(plan, room)
        self.blocked = self.grid.walls.copy()

    # ----------------------------------------------------------- checks
    def fits(self, b: Sequence[float], flat: bool, required: bool) -> bool:
        """Whether a world box may be added (inside, clear of doors and others, walkable)."""
        x0, y0, z0, x1, y1, z1 = b
        ix0, iz0, ix1, iz1 = self.inner
        if x0 < ix0 - 1e-6 or z0 < iz0 - 1e-6 or x1 > ix1 + 1e-6 or z1 > iz1 + 1e-6 or y1 > self.plan.wall_height + 1e-6:
            return False
        fp = (x0, z0, x1, z1)
        if any(overlap2d(fp, zone) for zone in self.zones):
            return False
        for p in self.placed:
            if flat or p.flat:
                if flat and p.flat and overlap2d(fp, (p.box[0], p.box[2], p.box[3], p.box[5])):
                    return False
            elif overlap3d(b, p.box):
                return False
        if not flat and y0 < 0.05:
            area = (x1 - x0) * (z1 - z0)
            if not required and self.used + area > self.opts.max_fill * self.area:
                return False
            if not self.grid.walkable(self.blocked | self.grid.footprint(b)):
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
        sides = list(SIDE_K)
        lens = np.array([ix1 - ix0 if s in ("-z", "+z") else iz1 - iz0 for s in sides])
        for a in range(attempts):
            kind = cat.placement
            if kind in ("wall", "corner", "hung", "window"):
                ok = lens * (self.exterior if kind == "window" else 1.0)
                if ok.sum() <= 0:
                    return
                side = sides[int(rng.choice(4, p=ok / ok.sum()))]
                k = SIDE_K[side]
                rb = rot_box(lb, k)
                if rb[2] - rb[0] > ix1 - ix0 or rb[3] - rb[1] > iz1 - iz0:
                    continue
                tx, tz = self._wall_pose(rb, side, kind == "corner")
                ty = float(rng.uniform(*cat.elevation)) if kind in ("hung", "window") else 0.0
                yield k, tx, ty, tz
            elif kind == "ceiling":
                rx0, rz0, rx1, rz1 = rot_box(lb, 0)
                jx, jz = (0.0, 0.0) if a == 0 else rng.uniform(-0.3, 0.3, 2)
                yield 0, (ix0 + ix1) / 2 - (rx0 + rx1) / 2 + jx, self.plan.wall_height - height, (iz0 + iz1) / 2 - (rz0 + rz1) / 2 + jz
            elif kind in ("center", "floor"):
                k = int(rng.integers(4)) if kind == "center" else int(rng.integers(2))
                rx0, rz0, rx1, rz1 = rot_box(lb, k)
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
                rx0, rz0, rx1, rz1 = rot_box(lb, p.k)
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
            poses += wall_lattice(self.inner, lb)
        elif cat.placement == "center":
            for k in range(4):
                rx0, rz0, rx1, rz1 = rot_box(lb, k)
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
                r = rot_box(lb, k_rel)
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
            r = rot_box(lb, 0)
            slots.append((0, (px0 + px1) / 2 - (r[0] + r[2]) / 2, pz1 + float(self.rng.uniform(0.35, 0.5)) - r[1]))
        elif cat.name == "office chair":
            r = rot_box(lb, 2)
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
        r = rot_box(lb, 0)
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
                rx0, rz0, rx1, rz1 = rot_box(lb, k)
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
                self.zones = door_zones(self.plan, self.room, min(self.opts.door_clearance, MIN_DOOR_CLEARANCE))
                poses = self._exhaustive(cat, lb, ly1)
            else:
                poses = itertools.chain(self._preferred(cat, lb), self._candidates(cat, lb, ly1, 25 if required else 12))
            for k, tx, ty, tz in poses:
                rb = rot_box(lb, k)
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
            self.blocked |= self.grid.footprint(p.box)

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
