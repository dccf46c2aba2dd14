"""Top-down maps: navigable area, obstacles, objects and room labels, plus drawing helpers.

A map is an (H, W, 3) uint8 image whose row axis is world +Z and column axis world +X
(looking down from +Y with -Z at the top of the image, as habitat's top-down maps).
``MapInfo`` converts world points to pixels; the ``draw_*`` helpers draw on an image in
place and return it.
"""
from __future__ import annotations

import colorsys
import hashlib
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from ..errors import ConfigError

BACKGROUND = (255, 255, 255)
NAVIGABLE = (236, 236, 236)
OBSTACLE = (110, 110, 110)  # floor under geometry: walls, furniture
LABEL = (20, 20, 20)
AGENT = (0, 110, 220)
GOAL = (220, 30, 30)
SKIP_CATEGORIES = ("wall", "floor", "ceiling", "door_frame", "doorway", "skirting")


@dataclass(frozen=True)
class MapInfo:
    """Pixel frame of a top-down map.

    Attributes:
        origin: world (x, z) of the image's top-left corner.
        meters_per_pixel: pixel size in metres.
        shape: (H, W) of the image.
    """

    origin: Tuple[float, float]
    meters_per_pixel: float
    shape: Tuple[int, int]

    @classmethod
    def from_bounds(cls, lo: Sequence[float], hi: Sequence[float], meters_per_pixel: float) -> "MapInfo":
        """Frame covering the XZ extent of the 3D bounds (lo, hi)."""
        if not (isinstance(meters_per_pixel, (int, float)) and math.isfinite(meters_per_pixel) and meters_per_pixel > 0):
            raise ConfigError(f"meters_per_pixel={meters_per_pixel!r}; expected a positive number")
        w = max(1, int(math.ceil((hi[0] - lo[0]) / meters_per_pixel)))
        h = max(1, int(math.ceil((hi[2] - lo[2]) / meters_per_pixel)))
        if w * h > 64_000_000:
            raise ConfigError(f"meters_per_pixel={meters_per_pixel} gives a {h}x{w} map; expected a coarser resolution")
        return cls((float(lo[0]), float(lo[2])), float(meters_per_pixel), (h, w))

    def world_to_map(self, points) -> np.ndarray:
        """(N, 2) integer pixel (row, col) of world points (N, 3) or (N, 2) as (x, z)."""
        return world_to_map(points, self)


def world_to_map(points, info: MapInfo) -> np.ndarray:
    """(N, 2) integer pixel (row, col) of world points (N, 3) [x, y, z] or (N, 2) [x, z]."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim == 1:
        p = p[None]
    if p.shape[-1] == 3:
        x, z = p[:, 0], p[:, 2]
    elif p.shape[-1] == 2:
        x, z = p[:, 0], p[:, 1]
    else:
        raise ConfigError(f"points must have shape (N, 3) or (N, 2), got {p.shape}")
    col = np.floor((x - info.origin[0]) / info.meters_per_pixel).astype(np.int64)
    row = np.floor((z - info.origin[1]) / info.meters_per_pixel).astype(np.int64)
    return np.stack([row, col], axis=1)


def category_color(category: str) -> Tuple[int, int, int]:
    """A stable, saturated colour per object category."""
    hue = int(hashlib.md5(category.encode()).hexdigest()[:6], 16) / 0xFFFFFF
    r, g, b = colorsys.hsv_to_rgb(hue, 0.65, 0.85)
    return int(r * 255), int(g * 255), int(b * 255)


def _xy(points, info: MapInfo):
    rc = world_to_map(points, info)
    # PIL wants (x=col, y=row); use pixel centres
    return [(float(c) + 0.5, float(r) + 0.5) for r, c in rc]


def _pil(img: np.ndarray) -> Tuple[Image.Image, ImageDraw.ImageDraw]:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ConfigError(f"map image must be (H, W, 3) uint8, got {img.shape} {img.dtype}")
    pil = Image.fromarray(img)
    return pil, ImageDraw.Draw(pil)


def draw_path(img: np.ndarray, points, color=AGENT, info: Optional[MapInfo] = None, thickness: int = 2) -> np.ndarray:
    """Draw a polyline of world points on the map (in place); returns the image."""
    if info is None:
        raise ConfigError("draw_path needs the map's MapInfo (info=...)")
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) == 0:
        return img
    pil, d = _pil(img)
    xy = _xy(pts, info)
    if len(xy) == 1:
        x, y = xy[0]
        d.ellipse([x - thickness, y - thickness, x + thickness, y + thickness], fill=tuple(color))
    else:
        d.line(xy, fill=tuple(color), width=max(1, int(thickness)), joint="curve")
    img[...] = np.asarray(pil)
    return img


def draw_agent(img: np.ndarray, position, heading: float, info: MapInfo, color=AGENT, radius_px: int = 5) -> np.ndarray:
    """Draw the agent as a disc with a heading tick (heading = yaw in radians, 0 = -Z)."""
    pil, d = _pil(img)
    (x, y), = _xy(np.asarray(position, dtype=np.float64)[None], info)
    r = max(2, int(radius_px))
    d.ellipse([x - r, y - r, x + r, y + r], fill=tuple(color), outline=(0, 0, 0))
    # forward = (-sin h, -cos h) in (x, z); z grows downwards in the image
    tip = (x - math.sin(heading) * 2 * r, y - math.cos(heading) * 2 * r)
    d.line([(x, y), tip], fill=(0, 0, 0), width=max(1, r // 2))
    img[...] = np.asarray(pil)
    return img


def draw_goal(img: np.ndarray, position, info: MapInfo, color=GOAL, radius_px: int = 5) -> np.ndarray:
    """Draw a goal marker (a cross in a ring) at a world position."""
    pil, d = _pil(img)
    (x, y), = _xy(np.asarray(position, dtype=np.float64)[None], info)
    r = max(2, int(radius_px))
    d.ellipse([x - r, y - r, x + r, y + r], outline=tuple(color), width=2)
    d.line([(x - r, y), (x + r, y)], fill=tuple(color), width=2)
    d.line([(x, y - r), (x, y + r)], fill=tuple(color), width=2)
    img[...] = np.asarray(pil)
    return img


def render_topdown(grid, scene=None, meters_per_pixel: float = 0.05, draw_objects: bool = True,
                   draw_rooms: bool = True) -> Tuple[np.ndarray, MapInfo]:
    """(image, MapInfo) of a navigability grid, with object boxes and room labels from ``scene``."""
    lo, hi = grid.bounds
    info = MapInfo.from_bounds(lo, hi, meters_per_pixel)
    h, w = info.shape
    # sample the grid at pixel centres
    xs = info.origin[0] + (np.arange(w) + 0.5) * info.meters_per_pixel
    zs = info.origin[1] + (np.arange(h) + 0.5) * info.meters_per_pixel
    col = np.clip(np.floor((xs - grid.origin[0]) / grid.cell_size).astype(np.int64), 0, grid.shape[1] - 1)
    row = np.clip(np.floor((zs - grid.origin[1]) / grid.cell_size).astype(np.int64), 0, grid.shape[0] - 1)
    nav = grid.navigable[np.ix_(row, col)]
    island0 = grid.island[np.ix_(row, col)] == 0
    blocked = grid.blocked[np.ix_(row, col)]
    has_floor = np.isfinite(grid.height[np.ix_(row, col)])
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[:] = BACKGROUND
    img[has_floor & ~nav] = (200, 200, 200)  # floor too close to obstacles for the body
    img[nav] = NAVIGABLE
    img[nav & ~island0] = (215, 225, 205)  # small islands (table tops ...)
    img[blocked & grid.occupied[np.ix_(row, col)]] = OBSTACLE
    if scene is None:
        return img, info
    pil, d = _pil(img)
    if draw_objects:
        for o in scene.objects:
            if o.category in SKIP_CATEGORIES or o.room is None and o.category in ("", "unknown"):
                continue
            (x0, y0), (x1, y1) = _xy([[o.bbox_min[0], 0, o.bbox_min[2]], [o.bbox_max[0], 0, o.bbox_max[2]]], info)
            if x1 - x0 <= 0 or y1 - y0 <= 0:
                continue
            c = category_color(o.category)
            d.rectangle([x0, y0, x1, y1], outline=c, width=1)
    if draw_rooms:
        for r in scene.rooms:
            if len(r.polygon) < 3:
                continue
            p = np.asarray(r.polygon, dtype=np.float64)
            cx, cz = p.mean(axis=0)
            (x, y), = _xy([[cx, 0.0, cz]], info)
            d.text((x, y), r.type, fill=LABEL, anchor="mm")
    img[...] = np.asarray(pil)
    return img, info
