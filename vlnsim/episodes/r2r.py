"""Original R2R JSON records and their mapping to VLN-CE episodes.

An R2R file is a JSON list of records
``{"distance", "scan", "path_id", "path", "heading", "instructions": [3 strings]}``.
In Matterport R2R ``path`` lists viewpoint ids of the connectivity graph; datasets
generated here have no viewpoint graph, so their ``path`` holds the reference-path
points ``[x, y, z]`` instead (documented deviation). Mapping to VLN-CE episodes,
mirroring VLN-CE's own conversion:

* each record becomes one episode per instruction, sharing ``trajectory_id = path_id``;
  episode ids are consecutive integers in file order;
* ``scene_id = scene_id_format.format(scan=scan)`` (``"procgen/{scan}/{scan}.glb"``;
  use ``"mp3d/{scan}/{scan}.glb"`` for Matterport) and back ``scan`` = file stem;
* ``reference_path = path`` (viewpoint ids are looked up in ``viewpoint_positions``),
  ``start_position = path[0]``, ``goals = [{position: path[-1], radius}]``;
* ``heading`` is R2R's clockwise heading (radians, 0 = the simulator's forward -Z),
  so ``start_rotation = quat_from_yaw(-heading)``;
* ``distance = info["geodesic_distance"]``.

Round trips: R2R file -> records -> file is exact (unknown keys kept);
episodes -> records -> episodes reproduces every field R2R has (rotations equal as
rotations, to float rounding).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ..errors import EpisodeFormatError
from ..geometry import quat_from_yaw, wrap_angle, yaw_from_quat
from .io import read_json, write_json
from .model import Episode, EpisodeDataset, Goal, Instruction, _number, _vector
from .vocab import Vocabulary

PathLike = Union[str, os.PathLike]
DEFAULT_SCENE_ID_FORMAT = "procgen/{scan}/{scan}.glb"


@dataclass
class R2RPath:
    """One R2R record: a path with its (usually three) instructions."""

    path_id: Any
    scan: str
    path: List[Any]
    heading: float
    distance: float
    instructions: List[str]
    extra: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        d = {"distance": self.distance, "scan": self.scan, "path_id": self.path_id, "path": self.path,
             "heading": self.heading, "instructions": list(self.instructions)}
        d.update({k: v for k, v in self.extra.items() if k not in d})
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str) -> "R2RPath":
        if not isinstance(d, dict):
            raise EpisodeFormatError(f"{where}: expected an R2R record object, got {type(d).__name__}")
        where = f"{where} (path_id={d.get('path_id')!r})"
        for key in ("distance", "scan", "path_id", "path", "heading", "instructions"):
            if key not in d:
                raise EpisodeFormatError(f"{where}: missing field {key!r}")
        if not isinstance(d["scan"], str) or not d["scan"]:
            raise EpisodeFormatError(f"{where}: field 'scan' must be a non-empty string, got {d['scan']!r}")
        path = d["path"]
        if not isinstance(path, list) or not path:
            raise EpisodeFormatError(f"{where}: field 'path' must be a non-empty list, got {path!r}")
        if all(isinstance(p, str) for p in path):
            pass  # Matterport viewpoint ids
        else:
            for i, p in enumerate(path):
                _vector(p, 3, where, f"path[{i}]")
        _number(d["heading"], where, "heading")
        _number(d["distance"], where, "distance")
        ins = d["instructions"]
        if not isinstance(ins, list) or not ins or not all(isinstance(s, str) for s in ins):
            raise EpisodeFormatError(f"{where}: field 'instructions' must be a non-empty list of strings")
        known = ("distance", "scan", "path_id", "path", "heading", "instructions")
        return cls(d["path_id"], d["scan"], path, d["heading"], d["distance"], list(ins),
                   {k: v for k, v in d.items() if k not in known})


def load_r2r(path: PathLike) -> List[R2RPath]:
    """Read an R2R JSON (or ``.json.gz``) file of path records."""
    data = read_json(path)
    if not isinstance(data, list):
        raise EpisodeFormatError(f"{path}: expected a JSON list of R2R records, got {type(data).__name__}")
    return [R2RPath.from_dict(r, f"{path}: record[{i}]") for i, r in enumerate(data)]


def save_r2r(records: Sequence[R2RPath], path: PathLike) -> None:
    """Write R2R records as a JSON list (gzip if ``.gz``), atomically."""
    write_json(path, [r.to_dict() for r in records])


def scan_of(scene_id: str) -> str:
    """R2R ``scan`` of a scene id: the file stem (``mp3d/X/X.glb`` -> ``X``)."""
    return Path(scene_id).name.split(".")[0]


def episodes_to_r2r(dataset: Union[EpisodeDataset, Sequence[Episode]]) -> List[R2RPath]:
    """Group episodes by ``trajectory_id`` (first-seen order) into R2R records."""
    groups: Dict[Any, List[Episode]] = {}
    for e in dataset:
        groups.setdefault(_hashable(e.trajectory_id), []).append(e)
    records = []
    for eps in groups.values():
        e0 = eps[0]
        if e0.instruction is None:
            raise EpisodeFormatError(f"episode {e0.episode_id!r}: no instruction; R2R records need instructions")
        distance = e0.geodesic_distance
        if distance is None:
            raise EpisodeFormatError(f"episode {e0.episode_id!r}: missing field 'info.geodesic_distance' needed as R2R 'distance'")
        path = [list(p) for p in (e0.reference_path or [e0.start_position, e0.goals[0].position])]
        records.append(R2RPath(
            path_id=e0.trajectory_id, scan=scan_of(e0.scene_id), path=path,
            heading=wrap_angle(-yaw_from_quat(e0.start_rotation)), distance=distance,
            instructions=[e.instruction.instruction_text for e in eps if e.instruction is not None],
        ))
    return records


def r2r_to_episodes(records: Sequence[R2RPath], scene_id_format: str = DEFAULT_SCENE_ID_FORMAT,
                    viewpoint_positions: Optional[Mapping[str, Any]] = None, goal_radius: float = 3.0,
                    vocab: Optional[Vocabulary] = None, start_episode_id: int = 0) -> EpisodeDataset:
    """VLN-CE episodes (one per instruction) from R2R records.

    ``viewpoint_positions`` maps viewpoint id -> [x, y, z] (or scan -> that map) and is
    needed only when ``path`` holds Matterport viewpoint ids.
    """
    episodes: List[Episode] = []
    eid = start_episode_id
    for r in records:
        points = [_point(p, r, viewpoint_positions) for p in r.path]
        rotation = [float(v) for v in quat_from_yaw(-float(r.heading))]
        for text in r.instructions:
            tokens = vocab.encode(text) if vocab is not None else []
            episodes.append(Episode(
                episode_id=eid, trajectory_id=r.path_id, scene_id=scene_id_format.format(scan=r.scan),
                start_position=list(points[0]), start_rotation=rotation,
                goals=[Goal(position=list(points[-1]), radius=goal_radius)], reference_path=[list(p) for p in points],
                instruction=Instruction(text, tokens), info={"geodesic_distance": float(r.distance)},
            ))
            eid += 1
    return EpisodeDataset(episodes=episodes, word_list=list(vocab.word_list) if vocab is not None else [])


def _point(p: Any, record: R2RPath, viewpoint_positions: Optional[Mapping[str, Any]]) -> List[float]:
    if not isinstance(p, str):
        return [float(v) for v in p]
    if viewpoint_positions is None:
        raise EpisodeFormatError(f"R2R record path_id={record.path_id!r}: 'path' holds viewpoint ids such as {p!r}; "
                                 "pass viewpoint_positions (viewpoint id -> [x, y, z]) to convert it")
    table = viewpoint_positions.get(record.scan, viewpoint_positions)
    if p not in table:
        raise EpisodeFormatError(f"R2R record path_id={record.path_id!r}: viewpoint {p!r} of scan {record.scan!r} "
                                 "not in viewpoint_positions")
    pos = [float(v) for v in table[p]]
    if len(pos) != 3 or not all(math.isfinite(v) for v in pos):
        raise EpisodeFormatError(f"viewpoint_positions[{p!r}] must be [x, y, z], got {table[p]!r}")
    return pos


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v
