"""The VLN-CE episode model and its validating JSON (de)serialisation.

One ``Episode`` is one instruction over one reference path (VLN-CE stores each of
R2R's three instructions per path as its own episode sharing a ``trajectory_id``).
Unknown keys found in files are kept in ``extra`` dicts and written back unchanged, so
datasets from the wild (``goals[].radius``, ``info`` extras, RxR fields) survive a
load/save round trip.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

from ..errors import EpisodeFormatError

UNIT_TOLERANCE = 1e-3
EpisodeId = Union[int, str]


@dataclass
class Goal:
    """A navigation goal: ``position`` [x, y, z] and success ``radius`` (m)."""

    position: List[float]
    radius: Optional[float] = 3.0
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Instruction:
    """Instruction text and its word-vocabulary ids (``instruction_tokens``)."""

    instruction_text: str
    instruction_tokens: List[int] = field(default_factory=list)
    extra: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Episode:
    """One VLN-CE episode.

    Attributes:
        episode_id: unique id within the split (int in VLN-CE files; str allowed).
        trajectory_id: id of the reference path shared by its instructions.
        scene_id: scene file relative to ``<data_root>/scene_datasets/``.
        start_position: [x, y, z] on the navigable floor.
        start_rotation: unit quaternion [x, y, z, w].
        goals: goal list (VLN uses one: the end of the reference path).
        reference_path: shortest-path polyline [[x, y, z], ...] start to goal.
        instruction: the natural-language instruction, or None (PointNav data).
        info: free-form dict; ``info["geodesic_distance"]`` is the start-goal distance.
        extra: unknown top-level keys of the episode record, kept for round trips.
    """

    episode_id: EpisodeId
    trajectory_id: Any
    scene_id: str
    start_position: List[float]
    start_rotation: List[float]
    goals: List[Goal]
    reference_path: List[List[float]] = field(default_factory=list)
    instruction: Optional[Instruction] = None
    info: Dict[str, Any] = field(default_factory=dict)
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def geodesic_distance(self) -> Optional[float]:
        """``info["geodesic_distance"]`` if present."""
        v = self.info.get("geodesic_distance")
        return None if v is None else float(v)

    def to_dict(self) -> Dict[str, Any]:
        """The VLN-CE JSON record (known fields first, then the kept extras)."""
        d: Dict[str, Any] = {
            "episode_id": self.episode_id,
            "trajectory_id": self.trajectory_id,
            "scene_id": self.scene_id,
            "start_position": [float(v) for v in self.start_position],
            "start_rotation": [float(v) for v in self.start_rotation],
            "info": dict(self.info),
            "goals": [_goal_to_dict(g) for g in self.goals],
            "reference_path": [[float(v) for v in p] for p in self.reference_path],
        }
        if self.instruction is not None:
            d["instruction"] = {
                "instruction_text": self.instruction.instruction_text,
                "instruction_tokens": [int(t) for t in self.instruction.instruction_tokens],
                **self.instruction.extra,
            }
        for k, v in self.extra.items():
            d.setdefault(k, v)
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "episode", require_instruction: bool = True) -> "Episode":
        """Validate and build an episode; ``where`` prefixes error messages (file and index)."""
        if not isinstance(d, dict):
            raise EpisodeFormatError(f"{where}: expected a JSON object, got {type(d).__name__}")
        eid = d.get("episode_id")
        where = f"{where} (episode_id={eid!r})"
        required = ["episode_id", "scene_id", "start_position", "start_rotation", "goals"]
        if require_instruction:
            required += ["trajectory_id", "reference_path", "instruction"]
        for key in required:
            if key not in d:
                raise EpisodeFormatError(f"{where}: missing field {key!r}")
        if isinstance(eid, bool) or not isinstance(eid, (int, str)):
            raise EpisodeFormatError(f"{where}: field 'episode_id' must be an int or str, got {type(eid).__name__}")
        scene_id = d["scene_id"]
        if not isinstance(scene_id, str) or not scene_id:
            raise EpisodeFormatError(f"{where}: field 'scene_id' must be a non-empty string, got {scene_id!r}")
        start_position = _vector(d["start_position"], 3, where, "start_position")
        start_rotation = _quaternion(d["start_rotation"], where, "start_rotation")
        goals_raw = d["goals"]
        if not isinstance(goals_raw, list) or not goals_raw:
            raise EpisodeFormatError(f"{where}: field 'goals' must be a non-empty list, got {goals_raw!r}")
        goals = [_goal_from_dict(g, where, f"goals[{i}]") for i, g in enumerate(goals_raw)]
        ref_raw = d.get("reference_path", [])
        if not isinstance(ref_raw, list):
            raise EpisodeFormatError(f"{where}: field 'reference_path' must be a list of [x, y, z], got {type(ref_raw).__name__}")
        reference_path = [_vector(p, 3, where, f"reference_path[{i}]") for i, p in enumerate(ref_raw)]
        if require_instruction and not reference_path:
            raise EpisodeFormatError(f"{where}: field 'reference_path' is empty; expected at least the start point")
        instruction = None
        if d.get("instruction") is not None:
            instruction = _instruction_from_dict(d["instruction"], where)
        info = d.get("info", {})
        if info is None:
            info = {}
        if not isinstance(info, dict):
            raise EpisodeFormatError(f"{where}: field 'info' must be an object, got {type(info).__name__}")
        gd = info.get("geodesic_distance")
        if gd is not None and (isinstance(gd, bool) or not isinstance(gd, (int, float))):
            raise EpisodeFormatError(f"{where}: field 'info.geodesic_distance' must be a number, got {gd!r}")
        known = {"episode_id", "trajectory_id", "scene_id", "start_position", "start_rotation", "goals",
                 "reference_path", "instruction", "info"}
        return cls(
            episode_id=eid,
            trajectory_id=d.get("trajectory_id"),
            scene_id=scene_id,
            start_position=start_position,
            start_rotation=start_rotation,
            goals=goals,
            reference_path=reference_path,
            instruction=instruction,
            info=dict(info),
            extra={k: v for k, v in d.items() if k not in known},
        )


@dataclass
class EpisodeDataset:
    """A split: its episodes and the instruction vocabulary ``word_list``.

    ``extra`` keeps unknown top-level keys of the file (and of ``instruction_vocab``
    under ``extra["instruction_vocab"]``) for round trips.
    """

    episodes: List[Episode] = field(default_factory=list)
    word_list: List[str] = field(default_factory=list)
    extra: Dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.episodes)

    def __iter__(self):
        return iter(self.episodes)

    @property
    def vocab(self):
        """The split's ``Vocabulary`` (raises ``EpisodeFormatError`` if ``word_list`` is not one)."""
        from .vocab import Vocabulary

        return Vocabulary(self.word_list)

    @property
    def scene_ids(self) -> List[str]:
        """Sorted distinct scene ids."""
        return sorted({e.scene_id for e in self.episodes})

    def to_dict(self) -> Dict[str, Any]:
        vocab_extra = dict(self.extra.get("instruction_vocab", {}))
        d: Dict[str, Any] = {
            "episodes": [e.to_dict() for e in self.episodes],
            "instruction_vocab": {"word_list": list(self.word_list), **{k: v for k, v in vocab_extra.items() if k != "word_list"}},
        }
        for k, v in self.extra.items():
            if k != "instruction_vocab":
                d.setdefault(k, v)
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "dataset", require_instruction: bool = True) -> "EpisodeDataset":
        if not isinstance(d, dict):
            raise EpisodeFormatError(f"{where}: expected a JSON object with 'episodes', got {type(d).__name__}")
        if "episodes" not in d:
            raise EpisodeFormatError(f"{where}: missing field 'episodes'")
        if not isinstance(d["episodes"], list):
            raise EpisodeFormatError(f"{where}: field 'episodes' must be a list, got {type(d['episodes']).__name__}")
        vocab = d.get("instruction_vocab", {"word_list": []})
        if not isinstance(vocab, dict) or not isinstance(vocab.get("word_list", []), list):
            raise EpisodeFormatError(f"{where}: field 'instruction_vocab.word_list' must be a list of strings")
        word_list = vocab.get("word_list", [])
        bad = [w for w in word_list if not isinstance(w, str)]
        if bad:
            raise EpisodeFormatError(f"{where}: field 'instruction_vocab.word_list' holds non-strings, e.g. {bad[0]!r}")
        episodes = [Episode.from_dict(e, f"{where}: episodes[{i}]", require_instruction) for i, e in enumerate(d["episodes"])]
        seen: Dict[str, int] = {}
        for i, e in enumerate(episodes):
            key = str(e.episode_id)
            if key in seen:
                raise EpisodeFormatError(f"{where}: episodes[{i}] repeats episode_id {e.episode_id!r} of episodes[{seen[key]}]")
            seen[key] = i
        extra = {k: v for k, v in d.items() if k not in ("episodes", "instruction_vocab")}
        vocab_extra = {k: v for k, v in vocab.items() if k != "word_list"}
        if vocab_extra:
            extra["instruction_vocab"] = vocab_extra
        return cls(episodes=episodes, word_list=list(word_list), extra=extra)


# ---------------------------------------------------------------- field validators
def _number(v: Any, where: str, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise EpisodeFormatError(f"{where}: field {name!r} must hold finite numbers, got {v!r}")
    return float(v)


def _vector(v: Any, n: int, where: str, name: str) -> List[float]:
    if not isinstance(v, (list, tuple)) or len(v) != n:
        raise EpisodeFormatError(f"{where}: field {name!r} must be a list of {n} numbers, got {v!r}")
    return [_number(x, where, name) for x in v]


def _quaternion(v: Any, where: str, name: str) -> List[float]:
    q = _vector(v, 4, where, name)
    norm = math.sqrt(sum(x * x for x in q))
    if abs(norm - 1.0) > UNIT_TOLERANCE:
        raise EpisodeFormatError(f"{where}: field {name!r} must be a unit quaternion [x, y, z, w], got norm {norm:.6f} for {q}")
    return q


def _goal_from_dict(g: Any, where: str, name: str) -> Goal:
    if not isinstance(g, dict) or "position" not in g:
        raise EpisodeFormatError(f"{where}: field {name!r} must be an object with 'position', got {g!r}")
    radius = g.get("radius")
    if radius is not None:
        radius = _number(radius, where, f"{name}.radius")
        if radius < 0:
            raise EpisodeFormatError(f"{where}: field '{name}.radius' must be >= 0, got {radius}")
    return Goal(position=_vector(g["position"], 3, where, f"{name}.position"), radius=radius,
                extra={k: v for k, v in g.items() if k not in ("position", "radius")})


def _goal_to_dict(g: Goal) -> Dict[str, Any]:
    d: Dict[str, Any] = {"position": [float(v) for v in g.position]}
    if g.radius is not None:
        d["radius"] = float(g.radius)
    d.update({k: v for k, v in g.extra.items() if k not in d})
    return d


def _instruction_from_dict(ins: Any, where: str) -> Instruction:
    if not isinstance(ins, dict):
        raise EpisodeFormatError(f"{where}: field 'instruction' must be an object, got {type(ins).__name__}")
    text = ins.get("instruction_text")
    if not isinstance(text, str):
        raise EpisodeFormatError(f"{where}: field 'instruction.instruction_text' must be a string, got {text!r}")
    tokens = ins.get("instruction_tokens", [])
    if not isinstance(tokens, list) or any(isinstance(t, bool) or not isinstance(t, int) or t < 0 for t in tokens):
        raise EpisodeFormatError(f"{where}: field 'instruction.instruction_tokens' must be a list of non-negative ints")
    return Instruction(text, list(tokens), {k: v for k, v in ins.items() if k not in ("instruction_text", "instruction_tokens")})


def as_float_list(v: Sequence[float]) -> List[float]:
    """Plain-float list of a vector (numpy arrays included) for JSON records."""
    return [float(x) for x in v]
