"""Experiment configuration (``configs/il_*.yaml`` and every other training YAML).

One dataclass per section. ``load_experiment_config`` reads the YAML (or a built-in
config name), applies dotted ``key=value`` overrides and builds the dataclasses with
OmegaConf structured configs (``vlnsim.config``), which reject unknown keys and wrong
types; the ``trainer:`` section is built by the config dataclass of the trainer named
by ``trainer.type`` (``agents.trainers.registry.TRAINERS``, default ``dagger``), the
``policy:`` section by the one of ``policy.type`` (``agents.policies.registry.POLICIES``)
and ``env:`` is checked against ``envs.EnvConfig``. Range checks live in each
dataclass's ``validate()``. Errors are one ``ConfigError`` line naming file and key.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from vlnsim.config import apply_overrides, check_choice, check_int, check_number, read_yaml, resolve_config_path, to_dataclass
from vlnsim.errors import ConfigError

from .policies.config import DepthConfig, InstructionConfig, PolicyConfig, VisionConfig  # noqa: F401  (re-exported)


@dataclass
class CacheConfig:
    """Feature cache of the frozen visual encoder (see ``agents.feature_cache``).

    Attributes:
        enabled: cache CLIP features per rendered pose; collection then renders only on a miss.
        max_items: in-memory capacity (entries; least recently used are evicted).
        disk_dir: optional directory of ``.npz`` shards that persists the cache across runs.
        position_quantum: positions are quantised to this many metres for the key.
        yaw_quantum_deg: headings are quantised to this many degrees for the key.
    """

    enabled: bool = True
    max_items: int = 200_000
    disk_dir: Optional[str] = None
    position_quantum: float = 0.01
    yaw_quantum_deg: float = 1.0

    def validate(self, where: str = "trainer.cache") -> None:
        """Range checks (types are checked by the loader)."""
        _int(f"{where}.max_items", self.max_items, 1)
        _num(f"{where}.position_quantum", self.position_quantum, 0.0, lo_open=True)
        _num(f"{where}.yaw_quantum_deg", self.yaw_quantum_deg, 0.0, lo_open=True)


@dataclass
class TrainerConfig:
    """Imitation learning (teacher forcing + DAgger).

    Attributes:
        type: the trainer (``agents.trainers.registry.TRAINERS``); "dagger" is this one.
        iterations: DAgger iterations (collection + training rounds).
        dagger_p: beta = p ** iteration is the probability of executing the expert's
            action (iteration 0 is pure teacher forcing; p = 1 is teacher forcing throughout).
        episodes_per_iteration: episodes collected per iteration (over all ranks).
        epochs_per_iteration: passes over the aggregated buffer after each collection.
        batch_size: episodes per gradient step (per rank).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        grad_clip: max gradient norm (0 disables clipping).
        inflection_weight: "auto" (1 / fraction of inflection steps in the first
            collection, as VLN-CE) or a number (1.0 disables the weighting).
        progress_loss_coef: weight of the progress-monitor MSE loss.
        buffer_max_steps: the aggregated buffer keeps at most this many steps (oldest
            episodes are dropped first).
        max_collect_steps: a collected episode is cut after this many steps.
        amp: bfloat16 autocast when training on CUDA.
        num_envs: environments stepped in lock-step per rank.
        checkpoint_every: save a checkpoint every this many iterations (the last is always saved).
        log_every: TensorBoard scalars every this many gradient steps.
        cache: feature cache settings.
    """

    type: str = "dagger"
    iterations: int = 4
    dagger_p: float = 0.75
    episodes_per_iteration: int = 400
    epochs_per_iteration: int = 4
    batch_size: int = 16
    lr: float = 2.5e-4
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    inflection_weight: Any = "auto"
    progress_loss_coef: float = 1.0
    buffer_max_steps: int = 200_000
    max_collect_steps: int = 150
    amp: bool = True
    num_envs: int = 4
    checkpoint_every: int = 1
    log_every: int = 10
    cache: CacheConfig = field(default_factory=CacheConfig)

    def validate(self, where: str = "trainer") -> None:
        """Range checks (types are checked by the loader)."""
        for n, lo in (("iterations", 1), ("episodes_per_iteration", 1), ("epochs_per_iteration", 1), ("batch_size", 1),
                      ("buffer_max_steps", 1), ("max_collect_steps", 1), ("num_envs", 1), ("checkpoint_every", 1),
                      ("log_every", 1)):
            _int(f"{where}.{n}", getattr(self, n), lo)
        _num(f"{where}.dagger_p", self.dagger_p, 0.0, 1.0)
        _num(f"{where}.lr", self.lr, 0.0, lo_open=True)
        _num(f"{where}.weight_decay", self.weight_decay, 0.0)
        _num(f"{where}.grad_clip", self.grad_clip, 0.0)
        _num(f"{where}.progress_loss_coef", self.progress_loss_coef, 0.0)
        if self.inflection_weight != "auto":
            _num(f"{where}.inflection_weight", self.inflection_weight, 0.0, lo_open=True)
        self.cache.validate(f"{where}.cache")


@dataclass
class EvalConfig:
    """Evaluation during/after training.

    Attributes:
        split: split evaluated after each iteration and at the end (null: no eval).
        episodes: episodes evaluated (null = the whole split).
        every: evaluate every this many iterations (the last is always evaluated).
    """

    split: Optional[str] = "val_unseen"
    episodes: Optional[int] = 50
    every: int = 1

    def validate(self, where: str = "eval") -> None:
        """Range checks (types are checked by the loader)."""
        if self.episodes is not None:
            _int(f"{where}.episodes", self.episodes, 1)
        _int(f"{where}.every", self.every, 1)


@dataclass
class ExperimentConfig:
    """A whole imitation-learning experiment.

    Attributes:
        name: experiment name.
        seed: master seed (weights, episode order, DAgger draws, env seeds).
        run_dir: output directory (checkpoints, TensorBoard, tiny CLIP, eval).
        device: "cpu", "cuda" or "auto" (cuda when available).
        torch_threads: intra-op threads for torch on CPU (0 keeps torch's default). The
            per-step ops are tiny, so 1 thread avoids synchronisation costs that dominate
            on small or shared machines.
        env: ``envs.EnvConfig`` fields of the training env (split defaults to train).
        policy: policy settings (the config dataclass of ``POLICIES[policy.type]``).
        trainer: trainer settings (the config dataclass of ``TRAINERS[trainer.type]``).
        eval: evaluation settings.
    """

    name: str = "il"
    seed: int = 0
    run_dir: str = "runs/il"
    device: str = "auto"
    torch_threads: int = 1
    env: dict = field(default_factory=dict)
    policy: Any = field(default_factory=PolicyConfig)
    trainer: Any = field(default_factory=TrainerConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict:
        """Plain nested dict (JSON/YAML serialisable)."""
        return dataclasses.asdict(self)

    def validate(self) -> "ExperimentConfig":
        """Range checks of every section; returns self."""
        _int("seed", self.seed, 0)
        _choice("device", self.device, ("auto", "cpu", "cuda"))
        _int("torch_threads", self.torch_threads, 0)
        if not self.run_dir:
            raise ConfigError(f"run_dir={self.run_dir!r}; expected a non-empty path")
        for name in ("policy", "trainer"):
            validate = getattr(getattr(self, name), "validate", None)
            if validate is not None:
                validate(name)
        self.eval.validate("eval")
        return self



_int, _num, _choice = check_int, check_number, check_choice


def section_config(registry, data: Any, where: str, source: Optional[str] = None, default: Optional[str] = None):
    """Build a registry-typed section (``trainer:``/``policy:``) with its entry's config dataclass."""
    if data is None:
        data = {}
    if dataclasses.is_dataclass(data):
        data = dataclasses.asdict(data)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{'config ' + source + ': ' if source else ''}{where}={data!r}; expected a mapping")
    name = data.get("type", default)
    try:
        cls = registry.meta(name).get("config")
    except ConfigError as exc:
        raise ConfigError(f"{'config ' + source + ': ' if source else ''}{where}.type: {exc}") from None
    if cls is None:
        raise ConfigError(f"{registry.kind} {name!r} was registered without a config dataclass; expected config=...")
    return to_dataclass(cls, dict(data), where=where, source=source)


def policy_config(data: Any, source: Optional[str] = None):
    """The ``policy:`` section as the config dataclass of ``POLICIES[policy.type]`` (default cma)."""
    from .policies.registry import POLICIES

    return section_config(POLICIES, data, "policy", source, default="cma")


def trainer_config(data: Any, source: Optional[str] = None):
    """The ``trainer:`` section as the config dataclass of ``TRAINERS[trainer.type]`` (default dagger)."""
    from .trainers.registry import TRAINERS

    return section_config(TRAINERS, data, "trainer", source, default="dagger")


def config_from_dict(data: Mapping[str, Any], source: Optional[str] = None) -> ExperimentConfig:
    """Build and validate an ``ExperimentConfig`` from a nested mapping (``source`` names its file)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{'config ' + source + ': ' if source else ''}expected a mapping of ExperimentConfig sections")
    data = dict(data)
    policy = policy_config(data.pop("policy", None), source)
    trainer = trainer_config(data.pop("trainer", None), source)
    cfg = to_dataclass(ExperimentConfig, data, source=source)
    cfg.policy, cfg.trainer = policy, trainer
    _check_env(cfg.env, source)
    try:
        return cfg.validate()
    except ConfigError as exc:
        raise ConfigError(f"config {source}: {exc}" if source else str(exc)) from None


def _check_env(env: Mapping[str, Any], source: Optional[str]) -> None:
    """Check the ``env:`` section against ``envs.EnvConfig`` (unknown keys, types, ranges)."""
    from envs.config import EnvConfig

    to_dataclass(EnvConfig, {"split": "train", **dict(env)}, where="env", source=source)


def load_experiment_config(path: Union[str, os.PathLike, None], overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read a YAML experiment config (a path or a built-in config name), apply dotted
    ``key=value`` overrides, build and validate it."""
    base: Dict[str, Any] = {}
    source = None
    if path is not None:
        p = resolve_config_path(path)
        source = str(p)
        base = read_yaml(p)
    return config_from_dict(apply_overrides(base, overrides, source), source)
