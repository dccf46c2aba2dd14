"""One configuration dataclass for every vlnsim Gymnasium environment.

``EnvConfig`` is what ``gymnasium.make("vlnsim/VLN-v0", **kwargs)`` receives as keyword
arguments, what ``configs/vln_*.yaml`` / ``configs/pointnav*.yaml`` hold, and what a
vector env hands to each worker. YAML files, dotted overrides (``agent.radius=0.2``),
unknown keys and types go through the project's one config loader (``vlnsim.config``,
OmegaConf structured configs); ``__post_init__`` keeps only the range checks.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from vlnsim.agent import AgentConfig
from vlnsim.config import apply_overrides, read_yaml, resolve_config_path, to_dataclass
from vlnsim.errors import ConfigError

TASKS = ("vln", "pointnav")
EPISODE_ORDERS = ("sequential", "shuffle")
# habitat's defaults: R2R-CE counts STOP within 3 m a success, PointNav within 0.2 m.
DEFAULT_SUCCESS_DISTANCE = {"vln": 3.0, "pointnav": 0.2}
# The expert aims this close to the goal before calling STOP (VLN-CE's follower uses
# 0.5 m); for PointNav it must sit inside the 0.2 m success radius.
DEFAULT_EXPERT_GOAL_RADIUS = {"vln": 0.5, "pointnav": 0.15}


@dataclass
class EnvConfig:
    """Settings of a VLN or PointNav environment.

    Attributes:
        task: "vln" (follow the instruction) or "pointnav" (reach the goal given
            GPS+compass). The registered ids set it; ``make_env`` dispatches on it.
        data_root: folder holding ``scene_datasets/`` and ``datasets/``.
        dataset: dataset name under ``<data_root>/datasets/``.
        split: split name (``train``, ``val_seen``, ``val_unseen`` ...).
        version: dataset version folder (``v1``).
        rgb: produce the ``rgb`` observation (uint8 HxWx3).
        depth: produce the ``depth`` observation (float32 HxWx1, metres).
        semantic: produce the ``semantic`` observation (int32 HxW object ids).
        width: sensor width in pixels (all cameras share it).
        height: sensor height in pixels.
        hfov: horizontal field of view, degrees.
        sensor_height: camera mount height above the agent's feet (m).
        min_depth: depth clipping minimum (m).
        max_depth: depth clipping maximum (m); also the top of the observation space.
        normalize_depth: map depth to [0, 1] instead of metres.
        agent: body and action magnitudes (``vlnsim.AgentConfig`` or a dict of its fields).
        max_episode_steps: episodes are truncated after this many steps (habitat: 500).
        success_reward: bonus on a successful STOP.
        slack_reward: added every step (a small negative time penalty).
        distance_reward_weight: weight of geodesic progress, reward += -(d_t - d_{t-1}) * w.
        success_distance: STOP closer than this (geodesic metres) to the goal is a
            success; None = the task's default (VLN 3.0, PointNav 0.2).
        expert_goal_radius: the shortest-path expert stops this close to the goal;
            None = the task's default (VLN 0.5, PointNav 0.15).
        episode_order: "sequential" (file order) or "shuffle" (a new permutation per
            pass, drawn from the env's seeded ``np_random``). Both cycle forever.
        seed: seed used on the first ``reset()`` when none is passed.
        max_instruction_length: instruction token ids are padded/truncated to this.
        expert_action_sensor: add the ``expert_action`` oracle observation (int64 (1,)).
        progress_sensor: add the ``progress`` oracle observation (float32 (1,)):
            1 - geodesic_to_goal / geodesic_at_start, clipped to [0, 1].
        episode_ids: keep only these episode ids (None = the whole split).
        shard_index: this env serves episodes ``shard_index::num_shards`` (vector envs
            set it so workers never share an episode).
        num_shards: number of shards the split is divided into.
        scene_cache_size: how many scenes (with their renderer and navigability grid)
            stay loaded; switching back to a cached house is cheap.
        backend: ray-cast backend of the renderer ("embree" or "warp").
        cell_size: navigability grid resolution (m).
        topdown_meters_per_pixel: resolution of the top-down map in ``render()``.
    """

    task: str = "vln"
    data_root: str = "data"
    dataset: str = "procgen_r2r"
    split: str = "train"
    version: str = "v1"
    rgb: bool = True
    depth: bool = True
    semantic: bool = False
    width: int = 128
    height: int = 128
    hfov: float = 90.0
    sensor_height: float = 1.25
    min_depth: float = 0.0
    max_depth: float = 10.0
    normalize_depth: bool = False
    agent: AgentConfig = field(default_factory=AgentConfig)
    max_episode_steps: int = 500
    success_reward: float = 2.5
    slack_reward: float = -0.01
    distance_reward_weight: float = 1.0
    success_distance: Optional[float] = None
    expert_goal_radius: Optional[float] = None
    episode_order: str = "sequential"
    seed: Optional[int] = None
    max_instruction_length: int = 200
    expert_action_sensor: bool = False
    progress_sensor: bool = False
    episode_ids: Optional[list] = None
    shard_index: int = 0
    num_shards: int = 1
    scene_cache_size: int = 4
    backend: str = "embree"
    cell_size: float = 0.05
    topdown_meters_per_pixel: float = 0.05

    def __post_init__(self) -> None:
        if isinstance(self.agent, Mapping):
            self.agent = to_dataclass(AgentConfig, self.agent, where="agent")
        elif not isinstance(self.agent, AgentConfig):
            raise ConfigError(f"EnvConfig.agent={self.agent!r}; expected an AgentConfig or a mapping of its fields")
        if isinstance(self.data_root, os.PathLike):
            self.data_root = os.fspath(self.data_root)
        _check_choice("task", self.task, TASKS)
        _check_choice("episode_order", self.episode_order, EPISODE_ORDERS)
        for name in ("data_root", "dataset", "split", "version", "backend"):
            v = getattr(self, name)
            if not isinstance(v, str) or not v:
                raise ConfigError(f"EnvConfig.{name}={v!r}; expected a non-empty string")
        for name in ("width", "height", "max_episode_steps", "max_instruction_length", "scene_cache_size", "num_shards"):
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("shard_index", self.shard_index, minimum=0)
        if self.shard_index >= self.num_shards:
            raise ConfigError(f"EnvConfig.shard_index={self.shard_index}; expected 0 <= shard_index < num_shards={self.num_shards}")
        if self.seed is not None:
            _check_int("seed", self.seed, minimum=0)
        for name in ("success_reward", "slack_reward", "distance_reward_weight"):
            _check_float(name, getattr(self, name))
        for name in ("hfov",):
            v = _check_float(name, getattr(self, name))
            if not 0.0 < v < 180.0:
                raise ConfigError(f"EnvConfig.hfov={v!r}; expected degrees in the open interval (0, 180)")
        for name in ("sensor_height", "cell_size", "topdown_meters_per_pixel", "max_depth"):
            if _check_float(name, getattr(self, name)) <= 0:
                raise ConfigError(f"EnvConfig.{name}={getattr(self, name)!r}; expected a positive number")
        if not 0.0 <= _check_float("min_depth", self.min_depth) < self.max_depth:
            raise ConfigError(f"EnvConfig.min_depth={self.min_depth!r}; expected 0 <= min_depth < max_depth={self.max_depth}")
        for name in ("success_distance", "expert_goal_radius"):
            v = getattr(self, name)
            if v is not None and _check_float(name, v) <= 0:
                raise ConfigError(f"EnvConfig.{name}={v!r}; expected a positive number of metres or null")
        if self.episode_ids is not None:
            if isinstance(self.episode_ids, (str, bytes)) or not isinstance(self.episode_ids, Iterable):
                raise ConfigError(f"EnvConfig.episode_ids={self.episode_ids!r}; expected a list of episode ids or null")
            self.episode_ids = [str(e) for e in self.episode_ids]
            if not self.episode_ids:
                raise ConfigError("EnvConfig.episode_ids=[]; expected at least one episode id or null")
        if not (self.rgb or self.depth or self.semantic):
            raise ConfigError("EnvConfig: rgb, depth and semantic are all false; expected at least one camera sensor")

    @property
    def goal_success_distance(self) -> float:
        """The success distance in effect (the explicit one or the task default)."""
        return float(self.success_distance if self.success_distance is not None else DEFAULT_SUCCESS_DISTANCE[self.task])

    @property
    def expert_radius(self) -> float:
        """The expert's stopping radius in effect."""
        if self.expert_goal_radius is not None:
            return float(self.expert_goal_radius)
        return min(DEFAULT_EXPERT_GOAL_RADIUS[self.task], 0.75 * self.goal_success_distance)

    def to_dict(self) -> dict:
        """Plain nested dict (YAML/JSON serialisable), the inverse of ``from_dict``."""
        out = dataclasses.asdict(self)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: Optional[str] = None) -> "EnvConfig":
        """Build from a mapping (structured-config checks: unknown keys, types; ``source`` names the file)."""
        if isinstance(data, EnvConfig):
            return data.replace()
        if not isinstance(data, Mapping):
            raise ConfigError(f"env config must be a mapping of EnvConfig fields, got {type(data).__name__}")
        data = dict(data)
        if isinstance(data.get("data_root"), os.PathLike):
            data["data_root"] = os.fspath(data["data_root"])
        if isinstance(data.get("agent"), AgentConfig):
            data["agent"] = dataclasses.asdict(data["agent"])
        return to_dataclass(cls, data, source=source)

    def replace(self, **overrides: Any) -> "EnvConfig":
        """A copy with ``overrides`` applied (validated, unknown keys rejected)."""
        data = self.to_dict()
        agent = dict(data.pop("agent"))
        if "agent" in overrides:
            a = overrides.pop("agent")
            agent.update(dataclasses.asdict(a) if isinstance(a, AgentConfig) else dict(a))
        data.update(overrides)
        data["agent"] = agent
        return EnvConfig.from_dict(data)


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"EnvConfig.{name}={value!r}; expected one of {list(choices)}")


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) and not (hasattr(value, "__index__")):
        raise ConfigError(f"EnvConfig.{name}={value!r}; expected an integer >= {minimum}")
    if int(value) < minimum:
        raise ConfigError(f"EnvConfig.{name}={value!r}; expected an integer >= {minimum}")
    return int(value)


def _check_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ConfigError(f"EnvConfig.{name}={value!r}; expected a finite number")
    return float(value)


ConfigLike = Union[EnvConfig, Mapping[str, Any], str, os.PathLike, None]


def load_config(source: ConfigLike = None, overrides: Optional[Sequence[str]] = None, **kwargs: Any) -> EnvConfig:
    """Build an ``EnvConfig`` from a YAML path (or built-in config name), a mapping or a
    config, then apply overrides.

    A YAML file may hold the fields at top level or under an ``env:`` section (so an
    experiment config can embed the env it trains on); an empty file is refused.
    ``overrides`` are dotted ``key=value`` strings (``split=val_unseen``,
    ``agent.radius=0.2``) parsed as YAML values; ``kwargs`` are applied last.
    """
    where = None
    if source is None:
        base: dict = {}
    elif isinstance(source, EnvConfig):
        base = source.to_dict()
    elif isinstance(source, (str, os.PathLike)):
        path = resolve_config_path(source)
        where = str(path)
        loaded = read_yaml(path)
        base = loaded["env"] if isinstance(loaded.get("env"), dict) else loaded
    elif isinstance(source, Mapping):
        base = dict(source)
        if isinstance(base.get("agent"), AgentConfig):
            base["agent"] = dataclasses.asdict(base["agent"])
    else:
        raise ConfigError(f"env config source {source!r}; expected a YAML path, a mapping or an EnvConfig")
    data = apply_overrides(base, overrides or (), where)
    if kwargs:
        agent_kw = kwargs.pop("agent", None)
        data.update(kwargs)
        if agent_kw is not None:
            agent = dict(data.get("agent") or {})
            agent.update(dataclasses.asdict(agent_kw) if isinstance(agent_kw, AgentConfig) else dict(agent_kw))
            data["agent"] = agent
    return EnvConfig.from_dict(data, source=where)
