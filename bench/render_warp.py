"""Warp renderer benchmark: RGB-D-semantic frames/s on a Warp device vs. Embree on one CPU thread.

Run as ``python bench/render_warp.py [--device cuda:0] [--sizes 64 128 256] [--scenes 1 4]``
(``bench/gpu_check.sh`` runs it on a GPU machine). Procedural houses (``generate_house``)
are loaded once per scene count; each timing renders ``--frames`` RGB + depth + semantic
frames round-robin over the scenes' renderers (one ``Renderer(scene, backend="warp:DEV")``
per scene, as vector envs hold one simulator per scene), wall clock, after a warm-up that
compiles the kernel. ``cast/s`` times the backend's ray cast alone (device work plus the
copy of the hits back to the host); the rest of a frame is shading on the CPU. The Embree
column renders the same poses of the first scene on the CPU for reference.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

if __package__ in (None, ""):  # allow `python bench/render_warp.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vlnsim.geometry import quat_from_yaw  # noqa: E402
from vlnsim.render.renderer import Renderer  # noqa: E402
from vlnsim.render.sensors import SensorSpec  # noqa: E402


def _poses(scene, n: int, seed: int):
    """Poses at room centres (floor height), varied yaw; deterministic."""
    rng = np.random.default_rng(seed)
    lo, hi = scene.bounds
    out = []
    for _ in range(n):
        if scene.rooms:
            room = scene.rooms[int(rng.integers(len(scene.rooms)))]
            xz = np.asarray(room.polygon, float).mean(0)
        else:
            xz = (lo[[0, 2]] + hi[[0, 2]]) / 2
        out.append(((float(xz[0]), float(lo[1]), float(xz[1])), quat_from_yaw(rng.uniform(-math.pi, math.pi))))
    return out


def _time(fn, frames: int) -> float:
    t0 = time.perf_counter()
    for i in range(frames):
        fn(i)
    return frames / max(time.perf_counter() - t0, 1e-9)


def run(device: str, sizes: Sequence[int], scene_counts: Sequence[int], frames: int, embree: bool = True) -> List[dict]:
    """Rows ``{size, scenes, fps, cast_fps, mrays_s, embree_fps}`` of the benchmark."""
    from vlnsim.scene.house import generate_house

    scenes = [generate_house(seed) for seed in range(max(scene_counts))]
    rows = []
    for count in scene_counts:
        renderers = [Renderer(s, backend=f"warp:{device}") for s in scenes[:count]]
        poses = [_poses(s, 16, k) for k, s in enumerate(scenes[:count])]
        for size in sizes:
            sensors = [SensorSpec("rgb", "rgb", size, size, 90.0), SensorSpec("depth", "depth", size, size, 90.0),
                       SensorSpec("semantic", "semantic", size, size, 90.0)]
            n = max(frames * count, int(frames * (128 / size) ** 2))

            def render(i, rs=renderers):
                k = i % len(rs)
                pos, rot = poses[k][(i // len(rs)) % 16]
                return rs[k].render(sensors, pos, rot)

            for i in range(2 * count):  # warm-up: kernel compile/load, buffers per ray count
                render(i)
            fps = _time(render, n)
            cam = renderers[0]._cameras[sensors[0].camera_key]
            dirs = np.ascontiguousarray(cam.world_rays(np.eye(3)), dtype=np.float32)
            origin = np.asarray(poses[0][0][0], dtype=np.float32) + np.float32([0.0, 1.25, 0.0])

            def cast(i, rs=renderers):
                rs[i % len(rs)].backend.cast(origin, dirs)

            cast_fps = _time(cast, n)
            row = {"device": device, "size": size, "scenes": count, "fps": fps, "cast_fps": cast_fps,
                   "mrays_s": cast_fps * size * size / 1e6, "embree_fps": None}
            if embree and count == scene_counts[0]:
                ref = Renderer(scenes[0])
                ref_n = max(4, n // 8)
                row["embree_fps"] = _time(lambda i: ref.render(sensors, *poses[0][i % 16]), ref_n)
            rows.append(row)
    return rows


def format_rows(rows: List[dict]) -> str:
    head = f"{'size':>9} {'scenes':>6} {'frames/s':>9} {'ms/frame':>9} {'cast/s':>9} {'Mrays/s':>8} {'embree fps':>10}"
    lines = [head, "-" * len(head)]
    for r in rows:
        emb = f"{r['embree_fps']:>10.0f}" if r["embree_fps"] else f"{'':>10}"
        lines.append(f"{r['size']:>4}x{r['size']:<4} {r['scenes']:>6} {r['fps']:>9.0f} {1000 / r['fps']:>9.2f} "
                     f"{r['cast_fps']:>9.0f} {r['mrays_s']:>8.1f} {emb}")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/render_warp.py", description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda:0", help="Warp device (cuda:0, cpu)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--scenes", type=int, nargs="+", default=[1, 4], help="scene counts (one renderer per scene)")
    ap.add_argument("--frames", type=int, default=100, help="frames per timing at 128x128 (scaled by size)")
    ap.add_argument("--no-embree", action="store_true", help="skip the CPU reference column")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    import warp as wp

    wp.config.quiet = True
    wp.init()
    dev = wp.get_device(args.device)
    print(f"warp {wp.config.version} on {dev} ({getattr(dev, 'name', '')}); RGB + depth + semantic, hfov 90, "
          f"procedural houses", flush=True)
    rows = run(args.device, args.sizes, args.scenes, args.frames, embree=not args.no_embree)
    print(format_rows(rows))
    top = max(rows, key=lambda r: (r["size"], r["scenes"]))
    print(f"summary: {top['size']}x{top['size']} RGB-D-S, {top['scenes']} scene(s): {top['fps']:.0f} frames/s, "
          f"cast {top['mrays_s']:.0f} Mrays/s on {args.device}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
