"""Floor plans: rectangular rooms on one floor joined by doorways.

A plan is laid out by slicing a rectangular footprint. Houses of five or more rooms
(sometimes four) get a hallway strip with a band of rooms on each side, optionally
ending in a room that spans the full depth (a living room the hallway opens into);
each band and small houses are filled by a treemap that splits along the longer side
so rooms keep plausible proportions. Doors are chosen as a minimum spanning tree over
adjacent rooms, weighted by how real homes connect room types (closets open into
bedrooms, bathrooms into hallways, kitchens into dining rooms), plus a few extra
doors between public rooms. A layout is drawn again while a bedroom's doors leave no
wall for the catalogue's smallest bed (checked with the furniture placer's own rules,
``clearance.wall_spot``), so every bedroom gets its bed. The plan's data types live in
``plan_model`` (re-exported here): room rectangles are wall *centre-line* rectangles
that tile the footprint without gaps, and walls of thickness ``wall_thickness`` are
centred on their edges.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import ConfigError
from .catalogue import CATEGORIES
from .clearance import wall_spot
from .plan_model import Door, FloorPlan, PlanOptions, PlanRoom, shared_wall, split_options


@dataclass(frozen=True)
class RoomSpec:
    """Plausible size of a room type: floor area range (m^2) and shortest side (m)."""

    area: Tuple[float, float]
    min_side: float
    max_aspect: float = 2.6


ROOM_SPECS: Dict[str, RoomSpec] = {
    "living room": RoomSpec((18.0, 30.0), 3.4),
    "kitchen": RoomSpec((9.0, 15.0), 2.5),
    "dining room": RoomSpec((10.0, 16.0), 2.8),
    "bedroom": RoomSpec((10.0, 16.0), 2.8),
    "bathroom": RoomSpec((4.5, 8.0), 1.9, 3.0),
    "office": RoomSpec((7.5, 12.0), 2.4),
    "laundry room": RoomSpec((4.0, 6.5), 1.7, 3.0),
    "closet": RoomSpec((2.5, 4.5), 1.4, 3.0),
    "playroom": RoomSpec((9.0, 14.0), 2.6),
    "hallway": RoomSpec((4.0, 20.0), 1.2, 12.0),
}
ROOM_TYPES: Tuple[str, ...] = tuple(ROOM_SPECS)
# A placeholder laid out like a room and then removed, leaving a notch: L-shaped houses.
VOID = "void"
ROOM_SPECS[VOID] = RoomSpec((7.0, 14.0), 2.2, 2.2)


# --------------------------------------------------------------------------- types
_EXTRA_WEIGHTS = {"bedroom": 3.0, "dining room": 2.0, "office": 2.0, "bathroom": 1.5, "closet": 1.5,
                  "laundry room": 1.0, "playroom": 1.0}
_CAPS = {"bedroom": 4, "dining room": 1, "office": 1, "bathroom": 3, "closet": 2, "laundry room": 1, "playroom": 1,
         "kitchen": 1, "living room": 1}


def _choose_types(rng: np.random.Generator, m: int) -> List[str]:
    """Room types of the ``m`` non-hallway rooms."""
    if m <= 2:
        base = ["living room", "kitchen"][:m] if rng.random() < 0.5 else ["bedroom", "bathroom"][:m]
    elif m == 3:
        base = [["living room", "bedroom", "bathroom"], ["living room", "kitchen", "bathroom"],
                ["kitchen", "bedroom", "bathroom"]][int(rng.integers(3))]
    else:
        base = ["living room", "kitchen", "bedroom", "bathroom"]
    types = list(base)
    while len(types) < m:
        cand = [t for t, w in _EXTRA_WEIGHTS.items() if types.count(t) < _CAPS[t]]
        # at most one bathroom per three rooms, closets only next to enough bedrooms
        cand = [t for t in cand if not (t == "bathroom" and types.count("bathroom") >= 1 + len(types) // 4)]
        cand = [t for t in cand if not (t == "closet" and types.count("closet") >= types.count("bedroom"))]
        w = np.array([_EXTRA_WEIGHTS[t] for t in cand])
        types.append(cand[int(rng.choice(len(cand), p=w / w.sum()))])
    return types


# -------------------------------------------------------------------------- layout
Rect = Tuple[float, float, float, float]


def _treemap(rect: Rect, items: List[Tuple[str, float]], rng: np.random.Generator) -> Optional[List[Tuple[Rect, str]]]:
    """Split ``rect`` among ``items`` (type, weight); None if a room cannot fit its spec."""
    x0, z0, x1, z1 = rect
    if len(items) == 1:
        t = items[0][0]
        spec = ROOM_SPECS[t]
        w, d = x1 - x0, z1 - z0
        if min(w, d) < spec.min_side - 1e-9 or max(w, d) / min(w, d) > spec.max_aspect:
            return None
        return [(rect, t)]
    total = sum(a for _, a in items)
    along_x = (x1 - x0) >= (z1 - z0)
    length = (x1 - x0) if along_x else (z1 - z0)
    # candidate cut indices, most balanced first, with a little jitter for variety
    ks = list(range(1, len(items)))
    fr = [sum(a for _, a in items[:k]) / total for k in ks]
    order = sorted(range(len(ks)), key=lambda i: abs(fr[i] - 0.5) + 0.15 * rng.random())
    for i in order:
        k = ks[i]
        left, right = items[:k], items[k:]
        lo = sum(ROOM_SPECS[t].min_side for t, _ in left) if len(left) == 1 else 0.0
        hi_min = sum(ROOM_SPECS[t].min_side for t, _ in right) if len(right) == 1 else 0.0
        cut = fr[i] * length
        # nudge the cut so a single room keeps its shortest side (areas are targets, not exact)
        cut = min(max(cut, lo), length - hi_min)
        if cut <= 0 or cut >= length:
            continue
        if along_x:
            ra, rb = (x0, z0, x0 + cut, z1), (x0 + cut, z0, x1, z1)
        else:
            ra, rb = (x0, z0, x1, z0 + cut), (x0, z0 + cut, x1, z1)
        a = _treemap(ra, left, rng)
        if a is None:
            continue
        b = _treemap(rb, right, rng)
        if b is None:
            continue
        return a + b
    return None


def _order_band(idx: List[int], types: List[str], rng: np.random.Generator) -> List[int]:
    """Shuffle a band's rooms but keep each closet next to a bedroom when possible."""
    order = [idx[i] for i in rng.permutation(len(idx))]
    closets = [i for i in order if types[i] == "closet"]
    rest = [i for i in order if types[i] != "closet"]
    for c in closets:
        beds = [k for k, i in enumerate(rest) if types[i] == "bedroom"]
        pos = (beds[int(rng.integers(len(beds)))] + int(rng.integers(2))) if beds else int(rng.integers(len(rest) + 1))
        rest.insert(pos, c)
    return rest


def _round(v: float) -> float:
    # snap coordinates to the centimetre so shared walls compare exactly
    return round(v * 100.0) / 100.0


def _layout(rng: np.random.Generator, types: List[str], hallway: bool) -> Optional[List[Tuple[Rect, str]]]:
    areas = {i: float(rng.uniform(*ROOM_SPECS[t].area)) for i, t in enumerate(types)}
    if not hallway:
        total = sum(areas.values())
        aspect = float(rng.uniform(1.0, 1.6))
        w = math.sqrt(total * aspect)
        d = total / w
        order = _order_band(list(range(len(types))), types, rng)
        return _treemap((0.0, 0.0, w, d), [(types[i], areas[i]) for i in order], rng)
    idx = list(range(len(types)))
    end_rooms: List[int] = []
    if "living room" in types and len(types) >= 3 and rng.random() < 0.5:
        # the hallway opens into a room (or two stacked rooms) spanning the full depth
        end_rooms = [types.index("living room")]
        partner = [i for i, t in enumerate(types) if t in ("kitchen", "dining room")]
        if partner and len(types) >= 4 and rng.random() < 0.7:
            end_rooms.append(partner[int(rng.integers(len(partner)))])
        for i in end_rooms:
            idx.remove(i)
    # balance the two bands by area, biggest rooms first
    bands: List[List[int]] = [[], []]
    sums = [0.0, 0.0]
    for i in sorted(idx, key=lambda i: -areas[i] + rng.random()):
        b = 0 if sums[0] <= sums[1] else 1
        bands[b].append(i)
        sums[b] += areas[i]
    if not bands[1]:
        bands[1].append(bands[0].pop())
        sums = [sum(areas[i] for i in bands[0]), sum(areas[i] for i in bands[1])]
    depth_max = float(rng.uniform(3.4, 4.8))
    length = max(sums) / depth_max
    depths = [max(s / length, 2.8) for s in sums]
    hw = float(rng.uniform(1.2, 1.6))
    out: List[Tuple[Rect, str]] = []
    xs = 0.0
    total_depth = depths[0] + hw + depths[1]
    if end_rooms:
        if len(end_rooms) == 1:
            # keep a lone end room within its aspect limit (it grows rather than stretches)
            ew = max(areas[end_rooms[0]] / total_depth, total_depth / ROOM_SPECS["living room"].max_aspect)
        else:
            ew = sum(areas[i] for i in end_rooms) / total_depth
        tm = _treemap((0.0, 0.0, ew, total_depth), [(types[i], areas[i]) for i in end_rooms], rng)
        if tm is None:
            return None
        out.extend(tm)
        xs = ew
    for b, (z0, z1) in enumerate(((0.0, depths[0]), (depths[0] + hw, total_depth))):
        order = _order_band(bands[b], types, rng)
        tm = _treemap((xs, z0, xs + length, z1), [(types[i], areas[i]) for i in order], rng)
        if tm is None:
            return None
        out.extend(tm)
    out.append(((xs, depths[0], xs + length, depths[0] + hw), "hallway"))
    return out


# --------------------------------------------------------------------------- doors
_PAIR_WEIGHT = {
    frozenset(["hallway", "living room"]): 0.3, frozenset(["closet", "bedroom"]): 0.4,
    frozenset(["kitchen", "dining room"]): 0.4, frozenset(["living room", "dining room"]): 0.6,
    frozenset(["bathroom", "hallway"]): 0.5, frozenset(["bedroom", "hallway"]): 0.5,
    frozenset(["office", "hallway"]): 0.7, frozenset(["kitchen", "living room"]): 0.9,
    frozenset(["kitchen", "hallway"]): 1.2, frozenset(["laundry room", "kitchen"]): 1.0,
    frozenset(["laundry room", "hallway"]): 1.0, frozenset(["playroom", "hallway"]): 0.9,
    frozenset(["closet", "hallway"]): 1.5, frozenset(["dining room", "hallway"]): 1.5,
    frozenset(["bedroom", "living room"]): 1.8, frozenset(["bathroom", "bedroom"]): 2.0,
    frozenset(["office", "living room"]): 1.5, frozenset(["playroom", "living room"]): 1.5,
    frozenset(["bathroom", "living room"]): 3.0, frozenset(["laundry room", "bathroom"]): 2.0,
    frozenset(["bedroom"]): 7.0, frozenset(["bathroom", "kitchen"]): 9.0, frozenset(["closet", "kitchen"]): 8.0,
}
_PRIVATE = {"closet", "bathroom", "laundry room"}  # dead ends: never walked through


def _pair_weight(a: str, b: str) -> float:
    w = _PAIR_WEIGHT.get(frozenset([a, b]))
    if w is not None:
        return w
    if "closet" in (a, b):
        return 6.0
    return 4.0


def _find(parent: List[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _place_doors(rng: np.random.Generator, rooms: List[PlanRoom], opts: PlanOptions, t: float) -> Optional[List[Door]]:
    margin = t / 2 + 0.2  # keep door frames clear of the perpendicular walls
    edges = []
    for i in range(len(rooms)):
        for j in range(i + 1, len(rooms)):
            sw = shared_wall(rooms[i], rooms[j])
            if sw is None or sw[3] - sw[2] < opts.min_door_width + 2 * margin:
                continue
            w = _pair_weight(rooms[i].type, rooms[j].type) + 0.8 * float(rng.random())
            edges.append((w, i, j, sw))
    edges.sort(key=lambda e: e[0])
    parent = list(range(len(rooms)))
    chosen, rest = [], []
    for e in edges:
        ri, rj = _find(parent, e[1]), _find(parent, e[2])
        if ri != rj:
            parent[ri] = rj
            chosen.append(e)
        else:
            rest.append(e)
    if len({_find(parent, i) for i in range(len(rooms))}) != 1:
        return None
    degree = [0] * len(rooms)
    for e in chosen:
        degree[e[1]] += 1
        degree[e[2]] += 1
    for e in rest:
        ta, tb = rooms[e[1]].type, rooms[e[2]].type
        if ta in _PRIVATE or tb in _PRIVATE or e[0] > 2.0:
            continue
        # every extra door costs floor space (its clearance zones): only roomy rooms with few doors
        busy = any(degree[i] >= (4 if rooms[i].type == "hallway" else 2) or (rooms[i].type != "hallway" and rooms[i].area < 9.0)
                   for i in (e[1], e[2]))
        if not busy and rng.random() < opts.extra_door_prob:
            chosen.append(e)
            degree[e[1]] += 1
            degree[e[2]] += 1
    doors = []
    for k, (_, i, j, (axis, line, s, e)) in enumerate(chosen):
        avail = e - s - 2 * margin
        width = min(float(rng.uniform(opts.min_door_width, opts.max_door_width)), avail)
        slack = avail - width
        # doors mostly sit near a corner, as in real homes, which leaves walls free for furniture
        u = float(rng.uniform(0.0, min(slack, 0.3)))
        r = float(rng.random())
        start = s + margin + (u if r < 0.4 else slack - u if r < 0.8 else float(rng.uniform(0.0, slack)))
        doors.append(Door(k, (i, j), axis, line, start, start + width, opts.door_height))
    return doors


def generate_plan(seed: int, num_rooms: Optional[int] = None, **options) -> FloorPlan:
    """A deterministic floor plan of ``num_rooms`` rooms (default drawn in 4..8 from ``seed``).

    Options are the fields of :class:`PlanOptions`; ``HouseOptions`` fields are accepted and
    ignored (so ``generate_plan(seed, n, **o)`` is the plan of ``generate_house(seed, n, **o)``);
    other names raise ``ConfigError``.
    """
    opts, rest = split_options(options, PlanOptions)
    # house-only options are accepted (and ignored) so callers can pass one option dict to both
    from .house import HouseOptions

    unknown = sorted(set(rest) - {f.name for f in fields(HouseOptions)})
    if unknown:
        raise ConfigError(f"unknown floor-plan option(s) {unknown}; expected any of {[f.name for f in fields(PlanOptions)]}")
    return _generate_plan(seed, num_rooms, opts)


@lru_cache(maxsize=None)
def _smallest_footprint(category: str) -> Tuple[float, float, float, float]:
    """Local footprint ``(x0, z0, x1, z1)`` of the smallest piece of a catalogue category."""
    cat = CATEGORIES[category]
    (w0, _), (d0, _), (h0, _) = cat.size
    # the furniture placer's smallest draw, built the same way so the bounds agree to the bit
    v = np.concatenate([m[0] for m, _ in cat.build(w0, d0, h0, np.random.default_rng(0))])
    return (float(v[:, 0].min()), float(v[:, 2].min()), float(v[:, 0].max()), float(v[:, 2].max()))


def _bed_fits(plan: FloorPlan, room: PlanRoom) -> bool:
    """Whether the smallest bed fits against a wall of ``room``, clear of its doors, keeping them connected."""
    return wall_spot(plan, room, _smallest_footprint("bed")) is not None


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed={seed!r}; expected a non-negative integer")
    return int(seed)


def _generate_plan(seed: int, num_rooms: Optional[int], opts: PlanOptions) -> FloorPlan:
    seed = _check_seed(seed)
    opts.validate()
    rng = np.random.default_rng([seed, 0])
    drawn = int(rng.integers(4, 9))
    if num_rooms is None:
        n = drawn
    else:
        if isinstance(num_rooms, bool) or not isinstance(num_rooms, (int, np.integer)) or not 3 <= num_rooms <= 10:
            raise ConfigError(f"num_rooms={num_rooms!r}; expected an integer in [3, 10]")
        n = int(num_rooms)
    t = opts.wall_thickness if opts.wall_thickness is not None else round(float(rng.uniform(0.10, 0.15)), 3)
    h = opts.wall_height if opts.wall_height is not None else round(float(rng.uniform(2.5, 2.9)), 2)
    if opts.hallway is not None:
        hallway = bool(opts.hallway) and n >= 3
    else:
        hallway = n >= 6 or (n == 5 and rng.random() < 0.75) or (n == 4 and rng.random() < 0.3)
    if opts.l_shape is not None:
        l_shape = bool(opts.l_shape) and n >= 3
    else:
        l_shape = n >= 4 and rng.random() < 0.35
    for attempt in range(300):
        types = _choose_types(rng, n - int(hallway))
        if l_shape:
            types.append(VOID)
        laid = _layout(rng, types, hallway)
        if laid is None:
            continue
        if l_shape:
            # the placeholder must sit in a corner of the footprint, so removing it leaves an L
            W0 = max(r[2] for r, _ in laid)
            D0 = max(r[3] for r, _ in laid)
            (vx0, vz0, vx1, vz1), = [r for r, t_ in laid if t_ == VOID]
            if not ((abs(vx0) < 1e-9 or abs(vx1 - W0) < 1e-9) and (abs(vz0) < 1e-9 or abs(vz1 - D0) < 1e-9)):
                continue
            laid = [(r, t_) for r, t_ in laid if t_ != VOID]
        # random mirror/transpose so hallways and bands run in all directions
        flip_x, flip_z, transpose = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5
        W = max(r[2] for r, _ in laid)
        D = max(r[3] for r, _ in laid)
        rooms = []
        for i, ((x0, z0, x1, z1), typ) in enumerate(laid):
            if flip_x:
                x0, x1 = W - x1, W - x0
            if flip_z:
                z0, z1 = D - z1, D - z0
            if transpose:
                x0, z0, x1, z1 = z0, x0, z1, x1
            # centre the footprint on the origin
            cx, cz = ((D if transpose else W) / 2, (W if transpose else D) / 2)
            rooms.append(PlanRoom(i, typ, _round(x0 - cx), _round(z0 - cz), _round(x1 - cx), _round(z1 - cz)))
        doors = _place_doors(rng, rooms, opts, t)
        if doors is None:
            continue
        # nobody walks through a bathroom, closet or laundry to reach another room (relaxed late)
        degree = np.bincount([i for d in doors for i in d.rooms], minlength=len(rooms))
        if attempt < 200 and any(degree[r.id] > 1 for r in rooms if r.type in _PRIVATE):
            continue
        # a bedroom with a second door needs the floor space for a bed beside two door zones
        if attempt < 150 and any(degree[r.id] > 1 and r.area < 11.0 for r in rooms if r.type == "bedroom"):
            continue
        plan = FloorPlan(rooms, doors, t, h, opts.door_height, seed, hallway, {"attempts": attempt + 1, "l_shape": l_shape})
        # never relaxed: a bedroom whose doors leave no wall for the smallest bed (e.g. three
        # doors in a 2.8 m wide room) is laid out again, so the furnisher's last resort succeeds
        if any(r.type == "bedroom" and not _bed_fits(plan, r) for r in rooms):
            continue
        return plan
    raise ConfigError(f"could not lay out {n} rooms for seed {seed} with options {opts}; try other options")
