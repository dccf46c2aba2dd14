"""The fusion encoder: BERT layers whose text tokens cross-attend to image tokens.

Built from ``transformers``' own ``BertLayer`` (self-attention, cross-attention,
feed-forward), as ALBEF's fusion layers are. The saved config is a ``BertConfig`` with
``is_decoder=False, add_cross_attention=True`` (bidirectional self-attention plus
cross-attention). ``BertLayer`` only creates its cross-attention block when
``is_decoder`` is set, so the layers are built from a copy with ``is_decoder=True`` and
their self-attention is made non-causal; explicit padding masks are always passed, so
no causal mask is ever applied.
"""
from __future__ import annotations

import copy
from typing import Optional

import torch
from torch import nn


def fusion_bert_config(hidden: int, layers: int, heads: int, dropout: float = 0.0):
    """The fusion encoder's ``BertConfig`` (bidirectional, with cross-attention)."""
    from transformers import BertConfig

    return BertConfig(vocab_size=1, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                      intermediate_size=4 * hidden, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
                      is_decoder=False, add_cross_attention=True)


def _additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, L) 1/0 -> (B, 1, 1, L) additive mask (0 keep, large negative drop)."""
    m = mask[:, None, None, :].to(dtype)
    return (1.0 - m) * torch.finfo(dtype).min


class FusionEncoder(nn.Module):
    """Stack of BERT layers: self-attention over text, cross-attention to the image."""

    def __init__(self, config):
        super().__init__()
        from transformers.models.bert.modeling_bert import BertLayer

        self.config = config
        layer_cfg = copy.deepcopy(config)
        layer_cfg.is_decoder = True  # BertLayer adds cross-attention only to "decoders"
        try:
            layer_cfg._attn_implementation = "sdpa"
        except (AttributeError, ValueError):
            pass
        layers = []
        for i in range(config.num_hidden_layers):
            try:
                layer = BertLayer(layer_cfg, layer_idx=i)
            except TypeError:  # transformers < 4.48
                layer = BertLayer(layer_cfg)
            # bidirectional: the text attends to all of itself (ALBEF's fusion, not a decoder)
            layer.attention.self.is_causal = False
            layers.append(layer)
        self.layer = nn.ModuleList(layers)

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor, image: torch.Tensor,
                image_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Fuse (B, L, D) text states with (B, N, D) image states; returns (B, L, D)."""
        self_mask = _additive_mask(text_mask, text.dtype)
        if image_mask is None:
            image_mask = torch.ones(image.shape[:2], dtype=torch.long, device=image.device)
        cross_mask = _additive_mask(image_mask, text.dtype)
        h = text
        for layer in self.layer:
            out = layer(h, self_mask, encoder_hidden_states=image, encoder_attention_mask=cross_mask)
            h = out[0] if isinstance(out, tuple) else out
        return h
