"""Matterport3DSimulator connectivity files: ``connectivity/<scan>_connectivity.json``.

A file is a JSON list with one object per viewpoint::

    {"image_id": "0b22fa63d0f54a529c525afbf2e8bb25",
     "pose": [16 floats, row-major 4x4 camera-to-world],
     "included": true,
     "visible": [bool per viewpoint], "unobstructed": [bool per viewpoint],
     "height": 1.25}

Frames. Matterport scans are +Z up; vlnsim is +Y up with the agent looking along -Z.
Files are written in Matterport's frame so that R2R tools (which read the position
from ``pose[3], pose[7], pose[11]`` and headings as ``atan2(dx, dy)``) work unchanged:
``(x_mp, y_mp, z_mp) = (x, -z, y)``. vlnsim's forward -Z becomes +Y, so R2R's heading
(clockwise from +Y seen from above) is vlnsim's heading clockwise from -Z. The pose's
rotation is the camera at heading 0 and elevation 0 (camera axes = vlnsim world axes,
expressed in Matterport's frame); ``height`` is the camera height above the floor, so
the floor position is the pose translation minus ``height`` along +Z.

Reading is tolerant as R2R's own loader is: an edge exists when either endpoint lists
it (``unobstructed`` is made symmetric) and both endpoints are ``included``.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Union

import numpy as np

from ..errors import EpisodeFormatError
from ..io_utils import atomic_write_text
from .graph import NavGraph

PathLike = Union[str, os.PathLike]

# vlnsim world (+Y up) -> Matterport world (+Z up)
TO_MATTERPORT = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def to_matterport(p: np.ndarray) -> np.ndarray:
    """vlnsim [x, y, z] points (..., 3) in Matterport's +Z-up frame."""
    return np.asarray(p, dtype=np.float64) @ TO_MATTERPORT.T


def from_matterport(p: np.ndarray) -> np.ndarray:
    """Matterport [x, y, z] points (..., 3) in vlnsim's +Y-up frame."""
    return np.asarray(p, dtype=np.float64) @ TO_MATTERPORT


def connectivity_path(data_root: PathLike, scan: str) -> Path:
    """``<data_root>/connectivity/<scan>_connectivity.json``."""
    return Path(data_root) / "connectivity" / f"{scan}_connectivity.json"


def graph_to_records(graph: NavGraph) -> List[Dict[str, Any]]:
    """The connectivity file's list of viewpoint objects."""
    cams = to_matterport(graph.camera_positions)
    out = []
    for i, vid in enumerate(graph.ids):
        pose = np.eye(4)
        pose[:3, :3] = TO_MATTERPORT
        pose[:3, 3] = cams[i]
        out.append({
            "image_id": vid,
            "pose": [float(round(v, 6)) + 0.0 for v in pose.ravel()],
            "included": bool(graph.included[i]),
            "visible": [bool(v) for v in graph.visible[i]],
            "unobstructed": [bool(v) for v in graph.edges[i]],
            "height": float(round(graph.camera_height[i], 6)),
        })
    return out


def records_to_graph(records: Any, scan: str, where: str = "") -> NavGraph:
    """A ``NavGraph`` from a parsed connectivity list (validated; errors name ``where``)."""
    where = where or f"connectivity of {scan}"
    if not isinstance(records, list) or not records:
        raise EpisodeFormatError(f"{where}: expected a non-empty JSON list of viewpoints, got {type(records).__name__}")
    n = len(records)
    ids, cams, heights, inc = [], [], [], []
    vis = np.zeros((n, n), dtype=bool)
    unob = np.zeros((n, n), dtype=bool)
    for i, r in enumerate(records):
        at = f"{where}: viewpoint[{i}]"
        if not isinstance(r, dict):
            raise EpisodeFormatError(f"{at}: expected an object, got {type(r).__name__}")
        for key in ("image_id", "pose", "included", "visible", "unobstructed", "height"):
            if key not in r:
                raise EpisodeFormatError(f"{at}: missing field {key!r}")
        if not isinstance(r["image_id"], str) or not r["image_id"]:
            raise EpisodeFormatError(f"{at}: 'image_id' must be a non-empty string, got {r['image_id']!r}")
        pose = r["pose"]
        if (not isinstance(pose, list) or len(pose) != 16
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in pose)):
            raise EpisodeFormatError(f"{at} ({r['image_id']}): 'pose' must be 16 finite numbers (row-major 4x4)")
        for key in ("visible", "unobstructed"):
            v = r[key]
            if not isinstance(v, list) or len(v) != n or not all(isinstance(b, bool) for b in v):
                raise EpisodeFormatError(f"{at} ({r['image_id']}): {key!r} must be {n} booleans (one per viewpoint)")
        if not isinstance(r["included"], bool):
            raise EpisodeFormatError(f"{at} ({r['image_id']}): 'included' must be a boolean")
        h = r["height"]
        if not isinstance(h, (int, float)) or isinstance(h, bool) or not math.isfinite(h):
            raise EpisodeFormatError(f"{at} ({r['image_id']}): 'height' must be a finite number, got {h!r}")
        ids.append(r["image_id"])
        m = np.asarray(pose, dtype=np.float64).reshape(4, 4)
        cams.append(m[:3, 3])
        heights.append(float(h))
        inc.append(r["included"])
        vis[i] = r["visible"]
        unob[i] = r["unobstructed"]
    if len(set(ids)) != n:
        raise EpisodeFormatError(f"{where}: duplicate image_id values")
    np.fill_diagonal(unob, False)
    unob = unob | unob.T
    vis = vis | vis.T
    cam = from_matterport(np.stack(cams))
    heights_arr = np.asarray(heights)
    floor = cam - np.stack([np.zeros(n), heights_arr, np.zeros(n)], axis=1)
    return NavGraph(scan=scan, ids=ids, positions=floor, camera_height=heights_arr, edges=unob, visible=vis,
                    included=np.asarray(inc, dtype=bool))


def save_connectivity(graph: NavGraph, path: PathLike) -> Path:
    """Write ``graph`` as a connectivity JSON file (atomically); returns the path."""
    path = Path(path)
    atomic_write_text(path, json.dumps(graph_to_records(graph), separators=(", ", ": ")))
    return path


def load_connectivity(path: PathLike, scan: str = "") -> NavGraph:
    """Read ``<scan>_connectivity.json`` (scan from the file name unless given)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"connectivity file not found: {path}")
    if not scan:
        scan = path.name[: -len("_connectivity.json")] if path.name.endswith("_connectivity.json") else path.stem
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EpisodeFormatError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    return records_to_graph(records, scan, str(path))
