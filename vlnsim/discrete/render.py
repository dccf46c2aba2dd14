"""Frames of discrete-setting rollouts (``vlnsim render-rollout --setting discrete``).

One frame: the forward view (the panorama's level-row view nearest the agent's heading)
| the panorama's level row (12 headings) | a top-down map with the navigation graph
(grey edges and viewpoints), the reference path (green), the agent's graph path (blue,
the agent as a disc with its heading) and the goal (red); under them the instruction,
the action and the running metrics (``vlnsim.viz.composite``). Torch-free.
"""
from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from ..viz.composite import PANEL_SIZE, composite_frame, fit_panel
from ..viz.topdown import MapInfo, draw_agent, draw_goal, draw_path, render_topdown
from .graph import NavGraph

GRAPH_EDGE = (170, 170, 170)
GRAPH_NODE = (120, 120, 120)
REFERENCE = (40, 170, 60)


def forward_view_index(heading: float) -> int:
    """Index (12..23) of the level-row panorama view nearest the R2R ``heading`` (clockwise, radians)."""
    return 12 + int(round((heading % (2 * math.pi)) / math.radians(30))) % 12


def graph_map(graph: NavGraph, grid=None, scene=None, meters_per_pixel: float = 0.05) -> Tuple[np.ndarray, MapInfo]:
    """(image, MapInfo): the scene's top-down map (blank when ``grid`` is None) with the graph drawn on it."""
    pos = graph.positions[graph.included] if len(graph) else np.zeros((1, 3))
    if grid is not None:
        img, info = render_topdown(grid, scene, meters_per_pixel)
    else:
        lo, hi = pos.min(axis=0) - 1.0, pos.max(axis=0) + 1.0
        info = MapInfo.from_bounds(lo, hi, meters_per_pixel)
        img = np.full(info.shape + (3,), 255, dtype=np.uint8)
    pil = Image.fromarray(img)
    d = ImageDraw.Draw(pil)
    rc = info.world_to_map(graph.positions)
    xy = [(float(c) + 0.5, float(r) + 0.5) for r, c in rc]
    for a, b in graph.edge_list():
        d.line([xy[a], xy[b]], fill=GRAPH_EDGE, width=1)
    for i, (x, y) in enumerate(xy):
        if graph.included[i]:
            d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=GRAPH_NODE)
    return np.asarray(pil).copy(), info


def episode_map(base: np.ndarray, info: MapInfo, graph: NavGraph, reference: Sequence[str], trajectory: Sequence[str],
                heading: float) -> np.ndarray:
    """A copy of ``base`` with the reference path, the agent's path, the goal and the agent."""
    img = base.copy()
    ref = np.stack([graph.position(v) for v in reference])
    draw_path(img, ref, REFERENCE, info, thickness=3)
    draw_path(img, np.stack([graph.position(v) for v in trajectory]), info=info, thickness=2)
    draw_goal(img, graph.position(reference[-1]), info)
    draw_agent(img, graph.position(trajectory[-1]), -heading, info)  # vlnsim yaw is counter-clockwise
    return img


def discrete_frame(panorama: np.ndarray, heading: float, topdown: np.ndarray, instruction: str,
                   action: Optional[str] = None, step: Optional[int] = None,
                   metrics: Optional[Mapping[str, float]] = None, panel_size: int = PANEL_SIZE) -> np.ndarray:
    """The composite frame: forward view | panorama level row | map, over the instruction band."""
    frame = composite_frame(rgb=panorama[forward_view_index(heading)], topdown=topdown, instruction=instruction,
                            action=action, step=step, metrics=metrics, panel_size=panel_size)
    frame = frame.copy()
    frame[:panel_size, :panel_size] = fit_panel(panorama[forward_view_index(heading)], panel_size, "Forward view")
    row = np.concatenate(list(panorama[12:24]), axis=1)  # headings 0..330 (clockwise)
    frame[:panel_size, panel_size:2 * panel_size] = fit_panel(row, panel_size, "Panorama (level row, 0-330 deg)")
    return frame
