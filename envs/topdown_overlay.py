"""The episode overlay on a scene's top-down map: reference path, agent path, goal, agent."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from vlnsim.geometry import yaw_from_quat

REFERENCE = (40, 110, 240)
AGENT_PATH = (230, 60, 40)
GOAL = (30, 170, 60)
AGENT = (250, 200, 0)


def _to_pixels(points: Sequence[Sequence[float]], origin_xz, mpp: float) -> list:
    """World [x, y, z] -> map (col, row); row 0 is the map's min z, column 0 its min x."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    cols = (p[:, 0] - origin_xz[0]) / mpp
    rows = (p[:, 2] - origin_xz[1]) / mpp
    return list(zip(cols.tolist(), rows.tolist()))


def draw_episode_map(slot, episode, path, agent_state) -> np.ndarray:
    """The cached top-down map of ``slot`` with the episode's paths, goal and agent drawn."""
    base, origin_xz, mpp = slot.topdown()
    img = Image.fromarray(np.ascontiguousarray(base[..., :3]).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    scale = max(1, int(round(0.05 / mpp)))  # line widths in pixels for ~5 cm
    width = max(2, 2 * scale)
    goal = episode.goals[0].position
    radius_px = max(4, int(round(0.3 / mpp)))
    gx, gy = _to_pixels([goal], origin_xz, mpp)[0]
    draw.ellipse((gx - radius_px, gy - radius_px, gx + radius_px, gy + radius_px), outline=GOAL, width=width)
    if episode.reference_path and len(episode.reference_path) > 1:
        draw.line(_to_pixels(episode.reference_path, origin_xz, mpp), fill=REFERENCE, width=width)
    if len(path) > 1:
        draw.line(_to_pixels(path, origin_xz, mpp), fill=AGENT_PATH, width=width)
    ax, ay = _to_pixels([agent_state.position], origin_xz, mpp)[0]
    yaw = yaw_from_quat(agent_state.rotation)
    # heading arrow: forward is (-sin yaw, -cos yaw) in (x, z), i.e. (col, row)
    L = max(6, int(round(0.4 / mpp)))
    fx, fy = -math.sin(yaw), -math.cos(yaw)
    tip = (ax + fx * L, ay + fy * L)
    left = (ax - fy * L * 0.4, ay + fx * L * 0.4)
    right = (ax + fy * L * 0.4, ay - fx * L * 0.4)
    draw.polygon([tip, left, right], fill=AGENT, outline=(0, 0, 0))
    return np.asarray(img)
