"""Simulator benchmark: steps/s with RGB-D, geodesic queries/s, navigability build time, memory.

Run as ``python bench/sim.py [--rooms 6] [--seed 0] [--steps 300] [--queries 200]
[--no-accuracy]`` (also importable: ``main(argv)``). On a procedural house with
``--rooms`` rooms, single process:

- Simulator steps/s (random actions, mostly MOVE_FORWARD) with RGB + depth sensors at
  128x128 and 64x64, and with no sensors;
- geodesic queries/s to a cached goal (distance field reused) and to new goals (one
  Dijkstra field each);
- navigability grid build time (grid cache bypassed) and the house's size;
- resident memory added by one Simulator (RSS delta, scene generation excluded);
- geodesic error against the exact visibility-graph shortest path on a box world
  (``vlnsim.nav.boxworld``) — the figure the tests bound at 2% / 0.05 m — and on the
  house itself (exact free space from its triangles; reported, not asserted).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

if __package__ in (None, ""):  # allow `python bench/sim.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vlnsim.agent import AgentConfig  # noqa: E402
from vlnsim.nav import grid as gridmod  # noqa: E402
from vlnsim.nav.grid import build_navgrid  # noqa: E402
from vlnsim.render.sensors import SensorSpec  # noqa: E402
from vlnsim.simulator import Simulator  # noqa: E402


def _steps_per_s(scene, size: Optional[int], steps: int, seed: int) -> float:
    sensors = [] if size is None else [SensorSpec("rgb", "rgb", size, size), SensorSpec("depth", "depth", size, size)]
    sim = Simulator(scene, sensors=sensors, seed=seed)
    sim.reset()
    rng = np.random.default_rng(seed)
    actions = rng.choice([1, 1, 1, 2, 3], size=steps)
    for a in actions[:10]:  # warm-up
        sim.step(int(a))
    t = time.perf_counter()
    for a in actions:
        sim.step(int(a))
    dt = time.perf_counter() - t
    sim.close()
    return steps / dt


def _geodesic_rates(scene, queries: int, seed: int):
    gridmod.clear_navgrid_cache()
    sim = Simulator(scene, sensors=[], seed=seed)
    pf = sim.pathfinder
    rng = np.random.default_rng(seed)
    starts = [pf.random_navigable_point(rng) for _ in range(queries)]
    goal = pf.random_navigable_point(rng)
    pf.geodesic_distance(starts[0], goal)  # build the goal's field
    t = time.perf_counter()
    for s in starts:
        pf.geodesic_distance(s, goal)
    cached = queries / (time.perf_counter() - t)
    n_new = max(5, queries // 10)
    goals = [pf.random_navigable_point(rng) for _ in range(n_new)]
    t = time.perf_counter()
    for s, g in zip(starts, goals):
        pf.geodesic_distance(s, g)
    new = n_new / (time.perf_counter() - t)
    return cached, new


_RSS_SCRIPT = """
import gc, os, sys
import numpy as np
sys.path.insert(0, {root!r})
from vlnsim.scene.house import generate_house
from vlnsim.render.sensors import SensorSpec
from vlnsim.simulator import Simulator
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
scene = generate_house({seed}, num_rooms={rooms})
import vlnsim.render.renderer, vlnsim.viz.topdown  # code pages are not the simulator's memory
gc.collect()
before = rss()
sim = Simulator(scene, sensors=[SensorSpec("rgb", "rgb", 128, 128), SensorSpec("depth", "depth", 128, 128)])
sim.reset()
for _ in range(20):
    sim.step(1)
sim.pathfinder.geodesic_distance(sim.agent_state.position, sim.pathfinder.random_navigable_point(np.random.default_rng(0)))
print(rss() - before)
"""


def _simulator_rss_mb(rooms: int, seed: int) -> float:
    """RSS added by one Simulator, measured in a fresh interpreter (scene excluded)."""
    import subprocess

    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", _RSS_SCRIPT.format(root=root, seed=seed, rooms=rooms)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _accuracy(pairs: int, seed: int):
    """Relative errors of geodesic_distance vs the exact shortest path on a box world."""
    from vlnsim.nav.boxworld import ExactShortestPaths, free_space_polygon, walled_room
    from vlnsim.nav.pathfinder import PathFinder
    from shapely.geometry import Point

    w = walled_room(0, 0, 12, 10)
    w.add_wall(6, 0, 6.1, 6)
    w.add_wall(0, 5, 4, 5.05)
    w.add_wall(8, 4, 12, 4.05)
    for lo, hi in (((2, 0, 2), (3, 0.8, 3)), ((8, 0, 7), (9.5, 1.8, 7.5)), ((4, 0, 6.5), (5, 2.0, 7.7)),
                   ((7.3, 0, 1.3), (7.9, 2.0, 1.9)), ((9.3, 0, 2.1), (10.0, 2.0, 2.6))):
        w.add(lo, hi)
    pf = PathFinder(build_navgrid(w.to_scene()))
    free = free_space_polygon((0, 0, 12, 10), w.footprints(0.2), AgentConfig().radius)
    exact = ExactShortestPaths(free)
    inner = free.buffer(-0.03)
    rng = np.random.default_rng(seed)
    rel, absd = [], []
    while len(rel) < pairs:
        a, b = rng.uniform([0, 0], [12, 10], size=(2, 2))
        if not (inner.contains(Point(a)) and inner.contains(Point(b))):
            continue
        ref, _ = exact.query(a, b)
        got = pf.geodesic_distance([a[0], 0, a[1]], [b[0], 0, b[1]])
        rel.append((got - ref) / ref)
        absd.append(got - ref)
    return np.asarray(rel), np.asarray(absd)


def _house_accuracy(scene, pairs: int, seed: int):
    """Relative/absolute errors vs an exact reference built from the house's triangles.

    Free space = floor footprints minus every triangle reaching into the body band
    (max_climb, height), projected to XZ and inflated by the radius (polygons with 4
    segments per quarter circle: the reference is up to 2 mm permissive), then the
    visibility-graph shortest path in the start's component.
    """
    import shapely
    from shapely.ops import unary_union

    from vlnsim.nav.boxworld import ExactShortestPaths

    ag = AgentConfig()
    tri = scene.vertices.astype(np.float64)[scene.faces]
    ylo, yhi = tri[:, :, 1].min(1), tri[:, :, 1].max(1)
    xz = tri[(yhi > ag.max_climb + 1e-4) & (ylo < ag.height - 1e-4)][:, :, [0, 2]]
    rings = shapely.linestrings(np.concatenate([xz, xz[:, :1]], axis=1))
    polys = shapely.polygons(xz)
    polys = polys[shapely.area(polys) > 1e-6]
    obstacles = unary_union(list(shapely.buffer(rings, ag.radius, quad_segs=4)) + list(shapely.buffer(polys, ag.radius, quad_segs=4)))
    floors = unary_union([shapely.box(o.bbox_min[0], o.bbox_min[2], o.bbox_max[0], o.bbox_max[2])
                          for o in scene.objects if o.category == "floor"])
    free = floors.difference(obstacles).simplify(0.001)
    sim = Simulator(scene, sensors=[], seed=seed)
    pf = sim.pathfinder
    rng = np.random.default_rng(seed)
    a0 = pf.random_navigable_point(rng)
    comp = max(getattr(free, "geoms", [free]), key=lambda g: g.contains(shapely.Point(a0[0], a0[2])))
    exact = ExactShortestPaths(comp)
    inner = comp.buffer(-0.03)
    rel, absd = [], []
    while len(rel) < pairs:
        a, b = pf.random_navigable_point(rng), pf.random_navigable_point(rng)
        if not (inner.contains(shapely.Point(a[0], a[2])) and inner.contains(shapely.Point(b[0], b[2]))):
            continue
        ref, _ = exact.query(a[[0, 2]], b[[0, 2]])
        got = pf.geodesic_distance(a, b)
        rel.append((got - ref) / ref)
        absd.append(got - ref)
    return np.asarray(rel), np.asarray(absd)


def _fmt_err(rel, absd) -> str:
    return (f"rel mean {rel.mean() * 100:+.2f}%, |rel| p50 {np.median(np.abs(rel)) * 100:.2f}% "
            f"p95 {np.percentile(np.abs(rel), 95) * 100:.2f}% max {np.abs(rel).max() * 100:.2f}%; "
            f"abs max {np.abs(absd).max():.3f} m; within max(2%, 0.05 m): "
            f"{np.mean(np.abs(absd) <= np.maximum(0.02 * (absd / np.where(rel == 0, 1, rel)), 0.05)) * 100:.0f}%")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark and print a table; returns 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rooms", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--no-accuracy", action="store_true", help="skip the geodesic accuracy check")
    args = ap.parse_args(argv)

    from vlnsim.scene.house import generate_house

    scene = generate_house(args.seed, num_rooms=args.rooms)
    rows = []
    builds = [build_navgrid(scene, AgentConfig(), 0.05) for _ in range(3)]
    g = builds[-1]
    rows.append(("navigability build (6-room house, median of 3)" if args.rooms == 6 else "navigability build",
                 f"{sorted(b.build_seconds for b in builds)[1]:.3f} s"))
    rows.append(("  house", f"{scene.num_triangles} triangles, grid {g.shape[1]}x{g.shape[0]} cells, "
                            f"{g.navigable_area:.1f} m^2 navigable, {g.num_islands} islands"))
    del builds, g
    for size in (128, 64):
        rows.append((f"sim steps/s, action + RGB-D {size}x{size}", f"{_steps_per_s(scene, size, args.steps, args.seed):.0f}"))
    rows.append(("sim steps/s, no sensors", f"{_steps_per_s(scene, None, args.steps * 5, args.seed):.0f}"))
    cached, new = _geodesic_rates(scene, args.queries, args.seed)
    rows.append(("geodesic queries/s, cached goal", f"{cached:.0f}"))
    rows.append(("geodesic queries/s, new goal", f"{new:.1f}"))

    rows.append(("RSS of one Simulator (RGB-D 128, one goal field)", f"{_simulator_rss_mb(args.rooms, args.seed):.1f} MB"))

    if not args.no_accuracy:
        rel, absd = _accuracy(100, args.seed)
        rows.append(("geodesic error vs exact (100 pairs, box world)", _fmt_err(rel, absd)))
        rel, absd = _house_accuracy(scene, 60, args.seed)
        rows.append((f"geodesic error vs exact (60 pairs, {args.rooms}-room house)", _fmt_err(rel, absd)))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  value")
    print("-" * (width + 40))
    for name, val in rows:
        print(f"{name:<{width}}  {val}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
