"""Fine-tuning configuration of the task heads (``configs/finetune_<task>.yaml``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from vlnsim.errors import ConfigError

from .captioning import CaptionHeadConfig
from .data import TASKS
from .retrieval import RetrievalHeadConfig
from .vqa import VQAHeadConfig


@dataclass
class FinetuneConfig:
    """One fine-tuning run: encoder, data, optimisation budget and the task's head.

    Every field can be set in YAML or overridden on the command line (``key=value``).
    """

    task: str = "retrieval"
    """retrieval | vqa | caption."""
    encoder: str = ""
    """A ``VLPModel.save_pretrained`` directory."""
    random_encoder: bool = False
    """Use the encoder's architecture with fresh random weights (the baseline)."""
    data: str = ""
    """Training data: a corpus directory or a real-format file (see agents.heads.data)."""
    eval_data: str = ""
    """Evaluation data when it is another file (CLEVR val, another Karpathy file); default ``data``."""
    image_root: str = ""
    """Image folder for Karpathy / CLEVR / VQA v2 files."""
    train_split: str = "train"
    """Split fine-tuned on."""
    eval_split: str = "test"
    """Split evaluated on (held-out houses for the corpus)."""
    max_train_images: int = 0
    """Use at most this many training images (0 = all)."""
    max_eval_images: int = 0
    """Evaluate on at most this many images (0 = all)."""
    mirror_augment: bool = False
    """Also train on every training image mirrored left-right, with "left" and "right" swapped
    in its questions / captions (``data.mirror_augment``): twice the images, all still exact."""
    fusion_dropout: float = -1.0
    """Dropout inside the fusion layers (and the VQA head's extra layers) while fine-tuning;
    -1 keeps the encoder's own (``fusion_dropout`` of its config, 0 for the CPU encoder)."""
    steps: int = 300
    """Optimiser steps."""
    batch_size: int = 32
    """Examples per step."""
    lr: float = 1e-4
    """Learning rate of the encoder parts being fine-tuned (projections, fusion)."""
    head_lr: float = 1e-3
    """Learning rate of the new head (VQA classifier, caption decoder)."""
    weight_decay: float = 0.02
    """AdamW weight decay."""
    warmup_fraction: float = 0.05
    """Share of the steps with a linear warm-up before the cosine decay."""
    freeze_towers: bool = True
    """Keep the vision and text towers frozen and their features cached (the CPU setting)."""
    vision_trainable_layers: int = 0
    """With ``freeze_towers``: fine-tune the top N vision layers (+ final layer norm) on cached lower-layer states."""
    seed: int = 0
    """Seed of data order, subsampling and the new head."""
    log_every: int = 20
    """TensorBoard / progress-bar interval in steps."""
    checkpoint_every: int = 100
    """Checkpoint interval in steps (one is always written at the end)."""
    device: str = "auto"
    """auto | cpu | cuda."""
    retrieval: RetrievalHeadConfig = field(default_factory=RetrievalHeadConfig)
    vqa: VQAHeadConfig = field(default_factory=VQAHeadConfig)
    caption: CaptionHeadConfig = field(default_factory=CaptionHeadConfig)

    def validate(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task={self.task!r}; expected one of {list(TASKS)}")
        if self.steps < 1 or self.batch_size < 1:
            raise ConfigError(f"steps={self.steps}, batch_size={self.batch_size}; expected positive integers")
        if self.lr <= 0 or self.head_lr <= 0:
            raise ConfigError(f"lr={self.lr}, head_lr={self.head_lr}; expected positive learning rates")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ConfigError(f"warmup_fraction={self.warmup_fraction}; expected [0, 1)")
        if not (self.fusion_dropout == -1.0 or 0.0 <= self.fusion_dropout < 1.0):
            raise ConfigError(f"fusion_dropout={self.fusion_dropout}; expected -1 (keep the encoder's) or [0, 1)")
        if self.vision_trainable_layers < 0:
            raise ConfigError(f"vision_trainable_layers={self.vision_trainable_layers}; expected >= 0")
        if self.max_train_images < 0 or self.max_eval_images < 0:
            raise ConfigError("max_train_images / max_eval_images must be >= 0 (0 = all)")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigError(f"device={self.device!r}; expected auto, cpu or cuda[:N]")
        self.retrieval.validate()
        self.vqa.validate()
        self.caption.validate()


def load_finetune_config(path: Optional[str], overrides: Sequence[str] = (), **fields) -> FinetuneConfig:
    """Read a YAML config (a built-in name or a path), apply ``key=value`` overrides and keyword fields."""
    from vlnsim.config import apply_overrides, read_yaml, resolve_config_path, to_dataclass

    data, source = {}, None
    if path:
        p = resolve_config_path(path)
        data, source = read_yaml(p), str(p)
    data = apply_overrides(data, list(overrides), source)
    for k, v in fields.items():
        if v is not None:
            data[k] = v
    cfg = to_dataclass(FinetuneConfig, data, source=source)
    try:
        cfg.validate()
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}" if source else str(exc)) from None
    return cfg


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} but CUDA is not available; expected cpu or auto")
    return name


def encoder_dir(path: str) -> Path:
    d = Path(path)
    if not (d / "vlp_config.json").is_file():
        raise ConfigError(f"encoder={path!r}: no vlp_config.json there; expected a VLPModel.save_pretrained() "
                          "directory (e.g. the output of `vlnsim pretrain`)")
    return d
