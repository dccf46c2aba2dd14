"""Typed outputs of the vision-language model (``agents.vlp.model.VLPModel``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch


@dataclass
class ImageOutput:
    """``encode_image`` result.

    Attributes:
        embeds: (B, E) L2-normalised ITC embedding.
        pooled: (B, Dv) the tower's pooled ([CLS], post-layer-norm) state, before projection.
        tokens: (B, 1 + P, Dv) all tokens after the final layer norm ([CLS] first); the
            fusion encoder cross-attends to them.
    """

    embeds: torch.Tensor
    pooled: torch.Tensor
    tokens: torch.Tensor

    @property
    def patches(self) -> torch.Tensor:
        """(B, P, Dv) the patch tokens (``tokens`` without [CLS])."""
        return self.tokens[:, 1:]


@dataclass
class TextOutput:
    """``encode_text`` result.

    Attributes:
        embeds: (B, E) L2-normalised ITC embedding.
        tokens: (B, L, Dt) the text tower's last hidden states.
        attention_mask: (B, L) 1 for real tokens.
    """

    embeds: torch.Tensor
    tokens: torch.Tensor
    attention_mask: torch.Tensor


@dataclass
class FusionOutput:
    """``fuse`` result: the fusion encoder over text tokens cross-attending to image tokens.

    Attributes:
        hidden_states: (B, L, Df) fused token states; position 0 is the fused [CLS].
        itm_logits: (B, 2) image-text matching logits (index 1 = "matches").
    """

    hidden_states: torch.Tensor
    itm_logits: torch.Tensor

    @property
    def itm_score(self) -> torch.Tensor:
        """(B,) probability that image and text match."""
        return self.itm_logits.float().softmax(-1)[:, 1]


@dataclass
class PretrainLosses:
    """Losses of one pretraining step (scalars); ``total`` is their weighted sum."""

    total: torch.Tensor
    itc: Optional[torch.Tensor] = None
    itm: Optional[torch.Tensor] = None
    mlm: Optional[torch.Tensor] = None
    mrc: Optional[torch.Tensor] = None
    itm_accuracy: Optional[torch.Tensor] = None
    mlm_accuracy: Optional[torch.Tensor] = None
    mrc_accuracy: Optional[torch.Tensor] = None

    def scalars(self) -> dict:
        """Plain floats of every loss that was computed."""
        return {k: float(v.detach()) for k, v in vars(self).items() if v is not None}
