"""Benchmark and gallery of procedural houses.

    python bench/house.py [--seeds 20] [--rooms 6] [--gallery DIR] [--gallery-seeds 6]

Prints the median/min/max ``generate_house`` time over the seeds, triangle, object and
material counts and texture memory; ``--gallery DIR`` writes, for the first few seeds,
a top-down image (ceilings peeled away) with room labels and first-person views from
inside rooms, as PNGs.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from vlnsim.scene.house import generate_house


def topdown(scene, meters_per_pixel: float = 0.025) -> np.ndarray:
    """Top-down image of a house without its ceilings and ceiling lamps, (H, W, 3) uint8 (row 0 = min z)."""
    from vlnsim.render.renderer import render_topdown

    return render_topdown(scene, meters_per_pixel=meters_per_pixel, skip_categories=("ceiling", "ceiling lamp"))


def _label(img: np.ndarray, scene, mpp: float):
    from PIL import Image, ImageDraw

    lo, _ = scene.bounds
    im = Image.fromarray(img)
    draw = ImageDraw.Draw(im)
    for r in scene.rooms:
        p = np.asarray(r.polygon)
        cx, cz = p.mean(axis=0)
        u, v = (cx - lo[0]) / mpp, (cz - lo[2]) / mpp
        draw.text((u - 3 * len(r.type), v - 5), r.type, fill=(0, 0, 0))
    return im


def first_person_views(scene, n_views: int, seed: int, size: int = 256) -> List[np.ndarray]:
    """RGB views from the middle of the largest rooms, looking at random headings."""
    from vlnsim.geometry import quat_from_yaw
    from vlnsim.render.renderer import Renderer
    from vlnsim.render.sensors import SensorSpec

    rng = np.random.default_rng(seed)
    renderer = Renderer(scene)
    spec = SensorSpec("rgb", kind="rgb", width=size, height=size, hfov=90.0, position=(0.0, 1.25, 0.0))
    rooms = sorted(scene.rooms, key=lambda r: -r.area)[:n_views]
    out = []
    for r in rooms:
        p = np.asarray(r.polygon)
        lo, hi = p.min(axis=0), p.max(axis=0)
        # stand in a free spot near a corner, looking across the room (forward = (-sin, -cos))
        occupied = [o for o in scene.objects if o.room == r.id and o.bbox_min[1] < 0.05 and o.category != "rug"]
        for _ in range(50):
            x, z = lo + (hi - lo) * rng.uniform(0.15, 0.4, size=2) * rng.choice([1, -1], 2) % (hi - lo)
            if not any(o.bbox_min[0] - 0.2 < x < o.bbox_max[0] + 0.2 and o.bbox_min[2] - 0.2 < z < o.bbox_max[2] + 0.2 for o in occupied):
                break
        cx, cz = (lo + hi) / 2
        yaw = float(np.arctan2(-(cx - x), -(cz - z))) + float(rng.uniform(-0.3, 0.3))
        obs = renderer.render([spec], position=[x, 0.0, z], rotation=quat_from_yaw(yaw))
        out.append(obs["rgb"])
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--rooms", type=int, default=6)
    ap.add_argument("--gallery", type=str, default=None)
    ap.add_argument("--gallery-seeds", type=int, default=6)
    ap.add_argument("--views", type=int, default=2)
    args = ap.parse_args(argv)

    generate_house(0, args.rooms)  # warm imports
    times, tris, objs, mats, tex, furn = [], [], [], [], [], []
    for s in range(args.seeds):
        t0 = time.perf_counter()
        sc = generate_house(s, args.rooms)
        times.append(time.perf_counter() - t0)
        tris.append(sc.num_triangles)
        objs.append(len(sc.objects))
        furn.append(sum(o.room is not None for o in sc.objects))
        mats.append(len(sc.materials))
        tex.append(sum(m.texture.nbytes for m in sc.materials if m.texture is not None))
    print(f"generate_house: {args.seeds} seeds x {args.rooms} rooms")
    print(f"  time    median {statistics.median(times) * 1e3:.1f} ms  min {min(times) * 1e3:.1f} ms  max {max(times) * 1e3:.1f} ms")
    print(f"  triangles median {int(statistics.median(tris))}  min {min(tris)}  max {max(tris)}")
    print(f"  objects median {int(statistics.median(objs))} (furniture {int(statistics.median(furn))})  materials median {int(statistics.median(mats))}")
    print(f"  texture memory median {statistics.median(tex) / 1024:.0f} KiB  max {max(tex) / 1024:.0f} KiB")

    if args.gallery:
        from PIL import Image

        out = Path(args.gallery)
        out.mkdir(parents=True, exist_ok=True)
        for s in range(args.gallery_seeds):
            sc = generate_house(s, args.rooms)
            mpp = 0.025
            img = _label(topdown(sc, mpp), sc, mpp)
            img.save(out / f"house_{s:05d}_topdown.png")
            try:
                views = first_person_views(sc, args.views, s)
            except ImportError as e:  # the renderer is optional for the timing figures
                print(f"  (no first-person views: {e})")
                views = []
            for i, v in enumerate(views):
                Image.fromarray(v).save(out / f"house_{s:05d}_view{i}.png")
        print(f"gallery: {args.gallery_seeds} houses written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
