"""Pretraining configuration (``configs/vlp_*.yaml``), loaded with ``vlnsim.config``."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from vlnsim.config import apply_overrides, read_yaml, resolve_config_path, to_dataclass
from vlnsim.errors import ConfigError

from .config import VLPConfig


@dataclass
class PretrainDataConfig:
    """Where the image-text pairs come from."""

    corpus: str = "data/vlp_corpus"
    """A ``vlnsim make-corpus`` directory (annotations/captions_<split>.json, images/<split>/)."""
    train_split: str = "train"
    """Split trained on."""
    val_split: str = "val"
    """Held-out split for the retrieval R@1 logged during training."""
    val_images: int = 300
    """Images of the held-out slice (all their captions are used)."""
    train_limit: Optional[int] = None
    """Use only the first N training images (tests, smoke runs)."""
    feature_cache: Optional[str] = "auto"
    """Directory of cached frozen-text-tower features ("auto": <corpus>/features; null: never stored)."""


@dataclass
class LossConfig:
    """Objective weights and settings."""

    itc: float = 1.0
    """Weight of image-text contrastive loss."""
    itm: float = 1.0
    """Weight of image-text matching (hard negatives)."""
    mlm: float = 1.0
    """Weight of masked language modelling through the fusion encoder."""
    mrc: float = 1.0
    """Weight of masked-region classification (semantic-mask categories)."""
    mlm_prob: float = 0.15
    """Share of text tokens selected for MLM (80% [MASK], 10% random, 10% kept)."""
    mrc_visible: float = 0.0
    """Weight of classifying the visible (unmasked) patches too, from the same exact labels
    (dense semantic supervision the simulator gives for free; 0 = UNITER's MRC only)."""
    itm_hard_warmup: int = 0
    """Steps over which ITM negatives go from uniform to ALBEF's softmax(similarity) sampling
    (0: hard from the start, as ALBEF with a pretrained BERT; random fusion layers learn
    grounding faster from easier negatives first)."""
    itc_captions: int = 1
    """Captions per image contrasted by ITC each step (cached text features make extra ones
    nearly free; all are positives of their image). ITM and MLM use the first."""
    mlm_batch: int = 0
    """Rows of each batch used for MLM (0 = all; fewer saves the vocabulary projection)."""
    mrc_ratio: float = 0.15
    """Share of image patches blanked for MRC (the same masked images feed every objective)."""
    distill: str = "none"
    """"none", "momentum" (ALBEF momentum distillation of ITC) or "teacher" (needs ``teacher``)."""
    momentum: float = 0.995
    """EMA decay of the momentum model."""
    alpha: float = 0.4
    """Weight of the distillation targets in the ITC target distribution."""
    teacher: Optional[str] = None
    """A ``save_pretrained`` VLP directory used as the frozen teacher (distill: teacher)."""

    def validate(self) -> None:
        for n in ("itc", "itm", "mlm", "mrc"):
            if getattr(self, n) < 0:
                raise ConfigError(f"loss.{n}={getattr(self, n)}; expected a non-negative weight")
        if self.distill not in ("none", "momentum", "teacher"):
            raise ConfigError(f"loss.distill={self.distill!r}; expected none, momentum or teacher")
        if self.distill == "teacher" and not self.teacher:
            raise ConfigError("loss.distill=teacher needs loss.teacher (a VLP directory) or --teacher DIR")
        if self.mrc_visible < 0:
            raise ConfigError(f"loss.mrc_visible={self.mrc_visible}; expected a non-negative weight")
        if self.itc_captions < 1:
            raise ConfigError(f"loss.itc_captions={self.itc_captions}; expected >= 1")
        if not (0 < self.mlm_prob < 1 and 0 < self.mrc_ratio < 1 and 0 <= self.alpha <= 1 and 0 < self.momentum < 1):
            raise ConfigError("loss.mlm_prob, loss.mrc_ratio and loss.momentum must be in (0, 1), loss.alpha in [0, 1]")


@dataclass
class OptimConfig:
    """Optimisation schedule."""

    batch_size: int = 64
    """Pairs per rank per step (one caption per image; ITC negatives are gathered over ranks)."""
    max_steps: int = 500
    """Optimiser steps."""
    lr: float = 3e-4
    """Peak learning rate (AdamW)."""
    weight_decay: float = 0.02
    """AdamW weight decay (not on biases, norms and the temperature)."""
    warmup_steps: int = 50
    """Linear warm-up steps, then cosine decay to ``min_lr_ratio * lr``."""
    min_lr_ratio: float = 0.05
    """Final learning rate as a fraction of ``lr``."""
    grad_clip: float = 1.0
    """Gradient-norm clip (0 = off)."""
    text_trainable: bool = False
    """Fine-tune the text tower (False: frozen, caption features computed once and cached)."""
    amp: bool = True
    """bfloat16 autocast on CUDA (ignored on CPU)."""

    def validate(self) -> None:
        if self.batch_size < 2:
            raise ConfigError(f"optim.batch_size={self.batch_size}; expected >= 2 (ITC/ITM need in-batch negatives)")
        if self.max_steps < 1 or self.lr <= 0 or self.warmup_steps < 0:
            raise ConfigError("optim.max_steps >= 1, optim.lr > 0 and optim.warmup_steps >= 0 expected")


@dataclass
class PretrainConfig:
    """A pretraining run."""

    run_dir: str = "runs/vlp"
    """Checkpoints (checkpoints/), TensorBoard (tb/), the final model (final/) and metrics.json."""
    seed: int = 0
    """Seed of the model init, batch order and every mask."""
    device: str = "auto"
    """cpu, cuda or auto."""
    log_every: int = 10
    """Steps between TensorBoard scalar writes."""
    eval_every: int = 100
    """Steps between held-out retrieval evaluations."""
    ckpt_every: int = 200
    """Steps between checkpoints (one is always written at the end)."""
    data: PretrainDataConfig = field(default_factory=PretrainDataConfig)
    model: VLPConfig = field(default_factory=VLPConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    def validate(self) -> None:
        if self.device not in ("cpu", "cuda", "auto"):
            raise ConfigError(f"device={self.device!r}; expected cpu, cuda or auto")
        self.model.validate()
        self.loss.validate()
        self.optim.validate()


def load_pretrain_config(path, overrides: Sequence[str] = ()) -> PretrainConfig:
    """Read a pretraining YAML (path or built-in name) with dotted overrides."""
    p = resolve_config_path(path)
    data = apply_overrides(read_yaml(p), list(overrides), source=str(p))
    cfg = to_dataclass(PretrainConfig, data, where="", source=str(p))
    cfg.validate()
    return cfg
