"""Reading and writing the VLN-CE dataset layout.

Layout (as ``R2R_VLNCE_v1-3``)::

    <data_root>/datasets/<name>/<version>/<split>/<split>.json.gz      episodes + word_list
    <data_root>/datasets/<name>/<version>/<split>/<split>_gt.json.gz   {episode_id: {locations, actions}}
    <data_root>/scene_datasets/<scene_id>                              scene files

Plain ``.json`` files are read as well (and written when the path does not end in
``.gz``). Writes are atomic.
"""
from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Dict, List, Union

from ..errors import EpisodeFormatError, SceneNotFoundError
from ..io_utils import atomic_write_bytes
from .model import EpisodeDataset

PathLike = Union[str, os.PathLike]
SPLITS = ("train", "val_seen", "val_unseen", "test")


def read_json(path: PathLike) -> Any:
    """Parse a ``.json`` or ``.json.gz`` file; raise ``EpisodeFormatError`` naming it on bad content."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"episode file not found: {path}")
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip magic: trust content over the extension
            raw = gzip.decompress(raw)
        return json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise EpisodeFormatError(f"{path}: corrupted or truncated file, cannot decompress/decode "
                                 f"({type(exc).__name__}: {exc}); regenerate or re-download it") from None
    except json.JSONDecodeError as exc:
        raise EpisodeFormatError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def write_json(path: PathLike, obj: Any) -> None:
    """Write ``obj`` as JSON (gzipped when ``path`` ends in ``.gz``), atomically."""
    path = Path(path)
    data = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)  # mtime 0: byte-identical reruns
    atomic_write_bytes(path, data)


def load(path: PathLike, require_instruction: bool = True) -> EpisodeDataset:
    """Load a VLN-CE ``{split}.json.gz`` into an ``EpisodeDataset`` (validated)."""
    return EpisodeDataset.from_dict(read_json(path), str(path), require_instruction)


def save(dataset: EpisodeDataset, path: PathLike) -> None:
    """Write ``dataset`` in the VLN-CE episode format (gzip if ``.gz``), atomically."""
    write_json(path, dataset.to_dict())


def load_gt(path: PathLike) -> Dict[str, Dict[str, Any]]:
    """Load a ``{split}_gt.json.gz``: ``{episode_id (str): {"locations": [[x,y,z],...], "actions": [int,...]}}``."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise EpisodeFormatError(f"{path}: expected an object keyed by episode_id, got {type(data).__name__}")
    for eid, rec in data.items():
        where = f"{path}: episode {eid!r}"
        if not isinstance(rec, dict):
            raise EpisodeFormatError(f"{where}: expected an object with 'locations' and 'actions'")
        for key in ("locations", "actions"):
            if key not in rec:
                raise EpisodeFormatError(f"{where}: missing field {key!r}")
        locs, acts = rec["locations"], rec["actions"]
        if not isinstance(locs, list) or any(
            not isinstance(p, list) or len(p) != 3 or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in p)
            for p in locs
        ):
            raise EpisodeFormatError(f"{where}: field 'locations' must be a list of [x, y, z]")
        if not isinstance(acts, list) or any(isinstance(a, bool) or not isinstance(a, int) or not 0 <= a <= 3 for a in acts):
            raise EpisodeFormatError(f"{where}: field 'actions' must be a list of action codes 0..3")
    return data


def save_gt(gt: Dict[Any, Dict[str, Any]], path: PathLike) -> None:
    """Write a ground-truth file (keys become strings, as in VLN-CE)."""
    write_json(path, {str(k): v for k, v in gt.items()})


def dataset_dir(data_root: PathLike, name: str, version: str = "v1") -> Path:
    """``<data_root>/datasets/<name>/<version>``."""
    return Path(data_root) / "datasets" / name / version


def split_path(data_root: PathLike, name: str, split: str, version: str = "v1", gt: bool = False) -> Path:
    """Path of a split's episode file (or its ``_gt`` file)."""
    suffix = "_gt" if gt else ""
    return dataset_dir(data_root, name, version) / split / f"{split}{suffix}.json.gz"


def available_splits(data_root: PathLike, name: str, version: str = "v1") -> List[str]:
    """Splits present on disk, standard ones first in R2R order, then others sorted."""
    root = dataset_dir(data_root, name, version)
    if not root.is_dir():
        return []
    found = [p.name for p in root.iterdir() if p.is_dir() and (p / f"{p.name}.json.gz").is_file()]
    return [s for s in SPLITS if s in found] + sorted(s for s in found if s not in SPLITS)


def load_split(data_root: PathLike, name: str, split: str, version: str = "v1") -> EpisodeDataset:
    """Load ``<data_root>/datasets/<name>/<version>/<split>/<split>.json.gz``."""
    path = split_path(data_root, name, split, version)
    if not path.is_file():
        have = available_splits(data_root, name, version)
        raise FileNotFoundError(f"split {split!r} of dataset {name!r} not found at {path}; available splits: {have or 'none'}")
    return load(path)


def resolve_scene_path(data_root: PathLike, scene_id: str, must_exist: bool = True) -> Path:
    """``<data_root>/scene_datasets/<scene_id>``; refuses ids that escape that directory.

    Raises ``EpisodeFormatError`` for absolute ids or ``..`` components and
    ``SceneNotFoundError`` (naming the file) when ``must_exist`` and it is missing.
    """
    if not isinstance(scene_id, str) or not scene_id.strip():
        raise EpisodeFormatError(f"scene_id must be a non-empty relative path, got {scene_id!r}")
    posix, win = PurePosixPath(scene_id), PureWindowsPath(scene_id)
    if posix.is_absolute() or win.is_absolute() or win.drive or scene_id.startswith(("/", "\\", "~")):
        raise EpisodeFormatError(f"scene_id {scene_id!r} is absolute; expected a path relative to <data_root>/scene_datasets/")
    if ".." in posix.parts or ".." in win.parts:
        raise EpisodeFormatError(f"scene_id {scene_id!r} contains '..'; scene ids may not leave <data_root>/scene_datasets/")
    # lexical check only: scene_datasets/<dataset> is often a symlink to shared storage
    path = Path(data_root) / "scene_datasets" / posix
    if must_exist and not path.is_file():
        raise SceneNotFoundError(f"scene file for scene_id {scene_id!r} not found: {path}")
    return path
