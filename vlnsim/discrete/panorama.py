"""The Matterport simulator's 36-view panorama and candidate geometry.

View ``k`` (0..35) looks at absolute heading ``(k % 12) * 30`` degrees (R2R's heading:
clockwise from vlnsim's forward -Z, seen from above) and elevation
``(k // 12 - 1) * 30`` degrees (row 0 looks down 30 deg, row 1 level, row 2 up 30 deg),
as R2R feature files index them, so a viewpoint's panorama does not depend on where
the agent faces. Views are rendered from the camera position (floor + ``height``).
"""
from __future__ import annotations

import math
from typing import Dict, List, Sequence

import numpy as np

from ..geometry import wrap_angle
from ..render.sensors import SensorSpec
from .graph import NavGraph

NUM_VIEWS = 36
HEADINGS = np.radians(np.arange(12) * 30.0)
ELEVATIONS = np.radians([-30.0, 0.0, 30.0])


def view_angles() -> np.ndarray:
    """(36, 2) [heading, elevation] in radians of each panorama view."""
    k = np.arange(NUM_VIEWS)
    return np.stack([HEADINGS[k % 12], ELEVATIONS[k // 12]], axis=1)


def panorama_sensors(width: int = 64, height: int = 64, hfov: float = 60.0, camera_height: float = 1.25,
                     kind: str = "rgb") -> List[SensorSpec]:
    """36 sensors (names ``view_00``..``view_35``) mounted at ``camera_height`` on an unrotated agent."""
    out = []
    for k, (h, e) in enumerate(view_angles()):
        # vlnsim yaw is counter-clockwise, R2R's heading clockwise; pitch up is positive
        out.append(SensorSpec(f"view_{k:02d}", kind=kind, width=width, height=height, hfov=hfov,
                              position=(0.0, float(camera_height), 0.0), orientation=(float(e), float(-h), 0.0)))
    return out


def render_panorama(renderer, position: Sequence[float], sensors: Sequence[SensorSpec]) -> np.ndarray:
    """(36, H, W, C) images of the panorama at floor ``position``."""
    obs = renderer.render(sensors, position=position, rotation=[0.0, 0.0, 0.0, 1.0])
    return np.stack([obs[s.name] for s in sensors])


def heading_to(src: np.ndarray, dst: np.ndarray) -> float:
    """R2R heading (clockwise from -Z) of the direction src -> dst."""
    d = np.asarray(dst, dtype=np.float64) - np.asarray(src, dtype=np.float64)
    return math.atan2(d[0], -d[2])


def candidates(graph: NavGraph, viewpoint: str, heading: float, elevation: float = 0.0) -> List[Dict[str, float]]:
    """Neighbours of ``viewpoint`` with heading/elevation relative to the agent's, distance and view index.

    ``rel_heading`` in (-pi, pi] (positive = to the right), ``rel_elevation`` between
    the two cameras, ``view`` = the panorama view whose centre is nearest the direction.
    """
    i = graph.idx(viewpoint)
    cams = graph.camera_positions
    out = []
    for vid in graph.neighbors(viewpoint):
        j = graph.idx(vid)
        d = cams[j] - cams[i]
        h = heading_to(cams[i], cams[j])
        e = math.atan2(d[1], math.hypot(d[0], d[2]))
        hi = int(round((h % (2 * math.pi)) / math.radians(30))) % 12
        row = 1 if abs(e) < math.radians(15) else (0 if e < 0 else 2)
        out.append({"viewpoint": vid, "rel_heading": wrap_angle(h - heading), "rel_elevation": wrap_angle(e - elevation),
                    "heading": h, "distance": float(np.linalg.norm(d)), "view": row * 12 + hi})
    return out
