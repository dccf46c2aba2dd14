"""Experiment configuration for imitation learning (``configs/il_*.yaml``).

One dataclass per section; ``load_experiment_config`` reads the YAML through OmegaConf,
applies dotted ``key=value`` overrides, rejects unknown keys and validates every field
(errors name the field, the value and what was expected).
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from vlnsim.errors import ConfigError


@dataclass
class VisionConfig:
    """RGB encoder (a CLIP vision tower).

    Attributes:
        clip: hub name (e.g. ``openai/clip-vit-base-patch32``, read from the local HF
            cache) or a ``save_pretrained`` directory; null builds a tiny random CLIP
            into ``<run_dir>/tiny_clip`` with the ``tiny_*`` settings.
        trainable: fine-tune the tower (else frozen: eval mode, no grad, features cacheable).
        allow_download: let ``from_pretrained`` download a hub name that is not cached.
        tiny_image_size: tiny CLIP input size (pixels; images are resized to it).
        tiny_patch_size: tiny CLIP patch size.
        tiny_hidden_size: tiny CLIP width.
        tiny_layers: tiny CLIP depth (both towers).
        tiny_heads: tiny CLIP attention heads.
        tiny_projection_dim: tiny CLIP joint embedding size.
        tiny_seed: seed of the tiny CLIP's random weights.
    """

    clip: Optional[str] = None
    trainable: bool = False
    allow_download: bool = False
    tiny_image_size: int = 64
    tiny_patch_size: int = 16
    tiny_hidden_size: int = 32
    tiny_layers: int = 2
    tiny_heads: int = 2
    tiny_projection_dim: int = 32
    tiny_seed: int = 0


@dataclass
class DepthConfig:
    """Depth CNN.

    Attributes:
        channels: stem width then one residual stage per further entry (each halves H, W).
        output_dim: pooled depth embedding size.
        input_size: depth maps are resized to this square size.
        max_depth: metres mapped to 1.0.
        trainable: train the CNN (False keeps its random init frozen).
    """

    channels: list = field(default_factory=lambda: [16, 32, 32])
    output_dim: int = 128
    input_size: int = 64
    max_depth: float = 10.0
    trainable: bool = True


@dataclass
class InstructionConfig:
    """Instruction encoder.

    Attributes:
        type: "lstm" (embedding + LSTM) or "clip" (the CLIP text tower over word ids; needs
            a CLIP whose vocab_size >= the dataset vocabulary, e.g. the tiny one).
        embedding_dim: word embedding size (lstm).
        hidden_size: LSTM size per direction (lstm).
        bidirectional: bidirectional LSTM (lstm).
        trainable: train the CLIP text tower (clip).
    """

    type: str = "lstm"
    embedding_dim: int = 64
    hidden_size: int = 64
    bidirectional: bool = True
    trainable: bool = False


@dataclass
class PolicyConfig:
    """Policy network.

    Attributes:
        type: "cma" (cross-modal attention, two GRUs) or "seq2seq".
        hidden_size: GRU state size.
        rgb_dim: size the RGB features are projected to.
        depth_dim: size the attended depth features are projected to (cma).
        attention_dim: query/key size of the attention layers (cma).
        prev_action_dim: previous-action embedding size.
        progress_monitor: add the progress-monitor head (predicts the ``progress`` oracle).
        vision: RGB encoder settings.
        depth: depth encoder settings.
        instruction: instruction encoder settings.
    """

    type: str = "cma"
    hidden_size: int = 256
    rgb_dim: int = 128
    depth_dim: int = 128
    attention_dim: int = 128
    prev_action_dim: int = 32
    progress_monitor: bool = True
    vision: VisionConfig = field(default_factory=VisionConfig)
    depth: DepthConfig = field(default_factory=DepthConfig)
    instruction: InstructionConfig = field(default_factory=InstructionConfig)


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


@dataclass
class TrainerConfig:
    """Imitation learning (teacher forcing + DAgger).

    Attributes:
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
        policy: policy settings.
        trainer: trainer settings.
        eval: evaluation settings.
    """

    name: str = "il"
    seed: int = 0
    run_dir: str = "runs/il"
    device: str = "auto"
    torch_threads: int = 1
    env: dict = field(default_factory=dict)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict:
        """Plain nested dict (JSON/YAML serialisable)."""
        return dataclasses.asdict(self)


def _build(cls, data: Any, where: str):
    """Recursively build dataclass ``cls`` from a mapping, rejecting unknown keys."""
    if isinstance(data, cls):
        return data
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}={data!r}; expected a mapping of {cls.__name__} fields")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown field(s) {[f'{where}.{u}' for u in unknown]}; expected some of {sorted(known)}")
    kwargs = {}
    for name, value in data.items():
        f = known[name]
        sub = _NESTED.get((cls, name))
        kwargs[name] = _build(sub, value, f"{where}.{name}") if sub else value
    return cls(**kwargs)


_NESTED = {
    (ExperimentConfig, "policy"): PolicyConfig,
    (ExperimentConfig, "trainer"): TrainerConfig,
    (ExperimentConfig, "eval"): EvalConfig,
    (PolicyConfig, "vision"): VisionConfig,
    (PolicyConfig, "depth"): DepthConfig,
    (PolicyConfig, "instruction"): InstructionConfig,
    (TrainerConfig, "cache"): CacheConfig,
}


def _int(where: str, v: Any, minimum: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ConfigError(f"{where}={v!r}; expected an integer >= {minimum}")


def _num(where: str, v: Any, lo: float = -math.inf, hi: float = math.inf, lo_open: bool = False) -> None:
    ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(float(v))
    ok = ok and (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        bound = f"{'>' if lo_open else '>='} {lo}" + (f" and <= {hi}" if hi < math.inf else "")
        raise ConfigError(f"{where}={v!r}; expected a finite number {bound}")


def _bool(where: str, v: Any) -> None:
    if not isinstance(v, bool):
        raise ConfigError(f"{where}={v!r}; expected true or false")


def _choice(where: str, v: Any, choices: Sequence[str]) -> None:
    if v not in choices:
        raise ConfigError(f"{where}={v!r}; expected one of {list(choices)}")


def validate(cfg: ExperimentConfig) -> ExperimentConfig:
    """Check every field's type and range; raise ``ConfigError`` naming the first bad one."""
    _int("seed", cfg.seed, 0)
    _choice("device", cfg.device, ("auto", "cpu", "cuda"))
    _int("torch_threads", cfg.torch_threads, 0)
    if not isinstance(cfg.run_dir, str) or not cfg.run_dir:
        raise ConfigError(f"run_dir={cfg.run_dir!r}; expected a non-empty path")
    if not isinstance(cfg.env, Mapping):
        raise ConfigError(f"env={cfg.env!r}; expected a mapping of envs.EnvConfig fields")
    p = cfg.policy
    _choice("policy.type", p.type, ("cma", "seq2seq"))
    for n in ("hidden_size", "rgb_dim", "depth_dim", "attention_dim", "prev_action_dim"):
        _int(f"policy.{n}", getattr(p, n), 1)
    _bool("policy.progress_monitor", p.progress_monitor)
    v = p.vision
    if v.clip is not None and (not isinstance(v.clip, str) or not v.clip):
        raise ConfigError(f"policy.vision.clip={v.clip!r}; expected a hub name, a directory or null")
    _bool("policy.vision.trainable", v.trainable)
    _bool("policy.vision.allow_download", v.allow_download)
    for n in ("tiny_image_size", "tiny_patch_size", "tiny_hidden_size", "tiny_layers", "tiny_heads", "tiny_projection_dim"):
        _int(f"policy.vision.{n}", getattr(v, n), 1)
    if v.tiny_image_size % v.tiny_patch_size:
        raise ConfigError(f"policy.vision.tiny_image_size={v.tiny_image_size}; expected a multiple of tiny_patch_size={v.tiny_patch_size}")
    if v.tiny_hidden_size % v.tiny_heads:
        raise ConfigError(f"policy.vision.tiny_hidden_size={v.tiny_hidden_size}; expected a multiple of tiny_heads={v.tiny_heads}")
    d = p.depth
    if not isinstance(d.channels, (list, tuple)) or len(d.channels) < 1 or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in d.channels):
        raise ConfigError(f"policy.depth.channels={d.channels!r}; expected a non-empty list of positive integers")
    _int("policy.depth.output_dim", d.output_dim, 1)
    _int("policy.depth.input_size", d.input_size, 2 ** len(d.channels))
    _num("policy.depth.max_depth", d.max_depth, 0.0, lo_open=True)
    _bool("policy.depth.trainable", d.trainable)
    i = p.instruction
    _choice("policy.instruction.type", i.type, ("lstm", "clip"))
    for n in ("embedding_dim", "hidden_size"):
        _int(f"policy.instruction.{n}", getattr(i, n), 1)
    _bool("policy.instruction.bidirectional", i.bidirectional)
    _bool("policy.instruction.trainable", i.trainable)
    t = cfg.trainer
    for n, lo in (("iterations", 1), ("episodes_per_iteration", 1), ("epochs_per_iteration", 1), ("batch_size", 1),
                  ("buffer_max_steps", 1), ("max_collect_steps", 1), ("num_envs", 1), ("checkpoint_every", 1), ("log_every", 1)):
        _int(f"trainer.{n}", getattr(t, n), lo)
    _num("trainer.dagger_p", t.dagger_p, 0.0, 1.0)
    _num("trainer.lr", t.lr, 0.0, lo_open=True)
    _num("trainer.weight_decay", t.weight_decay, 0.0)
    _num("trainer.grad_clip", t.grad_clip, 0.0)
    _num("trainer.progress_loss_coef", t.progress_loss_coef, 0.0)
    if t.inflection_weight != "auto":
        _num("trainer.inflection_weight", t.inflection_weight, 0.0, lo_open=True)
    _bool("trainer.amp", t.amp)
    c = t.cache
    _bool("trainer.cache.enabled", c.enabled)
    _int("trainer.cache.max_items", c.max_items, 1)
    _num("trainer.cache.position_quantum", c.position_quantum, 0.0, lo_open=True)
    _num("trainer.cache.yaw_quantum_deg", c.yaw_quantum_deg, 0.0, lo_open=True)
    e = cfg.eval
    if e.episodes is not None:
        _int("eval.episodes", e.episodes, 1)
    _int("eval.every", e.every, 1)
    return cfg


def config_from_dict(data: Mapping[str, Any]) -> ExperimentConfig:
    """Build and validate an ``ExperimentConfig`` from a nested mapping."""
    return validate(_build(ExperimentConfig, dict(data), "config"))


def load_experiment_config(path: Union[str, os.PathLike, None], overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read a YAML experiment config, apply dotted ``key=value`` overrides, validate."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    base: dict = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {str(p)!r} does not exist; expected a YAML file such as configs/il_cma_demo_cpu.yaml")
        try:
            base = OmegaConf.to_container(OmegaConf.load(p), resolve=True) or {}
        except (OmegaConfBaseException, ValueError, OSError) as exc:
            raise ConfigError(f"config file {str(p)!r} is not valid YAML: {exc}") from None
        if not isinstance(base, dict):
            raise ConfigError(f"config file {str(p)!r} holds a {type(base).__name__}; expected a mapping")
    merged = OmegaConf.create(base)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}; expected key=value (e.g. trainer.lr=1e-3)")
    if overrides:
        try:
            merged = OmegaConf.merge(merged, OmegaConf.from_dotlist(list(overrides)))
        except OmegaConfBaseException as exc:
            raise ConfigError(f"overrides {list(overrides)} cannot be applied: {exc}") from None
    return config_from_dict(OmegaConf.to_container(merged, resolve=True))
