"""Procedural houses: plans, structure, furniture rules, textures, primitives.

Every check is made against the geometry itself (room rectangles, door segments,
object boxes, ray casts), not against the generator's own bookkeeping.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import ndimage
from shapely.geometry import box
from shapely.ops import unary_union

from vlnsim.errors import ConfigError
from vlnsim.render.raycast import RayCaster
from vlnsim.scene import catalogue, primitives, textures
from vlnsim.scene.floorplan import generate_plan
from vlnsim.scene.house import generate_house

SEEDS = list(range(20))
STRUCTURE = {"wall", "floor", "ceiling", "door_frame", "doorway"}
FLAT = {"rug"}
EPS = 1e-4

# Hand-written expectations of where things belong (independent of the catalogue's table).
ONLY_IN = {
    "toilet": {"bathroom"}, "bathtub": {"bathroom"}, "shower": {"bathroom"}, "towel rack": {"bathroom", "laundry room"},
    "bed": {"bedroom"}, "nightstand": {"bedroom"}, "wardrobe": {"bedroom"}, "dresser": {"bedroom"},
    "stove": {"kitchen"}, "refrigerator": {"kitchen"}, "microwave": {"kitchen"}, "kitchen counter": {"kitchen"},
    "washing machine": {"bathroom", "laundry room"}, "clothes dryer": {"laundry room"},
    "dining table": {"dining room"}, "sofa": {"living room"}, "coffee table": {"living room"}, "tv stand": {"living room"},
    "fireplace": {"living room"}, "piano": {"living room"}, "desk": {"office", "bedroom"}, "toy box": {"playroom"},
    "bean bag": {"playroom"}, "shoe rack": {"hallway", "closet"}, "coat rack": {"hallway", "closet"},
}
MUST_HAVE = {
    "bedroom": {"bed"}, "bathroom": {"toilet", "sink"}, "kitchen": {"refrigerator", "stove"},
    "living room": {"sofa"}, "dining room": {"dining table"}, "office": {"desk"}, "laundry room": {"washing machine"},
}


@pytest.fixture(scope="module")
def houses():
    return [(generate_plan(s), generate_house(s)) for s in SEEDS]


def _furniture(scene):
    return [o for o in scene.objects if o.category not in STRUCTURE]


def _door_side_points(plan, door, dist):
    """Points ``dist`` metres from the wall centre line on both sides of the door's middle."""
    cx, cz = door.center
    nx, nz = door.normal
    return (cx + nx * dist, cz + nz * dist), (cx - nx * dist, cz - nz * dist)


# ------------------------------------------------------------------ determinism
def test_same_seed_identical_different_seed_differs():
    a, b, c = generate_house(7), generate_house(7), generate_house(8)
    for name in ("vertices", "faces", "face_object", "face_material", "uvs"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.objects == b.objects and a.rooms == b.rooms
    assert [m.name for m in a.materials] == [m.name for m in b.materials]
    for ma, mb in zip(a.materials, b.materials):
        assert ma.base_color == mb.base_color
        assert (ma.texture is None) == (mb.texture is None)
        if ma.texture is not None:
            np.testing.assert_array_equal(ma.texture, mb.texture)
    assert a.vertices.shape != c.vertices.shape or not np.array_equal(a.vertices, c.vertices)
    assert a.rooms != c.rooms


def test_room_counts_and_types_vary(houses):
    counts = [len(p.rooms) for p, _ in houses]
    assert all(4 <= n <= 8 for n in counts) and len(set(counts)) >= 3
    types = {r.type for _, s in houses for r in s.rooms}
    assert len(types) >= 8, types
    for n in (3, 10):
        for s in range(3):
            assert len(generate_plan(s, n).rooms) == n


@pytest.mark.parametrize("kwargs", [dict(num_rooms=2), dict(num_rooms=11), dict(num_rooms=4.5), dict(bogus=1),
                                    dict(min_door_width=0.7), dict(wall_height=9.0), dict(max_fill=2.0)])
def test_bad_options_raise(kwargs):
    with pytest.raises(ConfigError):
        generate_house(1, **kwargs)
    with pytest.raises(ConfigError):
        generate_house(-1)


# ----------------------------------------------------------------------- plans
def test_rooms_tile_footprint_with_plausible_sizes(houses):
    for plan, scene in houses:
        # rooms tile one simply connected footprint (a rectangle or an L)
        union = unary_union([box(r.x0, r.z0, r.x1, r.z1) for r in plan.rooms])
        assert union.geom_type == "Polygon" and len(union.interiors) == 0
        assert union.area == pytest.approx(sum(r.area for r in plan.rooms), rel=1e-9)
        x0, z0, x1, z1 = plan.bounds
        assert union.area <= (x1 - x0) * (z1 - z0) + EPS
        for a, b in itertools.combinations(plan.rooms, 2):
            ox = min(a.x1, b.x1) - max(a.x0, b.x0)
            oz = min(a.z1, b.z1) - max(a.z0, b.z0)
            assert ox <= EPS or oz <= EPS, (plan.seed, a, b)
        for r in plan.rooms:
            assert min(r.width, r.depth) >= 1.2 - EPS
            if r.type in ("bedroom", "living room", "kitchen", "dining room"):
                assert r.area >= 7.0, r
        # scene rooms are the plan's rectangles, counter-clockwise in (x, z)
        for r, sr in zip(plan.rooms, scene.rooms):
            p = np.asarray(sr.polygon)
            area2 = np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1))
            assert sr.id == r.id and sr.type == r.type and area2 > 0


def test_doors_on_shared_walls_and_graph_connected(houses):
    for plan, _ in houses:
        parent = list(range(len(plan.rooms)))

        def find(i):
            while parent[i] != i:
                i = parent[i]
            return i

        for d in plan.doors:
            a, b = (plan.rooms[i] for i in d.rooms)
            (px, pz), (qx, qz) = d.segment
            assert math.hypot(qx - px, qz - pz) >= 0.9 - EPS
            assert d.height >= 2.0
            # the opening lies on an edge of both rectangles, within their common stretch
            for r in (a, b):
                if abs(pz - qz) < EPS:  # wall along x
                    assert min(abs(pz - r.z0), abs(pz - r.z1)) < EPS
                    assert r.x0 + plan.wall_thickness / 2 <= min(px, qx) + EPS and max(px, qx) <= r.x1 - plan.wall_thickness / 2 + EPS
                else:
                    assert abs(px - qx) < EPS and min(abs(px - r.x0), abs(px - r.x1)) < EPS
                    assert r.z0 + plan.wall_thickness / 2 <= min(pz, qz) + EPS and max(pz, qz) <= r.z1 - plan.wall_thickness / 2 + EPS
            # and the two rooms are on opposite sides of it
            (sx, sz), (tx, tz) = _door_side_points(plan, d, 0.3)
            assert {plan.room_at(sx, sz).id, plan.room_at(tx, tz).id} == set(d.rooms)
            parent[find(d.rooms[0])] = find(d.rooms[1])
        assert len({find(i) for i in range(len(plan.rooms))}) == 1, plan.seed


def test_some_rooms_have_several_doors(houses):
    multi = [r.type for p, _ in houses for r in p.rooms if r.type != "hallway" and len(p.doors_of(r.id)) >= 2]
    assert len(multi) >= 10 and len(set(multi)) >= 3, multi


# ------------------------------------------------------------------- structure
def test_scene_objects_well_formed(houses):
    for plan, scene in houses:
        ids = [o.id for o in scene.objects]
        assert len(set(ids)) == len(ids) and min(ids) >= 0
        assert set(np.unique(scene.face_object)) <= set(ids)
        faces_of = np.bincount(scene.face_object, minlength=max(ids) + 1)
        for o in scene.objects:
            if o.category in STRUCTURE:
                assert o.room is None
            else:
                assert o.room is not None and o.color in catalogue.COLORS
            assert (faces_of[o.id] == 0) == (o.category == "doorway")
        doorways = [o for o in scene.objects if o.category == "doorway"]
        assert len(doorways) == len(plan.doors) == sum(o.category == "door_frame" for o in scene.objects)
        for d, o in zip(plan.doors, doorways):
            lo, hi = np.asarray(o.bbox_min), np.asarray(o.bbox_max)
            along = (0, 2) if d.axis == "x" else (2, 0)
            assert lo[along[0]] == pytest.approx(d.start) and hi[along[0]] == pytest.approx(d.end)
            assert lo[along[1]] < d.line < hi[along[1]] and lo[1] == 0.0 and hi[1] == pytest.approx(plan.door_height)
        # floor top at y = 0 everywhere, ceiling at the wall height
        v = scene.vertices
        floor_ids = [o.id for o in scene.objects if o.category == "floor"]
        assert v[scene.faces[np.isin(scene.face_object, floor_ids)]][..., 1].max() == pytest.approx(0.0)
        assert v[:, 1].min() == pytest.approx(-0.1)


def test_primitives_closed_with_outward_normals():
    def volume(mesh):
        v, f, _ = mesh
        p = v[f]
        return float(np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0)

    assert volume(primitives.box((0, 0, 0), (1, 2, 3))) == pytest.approx(6.0)
    n = 12
    ngon = 0.5 * n * math.sin(2 * math.pi / n)  # area of the inscribed unit n-gon
    assert volume(primitives.cylinder((1, 2), 0.5, 0.0, 2.0, n)) == pytest.approx(ngon * 0.25 * 2.0)
    fr = primitives.frustum((0, 0), 1.0, 0.5, 0.0, 1.0, n)
    assert volume(fr) == pytest.approx(ngon * (1 + 0.5 + 0.25) / 3.0)
    assert 0.8 * 4 / 3 * math.pi < volume(primitives.sphere((0, 0, 0), 1.0, 8, 16)) < 4 / 3 * math.pi
    # quarter turns are proper rotations: a rotated box keeps a positive volume
    v, f, uv = primitives.box((0, 0, 0), (1, 2, 3))
    assert volume((primitives.rotate_y_quarter(v, 1), f, uv)) == pytest.approx(6.0)


def test_no_ray_escapes_from_inside(houses):
    for plan, scene in houses:
        rc = RayCaster(scene)
        rng = np.random.default_rng(plan.seed)
        h = plan.wall_thickness / 2
        for r in plan.rooms:
            n = 2000
            o = np.stack([rng.uniform(r.x0 + h, r.x1 - h, n), rng.uniform(0.1, 2.4, n), rng.uniform(r.z0 + h, r.z1 - h, n)], 1)
            d = rng.normal(size=(n, 3))
            d /= np.linalg.norm(d, axis=1, keepdims=True)
            t = rc.first_hit_distance(o, d)
            assert np.isfinite(t).all(), (plan.seed, r.type, int((~np.isfinite(t)).sum()))


def test_doorways_open_and_walls_closed(houses):
    for plan, scene in houses:
        rc = RayCaster(scene)
        for d in plan.doors:
            (sx, sz), _ = _door_side_points(plan, d, 0.5)
            nx, nz = d.normal
            o = np.array([[sx, 1.0, sz]])
            dirn = np.array([[-nx, 0.0, -nz]])
            # through the opening: nothing within the wall's thickness beyond the centre line
            assert rc.first_hit_distance(o, dirn)[0] > 0.5 + plan.wall_thickness, (plan.seed, d)
            # control: the same ray just beside the frame hits the wall
            ax, az = (1.0, 0.0) if d.axis == "x" else (0.0, 1.0)
            mid = (d.start + d.end) / 2
            for off in (d.start - 0.15, d.end + 0.15):
                beside = o + np.array([[ax * (off - mid), 0.0, az * (off - mid)]])
                assert rc.first_hit_distance(beside, dirn)[0] <= 0.5 + EPS
            # the lintel closes the wall above the door
            top = o.copy()
            top[0, 1] = (plan.door_height + plan.wall_height) / 2 + 0.05
            assert rc.first_hit_distance(top, dirn)[0] <= 0.5 - plan.wall_thickness / 2 + 0.05


# ------------------------------------------------------------------- furniture
def test_furniture_inside_rooms(houses):
    for plan, scene in houses:
        h = plan.wall_thickness / 2
        for o in _furniture(scene):
            r = plan.rooms[o.room]
            lo, hi = o.bbox_min, o.bbox_max
            assert r.x0 + h - EPS <= lo[0] and hi[0] <= r.x1 - h + EPS, (plan.seed, o)
            assert r.z0 + h - EPS <= lo[2] and hi[2] <= r.z1 - h + EPS, (plan.seed, o)
            assert -EPS <= lo[1] and hi[1] <= plan.wall_height + EPS
            # the bbox is the object's geometry's bbox
            v = scene.vertices[np.unique(scene.faces[scene.face_object == o.id])]
            np.testing.assert_allclose(v.min(0), lo, atol=1e-4)
            np.testing.assert_allclose(v.max(0), hi, atol=1e-4)


def test_no_overlaps(houses):
    for plan, scene in houses:
        objs = _furniture(scene)
        for a, b in itertools.combinations(objs, 2):
            inter = [min(a.bbox_max[i], b.bbox_max[i]) - max(a.bbox_min[i], b.bbox_min[i]) for i in range(3)]
            if (a.category in FLAT) != (b.category in FLAT):
                continue  # rugs may lie under furniture
            if a.category in FLAT:
                assert min(inter[0], inter[2]) <= 1e-3, (plan.seed, a, b)
            else:
                assert min(inter) <= 1e-3, (plan.seed, a, b)


def test_no_object_blocks_a_doorway(houses):
    for plan, scene in houses:
        h = plan.wall_thickness / 2
        objs = _furniture(scene)
        for d in plan.doors:
            for side in (+1, -1):
                # clearance zone 0.9 m deep beyond the wall face, as wide as the opening
                if d.axis == "x":
                    z = (d.line + side * h, d.line + side * (h + 0.9))
                    zone = (d.start, min(z), d.end, max(z))
                else:
                    x = (d.line + side * h, d.line + side * (h + 0.9))
                    zone = (min(x), d.start, max(x), d.end)
                for o in objs:
                    ox = min(zone[2], o.bbox_max[0]) - max(zone[0], o.bbox_min[0])
                    oz = min(zone[3], o.bbox_max[2]) - max(zone[1], o.bbox_min[2])
                    assert ox <= EPS or oz <= EPS, (plan.seed, d, o)


def test_rooms_stay_walkable(houses):
    """Brute force on a 5 cm grid: every doorway of a room is reachable from every other."""
    radius, cell = 0.1, 0.05
    for plan, scene in houses:
        h = plan.wall_thickness / 2
        for r in plan.rooms:
            xs = np.arange(r.x0 + h + cell / 2, r.x1 - h, cell)
            zs = np.arange(r.z0 + h + cell / 2, r.z1 - h, cell)
            X, Z = np.meshgrid(xs, zs)
            free = (X - (r.x0 + h) > radius) & ((r.x1 - h) - X > radius) & (Z - (r.z0 + h) > radius) & ((r.z1 - h) - Z > radius)
            for o in _furniture(scene):
                if o.room != r.id or o.category in FLAT or o.bbox_min[1] > 0.05:
                    continue
                dx = np.maximum(np.maximum(o.bbox_min[0] - X, X - o.bbox_max[0]), 0)
                dz = np.maximum(np.maximum(o.bbox_min[2] - Z, Z - o.bbox_max[2]), 0)
                free &= np.hypot(dx, dz) > radius
            labels, _ = ndimage.label(free)
            comps = set()
            for d in plan.doors_of(r.id):
                pts = _door_side_points(plan, d, h + 0.3)
                (px, pz), = [p for p in pts if r.x0 < p[0] < r.x1 and r.z0 < p[1] < r.z1]
                comps.add(int(labels[np.argmin(np.abs(zs - pz)), np.argmin(np.abs(xs - px))]))
            assert 0 not in comps and len(comps) == 1, (plan.seed, r)


def test_affinities_and_required_items(houses):
    for plan, scene in houses:
        by_room = {r.id: set() for r in plan.rooms}
        for o in _furniture(scene):
            rtype = plan.rooms[o.room].type
            by_room[o.room].add(o.category)
            assert o.category in catalogue.allowed_categories(rtype), (o.category, rtype)
            if o.category in ONLY_IN:
                assert rtype in ONLY_IN[o.category], (plan.seed, o.category, rtype)
        for r in plan.rooms:
            missing = MUST_HAVE.get(r.type, set()) - by_room[r.id]
            assert not missing, (plan.seed, r.type, missing)


def test_catalogue_variety(houses):
    cats = {o.category for _, s in houses for o in _furniture(s)}
    assert len(cats) >= 25, sorted(cats)
    assert len(catalogue.CATEGORIES) >= 30
    colors = {(o.category, o.color) for _, s in houses for o in _furniture(s)}
    assert sum(1 for c in cats if len({col for cat, col in colors if cat == c}) >= 2) >= 15


# -------------------------------------------------------------------- textures
@pytest.mark.parametrize("kind", sorted(textures.GENERATORS))
def test_textures_deterministic_and_tileable(kind):
    a = textures.TextureCache(3, 64).get(kind, (0.6, 0.5, 0.4))
    b = textures.TextureCache(3, 64).get(kind, (0.6, 0.5, 0.4))
    c = textures.TextureCache(4, 64).get(kind, (0.6, 0.5, 0.4))
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.std() > 1.0  # not a flat colour


def test_periodic_noise_wraps_smoothly():
    n = textures.periodic_noise(np.random.default_rng(0), 64, 4)
    inner = np.abs(np.diff(n, axis=1)).mean()
    seam = np.abs(n[:, 0] - n[:, -1]).mean()
    assert seam < 3 * inner
    # a non-periodic control has a visible seam
    ramp = np.tile(np.linspace(0, 1, 64), (64, 1))
    assert np.abs(ramp[:, 0] - ramp[:, -1]).mean() > 3 * np.abs(np.diff(ramp, axis=1)).mean()


def test_footprints_vary(houses):
    shapes = {len(unary_union([box(r.x0, r.z0, r.x1, r.z1) for r in p.rooms]).simplify(1e-9).exterior.coords) for p, _ in houses}
    assert shapes == {5, 7}  # rectangles and L shapes (closed rings: 4 or 6 corners + 1)


def test_hallways_connect_rooms(houses):
    halls = [(p, r) for p, _ in houses for r in p.rooms if r.type == "hallway"]
    assert len(halls) >= 10
    for p, r in halls:
        assert len(p.doors_of(r.id)) >= 2, (p.seed, r)


@pytest.mark.parametrize("seed,kwargs", [(1, dict(wall_thickness=0.3, min_door_width=1.2, max_door_width=1.4)),
                                         (2, dict(num_rooms=10, wall_height=3.5)), (3, dict(num_rooms=3, hallway=True)),
                                         (4, dict(furniture_density=3.0, max_fill=0.6))])
def test_options_keep_the_rules(seed, kwargs):
    n = kwargs.pop("num_rooms", None)
    plan_keys = {"wall_thickness", "min_door_width", "max_door_width", "wall_height", "hallway"}
    pair = [(generate_plan(seed, n, **{k: v for k, v in kwargs.items() if k in plan_keys}), generate_house(seed, n, **kwargs))]
    plan = pair[0][0]
    if "wall_thickness" in kwargs:
        assert plan.wall_thickness == kwargs["wall_thickness"]
        assert min(d.width for d in plan.doors) >= kwargs["min_door_width"] - EPS
    for check in (test_doors_on_shared_walls_and_graph_connected, test_no_ray_escapes_from_inside, test_doorways_open_and_walls_closed,
                  test_furniture_inside_rooms, test_no_overlaps, test_no_object_blocks_a_doorway, test_rooms_stay_walkable):
        check(pair)


def test_crowded_bedrooms_still_get_a_bed():
    """10-room seeds whose first layout had a bedroom with three doors and no wall left for a bed."""
    pairs = [(generate_plan(seed, 10), generate_house(seed, 10)) for seed in (892, 2013, 2772)]
    for check in (test_affinities_and_required_items, test_furniture_inside_rooms, test_no_overlaps,
                  test_no_object_blocks_a_doorway, test_rooms_stay_walkable):
        check(pairs)


def test_no_furniture_option():
    scene = generate_house(5, furniture=False)
    assert {o.category for o in scene.objects} == STRUCTURE


def test_save_and_load_keep_semantics(tmp_path):
    from vlnsim.scene.io import load_scene

    scene = generate_house(11, 4)
    scene.save(str(tmp_path / "house.glb"))
    back = load_scene(str(tmp_path / "house.glb"))
    assert back.num_triangles == scene.num_triangles
    assert [(r.id, r.type) for r in back.rooms] == [(r.id, r.type) for r in scene.rooms]
    for r, b in zip(scene.rooms, back.rooms):
        np.testing.assert_allclose(np.asarray(b.polygon), np.asarray(r.polygon), atol=1e-6)
    assert [(o.id, o.category, o.color, o.room) for o in back.objects] == [(o.id, o.category, o.color, o.room) for o in scene.objects]
    for a, b in zip(back.bounds, scene.bounds):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert sum(o.category == "doorway" for o in back.objects) >= 3


def test_identical_across_processes():
    """No dependence on Python's per-process hash seed (dataset workers must agree)."""
    import subprocess
    import sys

    code = ("import hashlib; from vlnsim.scene.house import generate_house; s = generate_house(5); h = hashlib.sha1();"
            "[h.update(a.tobytes()) for a in (s.vertices, s.faces, s.face_material, s.uvs)];"
            "[h.update(m.texture.tobytes()) for m in s.materials if m.texture is not None];"
            "h.update(repr(s.objects).encode()); print(h.hexdigest())")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(k)}).stdout for k in (1, 2)}
    assert len(outs) == 1


def test_rooms_have_distinct_wall_paint(houses):
    for plan, scene in houses:
        walls = [o.id for o in scene.objects if o.category == "wall"]
        mats = []
        rc = RayCaster(scene)
        for r in plan.rooms:
            # the material of the first wall face seen from the room's centre, just under the ceiling
            cx, cz = (r.x0 + r.x1) / 2, (r.z0 + r.z1) / 2
            for dx, dz in ((0, -1), (0, 1), (1, 0), (-1, 0)):
                hit = rc.intersect(np.array([[cx, 2.3, cz]]), np.array([[dx, 0.0, dz]]))
                prim = int(hit.prim[0])
                if scene.face_object[prim] in walls:
                    mats.append(int(scene.face_material[prim]))
                    break
        assert len(set(mats)) >= len(mats) - 1, (plan.seed, mats)  # tiles may repeat; paints do not


def test_no_coplanar_overlaps_in_visible_structure(houses):
    """No two same-facing structural faces (walls, casings, skirting, floors) overlap: no z-fighting."""
    for plan, scene in houses[:8]:
        ids = [o.id for o in scene.objects if o.category in ("wall", "door_frame", "floor")]
        sel = np.isin(scene.face_object, ids)
        tri = scene.vertices[scene.faces[sel]].astype(np.float64)
        obj = scene.face_object[sel]
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        axis = np.argmax(np.abs(n), axis=1)
        sign = np.sign(n[np.arange(len(n)), axis])
        rects = {}
        for i in range(len(tri)):
            a = int(axis[i])
            if a == 1 and (sign[i] < 0 or abs(tri[i, 0, 1]) > 1e-6):
                continue  # only floor tops among horizontal faces (wall tops touch the ceiling)
            o = [k for k in range(3) if k != a]
            lo, hi = tri[i][:, o].min(0), tri[i][:, o].max(0)
            key = (a, int(sign[i]), round(float(tri[i, 0, a]), 5))
            rects.setdefault(key, set()).add((int(obj[i]), *np.round(lo, 5), *np.round(hi, 5)))
        for key, rs in rects.items():
            rs = sorted(rs)
            for (oa, a0, a1, a2, a3), (ob, b0, b1, b2, b3) in itertools.combinations(rs, 2):
                if (oa, a0, a1, a2, a3) == (ob, b0, b1, b2, b3):
                    continue
                ov = (min(a2, b2) - max(a0, b0), min(a3, b3) - max(a1, b1))
                assert min(ov) <= 1e-4, (plan.seed, key, (oa, a0, a1, a2, a3), (ob, b0, b1, b2, b3))
