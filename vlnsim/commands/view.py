"""``vlnsim view``: render a scene's RGB, depth and semantic sensors to PNG files.

``vlnsim view SCENE_FILE [--up-axis y|z] [--position X Y Z] [--yaw DEG] [--width W
--height H --hfov DEG] [--out DIR]`` renders one agent pose (default: the centre of the
scene bounds, on its bottom, with the sensors 1.25 m above) plus a top-down image.
``vlnsim view --house SEED`` does the same for a procedurally generated house, with one
first-person view from the middle of each of the first ``--views`` rooms.
"""
from __future__ import annotations

import argparse
import io
import math
import re
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

from ..errors import ConfigError, SceneNotFoundError

SENSOR_HEIGHT = 1.25


def register(subparsers) -> None:
    """Add the ``view`` sub-command."""
    p = subparsers.add_parser(
        "view",
        help="render a scene's sensors (RGB, depth, semantic) to PNG files",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("scene", nargs="?", default=None, help="scene file (.glb/.gltf/.obj/.ply); relative paths are also "
                   "looked up under DATA_ROOT/scene_datasets/")
    p.add_argument("--house", type=int, default=None, metavar="SEED", help="render a procedural house instead of a file")
    p.add_argument("--up-axis", choices=("y", "z"), default="y", help="the file's up axis (+Z-up files are rotated)")
    p.add_argument("--position", type=float, nargs=3, default=None, metavar=("X", "Y", "Z"),
                   help="agent position (sensors are mounted 1.25 m above it)")
    p.add_argument("--yaw", type=float, default=0.0, help="agent heading in degrees (0 looks along -Z, positive turns left)")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--height", type=int, default=256)
    p.add_argument("--hfov", type=float, default=90.0, help="horizontal field of view, degrees")
    p.add_argument("--views", type=int, default=4, help="first-person views of a house (one per room)")
    p.add_argument("--meters-per-pixel", type=float, default=0.02, help="top-down image resolution")
    p.add_argument("--filter", choices=("nearest", "bilinear"), default="bilinear", help="texture filter")
    p.add_argument("--out", default="view_out", help="output directory")
    p.add_argument("--data-root", default="data", help="data root (for scene paths relative to scene_datasets/)")
    p.set_defaults(func=main)


def _png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG")
    return buf.getvalue()


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write a uint8 image as PNG atomically; returns the path."""
    from ..io_utils import atomic_write_bytes

    atomic_write_bytes(path, _png_bytes(image))
    return path


def _resolve_scene_path(scene: str, data_root: str) -> Path:
    p = Path(scene)
    if p.exists() or p.is_absolute():
        return p
    alt = Path(data_root) / "scene_datasets" / scene
    return alt if alt.exists() else p


def _polygon_centroid(poly: Sequence[Tuple[float, float]]) -> np.ndarray:
    """Area centroid of a simple polygon (vertex mean if degenerate)."""
    p = np.asarray(poly, dtype=np.float64)
    x, z = p[:, 0], p[:, 1]
    xn, zn = np.roll(x, -1), np.roll(z, -1)
    cross = x * zn - xn * z
    a = cross.sum() / 2
    if abs(a) < 1e-12:
        return p.mean(axis=0)
    return np.array([((x + xn) * cross).sum() / (6 * a), ((z + zn) * cross).sum() / (6 * a)])


def _yaw_towards(src: np.ndarray, dst: np.ndarray) -> float:
    """Heading (radians) that looks from ``src`` to ``dst`` in the XZ plane."""
    d = dst - src
    return math.atan2(-d[0], -d[1])


def room_views(scene, count: int) -> List[Tuple[str, np.ndarray, float]]:
    """Up to ``count`` (label, agent position, yaw) poses: room centroids, facing the farthest corner."""
    views = []
    floor_y = float(scene.bounds[0][1])
    for room in scene.rooms[: max(0, count)]:
        c = _polygon_centroid(room.polygon)
        far = max(room.polygon, key=lambda q: (q[0] - c[0]) ** 2 + (q[1] - c[1]) ** 2)
        yaw = _yaw_towards(c, np.asarray(far, dtype=np.float64))
        label = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"room{room.id}_{room.type}")
        views.append((label, np.array([c[0], floor_y, c[1]]), yaw))
    return views


def render_views(scene, poses, out_dir: Path, prefix: str, width: int, height: int, hfov: float,
                 texture_filter: str = "bilinear", meters_per_pixel: float = 0.02) -> List[Path]:
    """Render RGB/depth/semantic PNGs for each (label, position, yaw) plus a top-down PNG."""
    from ..geometry import quat_from_yaw
    from ..render.renderer import Renderer, render_topdown
    from ..render.sensors import SensorSpec
    from ..render.shading import ShadingConfig, colorize_depth, colorize_semantic

    mount = (0.0, SENSOR_HEIGHT, 0.0)
    sensors = [
        SensorSpec("rgb", "rgb", width, height, hfov, position=mount),
        SensorSpec("depth", "depth", width, height, hfov, position=mount),
        SensorSpec("semantic", "semantic", width, height, hfov, position=mount),
    ]
    renderer = Renderer(scene, shading=ShadingConfig(texture_filter=texture_filter))
    written: List[Path] = []
    for label, pos, yaw in poses:
        obs = renderer.render(sensors, pos, quat_from_yaw(yaw))
        stem = f"{prefix}_{label}" if label else prefix
        written.append(write_png(out_dir / f"{stem}_rgb.png", obs["rgb"]))
        written.append(write_png(out_dir / f"{stem}_depth.png", colorize_depth(obs["depth"])))
        written.append(write_png(out_dir / f"{stem}_semantic.png", colorize_semantic(obs["semantic"])))
    top = render_topdown(scene, meters_per_pixel, raycaster=renderer.raycaster, tables=renderer.tables)
    written.append(write_png(out_dir / f"{prefix}_topdown.png", top))
    return written


def main(args: argparse.Namespace) -> int:
    """Run ``vlnsim view``; prints the written paths."""
    if (args.scene is None) == (args.house is None):
        raise ConfigError("vlnsim view needs exactly one of SCENE_FILE or --house SEED")
    for name in ("width", "height"):
        if getattr(args, name) <= 0:
            raise ConfigError(f"--{name}={getattr(args, name)}; expected a positive integer")
    if not 0.0 < args.hfov < 180.0:
        raise ConfigError(f"--hfov={args.hfov}; expected degrees in the open interval (0, 180)")
    if not args.meters_per_pixel > 0:
        raise ConfigError(f"--meters-per-pixel={args.meters_per_pixel}; expected a positive number")
    from ..io_utils import check_output_dir

    out_dir = check_output_dir(args.out, "--out")
    if args.house is not None:
        try:
            from ..scene.house import generate_house
        except ImportError as exc:
            raise ConfigError(f"--house needs vlnsim.scene.house, which is not available here ({exc})") from exc
        scene = generate_house(int(args.house))
        prefix = scene.name or f"house_{args.house}"
        poses = room_views(scene, args.views)
        if args.position is not None:
            poses.insert(0, ("pose", np.asarray(args.position, dtype=np.float64), math.radians(args.yaw)))
    else:
        from ..scene.io import load_scene

        path = _resolve_scene_path(args.scene, args.data_root)
        if not path.exists():
            raise SceneNotFoundError(f"scene file not found: {args.scene}")
        scene = load_scene(path, up_axis=args.up_axis)
        prefix = path.stem
        if args.position is not None:
            pos = np.asarray(args.position, dtype=np.float64)
        else:
            lo, hi = scene.bounds
            pos = np.array([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2])
        poses = [("", pos, math.radians(args.yaw))]
    written = render_views(scene, poses, out_dir, prefix, args.width, args.height, args.hfov,
                           texture_filter=args.filter, meters_per_pixel=args.meters_per_pixel)
    print(f"scene {scene.name}: {scene.num_triangles} triangles, {len(scene.objects)} objects, {len(scene.rooms)} rooms")
    for p in written:
        print(p)
    return 0
