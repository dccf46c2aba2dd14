"""Template speaker: R2R-style instructions grounded in a path and its scene.

The reference path is simplified (Ramer-Douglas-Peucker) and cut into *legs* at turns
(heading change above ``turn_threshold``) and at room transitions (``Scene.room_at``
along the path). Each leg is described by a movement clause, naming a landmark that
lies next to it (furniture whose footprint is within ``landmark_distance`` of the leg,
in the same room, preferring large and distinctive objects: "the blue sofa"); room
entries and exits are named; turns are given relative to the current heading
(positive yaw = left, as in ``vlnsim.geometry``); the instruction ends with a stop
clause naming an object whose centre is within ``stop_distance`` of the goal, or the
goal's room when there is none.

Sufficiency by construction: every object named is a ``SceneObject`` of the scene
(returned in ``Utterance.landmarks`` / ``.stop_object`` for checks) and the stop
object's centre lies within ``stop_distance`` (< 3 m, the success radius) of the goal.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..scene.model import Room, Scene, SceneObject
from . import phrases as P

STRUCTURAL = frozenset({"wall", "floor", "ceiling", "door_frame", "doorway", "door", "window", "stairs"})


@dataclass
class SpeakerConfig:
    """Speaker settings.

    Attributes:
        turn_threshold: heading change (degrees) that counts as a turn.
        around_threshold: heading change (degrees) above which a turn is "turn around".
        slight_threshold: turns below this many degrees are "slight" (bear left/right).
        landmark_distance: max distance (m) from a leg to a landmark's footprint.
        stop_distance: max distance (m, floor plane) from the goal to the stop object's centre.
        simplify_tolerance: Ramer-Douglas-Peucker tolerance (m) for the path polyline.
        min_leg: legs shorter than this (m) merge into the next turn.
    """

    turn_threshold: float = 30.0
    around_threshold: float = 135.0
    slight_threshold: float = 55.0
    landmark_distance: float = 1.5
    stop_distance: float = 2.5
    simplify_tolerance: float = 0.3
    min_leg: float = 0.6


@dataclass
class Leg:
    """A straight piece of the path inside one room, with the turn that precedes it."""

    start: np.ndarray  # (x, z)
    end: np.ndarray
    room: Optional[Room]
    turn: float = 0.0  # radians, positive = left, applied before walking the leg
    landmark: Optional[SceneObject] = None

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.end - self.start))


@dataclass
class Utterance:
    """A generated instruction and the scene elements it names."""

    text: str
    landmarks: List[SceneObject] = field(default_factory=list)
    stop_object: Optional[SceneObject] = None
    stop_room: Optional[Room] = None
    rooms: List[Room] = field(default_factory=list)


def heading_of(dx: float, dz: float) -> float:
    """Yaw whose forward vector (-sin, 0, -cos) points along (dx, dz)."""
    return math.atan2(-dx, -dz)


def wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def simplify(points: np.ndarray, tol: float) -> np.ndarray:
    """Ramer-Douglas-Peucker simplification of a 2-D polyline."""
    if len(points) <= 2:
        return points
    a, b = points[0], points[-1]
    ab = b - a
    n = float(np.linalg.norm(ab))
    rel = points[1:-1] - a
    if n < 1e-9:
        d = np.linalg.norm(rel, axis=1)
    else:
        d = np.abs(ab[0] * rel[:, 1] - ab[1] * rel[:, 0]) / n
    i = int(np.argmax(d))
    if d[i] <= tol:
        return np.stack([a, b])
    left = simplify(points[: i + 2], tol)
    right = simplify(points[i + 1 :], tol)
    return np.concatenate([left[:-1], right])


def segment_box_distance(a: np.ndarray, b: np.ndarray, bmin: np.ndarray, bmax: np.ndarray, samples: int = 12) -> float:
    """Distance (floor plane) from segment a-b to an axis-aligned box, by dense sampling."""
    t = np.linspace(0.0, 1.0, samples)[:, None]
    pts = a[None] + t * (b - a)[None]
    d = np.maximum(np.maximum(bmin[None] - pts, pts - bmax[None]), 0.0)
    return float(np.sqrt((d ** 2).sum(1)).min())


class Speaker:
    """Writes instructions for paths in one scene (build once per scene)."""

    def __init__(self, scene: Scene, config: Optional[SpeakerConfig] = None):
        self.scene = scene
        self.config = config or SpeakerConfig()
        self.rooms = {r.id: r for r in scene.rooms}
        self.furniture = [o for o in scene.objects if o.category not in STRUCTURAL and o.category]
        self._fmin = np.array([[o.bbox_min[0], o.bbox_min[2]] for o in self.furniture]).reshape(-1, 2)
        self._fmax = np.array([[o.bbox_max[0], o.bbox_max[2]] for o in self.furniture]).reshape(-1, 2)
        area = np.prod(np.maximum(self._fmax - self._fmin, 0.05), axis=1) if self.furniture else np.zeros(0)
        # distinctive = the (category, colour) pair is unique in the house, so "the blue sofa" is unambiguous
        pairs = [(o.category, o.color) for o in self.furniture]
        unique = np.array([pairs.count(p) == 1 for p in pairs], dtype=np.float64)
        same_cat_in_room = np.array([sum(1 for q in self.furniture if q.category == o.category and q.room == o.room)
                                     for o in self.furniture], dtype=np.float64)
        self._score = np.minimum(area, 3.0) + 1.5 * unique + 1.0 / np.maximum(same_cat_in_room, 1) \
            + np.array([1.0 if o.category in P.LARGE_CATEGORIES else 0.0 for o in self.furniture])

    # ------------------------------------------------------------------ analysis
    def room_of(self, x: float, z: float) -> Optional[Room]:
        return self.scene.room_at(float(x), float(z))

    def legs(self, path: Sequence[Sequence[float]], start_heading: float) -> List[Leg]:
        """Cut the path into straight legs at turns and room changes."""
        cfg = self.config
        pts = np.asarray(path, dtype=np.float64)[:, [0, 2]]
        keep = np.ones(len(pts), dtype=bool)
        keep[1:] = np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-6
        pts = simplify(pts[keep], cfg.simplify_tolerance)
        if len(pts) < 2:
            return []
        # merge short pieces so a jog around a corner reads as one turn
        verts = [pts[0]]
        for p in pts[1:-1]:
            if np.linalg.norm(p - verts[-1]) >= cfg.min_leg:
                verts.append(p)
        if np.linalg.norm(pts[-1] - verts[-1]) < cfg.min_leg and len(verts) > 1:
            verts[-1] = pts[-1]
        else:
            verts.append(pts[-1])
        legs: List[Leg] = []
        heading = start_heading
        thr = math.radians(cfg.turn_threshold)
        for a, b in zip(verts[:-1], verts[1:]):
            h = heading_of(*(b - a))
            delta = wrap(h - heading)
            turn = delta if abs(delta) > thr else 0.0
            heading = h
            legs.extend(self._split_by_room(a, b, turn))
        # merge consecutive legs in the same room with no turn between them
        merged: List[Leg] = []
        for leg in legs:
            if merged and leg.turn == 0.0 and _same_room(merged[-1].room, leg.room):
                merged[-1].end = leg.end
            else:
                merged.append(leg)
        return merged

    def _split_by_room(self, a: np.ndarray, b: np.ndarray, turn: float) -> List[Leg]:
        n = max(2, int(np.linalg.norm(b - a) / 0.2) + 1)
        ts = np.linspace(0.0, 1.0, n)
        rooms = [self.room_of(*(a + t * (b - a))) for t in ts]
        legs: List[Leg] = []
        cur_start, cur_room = a, rooms[0]
        for t, r in zip(ts[1:], rooms[1:]):
            if r is None or _same_room(r, cur_room):
                continue  # doorways and wall gaps keep the current room
            p = a + t * (b - a)
            if cur_room is None:
                cur_room = r
                continue
            legs.append(Leg(cur_start, p, cur_room, turn if not legs else 0.0))
            cur_start, cur_room = p, r
        legs.append(Leg(cur_start, b, cur_room, turn if not legs else 0.0))
        return legs

    def landmark_candidates(self, leg: Leg, exclude: Sequence[int] = ()) -> List[int]:
        """Indices into ``self.furniture`` next to ``leg``, best first."""
        cands = []
        for i, o in enumerate(self.furniture):
            if o.id in exclude:
                continue
            if leg.room is not None and o.room is not None and o.room != leg.room.id:
                continue  # behind a wall
            if segment_box_distance(leg.start, leg.end, self._fmin[i], self._fmax[i]) <= self.config.landmark_distance:
                cands.append(i)
        return sorted(cands, key=lambda i: -self._score[i])

    def stop_candidates(self, goal: Sequence[float]) -> List[int]:
        """Indices of objects whose centre is within ``stop_distance`` of the goal, best first."""
        g = np.array([goal[0], goal[2]], dtype=np.float64)
        centers = (self._fmin + self._fmax) / 2
        d = np.linalg.norm(centers - g[None], axis=1) if len(centers) else np.zeros(0)
        goal_room = self.room_of(goal[0], goal[2])
        out = [i for i in np.argsort(d) if d[i] <= self.config.stop_distance
               and (goal_room is None or self.furniture[i].room in (None, goal_room.id))]
        return sorted(out, key=lambda i: -(self._score[i] - 0.5 * d[i]))

    # ------------------------------------------------------------------ wording
    def describe(self, path: Sequence[Sequence[float]], start_heading: float, rng: np.random.Generator,
                 detail: float = 1.0) -> Utterance:
        """One instruction; ``detail`` in (0, 1] is the chance of naming a landmark per leg."""
        path = [list(map(float, p)) for p in path]
        legs = self.legs(path, start_heading)
        goal = path[-1]
        utt = Utterance(text="")
        clauses: List[str] = []
        start_room = self.room_of(path[0][0], path[0][2])
        prev_room = start_room
        stops = self.stop_candidates(goal)
        stop_i = None
        if stops:
            stop_i = stops[0] if len(stops) == 1 or rng.random() < 0.75 else stops[1]
        # the stop object is saved for the stop clause so it is not spent on an earlier leg
        used: List[int] = [self.furniture[stop_i].id] if stop_i is not None else []
        for k, leg in enumerate(legs):
            if leg.turn != 0.0:
                clauses.append(self._turn_clause(leg.turn, rng))
            if k == 0 and start_room is not None and len(legs) > 1 and not _same_room(legs[-1].room, start_room) \
                    and rng.random() < 0.5:
                clauses.append(P.choice(rng, P.EXIT_ROOM).format(room=P.room_name(start_room.type)))
            if k > 0 and leg.room is not None and not _same_room(leg.room, prev_room):
                clauses.append(P.choice(rng, P.ENTER_ROOM).format(room=P.room_name(leg.room.type)))
                utt.rooms.append(leg.room)
            if leg.room is not None:
                prev_room = leg.room
            cands = self.landmark_candidates(leg, exclude=used)
            if cands and (rng.random() < detail or (k == len(legs) - 1 and leg.turn == 0.0 and not clauses)):
                i = cands[0] if len(cands) == 1 or rng.random() < 0.7 else cands[1]
                used.append(self.furniture[i].id)
                utt.landmarks.append(self.furniture[i])
                clauses.append(self._move_clause(leg, self.furniture[i], rng))
            elif leg.length >= 1.0 or not clauses:
                clauses.append(self._plain_move_clause(leg, rng))
        if stop_i is not None:
            utt.stop_object = self.furniture[stop_i]
            clauses.append(P.choice(rng, P.STOP_AT).format(lm=P.object_name(self.furniture[stop_i])))
        else:
            room = self.room_of(goal[0], goal[2])
            utt.stop_room = room
            name = P.room_name(room.type) if room is not None else "hallway"
            clauses.append(P.choice(rng, P.STOP_IN_ROOM).format(room=name))
        utt.text = P.join_clauses(clauses, rng)
        return utt

    def _turn_clause(self, turn: float, rng: np.random.Generator) -> str:
        deg = abs(math.degrees(turn))
        side = "left" if turn > 0 else "right"
        if deg > self.config.around_threshold:
            return P.choice(rng, P.TURN_AROUND)
        if deg < self.config.slight_threshold:
            return P.choice(rng, P.TURN_SLIGHT).format(dir=side)
        return P.choice(rng, P.TURN).format(dir=side)

    def _move_clause(self, leg: Leg, obj: SceneObject, rng: np.random.Generator) -> str:
        c = np.array([(obj.bbox_min[0] + obj.bbox_max[0]) / 2, (obj.bbox_min[2] + obj.bbox_max[2]) / 2])
        d = leg.end - leg.start
        t = float(np.dot(c - leg.start, d) / max(np.dot(d, d), 1e-9))
        templates = P.MOVE_PAST if t < 0.8 else P.MOVE_TOWARDS
        return P.choice(rng, templates).format(lm=P.object_name(obj))

    def _plain_move_clause(self, leg: Leg, rng: np.random.Generator) -> str:
        meters = max(1, int(round(leg.length)))
        return P.choice(rng, P.MOVE_PLAIN).format(n=meters, unit="meter" if meters == 1 else "meters")

    def instructions(self, path: Sequence[Sequence[float]], start_heading: float, rng: np.random.Generator,
                     count: int = 3) -> List[Utterance]:
        """``count`` differently worded instructions for one path (R2R has three)."""
        details = (1.0, 0.75, 0.5)
        out: List[Utterance] = []
        for k in range(count):
            utt = self.describe(path, start_heading, rng, detail=details[k % len(details)])
            for _ in range(4):  # reword on an exact repeat; bounded
                if all(utt.text != u.text for u in out):
                    break
                utt = self.describe(path, start_heading, rng, detail=details[k % len(details)])
            out.append(utt)
        return out


def _same_room(a: Optional[Room], b: Optional[Room]) -> bool:
    return a is not None and b is not None and a.id == b.id
