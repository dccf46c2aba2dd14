"""Procedural houses: floor plan -> walls, floors, ceilings, doorways, furniture.

``generate_house(seed)`` is the embedded default scene dataset. It draws a floor plan
(``floorplan``), gives each room its floor and wall looks (``looks``), builds the
structure (``structure``: slabs, walls, door openings and casings, skirting) and places
each room's furniture (``furnish``, from the ``catalogue``). The floor is at y = 0.

- Object ids: floors, ceilings, wall runs, door frames and doorways (interleaved per
  door), skirting, then furniture room by room; ids equal list positions.
- Textures are world-scaled: UVs are surface metres over ``TEXTURE_REPEAT_M[kind]``, so
  they run outside [0, 1] and the renderer must wrap (it does: repeat).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import List, Optional

import numpy as np

from ..errors import ConfigError
from .clearance import AGENT_CLEAR, CELL, door_zones  # noqa: F401  (re-exported)
from .floorplan import FloorPlan, PlanOptions, _generate_plan, generate_plan, split_options
from .furnish import Placed, RoomFurnisher  # noqa: F401  (re-exported)
from .looks import MaterialTable, RoomLook, room_looks  # noqa: F401  (re-exported)
from .model import Room, Scene, SceneObject
from .primitives import MeshBuilder
from .structure import FRAME_E, FRAME_W, SLAB, build_structure  # noqa: F401  (re-exported)
from .textures import TextureCache

__all__ = ["generate_house", "generate_plan", "build_house", "HouseOptions", "FloorPlan", "PlanOptions"]


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


def build_house(plan: FloorPlan, options: Optional[HouseOptions] = None) -> Scene:
    """Turn a floor plan into a ``Scene`` (structure, textures and furniture)."""
    opts = options or HouseOptions()
    opts.validate()
    rng = np.random.default_rng([plan.seed, 1])
    textures = TextureCache(plan.seed, opts.texture_size)
    mats = MaterialTable(textures)
    looks = room_looks(plan, mats, rng)
    mb = MeshBuilder()
    objects: List[SceneObject] = []
    build_structure(plan, looks, mats, mb, objects)
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
