"""View sampling: random navigable poses in a house, rendered, with per-object facts.

A ``View`` is one rendered pose (RGB, depth, semantic category map) plus the ground
truth the captions, questions and boxes are written from: the room the camera stands
in and every furniture object that covers at least ``min_fraction`` of the image
(its category, colour, pixel count, box, horizontal side and distance band).

Category ids follow ``CORPUS_CATEGORIES`` (1-based, COCO style; 0 = nothing hit): the
furniture categories of the catalogue, then the structure classes wall, floor, ceiling
and door. The semantic map written beside each image holds these ids, so masked-region
classification reads exact labels from it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..scene.catalogue import CATEGORIES

STRUCTURE = ("wall", "floor", "ceiling", "door")
# structure object categories of the procedural houses -> corpus class
_STRUCTURE_OF = {"wall": "wall", "skirting": "wall", "floor": "floor", "ceiling": "ceiling",
                 "door_frame": "door", "doorway": "door"}
FURNITURE = tuple(sorted(CATEGORIES))
CORPUS_CATEGORIES: Tuple[str, ...] = FURNITURE + STRUCTURE
CATEGORY_ID: Dict[str, int] = {name: i + 1 for i, name in enumerate(CORPUS_CATEGORIES)}

NEAR_M = 2.5
"""Median depth (m) below which an object is "near" (else "far")."""


@dataclass
class VisibleObject:
    """One furniture object seen in a view (pixel statistics from the semantic sensor)."""

    object_id: int
    category: str
    color: str
    pixels: int
    bbox: Tuple[int, int, int, int]
    """COCO box [x, y, width, height] in pixels."""
    cx: float
    """Centroid column over the image width, in [0, 1]."""
    depth: float
    """Median depth of its pixels (m)."""

    @property
    def side(self) -> str:
        return "left" if self.cx < 1 / 3 else ("right" if self.cx > 2 / 3 else "centre")

    @property
    def distance(self) -> str:
        return "near" if self.depth < NEAR_M else "far"


@dataclass
class View:
    """One rendered pose with its ground-truth facts.

    ``objects`` holds the salient furniture (>= ``min_fraction`` of the image) sorted by
    pixel count, largest first; ``partial`` the categories seen below that threshold
    (questions avoid asking about them, so every answer is exact).
    """

    house_index: int
    view_index: int
    position: List[float]
    yaw: float
    room: str
    rgb: np.ndarray
    depth: np.ndarray
    semantic: np.ndarray
    """(H, W) uint8 category ids of ``CORPUS_CATEGORIES`` (0 = nothing)."""
    instance: np.ndarray
    """(H, W) int32 scene object ids (-1 = nothing)."""
    objects: List[VisibleObject] = field(default_factory=list)
    partial: List[str] = field(default_factory=list)


def category_map(scene) -> np.ndarray:
    """Lookup table: scene object id -> corpus category id (0 for unknown categories)."""
    lut = np.zeros(len(scene.objects) + 1, dtype=np.uint8)  # last entry: "nothing hit" (-1)
    for o in scene.objects:
        name = o.category if o.category in CATEGORY_ID else _STRUCTURE_OF.get(o.category)
        lut[o.id] = CATEGORY_ID.get(name, 0) if name else 0
    return lut


def view_objects(scene, instance: np.ndarray, depth: np.ndarray, min_fraction: float) -> Tuple[List[VisibleObject], List[str]]:
    """Salient furniture objects of a view (largest first) and categories seen only partly."""
    h, w = instance.shape
    ids, counts = np.unique(instance[instance >= 0], return_counts=True)
    salient: List[VisibleObject] = []
    partial = set()
    for oid, n in zip(ids.tolist(), counts.tolist()):
        obj = scene.objects[oid]
        if obj.category not in CATEGORIES:
            continue
        if n < min_fraction * h * w:
            partial.add(obj.category)
            continue
        rows, cols = np.nonzero(instance == oid)
        x0, x1, y0, y1 = int(cols.min()), int(cols.max()), int(rows.min()), int(rows.max())
        d = depth[rows, cols]
        salient.append(VisibleObject(
            object_id=int(oid), category=obj.category, color=obj.color or "", pixels=int(n),
            bbox=(x0, y0, x1 - x0 + 1, y1 - y0 + 1), cx=float((cols.mean() + 0.5) / w),
            depth=float(np.median(d[d > 0])) if np.any(d > 0) else 0.0))
    salient.sort(key=lambda o: (-o.pixels, o.object_id))
    partial -= {o.category for o in salient}
    return salient, sorted(partial)


class ViewSampler:
    """Render random navigable views of one scene and describe what they show.

    Args:
        scene: a ``vlnsim.Scene`` with objects and rooms (a procedural house).
        size: image edge in pixels.
        min_fraction: smallest image fraction an object must cover to be mentioned.
        attempts: candidate poses tried per view; the first with two or more salient
            objects is kept, else the one with the most.
    """

    def __init__(self, scene, size: int = 64, min_fraction: float = 0.015, attempts: int = 40):
        from ..render.sensors import SensorSpec
        from ..simulator import Simulator

        self.scene = scene
        self.size = int(size)
        self.min_fraction = float(min_fraction)
        self.attempts = int(attempts)
        sensors = [SensorSpec("rgb", kind="rgb", width=size, height=size),
                   SensorSpec("depth", kind="depth", width=size, height=size),
                   SensorSpec("semantic", kind="semantic", width=size, height=size)]
        self.sim = Simulator(scene, sensors=sensors)
        self.lut = category_map(scene)

    def close(self) -> None:
        self.sim.close()

    def _score(self, objects: Sequence[VisibleObject], depth: np.ndarray) -> float:
        # a camera pressed against a wall shows nothing worth describing
        if np.mean((depth > 0) & (depth < 0.5)) > 0.4:
            return -1.0
        return float(len(objects))

    def sample(self, rng: np.random.Generator, house_index: int, view_index: int) -> View:
        """Draw poses until one shows at least two salient objects (or take the best)."""
        from ..geometry import quat_from_yaw

        best: Optional[tuple] = None
        pf = self.sim.pathfinder
        for _ in range(self.attempts):
            pos = pf.random_navigable_point(rng)
            yaw = float(rng.uniform(-math.pi, math.pi))
            obs = self.sim.reset(position=pos, rotation=quat_from_yaw(yaw))
            depth = obs["depth"][..., 0]
            inst = obs["semantic"]
            objects, partial = view_objects(self.scene, inst, depth, self.min_fraction)
            score = self._score(objects, depth)
            if best is None or score > best[0]:
                best = (score, pos, yaw, obs, objects, partial)
            if score >= 2:
                break
        _, pos, yaw, obs, objects, partial = best
        room = self.scene.room_at(float(pos[0]), float(pos[2]))
        if room is None and objects:  # standing in a doorway: name the room in view
            rooms = {r.id: r for r in self.scene.rooms}
            room = rooms.get(self.scene.objects[objects[0].object_id].room)
        inst = obs["semantic"]
        return View(
            house_index=house_index, view_index=view_index, position=[round(float(v), 4) for v in pos],
            yaw=round(yaw, 6), room=room.type if room is not None else "hallway",
            rgb=obs["rgb"], depth=obs["depth"][..., 0].astype(np.float32),
            semantic=self.lut[inst], instance=inst.astype(np.int32), objects=objects, partial=partial)
