"""Navigability grid: floor, clearance, erosion, islands, caching (against known geometry)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from vlnsim.agent import AgentConfig
from vlnsim.errors import ConfigError
from vlnsim.nav import grid as gridmod
from vlnsim.nav.boxworld import BoxWorld, free_space_polygon, walled_room
from vlnsim.nav.grid import build_navgrid, get_navgrid
from vlnsim.scene.model import Scene

STAGE = [
    Path(__file__).parent / "data" / "habitat-test-assets" / "stage_floor1.glb",
    Path("/work/shared/assets/habitat-sim-test-assets/stage_floor1.glb"),
]


def _room_with_obstacles() -> BoxWorld:
    w = walled_room(0, 0, 6, 5)
    w.add((1.0, 0, 1.0), (2.0, 1.0, 1.6), "cabinet")  # full-height-ish box
    # a table: 3 cm top on four 4 cm legs, open underneath
    w.add((3.5, 0.72, 3.0), (4.3, 0.75, 4.2), "table")
    for x, z in ((3.5, 3.0), (4.26, 3.0), (3.5, 4.16), (4.26, 4.16)):
        w.add((x, 0, z), (x + 0.04, 0.72, z + 0.04), "table_leg")
    return w


def _cells_centres(g):
    nz, nx = g.shape
    cols, rows = np.meshgrid(np.arange(nx), np.arange(nz))
    return g.origin[0] + (cols + 0.5) * g.cell_size, g.origin[1] + (rows + 0.5) * g.cell_size


def test_navigable_cells_match_exact_inflated_free_space():
    import shapely

    w = _room_with_obstacles()
    g = build_navgrid(w.to_scene(), AgentConfig(), 0.05)
    free = free_space_polygon((0, 0, 6, 5), w.footprints(0.2), 0.1)
    x, z = _cells_centres(g)
    inside = shapely.contains_xy(free, x, z)
    # cells whose centre is further than one cell from the exact boundary must agree
    dist = shapely.distance(free.boundary, shapely.points(x, z))
    sure = dist > 0.05 + 1e-6
    floor_island = g.island == 0
    assert np.array_equal(floor_island[sure], inside[sure])
    # area of the floor island within a perimeter strip of half a cell of the exact area
    assert abs(g.island_areas[0] - free.area) < free.length * 0.025 + 0.02


def test_table_top_is_not_floor_and_low_box_top_is_an_island():
    w = _room_with_obstacles()
    w.add((0.5, 0, 3.0), (2.5, 0.5, 4.5), "bed")  # solid 0.5 m box
    g = build_navgrid(w.to_scene())
    # floor under the table: no headroom -> obstacle; the table top is ignored
    for p in ([3.9, 3.6], [3.6, 3.1]):
        assert not g.navigable[g.cell_of(np.array(p))]
    # bed top: its own island at 0.5 m; its rim (drop edge) blocked, then eroded by
    # radius + cell/2, i.e. 0.15 m per side of the 2.0 x 1.5 top
    r, c = g.cell_of(np.array([1.5, 3.75]))
    assert g.navigable[r, c] and g.island[r, c] != 0
    assert g.height[r, c] == pytest.approx(0.5, abs=1e-4)
    assert g.island_areas[g.island[r, c]] == pytest.approx(1.7 * 1.2, abs=0.1)


def test_thin_geometry_between_cell_centres_is_blocked():
    w = walled_room(0, 0, 4, 4)
    # a 2 cm pole and a 1 cm panel placed off the cell centres
    w.add((1.013, 0, 1.013), (1.033, 1.8, 1.033), "pole")
    w.add((2.51, 0, 0.8), (2.52, 2.0, 3.2), "panel")
    g = build_navgrid(w.to_scene())
    for (x, z) in [(1.023, 1.023), (2.515, 2.0), (2.515, 1.0)]:
        rr, cc = g.cell_of(np.array([x, z]))
        assert not g.navigable[rr, cc]
        # centre line keeps at least radius - cell/2 from the thin geometry
        ring = np.array([[x + d * math.cos(a), z + d * math.sin(a)] for d in (0.0, 0.04) for a in np.linspace(0, 6.28, 12)])
        assert not g.navigable_at(ring).any()
    # the panel splits nothing: both sides connected around it
    assert g.island[g.cell_of(np.array([2.2, 2.0]))] == g.island[g.cell_of(np.array([2.8, 2.0]))] == 0


def test_low_ceiling_blocks_and_step_limits():
    w = walled_room(0, 0, 6, 3)
    w.add((-0.1, 2.5, -0.1), (6.1, 2.6, 3.1), "ceiling")
    w.add((1.0, 1.2, 0), (2.0, 1.3, 3.0), "beam")  # 1.2 m clearance < 1.5 m body
    w.add((3.0, 0, 0), (6.0, 0.15, 3.0), "step")  # climbable 15 cm step
    g = build_navgrid(w.to_scene())
    assert not g.navigable[g.cell_of(np.array([1.5, 1.5]))]
    assert g.height[g.cell_of(np.array([4.5, 1.5]))] == pytest.approx(0.15, abs=1e-4)
    # beam separates the left strip; the step joins the middle and right parts
    assert g.island[g.cell_of(np.array([2.5, 1.5]))] == g.island[g.cell_of(np.array([4.5, 1.5]))]
    assert g.island[g.cell_of(np.array([0.5, 1.5]))] != g.island[g.cell_of(np.array([4.5, 1.5]))]
    # a 30 cm step is a cliff with max_climb 0.2
    w2 = walled_room(0, 0, 6, 3)
    w2.add((3.0, 0, 0), (6.0, 0.3, 3.0), "ledge")
    g2 = build_navgrid(w2.to_scene())
    assert g2.island[g2.cell_of(np.array([1.5, 1.5]))] != g2.island[g2.cell_of(np.array([4.5, 1.5]))]
    g3 = build_navgrid(w2.to_scene(), AgentConfig(max_climb=0.35))
    assert g3.island[g3.cell_of(np.array([1.5, 1.5]))] == g3.island[g3.cell_of(np.array([4.5, 1.5]))]


def test_islands_of_two_closed_rooms_and_areas():
    w = walled_room(0, 0, 3, 2)
    w.add_wall(1.5, 0, 1.6, 2)  # closes the room into two
    g = build_navgrid(w.to_scene())
    assert g.num_islands == 2
    # each eroded room: (1.5 - 0.2) x (2 - 0.2) and (1.4 - 0.2) x 1.8
    assert sorted(g.island_areas) == pytest.approx(sorted([1.3 * 1.8, 1.2 * 1.8]), abs=0.15)
    assert g.island_areas[0] >= g.island_areas[1]


def test_inverted_winding_gives_same_grid():
    w = _room_with_obstacles()
    s = w.to_scene()
    flipped = Scene(s.vertices, s.faces[:, ::-1].copy(), s.face_object, s.face_material, s.uvs, s.materials, s.objects)
    a, b = build_navgrid(s), build_navgrid(flipped)
    # the unoriented fallback sees wall interiors as floor, so it is a little more conservative
    na, nb = (a.island == 0).sum(), (b.island == 0).sum()
    assert 0.95 * na <= nb <= na


def test_cache_reuses_grid_and_is_bounded():
    gridmod.clear_navgrid_cache()
    s = _room_with_obstacles().to_scene()
    g1 = get_navgrid(s, AgentConfig(), 0.05)
    s_copy = Scene(s.vertices.copy(), s.faces.copy(), s.face_object, s.face_material, s.uvs, s.materials, name="other")
    assert get_navgrid(s_copy, AgentConfig(), 0.05) is g1
    g2 = get_navgrid(s, AgentConfig(radius=0.2), 0.05)
    assert g2 is not g1 and g2.navigable.sum() < g1.navigable.sum()
    assert get_navgrid(s, AgentConfig(), 0.1) is not g1
    for i in range(gridmod.GRID_CACHE_SIZE + 2):
        get_navgrid(walled_room(0, 0, 1 + 0.1 * i, 1).to_scene(), AgentConfig(), 0.1)
    assert len(gridmod._CACHE) == gridmod.GRID_CACHE_SIZE
    gridmod.clear_navgrid_cache()


def test_bad_cell_size():
    s = walled_room(0, 0, 1, 1).to_scene()
    for bad in (0.0, -0.05, float("nan"), 5.0):
        with pytest.raises(ConfigError, match="cell_size"):
            build_navgrid(s, AgentConfig(), bad)


def _stage_scene():
    from vlnsim.scene.io import load_scene

    path = next((p for p in STAGE if p.exists()), None)
    assert path is not None, f"stage_floor1.glb is vendored in tests/data; looked in {STAGE}"
    return load_scene(path)


def _surface_heights_below(vertices, faces, xz):
    """Highest mesh point straight below each (x, z): brute-force barycentric test."""
    v = vertices.astype(np.float64)[faces]  # (F, 3, 3)
    a, b, c = v[:, 0], v[:, 1], v[:, 2]
    out = np.full(len(xz), -np.inf)
    for k, (x, z) in enumerate(xz):
        d = (b[:, 2] - c[:, 2]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 2] - c[:, 2])
        with np.errstate(divide="ignore", invalid="ignore"):
            l1 = ((b[:, 2] - c[:, 2]) * (x - c[:, 0]) + (c[:, 0] - b[:, 0]) * (z - c[:, 2])) / d
            l2 = ((c[:, 2] - a[:, 2]) * (x - c[:, 0]) + (a[:, 0] - c[:, 0]) * (z - c[:, 2])) / d
        l3 = 1 - l1 - l2
        inside = (np.abs(d) > 1e-12) & (l1 >= -1e-9) & (l2 >= -1e-9) & (l3 >= -1e-9)
        if inside.any():
            y = l1 * a[:, 1] + l2 * b[:, 1] + l3 * c[:, 1]
            out[k] = y[inside].max()
    return out


def test_uneven_floor_heights_follow_the_mesh():
    scene = _stage_scene()
    g = build_navgrid(scene)
    assert g.navigable_area > 10.0
    rows, cols = np.nonzero(g.navigable)
    pick = np.random.default_rng(0).choice(len(rows), 200, replace=False)
    c = g.cell_center(rows[pick], cols[pick])
    ref = _surface_heights_below(scene.vertices, scene.faces, c[:, [0, 2]])
    assert np.abs(ref - c[:, 1]).max() < 1e-3
    # and the floor really varies across the stage
    assert np.nanmax(g.height) - np.nanmin(g.height) > 0.3
