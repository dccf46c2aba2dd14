"""Floor-plan data: rooms between wall centre lines, doorways, and the plan's options.

Room rectangles are wall *centre-line* rectangles; in a plan they tile the footprint
without gaps, and walls of thickness ``wall_thickness`` are centred on their edges. A
door is an opening in the wall two rooms share. ``floorplan`` lays plans out.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Dict, List, Optional, Tuple

from ..errors import ConfigError

FRAME_W = 0.05  # door casing width beside and above each opening, metres (walls and furniture keep clear)


@dataclass
class PlanOptions:
    """Floor-plan options (keyword arguments of ``generate_plan``/``generate_house``)."""

    wall_thickness: Optional[float] = None
    """Wall thickness in metres (default drawn in [0.10, 0.15])."""
    wall_height: Optional[float] = None
    """Floor-to-ceiling height in metres (default drawn in [2.5, 2.9])."""
    door_height: float = 2.1
    """Height of door openings (top of the clear opening), metres."""
    min_door_width: float = 0.9
    """Smallest clear doorway width, metres (at least 0.8: agent radius 0.1 + margin)."""
    max_door_width: float = 1.1
    """Largest clear doorway width, metres."""
    hallway: Optional[bool] = None
    """Force a hallway on/off (default: by room count and seed)."""
    l_shape: Optional[bool] = None
    """Force an L-shaped (True) or rectangular (False) footprint (default: drawn, ~35%)."""
    extra_door_prob: float = 0.45
    """Chance of an extra door between adjacent public rooms beyond the spanning tree."""

    def validate(self) -> None:
        t = self.wall_thickness
        if t is not None and not (0.05 <= t <= 0.3):
            raise ConfigError(f"wall_thickness={t!r}; expected metres in [0.05, 0.3]")
        h = self.wall_height
        if h is not None and not (2.2 <= h <= 4.0):
            raise ConfigError(f"wall_height={h!r}; expected metres in [2.2, 4.0]")
        if not (1.8 <= self.door_height <= 2.3):
            raise ConfigError(f"door_height={self.door_height!r}; expected metres in [1.8, 2.3]")
        if not (0.8 <= self.min_door_width <= self.max_door_width <= 1.6):
            raise ConfigError(
                f"min_door_width={self.min_door_width!r}, max_door_width={self.max_door_width!r}; "
                "expected 0.8 <= min <= max <= 1.6"
            )
        if not (0.0 <= self.extra_door_prob <= 1.0):
            raise ConfigError(f"extra_door_prob={self.extra_door_prob!r}; expected a probability in [0, 1]")


def split_options(options: dict, cls: type) -> Tuple[object, dict]:
    """Build ``cls`` from the keys of ``options`` it declares; return it and the rest."""
    names = {f.name for f in fields(cls)}
    mine = {k: v for k, v in options.items() if k in names}
    rest = {k: v for k, v in options.items() if k not in names}
    return cls(**mine), rest


@dataclass(frozen=True)
class PlanRoom:
    """A rectangular room between wall centre lines ``[x0, x1] x [z0, z1]``."""

    id: int
    type: str
    x0: float
    z0: float
    x1: float
    z1: float

    @property
    def polygon(self) -> List[Tuple[float, float]]:
        """Counter-clockwise footprint in (x, z) (positive shoelace area)."""
        return [(self.x0, self.z0), (self.x1, self.z0), (self.x1, self.z1), (self.x0, self.z1)]

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def depth(self) -> float:
        return self.z1 - self.z0

    @property
    def area(self) -> float:
        return self.width * self.depth

    def interior(self, wall_thickness: float) -> Tuple[float, float, float, float]:
        """Free floor rectangle between the wall faces ``(x0, z0, x1, z1)``."""
        h = wall_thickness / 2
        return (self.x0 + h, self.z0 + h, self.x1 - h, self.z1 - h)


@dataclass(frozen=True)
class Door:
    """A doorway in the wall between rooms ``rooms[0]`` and ``rooms[1]``.

    ``axis`` is the direction the wall runs: "x" for a wall on the line z = ``line``,
    "z" for a wall on x = ``line``. The clear opening spans ``[start, end]`` along it.
    """

    id: int
    rooms: Tuple[int, int]
    axis: str
    line: float
    start: float
    end: float
    height: float

    @property
    def width(self) -> float:
        return self.end - self.start

    @property
    def segment(self) -> Tuple[Tuple[float, float], Tuple[float, float]]:
        """End points (x, z) of the opening on the wall centre line."""
        if self.axis == "x":
            return (self.start, self.line), (self.end, self.line)
        return (self.line, self.start), (self.line, self.end)

    @property
    def center(self) -> Tuple[float, float]:
        (ax, az), (bx, bz) = self.segment
        return ((ax + bx) / 2, (az + bz) / 2)

    @property
    def normal(self) -> Tuple[float, float]:
        """Unit (x, z) normal of the wall the door is in."""
        return (0.0, 1.0) if self.axis == "x" else (1.0, 0.0)


@dataclass
class FloorPlan:
    """Rooms and doors of one house; room and door ids index their lists."""

    rooms: List[PlanRoom]
    doors: List[Door]
    wall_thickness: float
    wall_height: float
    door_height: float
    seed: int
    hallway: bool = False
    meta: dict = field(default_factory=dict)

    @property
    def bounds(self) -> Tuple[float, float, float, float]:
        """Centre-line footprint ``(x0, z0, x1, z1)``."""
        return (
            min(r.x0 for r in self.rooms),
            min(r.z0 for r in self.rooms),
            max(r.x1 for r in self.rooms),
            max(r.z1 for r in self.rooms),
        )

    def room_at(self, x: float, z: float) -> Optional[PlanRoom]:
        """The room whose centre-line rectangle strictly contains (x, z)."""
        for r in self.rooms:
            if r.x0 < x < r.x1 and r.z0 < z < r.z1:
                return r
        return None

    def doors_of(self, room_id: int) -> List[Door]:
        return [d for d in self.doors if room_id in d.rooms]

    def neighbours(self) -> Dict[int, List[int]]:
        """Room id -> ids of rooms it has a door to."""
        out: Dict[int, List[int]] = {r.id: [] for r in self.rooms}
        for d in self.doors:
            a, b = d.rooms
            out[a].append(b)
            out[b].append(a)
        return out


def shared_wall(a: PlanRoom, b: PlanRoom, eps: float = 1e-6) -> Optional[Tuple[str, float, float, float]]:
    """``(axis, line, start, end)`` of the wall segment rooms ``a`` and ``b`` share, or None."""
    for la, lb in ((a.x1, b.x0), (a.x0, b.x1)):
        if abs(la - lb) < eps:
            s, e = max(a.z0, b.z0), min(a.z1, b.z1)
            if e - s > eps:
                return ("z", la, s, e)
    for la, lb in ((a.z1, b.z0), (a.z0, b.z1)):
        if abs(la - lb) < eps:
            s, e = max(a.x0, b.x0), min(a.x1, b.x1)
            if e - s > eps:
                return ("x", la, s, e)
    return None
