"""Shared helper of the VLP tests (test_vlp, test_vlp_pretrain): a tiny model config. Not a
test module: tests import it instead of importing each other."""
from __future__ import annotations

from agents.vlp import VLPConfig


def tiny_config(**kw) -> VLPConfig:
    base = dict(vision=None, text=None, embed_dim=16, fusion_hidden=32, fusion_layers=1, fusion_heads=2,
                vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32, "num_hidden_layers": 2,
                               "num_attention_heads": 2, "intermediate_size": 64},
                text_config={"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64})
    base.update(kw)
    return VLPConfig(**base)
