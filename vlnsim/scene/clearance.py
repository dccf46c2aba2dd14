"""Room clearance: doorway zones, the walkability grid and wall-backed spots for furniture.

The furniture placer (``furnish``) keeps every doorway's clearance zone free and every
doorway of a room reachable from every other; the floor-plan generator (``floorplan``)
uses the same zones, grid and pose lattice to reject plans whose bedroom could not hold
a bed, so that a plan it accepts is furnishable by the placer's own rules.

Footprints are ``(x0, z0, x1, z1)`` rectangles in world (x, z); boxes are
``(x0, y0, z0, x1, y1, z1)``.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from .plan_model import FRAME_W, FloorPlan, PlanRoom

Rect = Tuple[float, float, float, float]

AGENT_CLEAR = 0.15  # agent radius (0.1 m) plus a margin, for the walkability check
CELL = 0.1  # walkability grid cell, metres
MIN_DOOR_CLEARANCE = 0.9  # the contract's smallest furniture-free depth in front of a doorway
WALL_GAP = 0.01  # furniture keeps this far inside the wall faces
LATTICE = 0.1  # step of the exhaustive pose lattice, metres

# side of the room a wall-placed object backs onto -> quarter turns that face it inwards
SIDE_K = {"-z": 0, "+x": 3, "+z": 2, "-x": 1}


def overlap2d(a: Sequence[float], b: Sequence[float]) -> bool:
    """Interiors of footprints ``(x0, z0, x1, z1)`` intersect."""
    return a[0] < b[2] - 1e-6 and b[0] < a[2] - 1e-6 and a[1] < b[3] - 1e-6 and b[1] < a[3] - 1e-6


def overlap3d(a: Sequence[float], b: Sequence[float]) -> bool:
    """Interiors of boxes ``(x0, y0, z0, x1, y1, z1)`` intersect."""
    return all(a[i] < b[i + 3] - 1e-6 and b[i] < a[i + 3] - 1e-6 for i in range(3))


def rot_box(lb: Sequence[float], k: int) -> Rect:
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


def door_zones(plan: FloorPlan, room: PlanRoom, depth: float) -> List[Rect]:
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


def furniture_rect(plan: FloorPlan, room: PlanRoom) -> Rect:
    """The rectangle furniture footprints must stay within: the wall faces less ``WALL_GAP``."""
    ix0, iz0, ix1, iz1 = room.interior(plan.wall_thickness)
    return (ix0 + WALL_GAP, iz0 + WALL_GAP, ix1 - WALL_GAP, iz1 - WALL_GAP)


class WalkGrid:
    """Walkable cells of a room's free floor and the cells in front of its doorways.

    Cells closer than ``AGENT_CLEAR`` to a wall face are blocked from the start; each
    doorway's cell is the middle of its ``MIN_DOOR_CLEARANCE`` zone, which no furniture
    may enter whatever the house's ``door_clearance``, so the cell never moves with it.
    """

    def __init__(self, plan: FloorPlan, room: PlanRoom):
        ix0, iz0, ix1, iz1 = room.interior(plan.wall_thickness)
        nx, nz = max(1, int(np.ceil((ix1 - ix0) / CELL))), max(1, int(np.ceil((iz1 - iz0) / CELL)))
        self.gx = ix0 + (np.arange(nx) + 0.5) * (ix1 - ix0) / nx
        self.gz = iz0 + (np.arange(nz) + 0.5) * (iz1 - iz0) / nz
        bx = (self.gx < ix0 + AGENT_CLEAR) | (self.gx > ix1 - AGENT_CLEAR)
        bz = (self.gz < iz0 + AGENT_CLEAR) | (self.gz > iz1 - AGENT_CLEAR)
        self.walls = bz[:, None] | bx[None, :]
        self.door_cells = []
        for zone in door_zones(plan, room, MIN_DOOR_CLEARANCE):
            cx, cz = (zone[0] + zone[2]) / 2, (zone[1] + zone[3]) / 2
            self.door_cells.append((int(np.argmin(np.abs(self.gz - cz))), int(np.argmin(np.abs(self.gx - cx)))))

    def footprint(self, b: Sequence[float]) -> np.ndarray:
        """Cells an agent cannot stand on because of the box ``b`` (footprint grown by ``AGENT_CLEAR``)."""
        mx = (self.gx > b[0] - AGENT_CLEAR) & (self.gx < b[3] + AGENT_CLEAR)
        mz = (self.gz > b[2] - AGENT_CLEAR) & (self.gz < b[5] + AGENT_CLEAR)
        return mz[:, None] & mx[None, :]

    def walkable(self, blocked: np.ndarray) -> bool:
        """All doorway cells free and in one component holding >= 70 % of the free cells."""
        free = ~blocked
        labels, _ = ndimage.label(free)
        ids = {int(labels[c]) for c in self.door_cells}
        if 0 in ids or len(ids) != 1:
            return False
        comp = int((labels == ids.pop()).sum())
        return comp >= 0.7 * int(free.sum())


def wall_lattice(inner: Rect, lb: Sequence[float]) -> List[Tuple[int, float, float, float]]:
    """Poses ``(k, tx, 0.0, tz)`` on a ``LATTICE`` grid that put local footprint ``lb``'s back to a wall of ``inner``."""
    ix0, iz0, ix1, iz1 = inner
    poses = []
    for side, k in SIDE_K.items():
        rx0, rz0, rx1, rz1 = rot_box(lb, k)
        if side in ("-z", "+z"):
            tz = iz0 - rz0 if side == "-z" else iz1 - rz1
            poses += [(k, tx, 0.0, tz) for tx in np.arange(ix0 - rx0, ix1 - rx1 + 1e-9, LATTICE)]
        else:
            tx = ix0 - rx0 if side == "-x" else ix1 - rx1
            poses += [(k, tx, 0.0, tz) for tz in np.arange(iz0 - rz0, iz1 - rz1 + 1e-9, LATTICE)]
    return poses


def wall_spot(plan: FloorPlan, room: PlanRoom, lb: Sequence[float]) -> Optional[Tuple[int, float, float]]:
    """A lattice pose ``(k, tx, tz)`` for footprint ``lb`` against a wall of the empty ``room``, or None.

    The pose is clear of the ``MIN_DOOR_CLEARANCE`` zones and keeps the room walkable:
    exactly the furniture placer's last resort for a required wall piece placed first.
    """
    inner = furniture_rect(plan, room)
    zones = door_zones(plan, room, MIN_DOOR_CLEARANCE)
    grid = WalkGrid(plan, room)
    for k, tx, _, tz in wall_lattice(inner, lb):
        rx0, rz0, rx1, rz1 = rot_box(lb, k)
        fp = (rx0 + tx, rz0 + tz, rx1 + tx, rz1 + tz)
        if fp[0] < inner[0] - 1e-6 or fp[1] < inner[1] - 1e-6 or fp[2] > inner[2] + 1e-6 or fp[3] > inner[3] + 1e-6:
            continue
        if any(overlap2d(fp, zone) for zone in zones):
            continue
        if grid.walkable(grid.walls | grid.footprint((fp[0], 0.0, fp[1], fp[2], 0.0, fp[3]))):
            return k, float(tx), float(tz)
    return None
