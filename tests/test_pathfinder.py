"""PathFinder: geodesic distances against the exact continuous shortest path, paths, snapping, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from vlnsim.agent import AgentConfig
from vlnsim.errors import InvalidPoseError
from vlnsim.nav.boxworld import ExactShortestPaths, free_space_polygon, walled_room
from vlnsim.nav.grid import build_navgrid
from vlnsim.nav.pathfinder import PathFinder

RADIUS = AgentConfig().radius


def _offices():
    """12 x 10 m: thin (5 cm) partial walls, a divider, boxes; all gaps >= 0.8 m."""
    w = walled_room(0, 0, 12, 10)
    w.add_wall(6, 0, 6.1, 6)
    w.add_wall(0, 5, 4, 5.05)
    w.add_wall(8, 4, 12, 4.05)
    w.add((2, 0, 2), (3, 0.8, 3), "table")
    w.add((8, 0, 7), (9.5, 1.8, 7.5), "cabinet")
    w.add((4, 0, 6.5), (5, 2.0, 7.7), "box")
    w.add((7.3, 0, 1.3), (7.9, 2.0, 1.9), "box")
    w.add((9.3, 0, 2.1), (10.0, 2.0, 2.6), "box")
    return w, (0, 0, 12, 10)


def _maze():
    """8 x 6 m zig-zag corridors between slanted-free thin walls and pillars."""
    w = walled_room(0, 0, 8, 6)
    w.add_wall(2, 0, 2.05, 4.6)
    w.add_wall(4, 1.4, 4.05, 6)
    w.add_wall(6, 0, 6.05, 4.2)
    for x, z in ((1.0, 1.0), (3.0, 3.7), (5.2, 2.0), (7.0, 5.0)):
        w.add((x, 0, z), (x + 0.3, 2.0, z + 0.3), "pillar")
    return w, (0, 0, 8, 6)


@pytest.fixture(scope="module", params=["offices", "maze"])
def world(request):
    w, inner = {"offices": _offices, "maze": _maze}[request.param]()
    pf = PathFinder(build_navgrid(w.to_scene(), AgentConfig(), 0.05))
    free = free_space_polygon(inner, w.footprints(AgentConfig().max_climb), RADIUS)
    return pf, free, inner


def _pairs(free, inner, n, seed):
    rng = np.random.default_rng(seed)
    interior = free.buffer(-0.03)  # keep clear of boundary cells where snapping may differ
    out = []
    while len(out) < n:
        a, b = rng.uniform(inner[:2], inner[2:], size=(2, 2))
        if interior.contains(Point(a)) and interior.contains(Point(b)):
            out.append((a, b))
    return out


def test_geodesic_matches_exact_visibility_graph(world):
    pf, free, inner = world
    errs = []
    exact = ExactShortestPaths(free)
    for a, b in _pairs(free, inner, 40, 7):
        ref, _ = exact.query(a, b)
        got = pf.geodesic_distance([a[0], 0.0, a[1]], [b[0], 0.0, b[1]])
        assert abs(got - ref) <= max(0.02 * ref, 0.05), (a, b, got, ref)
        errs.append((got - ref) / ref)
    # the error is small on average too, not only within the bound
    assert abs(np.mean(errs)) < 0.01


def test_path_is_in_free_space_and_its_length_is_the_geodesic(world):
    pf, free, inner = world
    region = free.buffer(0.05)  # the grid boundary may sit up to a cell outside the exact one
    for a, b in _pairs(free, inner, 10, 3):
        pa, pb = [a[0], 0.0, a[1]], [b[0], 0.0, b[1]]
        path = np.asarray(pf.find_path(pa, pb))
        assert np.allclose(path[0][[0, 2]], a) and np.allclose(path[-1][[0, 2]], b)
        assert np.allclose(path[:, 1], 0.0, atol=1e-4)
        assert region.covers(LineString(path[:, [0, 2]]))
        length = float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())
        assert length == pytest.approx(pf.geodesic_distance(pa, pb), rel=1e-9)


def test_straight_line_in_an_empty_room_is_euclidean():
    pf = PathFinder(build_navgrid(walled_room(0, 0, 5, 4).to_scene()))
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = np.r_[rng.uniform(0.2, 4.8), 0.0, rng.uniform(0.2, 3.8)]
        b = np.r_[rng.uniform(0.2, 4.8), 0.0, rng.uniform(0.2, 3.8)]
        assert pf.geodesic_distance(a, b) == pytest.approx(np.linalg.norm(a - b), abs=1e-6)
        assert len(pf.find_path(a, b)) == 2


def test_unreachable_is_inf_and_empty_path():
    w = walled_room(0, 0, 4, 2)
    w.add_wall(2, 0, 2.1, 2)
    pf = PathFinder(build_navgrid(w.to_scene()))
    a, b = [1.0, 0.0, 1.0], [3.0, 0.0, 1.0]
    assert pf.num_islands == 2
    assert pf.island_of(a) != pf.island_of(b)
    assert math.isinf(pf.geodesic_distance(a, b))
    assert pf.find_path(a, b) == []
    # a list of goals: the nearest reachable one counts
    assert pf.geodesic_distance(a, [b, [1.5, 0.0, 1.0]]) == pytest.approx(0.5, abs=1e-6)


def test_multi_goal_is_min_of_single_goals():
    w, inner = _offices()
    pf = PathFinder(build_navgrid(w.to_scene()))
    a = [1.0, 0.0, 1.0]
    goals = [[11.0, 0.0, 9.0], [5.0, 0.0, 9.0], [10.5, 0.0, 1.0]]
    single = [pf.geodesic_distance(a, g) for g in goals]
    assert pf.geodesic_distance(a, goals) == pytest.approx(min(single))


def test_distance_fields_are_cached_per_goal():
    w, _ = _offices()
    pf = PathFinder(build_navgrid(w.to_scene()))
    goal = [11.0, 0.0, 9.0]
    d1 = pf.geodesic_distance([1.0, 0.0, 1.0], goal)
    fields = len(pf.grid.cache["fields"])
    d2 = pf.geodesic_distance([1.0, 0.0, 1.0], goal)
    pf.geodesic_distance([1.5, 0.0, 8.0], goal)
    assert d1 == d2 and len(pf.grid.cache["fields"]) == fields
    # a second PathFinder on the same grid shares the fields
    assert PathFinder(pf.grid)._fields is pf._fields


def test_snap_and_is_navigable():
    w = walled_room(0, 0, 4, 4)
    w.add((1.5, 0, 1.5), (2.5, 2.0, 2.5), "box")
    pf = PathFinder(build_navgrid(w.to_scene()))
    assert pf.is_navigable([0.5, 0.0, 0.5])
    assert not pf.is_navigable([0.5, 1.0, 0.5])  # far above the floor
    assert not pf.is_navigable([2.0, 0.0, 2.0])  # inside the box
    s = pf.snap_point([2.0, 0.0, 2.05])
    assert pf.is_navigable(s)
    # nearest navigable point lies just outside the inflated box (within a cell)
    assert 0.5 + RADIUS - 0.05 <= abs(s[2] - 2.0) or 0.5 + RADIUS - 0.05 <= abs(s[0] - 2.0)
    assert np.linalg.norm(s - [2.0, 0.0, 2.05]) < 0.5 + RADIUS + 0.1
    # a navigable point keeps its x, z and gets y on the floor
    assert np.allclose(pf.snap_point([0.7, 0.3, 0.9]), [0.7, 0.0, 0.9], atol=1e-6)
    # geodesic from an off-mesh point is measured from its snapped point
    assert pf.geodesic_distance([2.0, 0.0, 2.05], [0.5, 0.0, 0.5]) == pytest.approx(
        pf.geodesic_distance(s, [0.5, 0.0, 0.5]), abs=1e-9)


def test_random_points_deterministic_and_navigable():
    w, _ = _offices()
    pf = PathFinder(build_navgrid(w.to_scene()))
    p1 = [pf.random_navigable_point(np.random.default_rng(5)) for _ in range(3)]
    p2 = [pf.random_navigable_point(np.random.default_rng(5)) for _ in range(3)]
    assert np.array_equal(p1, p2)
    rng = np.random.default_rng(1)
    pts = [pf.random_navigable_point(rng) for _ in range(200)]
    assert all(pf.is_navigable(p) and pf.island_of(p) == 0 for p in pts)
    # roughly uniform: the mean lies near the centroid of the free region
    free = free_space_polygon((0, 0, 12, 10), w.footprints(0.2), RADIUS)
    c = free.centroid
    assert abs(np.mean([p[0] for p in pts]) - c.x) < 0.6 and abs(np.mean([p[2] for p in pts]) - c.y) < 0.6
    with pytest.raises(InvalidPoseError, match="island"):
        pf.random_navigable_point(rng, island=pf.num_islands + 3)


@pytest.mark.parametrize(
    "bad", [[float("nan"), 0.0, 1.0], [1.0, float("inf"), 1.0], [100.0, 0.0, 1.0], [1.0, 0.0, -50.0], [1.0, 2.0]]
)
def test_bad_points_raise(bad):
    pf = PathFinder(build_navgrid(walled_room(0, 0, 2, 2).to_scene()))
    for call in (pf.is_navigable, pf.snap_point, lambda p: pf.geodesic_distance(p, [1, 0, 1]),
                 lambda p: pf.geodesic_distance([1, 0, 1], p), lambda p: pf.find_path([1, 0, 1], p)):
        with pytest.raises(InvalidPoseError):
            call(bad)
