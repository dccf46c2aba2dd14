"""Navigation policies (registered in ``POLICIES``: Seq2Seq, CMA, ...) and the builder used by trainers and evaluation."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from .base import NUM_ACTIONS, Policy, SequenceOutput, masked_attention, obs_to_tensors
from .cma import CMAPolicy
from .registry import POLICIES
from .seq2seq import Seq2SeqPolicy


def build_policy(config, vocab_size: int, clip_source: Optional[Union[str, Path, dict]] = None) -> Policy:
    """Build the ``POLICIES`` entry named by ``config.type`` from its config; ``clip_source`` is a CLIP path/hub name or config dict."""
    from ..encoders import CLIPEncoder

    clip = None
    if clip_source is not None:
        v = config.vision
        trainable = bool(v.trainable or (config.instruction.type == "clip" and config.instruction.trainable))
        clip = CLIPEncoder(clip_source, trainable=trainable, allow_download=v.allow_download)
        if trainable and config.instruction.type != "clip":
            # The text tower is unused: keep it out of the optimizer (and of DDP's reducer).
            clip.model.text_model.requires_grad_(False)
            clip.model.text_projection.requires_grad_(False)
        if trainable and not v.trainable:
            clip.model.vision_model.requires_grad_(False)
            clip.model.visual_projection.requires_grad_(False)
    return POLICIES.get(config.type)(config, vocab_size, clip)


__all__ = ["NUM_ACTIONS", "Policy", "SequenceOutput", "CMAPolicy", "Seq2SeqPolicy", "POLICIES",
           "build_policy", "masked_attention", "obs_to_tensors"]
