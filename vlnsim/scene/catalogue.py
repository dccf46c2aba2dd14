"""Furniture catalogue: categories, their sizes, colours, placement and room programmes.

Each category names its mesh builder (``catalogue_meshes``: local frame with the front
facing +z, parts naming material slots: "main" takes the object's colour with the
category's surface texture, the other slots are the fixed looks of ``SLOT_LOOKS``).

Placement kinds: "wall" (back against a wall), "corner" (back and one side against
walls), "center" (free standing, away from walls), "floor" (flat covering, may lie
under furniture), "hung" (on a wall above the floor), "on" (on top of a supporting
object), "beside"/"around"/"front" (anchored to a parent object, see ``ANCHORS``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .catalogue_meshes import (  # noqa: F401  (B, fit_uv, Part re-exported)
    B, Part, fit_uv, build_armchair, build_bathtub, build_bean_bag, build_bed, build_bench, build_bookshelf,
    build_cabinet, build_ceiling_lamp, build_chair, build_clock, build_coat_rack, build_coffee_table,
    build_counter, build_desk, build_dresser, build_dryer, build_fireplace, build_floor_lamp,
    build_laundry_basket, build_microwave, build_mirror, build_nightstand, build_office_chair, build_painting,
    build_piano, build_plant, build_refrigerator, build_round_table, build_rug, build_shelving,
    build_shoe_rack, build_shower, build_sink, build_sofa, build_stool, build_stove, build_table,
    build_table_lamp, build_toilet, build_towel_rack, build_toy_box, build_trash_can, build_tv,
    build_tv_stand, build_vase, build_wardrobe, build_washing_machine, build_window,
)

Range = Tuple[float, float]

COLORS: Dict[str, Tuple[float, float, float]] = {
    "white": (0.92, 0.92, 0.9), "black": (0.08, 0.08, 0.09), "gray": (0.5, 0.5, 0.52),
    "light gray": (0.75, 0.75, 0.76), "dark gray": (0.25, 0.25, 0.27), "red": (0.72, 0.12, 0.1),
    "dark red": (0.45, 0.07, 0.08), "orange": (0.9, 0.45, 0.1), "yellow": (0.92, 0.8, 0.2),
    "green": (0.2, 0.55, 0.25), "dark green": (0.1, 0.3, 0.15), "olive": (0.45, 0.45, 0.2),
    "teal": (0.1, 0.5, 0.5), "blue": (0.15, 0.3, 0.75), "navy blue": (0.08, 0.12, 0.35),
    "light blue": (0.55, 0.7, 0.9), "purple": (0.45, 0.2, 0.55), "pink": (0.9, 0.55, 0.65),
    "beige": (0.85, 0.78, 0.62), "cream": (0.95, 0.91, 0.8), "brown": (0.5, 0.32, 0.18),
    "dark brown": (0.3, 0.18, 0.1), "light brown": (0.72, 0.55, 0.36), "silver": (0.78, 0.79, 0.8),
    "mustard": (0.8, 0.62, 0.12),
}

# fixed looks of the non-"main" slots: (colour, texture kind or None)
SLOT_LOOKS: Dict[str, Tuple[Tuple[float, float, float], Optional[str]]] = {
    "wood": ((0.55, 0.36, 0.2), "grain"), "dark wood": ((0.3, 0.19, 0.11), "grain"), "metal": ((0.6, 0.61, 0.63), None),
    "dark": ((0.12, 0.12, 0.13), None), "white": ((0.93, 0.93, 0.91), None), "screen": ((0.03, 0.03, 0.05), None),
    "glass": ((0.55, 0.7, 0.75), None), "leaf": ((0.2, 0.5, 0.18), None), "soil": ((0.25, 0.17, 0.1), None),
    "terracotta": ((0.72, 0.38, 0.22), None), "linen": ((0.94, 0.93, 0.88), "fabric"), "marble": ((0.9, 0.9, 0.88), "marble"),
    "brick": ((0.62, 0.28, 0.2), "brick"), "steel": ((0.8, 0.81, 0.83), None), "mirror": ((0.82, 0.88, 0.92), None),
    "water": ((0.65, 0.8, 0.88), None), "bulb": ((1.0, 0.95, 0.75), None), "paper": ((0.9, 0.88, 0.8), None),
}



@dataclass(frozen=True)
class Category:
    """One furniture category.

    Attributes:
        name: category name recorded in ``SceneObject.category``.
        size: ((w_min, w_max), (d_min, d_max), (h_min, h_max)) metres, w along the wall.
        placement: see the module docstring.
        colors: colour names (keys of ``COLORS``) the "main" slot is drawn from.
        surface: texture kind of the "main" slot (None: plain colour).
        build: mesh builder ``(w, d, h, rng) -> [(mesh, slot)]``.
        elevation: (lo, hi) height of the bottom above the floor, for "hung" objects.
        supports: categories an "on" object may stand on.
    """

    name: str
    size: Tuple[Range, Range, Range]
    placement: str
    colors: Tuple[str, ...]
    surface: Optional[str]
    build: Callable[..., List[Part]]
    elevation: Range = (0.0, 0.0)
    supports: Tuple[str, ...] = ()


_WOODS = ("brown", "dark brown", "light brown", "white", "black")
_FABRICS = ("gray", "dark gray", "beige", "blue", "navy blue", "green", "red", "mustard", "teal", "cream")
_APPLIANCE = ("white", "silver", "black")

_CATS = [
    Category("bed", ((1.0, 1.8), (1.95, 2.15), (0.9, 1.15)), "wall", ("white", "blue", "gray", "beige", "pink", "green", "red", "navy blue"), "fabric", build_bed),
    Category("sofa", ((1.6, 2.3), (0.85, 0.95), (0.8, 0.9)), "wall", _FABRICS, "fabric", build_sofa),
    Category("armchair", ((0.75, 0.9), (0.8, 0.9), (0.8, 0.95)), "corner", _FABRICS, "fabric", build_armchair),
    Category("table", ((0.8, 1.2), (0.6, 0.8), (0.72, 0.76)), "center", _WOODS, "wood", build_table),
    Category("chair", ((0.42, 0.48), (0.45, 0.5), (0.85, 0.95)), "around", ("brown", "dark brown", "black", "white", "red", "light brown"), None, build_chair),
    Category("desk", ((1.1, 1.5), (0.6, 0.7), (0.73, 0.76)), "wall", _WOODS, "wood", build_desk),
    Category("office chair", ((0.5, 0.55), (0.5, 0.55), (0.9, 1.05)), "front", ("black", "gray", "blue", "red"), "fabric", build_office_chair),
    Category("wardrobe", ((1.0, 1.6), (0.55, 0.62), (1.9, 2.2)), "wall", _WOODS, "wood", build_wardrobe),
    Category("bookshelf", ((0.8, 1.2), (0.3, 0.35), (1.5, 2.0)), "wall", _WOODS, "wood", build_bookshelf),
    Category("tv", ((0.8, 1.3), (0.2, 0.25), (0.5, 0.75)), "on", ("black",), None, build_tv, supports=("tv stand", "dresser")),
    Category("window", ((0.8, 1.8), (0.08, 0.08), (1.1, 1.4)), "window", ("white", "dark brown", "black", "light gray"), None, build_window, elevation=(0.85, 1.0)),
    Category("ceiling lamp", ((0.3, 0.5), (0.3, 0.5), (0.45, 0.6)), "ceiling", ("white", "black", "beige", "silver", "orange"), None, build_ceiling_lamp),
    Category("tv stand", ((1.2, 1.8), (0.4, 0.45), (0.45, 0.55)), "wall", _WOODS, "wood", build_tv_stand),
    Category("refrigerator", ((0.6, 0.8), (0.65, 0.72), (1.7, 1.95)), "wall", _APPLIANCE, None, build_refrigerator),
    Category("stove", ((0.6, 0.76), (0.6, 0.65), (0.88, 0.92)), "wall", _APPLIANCE, None, build_stove),
    Category("sink", ((0.6, 1.0), (0.5, 0.6), (0.85, 0.9)), "wall", ("white", "light brown", "gray", "navy blue", "dark brown"), None, build_sink),
    Category("toilet", ((0.38, 0.45), (0.65, 0.72), (0.75, 0.8)), "wall", ("white",), None, build_toilet),
    Category("bathtub", ((1.5, 1.7), (0.7, 0.8), (0.55, 0.6)), "wall", ("white", "cream"), None, build_bathtub),
    Category("shower", ((0.8, 0.95), (0.8, 0.95), (2.0, 2.1)), "corner", ("white", "light blue", "light gray"), "tiles", build_shower),
    Category("plant", ((0.35, 0.55), (0.35, 0.55), (0.6, 1.5)), "corner", ("green", "dark green", "olive"), None, build_plant),
    Category("lamp", ((0.35, 0.45), (0.35, 0.45), (1.45, 1.7)), "corner", ("white", "cream", "black", "beige", "orange"), None, build_floor_lamp),
    Category("table lamp", ((0.22, 0.3), (0.22, 0.3), (0.35, 0.5)), "on", ("white", "blue", "green", "yellow", "red"), None, build_table_lamp, supports=("nightstand", "desk", "dresser", "side table")),
    Category("vase", ((0.14, 0.2), (0.14, 0.2), (0.3, 0.45)), "on", ("blue", "white", "red", "teal", "yellow", "black"), None, build_vase, supports=("dining table", "coffee table", "side table", "cabinet", "dresser", "round table", "table")),
    Category("rug", ((1.4, 2.4), (1.0, 1.7), (0.01, 0.01)), "floor", ("red", "beige", "gray", "blue", "green", "cream", "dark red", "purple"), "carpet", build_rug),
    Category("painting", ((0.5, 1.1), (0.03, 0.03), (0.4, 0.8)), "hung", ("blue", "red", "yellow", "green", "orange", "purple", "teal"), "art", build_painting, elevation=(1.2, 1.5)),
    Category("washing machine", ((0.58, 0.62), (0.58, 0.65), (0.82, 0.86)), "wall", ("white", "silver", "gray"), None, build_washing_machine),
    Category("clothes dryer", ((0.58, 0.62), (0.58, 0.65), (0.82, 0.86)), "wall", ("white", "silver", "dark gray"), None, build_dryer),
    Category("nightstand", ((0.4, 0.55), (0.38, 0.45), (0.5, 0.6)), "beside", _WOODS, "wood", build_nightstand),
    Category("dresser", ((0.8, 1.4), (0.45, 0.5), (0.75, 0.95)), "wall", _WOODS, "wood", build_dresser),
    Category("coffee table", ((0.9, 1.2), (0.5, 0.65), (0.4, 0.46)), "front", _WOODS, "wood", build_coffee_table),
    Category("dining table", ((1.4, 2.0), (0.85, 1.0), (0.74, 0.77)), "center", _WOODS, "wood", build_table),
    Category("round table", ((0.8, 1.0), (0.8, 1.0), (0.72, 0.76)), "center", _WOODS, "wood", build_round_table),
    Category("kitchen counter", ((0.9, 2.0), (0.6, 0.65), (0.88, 0.92)), "wall", ("white", "light gray", "navy blue", "dark green", "light brown", "dark brown"), None, build_counter),
    Category("cabinet", ((0.6, 1.2), (0.4, 0.5), (0.8, 1.2)), "wall", _WOODS, "wood", build_cabinet),
    Category("microwave", ((0.45, 0.55), (0.35, 0.4), (0.28, 0.32)), "on", _APPLIANCE, None, build_microwave, supports=("kitchen counter",)),
    Category("mirror", ((0.5, 0.9), (0.03, 0.03), (0.6, 1.0)), "hung", ("silver", "black", "white", "dark brown"), None, build_mirror, elevation=(1.0, 1.2)),
    Category("towel rack", ((0.5, 0.7), (0.1, 0.1), (0.5, 0.6)), "hung", ("white", "blue", "red", "green", "beige", "pink"), "fabric", build_towel_rack, elevation=(0.9, 1.1)),
    Category("shoe rack", ((0.6, 1.0), (0.3, 0.35), (0.4, 0.55)), "wall", _WOODS, "wood", build_shoe_rack),
    Category("piano", ((1.4, 1.55), (0.6, 0.65), (1.15, 1.3)), "wall", ("black", "dark brown", "white"), None, build_piano),
    Category("fireplace", ((1.2, 1.6), (0.4, 0.5), (1.0, 1.2)), "wall", ("white", "dark brown", "black"), "wood", build_fireplace),
    Category("trash can", ((0.28, 0.35), (0.28, 0.35), (0.4, 0.6)), "corner", ("gray", "silver", "white", "black", "blue"), None, build_trash_can),
    Category("laundry basket", ((0.4, 0.5), (0.4, 0.5), (0.45, 0.6)), "corner", ("beige", "white", "light brown", "gray"), None, build_laundry_basket),
    Category("coat rack", ((0.45, 0.5), (0.45, 0.5), (1.7, 1.85)), "corner", ("dark brown", "black", "brown"), None, build_coat_rack),
    Category("clock", ((0.3, 0.4), (0.04, 0.04), (0.3, 0.4)), "hung", ("black", "white", "red", "brown"), None, build_clock, elevation=(1.7, 1.9)),
    Category("shelving unit", ((0.7, 1.1), (0.35, 0.45), (1.6, 1.9)), "wall", ("white", "gray", "light brown", "black"), None, build_shelving),
    Category("side table", ((0.4, 0.5), (0.4, 0.5), (0.5, 0.6)), "corner", _WOODS, "wood", build_table),
    Category("bench", ((0.9, 1.3), (0.35, 0.4), (0.43, 0.47)), "wall", _WOODS, "wood", build_bench),
    Category("stool", ((0.35, 0.4), (0.35, 0.4), (0.6, 0.7)), "corner", ("black", "red", "light brown", "white"), None, build_stool),
    Category("toy box", ((0.6, 0.8), (0.4, 0.45), (0.4, 0.5)), "wall", ("red", "yellow", "blue", "green"), None, build_toy_box),
    Category("bean bag", ((0.7, 0.85), (0.7, 0.85), (0.5, 0.6)), "corner", ("red", "orange", "blue", "purple", "green"), "fabric", build_bean_bag),
]
CATEGORIES: Dict[str, Category] = {c.name: c for c in _CATS}

# extra looks used by a few builders
SLOT_LOOKS.update({"book red": ((0.6, 0.15, 0.12), None), "book blue": ((0.15, 0.25, 0.55), None),
                   "book green": ((0.2, 0.45, 0.25), None), "book cream": ((0.9, 0.85, 0.7), None),
                   "light panel": ((0.85, 0.86, 0.88), None), "sky": ((0.55, 0.72, 0.95), "sky"), "coat": ((0.3, 0.32, 0.4), "fabric")})

# Children anchored to a parent: child category -> (parent categories, how many)
ANCHORS: Dict[str, Tuple[Tuple[str, ...], Tuple[int, int]]] = {
    "nightstand": (("bed",), (1, 2)),
    "chair": (("dining table", "table", "round table"), (2, 6)),
    "office chair": (("desk",), (1, 1)),
    "coffee table": (("sofa",), (1, 1)),
}

# Pieces that prefer to stand beside others along the same wall, back-aligned (a kitchen
# run, a washer-dryer pair, a sink next to the toilet): category -> (neighbours, gap m).
NEAR: Dict[str, Tuple[Tuple[str, ...], float]] = {
    "kitchen counter": (("kitchen counter", "stove", "sink", "refrigerator"), 0.005),
    "stove": (("kitchen counter",), 0.005),
    "sink": (("kitchen counter", "toilet"), 0.005),
    "refrigerator": (("kitchen counter", "stove"), 0.02),
    "clothes dryer": (("washing machine",), 0.02),
    "washing machine": (("clothes dryer", "sink"), 0.02),
    "dresser": (("wardrobe",), 0.05),
    "bookshelf": (("bookshelf", "desk"), 0.02),
}
# Pieces placed on the wall facing another piece: category -> the piece they face.
FACING: Dict[str, str] = {"tv stand": "sofa", "piano": "sofa"}

# Room furnishing programme: (category, probability, (min, max) count), in placement
# order (big anchors first). Probability 1.0 marks a required item.
ROOM_FURNITURE: Dict[str, List[Tuple[str, float, Tuple[int, int]]]] = {
    "bedroom": [("window", 0.9, (1, 2)), ("ceiling lamp", 0.7, (1, 1)), ("bed", 1.0, (1, 1)), ("nightstand", 0.9, (1, 2)), ("wardrobe", 0.8, (1, 1)), ("dresser", 0.5, (1, 1)),
                ("desk", 0.25, (1, 1)), ("office chair", 1.0, (1, 1)), ("table lamp", 0.7, (1, 2)), ("rug", 0.5, (1, 1)),
                ("painting", 0.7, (1, 2)), ("mirror", 0.3, (1, 1)), ("plant", 0.3, (1, 1)), ("armchair", 0.2, (1, 1)),
                ("lamp", 0.25, (1, 1)), ("clock", 0.2, (1, 1)), ("tv", 0.15, (1, 1))],
    "bathroom": [("window", 0.5, (1, 1)), ("ceiling lamp", 0.6, (1, 1)), ("toilet", 1.0, (1, 1)), ("sink", 1.0, (1, 1)), ("bathtub", 0.55, (1, 1)), ("shower", 0.7, (1, 1)),
                 ("towel rack", 0.8, (1, 2)), ("mirror", 0.8, (1, 1)), ("washing machine", 0.15, (1, 1)), ("trash can", 0.5, (1, 1)),
                 ("rug", 0.3, (1, 1)), ("plant", 0.15, (1, 1)), ("cabinet", 0.2, (1, 1))],
    "kitchen": [("window", 0.8, (1, 2)), ("ceiling lamp", 0.7, (1, 1)), ("kitchen counter", 1.0, (1, 3)), ("stove", 1.0, (1, 1)), ("refrigerator", 1.0, (1, 1)), ("sink", 0.9, (1, 1)),
                ("microwave", 0.7, (1, 1)), ("round table", 0.3, (1, 1)), ("chair", 1.0, (2, 4)), ("cabinet", 0.4, (1, 1)),
                ("trash can", 0.6, (1, 1)), ("stool", 0.25, (1, 2)), ("plant", 0.2, (1, 1)), ("clock", 0.3, (1, 1)),
                ("painting", 0.2, (1, 1))],
    "living room": [("window", 0.95, (1, 3)), ("ceiling lamp", 0.8, (1, 1)), ("sofa", 1.0, (1, 1)), ("coffee table", 0.9, (1, 1)), ("tv stand", 0.75, (1, 1)), ("tv", 1.0, (1, 1)),
                    ("armchair", 0.7, (1, 2)), ("fireplace", 0.25, (1, 1)), ("bookshelf", 0.5, (1, 1)), ("piano", 0.15, (1, 1)),
                    ("rug", 0.6, (1, 1)), ("side table", 0.4, (1, 1)), ("vase", 0.4, (1, 2)), ("table lamp", 0.5, (1, 1)), ("plant", 0.6, (1, 2)),
                    ("lamp", 0.6, (1, 1)), ("painting", 0.8, (1, 3)), ("clock", 0.3, (1, 1))],
    "dining room": [("window", 0.8, (1, 2)), ("ceiling lamp", 0.9, (1, 1)), ("dining table", 1.0, (1, 1)), ("chair", 1.0, (4, 6)), ("cabinet", 0.6, (1, 2)), ("vase", 0.6, (1, 2)), ("rug", 0.35, (1, 1)),
                    ("painting", 0.7, (1, 2)), ("plant", 0.5, (1, 2)), ("lamp", 0.3, (1, 1)), ("clock", 0.25, (1, 1)),
                    ("bookshelf", 0.15, (1, 1))],
    "office": [("window", 0.85, (1, 2)), ("ceiling lamp", 0.7, (1, 1)), ("desk", 1.0, (1, 1)), ("office chair", 1.0, (1, 1)), ("bookshelf", 0.8, (1, 2)), ("table lamp", 0.5, (1, 1)),
               ("cabinet", 0.5, (1, 1)), ("plant", 0.4, (1, 1)), ("lamp", 0.4, (1, 1)), ("painting", 0.5, (1, 1)),
               ("armchair", 0.2, (1, 1)), ("trash can", 0.4, (1, 1)), ("clock", 0.3, (1, 1)), ("rug", 0.3, (1, 1))],
    "hallway": [("window", 0.3, (1, 1)), ("ceiling lamp", 0.7, (1, 2)), ("shoe rack", 0.6, (1, 1)), ("bench", 0.3, (1, 1)), ("coat rack", 0.5, (1, 1)), ("painting", 0.7, (1, 2)),
                ("mirror", 0.4, (1, 1)), ("plant", 0.4, (1, 1)), ("clock", 0.2, (1, 1)), ("rug", 0.3, (1, 1))],
    "laundry room": [("window", 0.4, (1, 1)), ("ceiling lamp", 0.6, (1, 1)), ("washing machine", 1.0, (1, 1)), ("clothes dryer", 0.7, (1, 1)), ("sink", 0.3, (1, 1)),
                     ("cabinet", 0.5, (1, 1)), ("laundry basket", 0.6, (1, 1)), ("shelving unit", 0.4, (1, 1)), ("towel rack", 0.3, (1, 1))],
    "closet": [("ceiling lamp", 0.5, (1, 1)), ("shelving unit", 0.9, (1, 1)), ("shoe rack", 0.6, (1, 1)), ("laundry basket", 0.3, (1, 1)), ("coat rack", 0.3, (1, 1)),
               ("mirror", 0.3, (1, 1))],
    "playroom": [("window", 0.9, (1, 2)), ("ceiling lamp", 0.7, (1, 1)), ("toy box", 1.0, (1, 2)), ("rug", 0.7, (1, 1)), ("round table", 0.6, (1, 1)), ("chair", 1.0, (2, 3)),
                 ("bean bag", 0.7, (1, 2)), ("bookshelf", 0.5, (1, 1)), ("painting", 0.6, (1, 2)), ("plant", 0.3, (1, 1)),
                 ("lamp", 0.3, (1, 1)), ("clock", 0.3, (1, 1))],
}

# At most one of these per room (big rooms get a second pass over the rest of the programme).
SINGLETONS = frozenset({"bed", "sofa", "tv stand", "tv", "fireplace", "piano", "dining table", "round table", "desk",
                        "office chair", "refrigerator", "stove", "bathtub", "shower", "toilet", "washing machine",
                        "clothes dryer", "coffee table", "wardrobe", "dresser", "ceiling lamp", "microwave", "sink"})

# Items a room of the type always gets (tests check these against the generated scenes).
REQUIRED: Dict[str, Tuple[str, ...]] = {t: tuple(c for c, p, _ in prog if p >= 1.0 and c not in ANCHORS and CATEGORIES[c].placement != "on")
                                        for t, prog in ROOM_FURNITURE.items()}


def allowed_categories(room_type: str) -> Sequence[str]:
    """Categories that may appear in a room of ``room_type``."""
    return tuple(c for c, _, _ in ROOM_FURNITURE.get(room_type, ()))
