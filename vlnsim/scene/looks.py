"""House materials: a deduplicating material table and each room's floor and wall looks.

Floors take a texture kind and colour drawn by room type (tiles in bathrooms, carpet or
wood in bedrooms, ...); walls take a paint, a different one per room while the palette
lasts, or tiles in wet rooms. Furniture takes the looks of its catalogue slots
(``MaterialTable.slot``). Textures are world-scaled: ``MaterialTable.repeat`` holds the
metres per texture repeat (``TEXTURE_REPEAT_M``) that mesh UVs are divided by.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from .catalogue import COLORS, SLOT_LOOKS
from .floorplan import FloorPlan
from .model import Material
from .textures import TEXTURE_REPEAT_M, TextureCache

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
    """Material indices (and names) of one room's floor, walls and ceiling."""

    floor: int
    wall: int
    ceiling: int
    floor_name: str
    wall_name: str


def room_looks(plan: FloorPlan, mats: MaterialTable, rng: np.random.Generator) -> Dict[int, RoomLook]:
    """Floor, wall and ceiling materials of every room of ``plan``, drawn from ``rng``."""
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
