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

Two styles (``SpeakerConfig.style``): ``"r2r"`` (the default) writes instructions of
R2R's length (R2R averages about 29 words; the target length of each instruction is drawn
from N(``target_words``, ``words_sd``)): every turn, every room entered and the stop clause
are always said, and landmark and distance clauses are dropped, least useful first,
until the instruction fits its target length. ``"verbose"`` says every clause (about 54
words on the procedural houses), as the first datasets did.

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
# overhead fixtures: R2R-style walkers look ahead, not up
NOT_LANDMARKS = frozenset({"ceiling lamp", "ceiling light", "ceiling fan"})
STYLES = ("r2r", "verbose")
# clause priorities of the "r2r" style: lower ones are dropped first to meet the length
_PLAIN, _EXIT, _LANDMARK, _KEEP = 0, 1, 2, 9


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
        min_leg: path vertices closer than this (m, along the path) to the previous kept
            vertex are dropped, so a jog around a door frame reads as one turn.
        style: "r2r" (R2R-like length, the default) or "verbose" (every clause).
        target_words: mean target length (words) of an "r2r" instruction.
        words_sd: standard deviation of the target length.
        min_words: the target length is never drawn below this.
    """

    turn_threshold: float = 30.0
    around_threshold: float = 135.0
    slight_threshold: float = 55.0
    landmark_distance: float = 1.5
    stop_distance: float = 2.5
    simplify_tolerance: float = 0.15
    min_leg: float = 0.6
    style: str = "r2r"
    target_words: float = 29.0
    words_sd: float = 6.0
    min_words: int = 14

    def __post_init__(self) -> None:
        from ..errors import ConfigError

        if self.style not in STYLES:
            raise ConfigError(f"speaker style={self.style!r}; expected one of {', '.join(STYLES)}")
        if not (self.target_words > 0 and self.words_sd >= 0 and self.min_words >= 1):
            raise ConfigError(f"speaker target_words={self.target_words!r}, words_sd={self.words_sd!r}, "
                              f"min_words={self.min_words!r}; expected target_words > 0, words_sd >= 0, min_words >= 1")


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


def simplify_indices(points: np.ndarray, tol: float) -> List[int]:
    """Indices of the vertices Ramer-Douglas-Peucker keeps in a 2-D polyline."""
    def rec(i0: int, i1: int) -> List[int]:
        if i1 - i0 < 2:
            return [i0, i1]
        a, b = points[i0], points[i1]
        ab = b - a
        n = float(np.linalg.norm(ab))
        rel = points[i0 + 1 : i1] - a
        d = np.linalg.norm(rel, axis=1) if n < 1e-9 else np.abs(ab[0] * rel[:, 1] - ab[1] * rel[:, 0]) / n
        k = int(np.argmax(d))
        if d[k] <= tol:
            return [i0, i1]
        m = i0 + 1 + k
        return rec(i0, m)[:-1] + rec(m, i1)

    return rec(0, len(points) - 1) if len(points) > 1 else [0]


def simplify(points: np.ndarray, tol: float) -> np.ndarray:
    """Ramer-Douglas-Peucker simplification of a 2-D polyline."""
    return points[simplify_indices(points, tol)]


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
        self.furniture = [o for o in scene.objects
                          if o.category and o.category not in STRUCTURAL and o.category not in NOT_LANDMARKS]
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

    def rooms_at(self, xz: np.ndarray) -> List[Optional[Room]]:
        """``Scene.room_at`` for many points at once (even-odd rule, first room wins)."""
        out: List[Optional[Room]] = [None] * len(xz)
        x, z = xz[:, 0], xz[:, 1]
        for room in self.scene.rooms:
            poly = np.asarray(room.polygon, dtype=np.float64)
            if len(poly) < 3:
                continue
            inside = np.zeros(len(xz), dtype=bool)
            for (x1, z1), (x2, z2) in zip(poly, np.roll(poly, -1, axis=0)):
                crosses = (z1 > z) != (z2 > z)
                with np.errstate(divide="ignore", invalid="ignore"):
                    xc = x1 + (z - z1) * (x2 - x1) / (z2 - z1)
                inside ^= crosses & (x < xc)
            for i in np.flatnonzero(inside):
                if out[i] is None:
                    out[i] = room
        return out

    def legs(self, path: Sequence[Sequence[float]], start_heading: float) -> List[Leg]:
        """Cut the path into straight legs at turns and room changes.

        Turns come from the simplified polyline; room changes from dense samples of the
        original path (a simplified chord may cut through a wall next to a door).
        """
        cfg = self.config
        pts = np.asarray(path, dtype=np.float64)[:, [0, 2]]
        keep = np.ones(len(pts), dtype=bool)
        keep[1:] = np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-6
        pts = pts[keep]
        if len(pts) < 2:
            return []
        seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        arc = np.concatenate(([0.0], np.cumsum(seg)))
        total = float(arc[-1])
        idx = simplify_indices(pts, cfg.simplify_tolerance)
        # drop vertices closer than min_leg to the previous one so a jog reads as one turn
        verts = [idx[0]]
        for i in idx[1:-1]:
            if arc[i] - arc[verts[-1]] >= cfg.min_leg:
                verts.append(i)
        if len(verts) > 1 and total - arc[verts[-1]] < cfg.min_leg:
            verts.pop()
        verts.append(idx[-1])
        thr = math.radians(cfg.turn_threshold)
        events = {}  # arc position -> turn (radians) at that position
        heading = start_heading
        for a, b in zip(verts[:-1], verts[1:]):
            h = heading_of(*(pts[b] - pts[a]))
            delta = wrap(h - heading)
            events[float(arc[a])] = delta if abs(delta) > thr else 0.0
            heading = h
        # room along the original path, every 0.1 m
        ss = np.linspace(0.0, total, max(2, int(total / 0.1) + 1))  # doors are >= 0.8 m wide
        samples = np.stack([np.interp(ss, arc, pts[:, 0]), np.interp(ss, arc, pts[:, 1])], axis=1)
        rooms = self.rooms_at(samples)
        cur = next((r for r in rooms if r is not None), None)
        changes = []  # (arc position, new room)
        for s_, r in zip(ss, rooms):
            if r is not None and cur is not None and r.id != cur.id:
                changes.append((float(s_), r))
                cur = r
        first_room = next((r for r in rooms if r is not None), None)
        bounds = sorted(set(events) | {c for c, _ in changes} | {total})
        cuts = [bounds[0]]
        for c in bounds[1:]:
            if c - cuts[-1] > 0.05:
                cuts.append(c)
            elif c == total:
                cuts[-1] = total
        point = lambda s_: np.array([np.interp(s_, arc, pts[:, 0]), np.interp(s_, arc, pts[:, 1])])
        legs: List[Leg] = []
        room = first_room
        for s0, s1 in zip(cuts[:-1], cuts[1:]):
            for c, r in changes:
                if c <= s0 + 0.05:
                    room = r
            turn = next((t for e, t in events.items() if abs(e - s0) <= 0.05), 0.0)
            legs.append(Leg(point(s0), point(s1), room, turn))
        # merge consecutive legs in the same room with no turn between them
        merged: List[Leg] = []
        for leg in legs:
            if merged and leg.turn == 0.0 and _same_room(merged[-1].room, leg.room):
                merged[-1].end = leg.end
            else:
                merged.append(leg)
        return merged

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
                 detail: float = 1.0, legs: Optional[List[Leg]] = None) -> Utterance:
        """One instruction; ``detail`` in (0, 1] is the chance of naming a landmark per leg.

        ``legs`` (from ``self.legs(path, start_heading)``) may be passed to reuse the analysis.
        """
        path = [list(map(float, p)) for p in path]
        if legs is None:
            legs = self.legs(path, start_heading)
        goal = path[-1]
        utt = Utterance(text="")
        verbose = self.config.style == "verbose"
        clauses: List[Tuple[int, str, Optional[SceneObject]]] = []  # (priority, text, landmark)
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
                clauses.append((_KEEP, self._turn_clause(leg.turn, rng), None))
            if k > 0 and leg.room is not None and not _same_room(leg.room, prev_room):
                # leaving is said where it happens: at the change, before naming the new room
                if prev_room is not None and prev_room.type != leg.room.type and rng.random() < 0.35:
                    clauses.append((_EXIT, P.choice(rng, P.EXIT_ROOM).format(room=P.room_name(prev_room.type)), None))
                clauses.append((_KEEP, P.choice(rng, P.ENTER_ROOM).format(room=P.room_name(leg.room.type)), None))
                utt.rooms.append(leg.room)
            if leg.room is not None:
                prev_room = leg.room
            cands = self.landmark_candidates(leg, exclude=used)
            if cands and (rng.random() < detail or (k == len(legs) - 1 and leg.turn == 0.0 and not clauses)):
                i = cands[0] if len(cands) == 1 or rng.random() < 0.7 else cands[1]
                used.append(self.furniture[i].id)
                clauses.append((_LANDMARK, self._move_clause(leg, self.furniture[i], rng), self.furniture[i]))
            elif leg.length >= 3.0 or not clauses:
                clauses.append((_PLAIN, self._plain_move_clause(leg, rng), None))
        if stop_i is not None:
            utt.stop_object = self.furniture[stop_i]
            stop = P.choice(rng, P.STOP_AT).format(lm=P.object_name(self.furniture[stop_i]))
        else:
            room = self.room_of(goal[0], goal[2])
            utt.stop_room = room
            name = P.room_name(room.type) if room is not None else "hallway"
            stop = P.choice(rng, P.STOP_IN_ROOM).format(room=name)
        if not verbose:
            target = max(float(self.config.min_words), rng.normal(self.config.target_words, self.config.words_sd))
            clauses = fit_length(clauses, target - len(stop.split()))
        utt.landmarks = [lm for _, _, lm in clauses if lm is not None]
        utt.text = P.join_clauses([c for _, c, _ in clauses] + [stop], rng)
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
        details = (1.0, 0.6, 0.35)
        legs = self.legs(path, start_heading)
        out: List[Utterance] = []
        for k in range(count):
            utt = self.describe(path, start_heading, rng, details[k % len(details)], legs)
            for _ in range(4):  # reword on an exact repeat; bounded
                if all(utt.text != u.text for u in out):
                    break
                utt = self.describe(path, start_heading, rng, details[k % len(details)], legs)
            out.append(utt)
        return out


def fit_length(clauses: List[Tuple[int, str, Optional[SceneObject]]], budget: float
               ) -> List[Tuple[int, str, Optional[SceneObject]]]:
    """Drop optional clauses until the words (plus one connective per clause) fit ``budget``.

    Turns and room entries (priority ``_KEEP``) are never dropped, so a long path keeps a
    long instruction, as in R2R. Among optional clauses the lowest priority goes first
    (distances, then room exits, then landmarks), and within a priority the earliest
    (the end of a path, where the agent has to stop, is described best). One clause
    is always kept so the instruction says more than where to stop.
    """
    out = list(clauses)

    def words() -> float:
        return sum(len(c.split()) + 1 for _, c, _ in out)

    while words() > budget:
        optional = [j for j, (prio, _, _) in enumerate(out) if prio != _KEEP]
        if not optional or len(out) == 1:
            break
        del out[min(optional, key=lambda j: (out[j][0], j))]
    return out


def _same_room(a: Optional[Room], b: Optional[Room]) -> bool:
    return a is not None and b is not None and a.id == b.id
