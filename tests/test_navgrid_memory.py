"""Compact navigation grid: answers equal brute-force references; huge scenes refused up front.

References are computed here independently of the grid code: the clearance by a
brute-force nearest-blocked-centre search, islands by a breadth-first flood fill, and
the distance field by a textbook heap Dijkstra over the 16-neighbourhood move rule.
"""
from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np
import pytest

from vlnsim.agent import AgentConfig
from vlnsim.errors import ResourceLimitError
from vlnsim.nav import grid as gridmod
from vlnsim.nav.boxworld import walled_room
from vlnsim.nav.grid import build_navgrid
from vlnsim.nav.pathfinder import PathFinder

MOVES = [(0, 1, ()), (1, 0, ()), (1, 1, ((0, 1), (1, 0))), (1, -1, ((0, -1), (1, 0))),
         (1, 2, ((0, 1), (1, 1))), (2, 1, ((1, 0), (1, 1))), (1, -2, ((0, -1), (1, -1))), (2, -1, ((1, 0), (1, -1)))]


def _world():
    w = walled_room(0, 0, 3.0, 2.0)
    w.add((0.8, 0, 0.6), (1.3, 1.0, 1.2))
    w.add_wall(2.0, 0.0, 2.04, 1.3)  # a thin wall thinner than a cell
    w.add((2.4, 0, 1.5), (2.5, 1.4, 1.6))  # a post
    return w


@pytest.fixture(scope="module")
def grid():
    return build_navgrid(_world().to_scene(), AgentConfig(), 0.05)


def test_compact_layout(grid):
    assert grid.height.dtype == np.float32 and grid.clearance.dtype == np.float32
    assert grid.island.dtype == np.int16
    per_cell = sum(a.nbytes for a in (grid.height, grid.blocked, grid.clearance, grid.navigable, grid.island,
                                      grid.occupied)) / grid.navigable.size
    assert per_cell <= 13


def test_floor_clearance_and_navigable_match_brute_force(grid):
    nz, nx = grid.shape
    # floors are the slab (y = 0) or the tops of the boxes and walls; the room floor is at 0
    tops = np.unique(np.round(grid.height[np.isfinite(grid.height)].astype(np.float64), 4))
    assert set(tops.tolist()) <= {0.0, 1.0, 1.3, 1.4, 2.5}
    x = grid.origin[0] + (np.arange(nx) + 0.5) * grid.cell_size
    z = grid.origin[1] + (np.arange(nz) + 0.5) * grid.cell_size
    assert np.abs(grid.height[np.ix_((z > 0.3) & (z < 0.5), (x > 0.2) & (x < 1.9))]).max() < 1e-5
    # clearance: distance to the nearest blocked centre (the border beyond the grid counts as blocked)
    br, bc = np.nonzero(grid.blocked)
    rows, cols = np.meshgrid(np.arange(nz), np.arange(nx), indexing="ij")
    border = np.minimum.reduce([rows + 1, cols + 1, nz - rows, nx - cols]).astype(float)
    d2 = (rows[..., None] - br) ** 2 + (cols[..., None] - bc) ** 2
    ref = np.minimum(np.sqrt(d2.min(axis=-1)), border) * grid.cell_size
    assert np.allclose(grid.clearance, ref, atol=1e-5)
    assert np.array_equal(grid.navigable, ref >= 0.1 + grid.cell_size / 2 - 1e-6)


def test_islands_match_flood_fill(grid):
    nz, nx = grid.shape
    label = np.full((nz, nx), -1)
    sizes = []
    for r0, c0 in zip(*np.nonzero(grid.navigable)):
        if label[r0, c0] >= 0:
            continue
        q, label[r0, c0], n = deque([(r0, c0)]), len(sizes), 0
        while q:
            r, c = q.popleft()
            n += 1
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= rr < nz and 0 <= cc < nx and grid.navigable[rr, cc] and label[rr, cc] < 0:
                    label[rr, cc] = len(sizes)
                    q.append((rr, cc))
        sizes.append(n)
    assert grid.num_islands == len(sizes) >= 2  # the floor and the low box's top
    # same partition, numbered by decreasing area
    for k in range(len(sizes)):
        ids = np.unique(grid.island[label == k])
        assert len(ids) == 1
        assert grid.island_areas[ids[0]] == pytest.approx(sizes[k] * grid.cell_size ** 2)
    assert list(grid.island_areas) == sorted(grid.island_areas, reverse=True)


def test_distance_field_matches_heap_dijkstra(grid):
    pf = PathFinder(grid)
    nav = grid.navigable
    nz, nx = grid.shape
    rows, cols = np.nonzero(nav)
    goal = (int(rows[len(rows) // 3]), int(cols[len(rows) // 3]))
    dist, _ = pf.distance_field(goal)
    ref = np.full((nz, nx), math.inf)
    ref[goal] = 0.0
    heap = [(0.0, goal)]
    while heap:
        d, (r, c) = heapq.heappop(heap)
        if d > ref[r, c]:
            continue
        for dr, dc, through in MOVES:
            for s in (1, -1):
                rr, cc = r + s * dr, c + s * dc
                cells = [(rr, cc)] + [(r + s * tr, c + s * tc) for tr, tc in through]
                if all(0 <= a < nz and 0 <= b < nx and nav[a, b] for a, b in cells):
                    nd = d + math.hypot(dr, dc) * grid.cell_size
                    if nd < ref[rr, cc] - 1e-12:
                        ref[rr, cc] = nd
                        heapq.heappush(heap, (nd, (rr, cc)))
    assert np.allclose(dist, ref[rows, cols].astype(np.float32), rtol=1e-6, atol=1e-5)


def test_huge_scene_is_refused_before_allocating():
    scene = walled_room(0, 0, 400, 400).to_scene("hangar")
    with pytest.raises(ResourceLimitError) as exc:
        build_navgrid(scene, AgentConfig(), 0.05, max_bytes=2**30)
    msg = str(exc.value)
    assert "\n" not in msg
    for part in ("'hangar'", "400.2 m x 400.2 m", "cell_size 0.05 m", "M cells", "GiB", "budget",
                 gridmod.MEMORY_BUDGET_ENV):
        assert part in msg, (part, msg)
    # the suggested cell size fits
    fit = float(msg.split("cell_size >= ")[1].split(" m")[0])
    assert gridmod.estimate_build_bytes(np.prod(gridmod.grid_shape(scene.bounds, fit))) <= 2**30 * 1.01


def test_budget_from_environment(monkeypatch):
    monkeypatch.setenv(gridmod.MEMORY_BUDGET_ENV, "0.01")
    with pytest.raises(ResourceLimitError, match="over the 0.01 GiB budget"):
        build_navgrid(walled_room(0, 0, 60, 60).to_scene(), AgentConfig(), 0.05)
    monkeypatch.setenv(gridmod.MEMORY_BUDGET_ENV, "lots")
    with pytest.raises(Exception, match="VLNSIM_NAV_MEMORY_GB"):
        gridmod.memory_budget()


def test_simulator_on_a_huge_scene_is_refused_in_one_line(monkeypatch):
    from vlnsim.simulator import Simulator

    monkeypatch.setenv(gridmod.MEMORY_BUDGET_ENV, "0.5")
    with pytest.raises(ResourceLimitError) as exc:
        Simulator(walled_room(0, 0, 300, 300).to_scene("big"), sensors=[])
    assert str(exc.value).startswith("navigation grid of scene 'big' (300.2 m x 300.2 m) at cell_size 0.05 m")
