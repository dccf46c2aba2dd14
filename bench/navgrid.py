"""Navigation grid memory and build time: bytes per cell, peak during the build, first query.

Run as ``python bench/navgrid.py [--scenes house,floor100] [--grid FILE --pathfinder FILE]``.

Scenes: ``house`` — a procedural 6-room house (``generate_house(0, num_rooms=6)``);
``floor100`` — a 100 m x 100 m walled floor with 300 random boxes (``vlnsim.nav.boxworld``);
``floor200`` — 200 m x 200 m, the same density (the size the issue saw die).

Per scene, at the default 0.05 m cells: grid size; build time; peak memory the build
allocates (``tracemalloc``, which numpy reports to) per cell; memory the finished grid
keeps per cell (its arrays' ``nbytes``); then the first geodesic query of a
``PathFinder`` (navigation graph + one distance field): time, peak per navigable cell,
kept per navigable cell. A refused build prints the ``VlnsimError`` message.

``--grid FILE`` / ``--pathfinder FILE`` measure other copies of ``grid.py`` /
``pathfinder.py`` (e.g. the versions before a change), imported as modules of
``vlnsim.nav``.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

if __package__ in (None, ""):  # allow `python bench/navgrid.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vlnsim.agent import AgentConfig  # noqa: E402
from vlnsim.errors import VlnsimError  # noqa: E402


def _module(path: Optional[str], default: str):
    if not path:
        return importlib.import_module(default)
    name = "vlnsim.nav._bench_" + Path(path).stem
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def big_floor(size: float, boxes_per_100m2: float = 3.0, seed: int = 0):
    """A walled size x size floor with random boxes (obstacles of 0.3..2 m)."""
    from vlnsim.nav.boxworld import walled_room

    w = walled_room(0, 0, size, size)
    rng = np.random.default_rng(seed)
    for _ in range(int(size * size / 100 * boxes_per_100m2)):
        x, z = rng.uniform(1, size - 3, 2)
        dx, dz = rng.uniform(0.3, 2.0, 2)
        w.add((x, 0, z), (x + dx, rng.uniform(0.5, 2.0), z + dz))
    return w.to_scene(f"floor{int(size)}")


def scene_of(name: str):
    if name == "house":
        from vlnsim.scene.house import generate_house

        return generate_house(0, num_rooms=6)
    if name.startswith("floor"):
        return big_floor(float(name[5:]))
    raise SystemExit(f"unknown scene {name!r}; expected house, floor100, floor200")


def _grid_bytes(g) -> int:
    return sum(v.nbytes for v in vars(g).values() if isinstance(v, np.ndarray))


def _cache_bytes(cache: dict) -> int:
    from scipy import sparse

    total = 0
    stack = list(cache.values())
    while stack:
        v = stack.pop()
        if isinstance(v, np.ndarray):
            total += v.nbytes
        elif sparse.issparse(v):
            total += v.data.nbytes + v.indices.nbytes + v.indptr.nbytes
        elif isinstance(v, (tuple, list)):
            stack += list(v)
        elif isinstance(v, dict):
            stack += list(v.values())
    return total


def measure(name: str, gridmod, pfmod) -> str:
    scene = scene_of(name)
    lo, hi = scene.bounds
    gc.collect()
    tracemalloc.start()
    t = time.perf_counter()
    try:
        g = gridmod.build_navgrid(scene, AgentConfig(), 0.05)
    except VlnsimError as exc:
        tracemalloc.stop()
        return f"{name:<9} {hi[0] - lo[0]:.0f} x {hi[2] - lo[2]:.0f} m: refused: {exc}"
    build_s = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cells = g.shape[0] * g.shape[1]
    kept = _grid_bytes(g)
    nav = int(g.navigable.sum())
    pf = pfmod.PathFinder(g)
    rng = np.random.default_rng(0)
    a, b = pf.random_navigable_point(rng), pf.random_navigable_point(rng)
    head = (f"{name:<9} {g.shape[1]}x{g.shape[0]} = {cells / 1e6:.2f} M cells ({nav / 1e6:.2f} M navigable): "
            f"build {build_s:.2f} s, peak {peak / cells:.1f} B/cell ({peak / 2**20:.0f} MiB), "
            f"kept {kept / cells:.1f} B/cell ({kept / 2**20:.0f} MiB) | ")
    gc.collect()
    tracemalloc.start()
    t = time.perf_counter()
    try:
        pf.distance_field(pf._snap_cell(b))
        d = pf.geodesic_distance(a, b)
    except VlnsimError as exc:
        return head + f"first query refused: {exc}"
    finally:
        q_s = time.perf_counter() - t
        _, qpeak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    qkept = _cache_bytes(g.cache)
    return head + (f"first query (graph + 1 field) {q_s:.2f} s, peak {qpeak / nav:.0f} B/nav cell, "
                   f"kept {qkept / nav:.0f} B/nav cell ({qkept / 2**20:.0f} MiB), geodesic {d:.2f} m")


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", default="house,floor100")
    ap.add_argument("--grid", default=None, help="a grid.py to measure instead of vlnsim.nav.grid")
    ap.add_argument("--pathfinder", default=None, help="a pathfinder.py to measure instead of vlnsim.nav.pathfinder")
    args = ap.parse_args(argv)
    gridmod = _module(args.grid, "vlnsim.nav.grid")
    pfmod = _module(args.pathfinder, "vlnsim.nav.pathfinder")
    print(f"grid: {gridmod.__file__}\npathfinder: {pfmod.__file__}")
    for name in args.scenes.split(","):
        print(measure(name, gridmod, pfmod), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
